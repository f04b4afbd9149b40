"""The budget step of the chain: monthly LLM spend per department and project.

Only agent routes are checked: commands spend no tokens. Before each agent run the
policy reads what the asker's department and project spent this calendar month (UTC)
from a `SpendSource` (the cost ledger in bot/; this module does no I/O itself) and
compares it with the policy file's `budgets:` (see `policies.policy_file.Budget`):

- at `warn_at` (default 80%) and at 95% the owner channel is told, once per month and
  level; a `claim` function persists "already told" so restarts and replicas stay quiet;
- at 100% it is told once more, and the budget's `on_exceed` applies: `block` refuses
  the request before any model is called, `downgrade` passes it on with
  `payload["model"] = downgrade_model`, `warn` lets it run.

When the spend cannot be read the request is allowed and the decision says why, like
the rate limits: the ledger shares the hub's database, which the request needed anyway.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from policies.chain import DecisionSink, Next
from policies.policy_file import Budget, PolicyFile
from policies.store import PolicyStore
from policies.types import Decision, Reply, Request, RouteKind

log = logging.getLogger(__name__)

Scope = Literal["department", "project"]
PROJECT_PREFIX = "project:"
ALSO_WARN_AT = 0.95
Alert = Callable[[str, str], Awaitable[None]]  # (channel, text)
Claim = Callable[[str, str, str, int], Awaitable[bool]]  # (scope, name, "2026-11", percent)
_SEVERITY = {"warn": 0, "downgrade": 1, "block": 2}


class SpendSource(Protocol):
    async def month_spend(self, scope: Scope, name: str) -> float:
        """USD charged to this department or project in the current calendar month (UTC)."""
        ...


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budget and what has been spent against it this month."""

    scope: Scope
    name: str
    budget: Budget
    spent: float

    @property
    def key(self) -> str:
        """As written in the policy file: "engineering", "project:apollo"."""
        return self.name if self.scope == "department" else PROJECT_PREFIX + self.name

    @property
    def label(self) -> str:
        return self.name if self.scope == "department" else f"project {self.name}"

    @property
    def ratio(self) -> float:
        return self.spent / self.budget.monthly_usd

    @property
    def percent(self) -> int:
        return int(self.ratio * 100)  # floor: 99.9% is not yet "100%"

    @property
    def status(self) -> Literal["ok", "warning", "exceeded"]:
        if self.ratio >= 1:
            return "exceeded"
        return "warning" if self.ratio >= self.budget.warn_at else "ok"


# -- which budgets, which alerts (pure) ---------------------------------------------------------

def scope_of(key: str) -> tuple[Scope, str]:
    if key.startswith(PROJECT_PREFIX):
        return "project", key[len(PROJECT_PREFIX):]
    return "department", key


def budgets_for(request: Request, file: PolicyFile) -> list[tuple[Scope, str, Budget]]:
    """The asker's department and project budgets, those that exist."""
    person = file.people.get(request.principal.user_id)
    if person is None:
        return []
    out: list[tuple[Scope, str, Budget]] = []
    if person.department and person.department in file.budgets:
        out.append(("department", person.department, file.budgets[person.department]))
    if person.project and PROJECT_PREFIX + person.project in file.budgets:
        out.append(("project", person.project, file.budgets[PROJECT_PREFIX + person.project]))
    return out


def alert_levels(budget: Budget) -> tuple[int, ...]:
    """Percentages the owner hears about: warn_at, 95 (if above it), and 100."""
    levels = {round(budget.warn_at * 100), 100}
    if budget.warn_at < ALSO_WARN_AT:
        levels.add(round(ALSO_WARN_AT * 100))
    return tuple(sorted(levels))


def crossed_levels(state: BudgetState) -> tuple[int, ...]:
    return tuple(lv for lv in alert_levels(state.budget) if state.ratio * 100 >= lv)


def month_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def next_month_start(now: datetime) -> datetime:
    start = month_start(now)
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def month_key(now: datetime) -> str:
    return month_start(now).strftime("%Y-%m")


# -- wording -------------------------------------------------------------------------------------

def dollars(amount: float) -> str:
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"


def owner_of(budget: Budget) -> str:
    return f"<#{budget.channel}>" if budget.channel else "your admin"


def on_exceed_text(budget: Budget) -> str:
    return {"block": "agent requests are refused",
            "downgrade": f"agent requests run on the cheaper {budget.downgrade_model}",
            "warn": "agent requests still run"}[budget.on_exceed]


