"""What workflow steps may reach, handed in by the composition root (bot/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.analysis import RequirementsAnalysis
    from bot.connections import Connectors
    from bot.notify import Notifier

# (request text, requesting user id, title) -> the analyst's structured analysis
Analyze = Callable[[str, str, str], "Awaitable[RequirementsAnalysis]"]


@dataclass(frozen=True)
class WorkflowDeps:
    connectors: Connectors
    notifier: Notifier
    analyze: Analyze
