"""The YAML policy file: roles, people, limits, DLP rules, budgets.

Validated on load; errors name the key path and the line it is on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies.dlp.config import DlpConfig
from policies.errors import PolicyFileError

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Role(BaseModel):
    model_config = _STRICT
    members: tuple[str, ...] = ()  # Slack user id, "@group-handle", or email (globs allowed)
    allow: tuple[str, ...] = ()  # "system:object:verb" patterns, "*" wildcards
    channels: tuple[str, ...] = ("*",)  # channel ids where this role's permissions apply
    approve: tuple[str, ...] = ()  # actions this role may approve for others


class Person(BaseModel):
    model_config = _STRICT
    department: str | None = None
    project: str | None = None


def _check_limit(value: str) -> str:
    try:
        parse_many(value)
    except ValueError as e:
        raise ValueError(f"{value!r} is not a rate like '30/minute' ({e})") from e
    return value


class LimitSet(BaseModel):
    """Per scope: separate budgets for plain commands and agent (LLM) requests."""

    model_config = _STRICT
    commands: str | None = None
    agent: str | None = None

    @field_validator("commands", "agent")
    @classmethod
    def _rate(cls, v: str | None) -> str | None:
        return None if v is None else _check_limit(v)


class Limits(BaseModel):
    model_config = _STRICT
    person: LimitSet = LimitSet(commands="30/minute", agent="10/minute")
    channel: LimitSet = LimitSet(agent="60/hour")
    department: LimitSet = LimitSet(agent="1000/hour")
    global_: LimitSet = Field(default=LimitSet(agent="10000/hour"), alias="global")


class Budget(BaseModel):
    model_config = _STRICT
    monthly_usd: float = Field(gt=0)
    warn_at: float = Field(default=0.8, gt=0, le=1)
    on_exceed: Literal["block", "downgrade", "warn"] = "block"
    downgrade_model: str | None = None
    channel: str | None = None  # owner channel for warnings


class PolicyFile(BaseModel):
    model_config = _STRICT
    roles: dict[str, Role] = {}
    people: dict[str, Person] = {}
    limits: Limits = Limits()
    dlp: DlpConfig = DlpConfig()
    budgets: dict[str, Budget] = {}


def load_policy_file(path: str | Path) -> PolicyFile:
    """Read and validate; raises PolicyFileError naming each bad key and its line."""
    text = _read(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise PolicyFileError(str(path), [f"not valid YAML: {e}"]) from e
    if not isinstance(data, dict):
        raise PolicyFileError(str(path), ["the top level must be a mapping (roles:, limits:, …)"])
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as e:
        lines = _key_lines(text)
        problems = [_describe(err, lines) for err in e.errors()]
        raise PolicyFileError(str(path), problems) from e


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyFileError(str(path), [f"cannot read it: {e.strerror}"]) from e


def _describe(err: Any, lines: dict[tuple[Any, ...], int]) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = ".".join(str(p) for p in loc) or "(top level)"
    line = _nearest_line(loc, lines)
    where = f" (line {line})" if line else ""
    return f"{key}{where}: {err['msg']}"


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path in the YAML to the 1-based line it starts on."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    out: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                out[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return out
