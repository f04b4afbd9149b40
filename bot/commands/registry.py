"""The command table: each verb with the permission it needs and its help line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policies.store import ActivePolicy
from policies.types import Reply, Request

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class CommandContext:
    request: Request
    policy: ActivePolicy
    services: Services
    command_name: str  # "/sb", for usage lines

    @property
    def args(self) -> str:
        return self.request.route.args if self.request.route else ""


Handler = Callable[[CommandContext], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    verb: str  # "jira show"
    action: str  # permission, e.g. "jira:issue:read"
    usage: str  # "OPS-12"
    summary: str
    handler: Handler | None  # None: handled outside the table (ask -> agents)
    group: str = "General"


class CommandTable:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, *commands: Command) -> None:
        for command in commands:
            if command.verb in self._commands:
                raise ValueError(f"verb {command.verb!r} registered twice")
            self._commands[command.verb] = command

    def get(self, verb: str) -> Command | None:
        return self._commands.get(verb)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def routes(self) -> list[tuple[str, str]]:
        return [(c.verb, c.action) for c in self]
