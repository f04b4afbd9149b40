"""The fence around every agent tool call: the asking person's permissions, DLP both ways.

An agent can never do more than the person who asked: each call is checked
against that person's roles (not the bot's), arguments with blocked data never
reach a connector, results are redacted before the model sees them, and a
write is not run at all but handed to `approve`, which asks a human in Slack.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agents.tools import ToolSpec
from connectors.errors import ConnectorError
from policies.dlp import DlpScanner
from policies.rbac import Rbac
from policies.types import Decision, Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who asked, and where the conversation is."""

    principal: Principal
    channel: str
    thread_ts: str | None
    request_id: str


class Approval(Protocol):
    async def __call__(self, spec: ToolSpec, args: Mapping[str, Any], asker: Asker) -> str:
        """Hold the write for a human decision; return what the model should tell the person."""
        ...


class ToolGate:
    def __init__(self, asker: Asker, rbac: Rbac, dlp: DlpScanner,
                 record: Callable[[Decision], None], approve: Approval) -> None:
        self._asker = asker
        self._rbac = rbac
        self._dlp = dlp
        self._record = record
        self._approve = approve

    def wrap(self, spec: ToolSpec) -> Callable[..., Awaitable[str]]:
        """The same tool (name, parameters, docstring), fenced."""

        @functools.wraps(spec.fn)
        async def fenced(**kwargs: Any) -> str:
            return await self._call(spec, kwargs)

        return fenced

    def tools_by_member(self, specs: Mapping[str, ToolSpec]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for spec in specs.values():
            out.setdefault(spec.member, []).append(self.wrap(spec))
        return out

    async def _call(self, spec: ToolSpec, args: dict[str, Any]) -> str:
        who, channel = self._asker.principal, self._asker.channel
        verdict = self._rbac.check(who, spec.action, channel)
        self._decide("allow" if verdict.allowed else "deny", verdict.rule,
                     f"{spec.name} ({spec.action}){': ' + verdict.reason if verdict.reason else ''}")
        if not verdict.allowed:
            return (f"DENIED: the person who asked may not use {spec.name} ({verdict.reason}). "
                    "Tell them so; do not try to reach the same result another way.")
        clean, found = self._dlp.scan_value(args, channel)
        if found.blocked:
            self._decide("deny", f"tool-args:{found.summary()}", spec.name)
            return "REFUSED: the arguments contained data that may not be sent to other systems."
        if spec.writes:
            return await self._approve(spec, clean, self._asker)  # type: ignore[arg-type]
        try:
            result = await spec.fn(**clean)  # type: ignore[arg-type]
        except ConnectorError as e:
            return f"ERROR from {e.system}: {e.message}"
        except TypeError as e:  # the model invented or forgot an argument
            return f"ERROR: wrong arguments for {spec.name}: {e}"
        scanned = self._dlp.scan(result, channel)
        if scanned.findings:
            self._decide("redact", f"tool-result:{scanned.summary()}", spec.name)
        return scanned.text

    def _decide(self, kind: str, rule: str, reason: str) -> None:
        self._record(Decision("agent_tool", kind, rule, reason))  # type: ignore[arg-type]
