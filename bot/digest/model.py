"""What a digest is made of: each section's data, already fetched (frozen, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from policies.policy_file import DIGEST_SECTIONS

SECTIONS: tuple[str, ...] = DIGEST_SECTIONS
TITLES = {"incidents": "Open incidents", "jira": "Jira", "workflows": "Workflows",
          "denials": "Policy denials", "spend": "LLM spend"}
SOURCES = {"incidents": "ServiceNow", "jira": "Jira", "workflows": "Workflows",
           "denials": "Audit log", "spend": "Cost ledger"}


@dataclass(frozen=True)
class Problem:
    """A section that could not be shown: `not configured`, or `could not load (…)`."""

    source: str  # "ServiceNow"
    reason: str  # "not configured" | "could not load (timed out after 20 s)"

    def line(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class Incidents:
    by_priority: Mapping[int, int]  # priority 1 (critical) .. 5 (planning) -> open count

    @property
    def total(self) -> int:
        return sum(self.by_priority.values())


@dataclass(frozen=True)
class Ticket:
    key: str
    summary: str
    url: str


@dataclass(frozen=True)
class JiraActivity:
    created: tuple[Ticket, ...]
    resolved: tuple[Ticket, ...]
    cap: int  # the search returns at most this many: `cap` found means "cap or more"


@dataclass(frozen=True)
class Run:
    id: str
    workflow: str
    status: str  # as the workflow store says: succeeded, failed, compensated, running, …
    error: str | None = None


@dataclass(frozen=True)
class Workflows:
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Denials:
    by_policy: Mapping[str, int]  # rbac -> 5
    by_action: Mapping[str, int]  # jira:issue:create -> 3

    @property
    def total(self) -> int:
        return sum(self.by_policy.values())


@dataclass(frozen=True)
class BudgetUse:
    name: str  # the policy file's key: a department, or "project:<name>"
    spent_usd: float  # this calendar month (UTC)
    limit_usd: float  # monthly_usd

    @property
    def share(self) -> float:
        return self.spent_usd / self.limit_usd if self.limit_usd else 0.0


@dataclass(frozen=True)
class Spend:
    by_department: Mapping[str, float]  # over the digest's period
    by_model: Mapping[str, float]
    budgets: tuple[BudgetUse, ...]  # month to date, one per budget in the policy file
    daily: tuple[tuple[date, float], ...] = ()  # for the chart

    @property
    def total(self) -> float:
        return sum(self.by_department.values())


SectionData = Incidents | JiraActivity | Workflows | Denials | Spend


@dataclass(frozen=True)
class DigestData:
    start: datetime  # the period: since the last digest
    end: datetime
    timezone: str  # for showing times
    sections: Mapping[str, SectionData | Problem] = field(default_factory=dict)  # in order
    schedule: str | None = None  # the schedule id, when posted on a clock


@dataclass(frozen=True)
class Digest:
    text: str  # plain text: the notification, the dry run, and what DLP reads
    blocks: tuple[Mapping[str, object], ...]
    problems: tuple[str, ...] = ()  # one line per section that could not be shown
