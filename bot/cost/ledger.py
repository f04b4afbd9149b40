"""The cost ledger: what each model run cost and whom it is charged to, and the reports on it.

`Ledger` writes rows and answers the budget policy (`month_spend`, `claim_alert`);
`spend_by` and `daily_spend` are the read side shared with `/sb cost` and the digests.
Money is stored as integer nano-dollars (`cost_nanos`) and returned as `Decimal` USD
(`spend_by`) or float USD (`daily_spend`, `month_spend`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.cost.models import BudgetAlert, LlmUsage
from bot.cost.periods import day_of, month_start, next_month_start
from bot.cost.prices import NANOS_PER_USD, usd
from bot.storage.db import Database

GroupBy = Literal["department", "model", "user", "project"]
GROUPS: tuple[GroupBy, ...] = ("department", "model", "user", "project")
NONE_KEY = "(none)"  # spend of people with no department/project in the policy file
_COLUMNS: dict[str, Any] = {"department": LlmUsage.department, "model": LlmUsage.model,
                            "user": LlmUsage.user_id, "project": LlmUsage.project}


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One model's tokens for one request, priced."""

    request_id: str
    user_id: str
    department: str | None
    project: str | None
    channel: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_nanos: int
    at: datetime

    @property
    def usd(self) -> Decimal:
        return usd(self.cost_nanos)


class Ledger:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self._clock = clock or (lambda: datetime.now(UTC))

    async def record(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        values = [{**asdict(r), "at": r.at.astimezone(UTC), "day": day_of(r.at)} for r in rows]
        async with self.db.write() as conn:
            await conn.execute(insert(LlmUsage), values)

    async def month_spend(self, scope: str, name: str) -> float:
        """USD charged to a department or project this calendar month (UTC): `SpendSource`."""
        column = {"department": LlmUsage.department, "project": LlmUsage.project}[scope]
        now = self._clock()
        query = (select(func.coalesce(func.sum(LlmUsage.cost_nanos), 0))
                 .where(column == name, LlmUsage.at >= month_start(now),
                        LlmUsage.at < next_month_start(now)))
        async with self.db.engine.connect() as conn:
            nanos = (await conn.execute(query)).scalar_one()
        return int(nanos) / NANOS_PER_USD

    async def claim_alert(self, scope: str, name: str, period: str, level: int) -> bool:
        """True for the first caller per (scope, name, period, level), ever, on any replica."""
        values = {"scope": scope, "name": name, "period": period, "level": level,
                  "at": self._clock().astimezone(UTC)}
        dialect_insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = (dialect_insert(BudgetAlert).values(**values)
                .on_conflict_do_nothing(index_elements=["scope", "name", "period", "level"])
                .returning(BudgetAlert.id))  # a row back only when this insert won
        async with self.db.write() as conn:
            won = (await conn.execute(stmt)).first()
        return won is not None

    def now(self) -> datetime:
        return self._clock()


async def spend_by(db: Database, start: datetime, end: datetime,
                   group_by: str) -> list[tuple[str, Decimal, int, int]]:
    """(key, usd, input_tokens, output_tokens) per key for `start <= at < end`, by usd desc.

    `group_by` is department | model | user | project; rows without a department or
    project are grouped under "(none)".
    """
    if group_by not in _COLUMNS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}, not {group_by!r}")
    column = _COLUMNS[group_by]
    query = (select(column, func.sum(LlmUsage.cost_nanos), func.sum(LlmUsage.input_tokens),
                    func.sum(LlmUsage.output_tokens))
             .where(LlmUsage.at >= start.astimezone(UTC), LlmUsage.at < end.astimezone(UTC))
             .group_by(column))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    out = [(key or NONE_KEY, int(nanos), int(tin), int(tout)) for key, nanos, tin, tout in rows]
    out.sort(key=lambda r: (-r[1], r[0]))
    return [(key, usd(nanos), tin, tout) for key, nanos, tin, tout in out]


async def daily_spend(db: Database, start: datetime, end: datetime) -> list[tuple[date, float]]:
    """USD per UTC day for `start <= at < end`, every day of the range (0.0 when idle)."""
    query = (select(LlmUsage.day, func.sum(LlmUsage.cost_nanos))
             .where(LlmUsage.at >= start.astimezone(UTC), LlmUsage.at < end.astimezone(UTC))
             .group_by(LlmUsage.day))
    async with db.engine.connect() as conn:
        spent = {d: int(n) / NANOS_PER_USD for d, n in (await conn.execute(query)).all()}
    first, last = day_of(start), day_of(end - timedelta(microseconds=1))
    return [(first + timedelta(days=i), spent.get(first + timedelta(days=i), 0.0))
            for i in range((last - first).days + 1)]
