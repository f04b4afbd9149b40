"""What commands and the hub may reach: built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policies.types import Reply, Request

if TYPE_CHECKING:
    from bot.connections import Connectors
    from bot.cost.ledger import Ledger
    from bot.digest.service import DigestService
    from bot.notify import Notifier
    from bot.workflows import Workflows

AgentAsk = Callable[[Request], Awaitable[Reply]]
SharedFile = tuple[str, bytes]  # (file name, content)


@dataclass(frozen=True)
class Services:
    ask_agent: AgentAsk
    connectors: Connectors
    notifier: Notifier  # messages the hub starts itself, DLP-checked
    limits_for: Callable[[Request], Awaitable[list[str]]] | None = None  # for whoami
    # the file the person most recently shared in the request's channel (Slack surface)
    fetch_shared_file: Callable[[Request], Awaitable[SharedFile | None]] | None = None
    ledger: Ledger | None = None  # LLM spend, for `cost` and `budget`
    workflows: Workflows | None = None  # kickoff, workflow status, approvals, incident buttons
    digests: DigestService | None = None  # `digest now|schedule|list|cancel`
