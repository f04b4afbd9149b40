"""The offline model's rules, as plain data (no agno: the hub imports these at start-up)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IntentRule:
    """When `pattern` matches the task and `tool` is offered, call it with `args(match)`."""

    pattern: re.Pattern[str]
    tool: str
    args: Callable[[re.Match[str]], dict[str, Any]]


@dataclass(frozen=True)
class PlanRule:
    """A task spanning members: `steps[i](match, results so far)` gives (member, task)."""

    pattern: re.Pattern[str]
    steps: tuple[Callable[[re.Match[str], list[str]], tuple[str, str]], ...]


@dataclass(frozen=True)
class RouteRule:
    """The leader hands a task to `member` when `pattern` matches it."""

    pattern: re.Pattern[str]
    member: str
