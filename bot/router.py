"""Match what a request asks for, before any policy runs (pure, no I/O).

Slash text is matched against the command table, longest verb first; mention
and DM text that starts with a verb is a command too (no tokens spent), and
anything else is free text for the agent team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from policies.types import Request, Route, RouteKind, Source

AGENT_ACTION = "agent:ask"
BUTTON = "button:"  # verb prefix of the hidden commands that handle button clicks
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


class Router:
    def __init__(self, verbs: Iterable[tuple[str, str]]) -> None:
        """`verbs`: (verb, action) pairs, e.g. ("jira show", "jira:issue:read")."""
        table = {verb: action for verb, action in verbs}
        self._verbs = sorted(table.items(), key=lambda kv: -len(kv[0].split()))

    def match(self, request: Request) -> Route:
        text = strip_mentions(request.text)
        if request.source in (Source.SLASH,):
            return self._command(text) or Route(RouteKind.COMMAND, "unknown", "help", text)
        if request.source in (Source.MENTION, Source.DM):
            command = self._command(text)
            if command and command.verb != "ask":
                return command
            if command:  # "@switchboard ask …" is the same as free text
                text = command.args
            return Route(RouteKind.AGENT, "ask", AGENT_ACTION, text)
        if request.source is Source.ACTION:
            return self._button(request.text, str(request.payload.get("value", "")))
        raise ValueError(f"no route for a {request.source} request")  # set by their ingress

    def _button(self, action_id: str, value: str) -> Route:
        """A click on `approve:…` runs the hidden command `button:approve` with the value."""
        verb = f"{BUTTON}{action_id.split(':', 1)[0]}"
        for known, action in self._verbs:
            if known == verb:
                return Route(RouteKind.COMMAND, verb, action, value)
        return Route(RouteKind.COMMAND, "button:unknown", "help", value)

    def _command(self, text: str) -> Route | None:
        words = text.split()
        if not words:
            return Route(RouteKind.COMMAND, "help", "help", "")
        lowered = [w.lower() for w in words]
        for verb, action in self._verbs:
            if verb.startswith(BUTTON):
                continue  # only reachable by clicking
            parts = verb.split()
            if lowered[: len(parts)] == parts:
                args = _rest_after(text, len(parts))
                kind = RouteKind.AGENT if action == AGENT_ACTION else RouteKind.COMMAND
                return Route(kind, verb, action, args)
        return None


def strip_mentions(text: str) -> str:
    return _MENTION.sub("", text).strip()


def _rest_after(text: str, n_words: int) -> str:
    rest = text.strip()
    for _ in range(n_words):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest.strip()
