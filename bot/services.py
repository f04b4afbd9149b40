"""What commands and the hub may reach: built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from policies.types import Reply, Request

AgentAsk = Callable[[Request], Awaitable[Reply]]


@dataclass(frozen=True)
class Services:
    ask_agent: AgentAsk
    limits_for: Callable[[Request], list[str]] | None = None  # "commands 29/30 per minute", …
