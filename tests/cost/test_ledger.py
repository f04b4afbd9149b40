"""The ledger on SQLite and PostgreSQL: exact sums, grouping, calendar edges, alerts once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.cost.ledger import Ledger, UsageRow, daily_spend, spend_by
from bot.storage.db import Database
from bot.storage.migrate import upgrade

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


def row(at: datetime, *, user: str = "U1", dept: str | None = "engineering",
        project: str | None = "apollo", model: str = "gpt-4o-mini", tin: int = 1000,
        tout: int = 100, nanos: int = 210_000) -> UsageRow:
    return UsageRow(request_id=f"req-{at.isoformat()}", user_id=user, department=dept,
                    project=project, channel="C1", model=model, input_tokens=tin,
                    output_tokens=tout, cost_nanos=nanos, at=at)


@pytest.fixture
async def ledger(database_url: str) -> AsyncIterator[Ledger]:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    try:
        yield Ledger(db, clock=lambda: NOW)
    finally:
        await db.dispose()


async def test_spend_by_sums_exactly_and_sorts_by_usd(ledger: Ledger) -> None:
    await ledger.record([
        row(datetime(2026, 11, 2, 9, tzinfo=UTC)),
        row(datetime(2026, 11, 3, 9, tzinfo=UTC), model="gpt-4o", nanos=3_500_000),
        row(datetime(2026, 11, 3, 10, tzinfo=UTC), user="U2", dept="sales", project=None,
            nanos=1),
        row(datetime(2026, 11, 4, 9, tzinfo=UTC), user="U3", dept=None, project=None,
            nanos=123_456_789_012),
        row(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), nanos=10**12),  # October
        row(DEC, nanos=10**12),  # December
    ])
    assert await spend_by(ledger.db, NOV, DEC, "department") == [
        ("(none)", Decimal("123.456789012"), 1000, 100),
        ("engineering", Decimal("0.00371"), 2000, 200),
        ("sales", Decimal("1E-9"), 1000, 100),
    ]
    by_model = await spend_by(ledger.db, NOV, DEC, "model")
    assert [(k, u) for k, u, _, _ in by_model] == [("gpt-4o-mini", Decimal("123.456999013")),
                                                    ("gpt-4o", Decimal("0.0035"))]
    assert [k for k, *_ in await spend_by(ledger.db, NOV, DEC, "user")] == ["U3", "U1", "U2"]
    assert [k for k, *_ in await spend_by(ledger.db, NOV, DEC, "project")] == ["(none)", "apollo"]
    with pytest.raises(ValueError, match="department, model, user, project"):
        await spend_by(ledger.db, NOV, DEC, "team")


async def test_month_spend_counts_this_month_only(ledger: Ledger) -> None:
    await ledger.record([
        row(NOV, nanos=400_000_000_000),
        row(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), nanos=12_400_000_000),
        row(datetime(2026, 10, 31, 23, 59, tzinfo=UTC), nanos=10**12),
        row(NOV, dept="sales", project="zeus", nanos=10**12),
    ])
    assert await ledger.month_spend("department", "engineering") == 412.4
    assert await ledger.month_spend("project", "apollo") == 412.4
    assert await ledger.month_spend("department", "nobody") == 0.0


async def test_daily_spend_fills_idle_days_with_zero(ledger: Ledger) -> None:
    await ledger.record([row(datetime(2026, 11, 2, 23, 30, tzinfo=UTC), nanos=500_000_000),
                         row(datetime(2026, 11, 2, 1, tzinfo=UTC), nanos=250_000_000),
                         row(datetime(2026, 11, 4, 0, 0, tzinfo=UTC), nanos=10**9)])
    days = await daily_spend(ledger.db, datetime(2026, 11, 1, tzinfo=UTC),
                             datetime(2026, 11, 5, tzinfo=UTC))
    assert days == [(date(2026, 11, 1), 0.0), (date(2026, 11, 2), 0.75),
                    (date(2026, 11, 3), 0.0), (date(2026, 11, 4), 1.0)]


async def test_an_alert_is_claimed_once_per_period_and_level(ledger: Ledger) -> None:
    assert await ledger.claim_alert("department", "engineering", "2026-11", 80)
    assert not await ledger.claim_alert("department", "engineering", "2026-11", 80)
    assert await ledger.claim_alert("department", "engineering", "2026-11", 95)
    assert await ledger.claim_alert("department", "engineering", "2026-12", 80)
    assert await ledger.claim_alert("project", "engineering", "2026-11", 80)
    results = await asyncio.gather(*(ledger.claim_alert("department", "sales", "2026-11", 80)
                                     for _ in range(5)))
    assert results.count(True) == 1
