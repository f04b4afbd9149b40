"""The YAML policy file: roles, people, limits, DLP rules, budgets.

Validated on load; errors name the key path and the line it is on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from limits import parse_many
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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
    """A monthly LLM budget (UTC calendar month), checked before each agent run.

    Keys of `budgets:` name what is budgeted: a department (`engineering:`) or, with a
    `project:` prefix, a project (`"project:apollo":`); people get theirs from `people:`.
    The owner `channel` is told once per month at `warn_at` and at 95% (and when the
    budget runs out). At 100%: `block` refuses agent requests, `downgrade` runs them on
    `downgrade_model` (a SWITCHBOARD_MODEL-style spec, e.g. `openai:gpt-4o-mini`), `warn`
    lets them run.
    """

    model_config = _STRICT
    monthly_usd: float = Field(gt=0)
    warn_at: float = Field(default=0.8, gt=0, le=1)
    on_exceed: Literal["block", "downgrade", "warn"] = "block"
    downgrade_model: str | None = None
    channel: str | None = None  # owner channel for warnings

    @model_validator(mode="after")
    def _downgrade_needs_a_model(self) -> Budget:
        if self.on_exceed == "downgrade" and not self.downgrade_model:
            raise ValueError("on_exceed: downgrade needs downgrade_model (e.g. openai:gpt-4o-mini)")
        return self


class ModelPrice(BaseModel):
    """USD per million tokens; overrides the bundled list prices (bot/cost/prices.yaml)."""

    model_config = _STRICT
    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)


class KickoffConfig(BaseModel):
    """The project kickoff workflow (bot/workflows/kickoff.py)."""

    model_config = _STRICT
    jira_project: str = "OPS"  # where the epic and its stories go
    announce_channel: str | None = None  # Slack channel id for the announcement
    sharepoint_folder: str = "Shared Documents/Projects"  # project folders are made inside
    opportunity_stage: str = "Prospecting"
    done_state: str = "2"  # sc_req_item.state after a kickoff ("2": Work in Progress)
    approval_steps: tuple[str, ...] = ()  # steps that wait for an approver, e.g. [opportunity]


class IncidentBridgeConfig(BaseModel):
    """The incident bridge (bot/workflows/incident.py)."""

    model_config = _STRICT
    channel: str | None = None  # Slack channel id where P1/P2 incidents are posted
    priorities: tuple[int, ...] = (1, 2)
    jira_project: str = "OPS"  # where "Open Jira bug" files the bug


class ApprovalConfig(BaseModel):
    model_config = _STRICT
    timeout_seconds: float = Field(default=3600.0, gt=0)  # then the run is cancelled and undone


class WorkflowsConfig(BaseModel):
    model_config = _STRICT
    kickoff: KickoffConfig = KickoffConfig()
    incident: IncidentBridgeConfig = IncidentBridgeConfig()
    approvals: ApprovalConfig = ApprovalConfig()


DIGEST_SECTIONS = ("incidents", "jira", "workflows", "denials", "spend")


class DigestSchedule(BaseModel):
    """A digest posted on a clock (bot/digest). `cron` has 5 fields, or 6 with seconds first."""

    model_config = _STRICT
    cron: str
    channel: str  # Slack channel id
    timezone: str | None = None  # IANA name; default: digests.timezone
    sections: tuple[str, ...] = DIGEST_SECTIONS
    jira_filter: str = ""  # JQL ANDed to the created/resolved queries, e.g. "project = OPS"

    @field_validator("cron")
    @classmethod
    def _fields(cls, v: str) -> str:
        if len(v.split()) not in (5, 6):
            raise ValueError("cron needs 5 fields (minute hour day month weekday), or 6 with "
                             "seconds first, e.g. '0 9 * * 1-5'")
        return v

    @field_validator("sections")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in v if s not in DIGEST_SECTIONS]
        if unknown:
            raise ValueError(f"unknown section(s) {unknown}; known: {list(DIGEST_SECTIONS)}")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else _check_zone(v)


def _check_zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/Berlin'") from None
    return name


class DigestsConfig(BaseModel):
    model_config = _STRICT
    timezone: str = "UTC"  # default for every schedule, also those made from Slack
    schedules: dict[str, DigestSchedule] = {}  # name -> schedule

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _check_zone(v)


class PolicyFile(BaseModel):
    model_config = _STRICT
    roles: dict[str, Role] = {}
    people: dict[str, Person] = {}
    limits: Limits = Limits()
    dlp: DlpConfig = DlpConfig()
    budgets: dict[str, Budget] = {}  # department name, or "project:<name>"
    prices: dict[str, ModelPrice] = {}  # model id ("gpt-4o", "provider:*" globs) -> price
    workflows: WorkflowsConfig = WorkflowsConfig()
    digests: DigestsConfig = DigestsConfig()


def load_policy_file(path: str | Path) -> PolicyFile:
    """Read and validate; raises PolicyFileError naming each bad key and its line."""
    text = _read(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise PolicyFileError(str(path), [_yaml_problem(e)]) from e
    if not isinstance(data, dict):
        raise PolicyFileError(str(path), [
            f"(top level) (line {_first_line(text)}): must be a mapping (roles:, limits:, …), "
            f"not {type(data).__name__}"])
    lines, duplicates = _key_lines(text)
    if duplicates:  # YAML keeps the last silently: a second `sre:` would drop the first
        raise PolicyFileError(str(path), duplicates)
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as e:
        problems = [_describe(err, lines) for err in e.errors()]
        raise PolicyFileError(str(path), problems) from e


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    if mark is None:  # a ReaderError (bad character) has a position but no mark
        return f"not valid YAML: {e}"
    context = getattr(e, "context", None)
    return (f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}): "
            f"{getattr(e, 'problem', None) or e}" + (f" ({context})" if context else ""))


def _first_line(text: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith(("#", "---")):
            return n
    return 1


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
    # pydantic's words for Python types; the person editing YAML thinks in lists
    msg = str(err["msg"]).removeprefix("Value error, ").replace("a valid tuple", "a list")
    return f"{key}{where}: {msg}"


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _key_lines(text: str) -> tuple[dict[tuple[Any, ...], int], list[str]]:
    """Map each key path in the YAML to the 1-based line it starts on; list duplicate keys."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}, []
    out: dict[tuple[Any, ...], int] = {}
    duplicates: list[str] = []

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                if sub in out:
                    duplicates.append(f"{'.'.join(map(str, sub))} (line {key.start_mark.line + 1})"
                                      f": duplicate key, first at line {out[sub]}")
                    continue
                out[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return out, duplicates