def denial(state: BudgetState, now: datetime) -> str:
    reset = next_month_start(now)
    return (f":no_entry: {state.label} has spent ${state.spent:,.2f} of its "
            f"{dollars(state.budget.monthly_usd)} monthly LLM budget; ask "
            f"{owner_of(state.budget)} or wait until {reset:%b} {reset.day}. "
            f"Commands that need no model still work.")


def alert_text(state: BudgetState, level: int, now: datetime) -> str:
    spent = f"${state.spent:,.2f} of {dollars(state.budget.monthly_usd)}"
    if level >= 100:
        reset = next_month_start(now)
        return (f":no_entry: *{state.label}* has used its whole monthly LLM budget ({spent}, "
                f"{now:%B %Y}); until {reset:%b} {reset.day} {on_exceed_text(state.budget)}.")
    return (f":warning: *{state.label}* has used {state.percent}% of its monthly LLM budget "
            f"({spent}, {now:%B %Y}). At 100% {on_exceed_text(state.budget)}.")


# -- the policy ----------------------------------------------------------------------------------

class BudgetPolicy:
    name = "budget"

    def __init__(self, store: PolicyStore, spend: SpendSource, alert: Alert,
                 record: DecisionSink, *, claim: Claim | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._store = store  # read per request: the policy file may be reloaded under us
        self._spend = spend
        self._alert = alert
        self._record = record
        self._claim = claim or _InMemoryClaims()
        self._clock = clock or (lambda: datetime.now(UTC))

    async def __call__(self, request: Request, call_next: Next) -> Reply:
        if request.route is None or request.route.kind is not RouteKind.AGENT:
            return await call_next(request)  # commands spend no tokens
        applicable = budgets_for(request, self._store.current.file)
        if not applicable:
            self._record(request, Decision(self.name, "allow", "none", "no budget applies"))
            return await call_next(request)
        try:
            states = await self._states(applicable)
        except Exception as e:
            log.warning("spend unreadable, allowing %s unchecked: %s", request.id, type(e).__name__)
            self._record(request, Decision(self.name, "allow", "spend-unavailable",
                                           "the cost ledger is unreachable; allowed unchecked"))
            return await call_next(request)
        await self._alert_all(states)
        verdict = self._decide(request, states)
        if isinstance(verdict, Reply):
            return verdict
        reply = await call_next(verdict)
        # the run just charged its tokens: tell the owner now, not at the next question
        try:
            await self._alert_all(await self._states(applicable))
        except Exception:
            log.warning("budget re-check after %s failed", request.id, exc_info=True)
        return reply

    async def _states(self, applicable: list[tuple[Scope, str, Budget]]) -> list[BudgetState]:
        return [BudgetState(scope, name, budget, await self._spend.month_spend(scope, name))
                for scope, name, budget in applicable]

    async def _alert_all(self, states: list[BudgetState]) -> None:
        now = self._clock()
        for state in states:
            await self._alert_once(state, now)

    def _decide(self, request: Request, states: list[BudgetState]) -> Request | Reply:
        """The request to run (perhaps on a cheaper model), or the denial."""
        over = [s for s in states if s.status == "exceeded"]
        if not over:
            top = max(states, key=lambda s: s.ratio)
            self._record(request, Decision(self.name, "allow", f"{top.key} {top.percent}%",
                                           f"${top.spent:,.2f} spent"))
            return request
        worst = max(over, key=lambda s: _SEVERITY[s.budget.on_exceed])
        rule, action = f"{worst.key} {worst.percent}%", worst.budget.on_exceed
        if action == "block":
            self._record(request, Decision(self.name, "deny", rule, "monthly LLM budget spent"))
            return Reply.error(denial(worst, self._clock()))
        if action == "downgrade":
            model = worst.budget.downgrade_model or ""
            self._record(request, Decision(self.name, "allow", rule, f"downgraded to {model}"))
            return dataclasses.replace(request, payload={**request.payload, "model": model})
        self._record(request, Decision(self.name, "allow", rule, "over budget; warn only"))
        return request

    async def _alert_once(self, state: BudgetState, now: datetime) -> None:
        channel = state.budget.channel
        levels = crossed_levels(state)
        if not channel or not levels:
            return
        fresh = [lv for lv in levels
                 if await self._claim(state.scope, state.name, month_key(now), lv)]
        if not fresh:
            return
        # spend can jump past several levels at once: one message, for the highest
        try:
            await self._alert(channel, alert_text(state, max(fresh), now))
        except Exception:
            log.exception("budget alert for %s to %s failed", state.key, channel)


class _InMemoryClaims:
    """Without a database (unit tests, tools): once per process."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str, int]] = set()

    async def __call__(self, scope: str, name: str, period: str, level: int) -> bool:
        key = (scope, name, period, level)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
