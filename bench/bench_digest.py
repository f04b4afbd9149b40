"""Time to build a digest for 10,000 ledger rows and 1,000 tickets, and for 10x more.

Run from the repository root:

    .venv/bin/python bench/bench_digest.py [--repeat 5 --max-seconds 150 --database-url …]

Each scale gets a fresh database (SQLite in a temporary directory unless --database-url
names a PostgreSQL schema) holding N ledger rows (LLM spend over the last 30 days, 8
departments, 6 models, 4 projects), N/10 audit denials and N/100 workflow runs, plus
in-process fakes of ServiceNow (N/10 open incidents) and Jira (N/10 issues created in
the period). `DigestService.compose` then builds the whole digest as the scheduler
would: every section fetched over HTTP / SQL, the Block Kit built, the chart drawn.
The same-run baseline is the same digest over an empty database and empty fakes
(fixed costs: round trips, queries, the chart). Figures are medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.connections import Connectors  # noqa: E402
from bot.cost.ledger import Ledger, UsageRow  # noqa: E402
from bot.digest import fetch  # noqa: E402
from bot.digest.build import build  # noqa: E402
from bot.digest.chart import daily_spend_png  # noqa: E402
from bot.digest.fetch import Period, Sources  # noqa: E402
from bot.digest.model import DigestData, Spend  # noqa: E402
from bot.digest.schedules import ScheduleStore  # noqa: E402
from bot.digest.service import DigestService  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from bot.storage.models import AuditEvent  # noqa: E402
from bot.workflows.store import RunStore  # noqa: E402
from connectors.jira import JiraConfig, JiraConnector  # noqa: E402
from connectors.salesforce import SalesforceConfig, SalesforceConnector  # noqa: E402
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector  # noqa: E402
from connectors.sharepoint import SharePointConfig, SharePointConnector  # noqa: E402
from policies.policy_file import Budget, PolicyFile  # noqa: E402
from tests.digest.fakes import DigestJira  # noqa: E402
from tests.fakes import jira as fake_jira  # noqa: E402
from tests.fakes import servicenow as fake_snow  # noqa: E402
from tests.fakes.servicenow import FakeServiceNow  # noqa: E402

DEPARTMENTS = ["engineering", "sales", "support", "finance", "legal", "hr", "marketing", "ops"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "claude-haiku", "llama3", "mistral"]
POLICY = PolicyFile(budgets={d: Budget(monthly_usd=1000) for d in DEPARTMENTS})


@dataclass(frozen=True)
class Scale:
    label: str
    ledger_rows: int
    tickets: int


class _Quiet:
    async def post(self, *a: Any, **k: Any) -> str | None:
        return None

    async def update(self, *a: Any, **k: Any) -> None: ...

    async def upload(self, *a: Any, **k: Any) -> None: ...


async def seed(db: Database, snow: FakeServiceNow, jira: DigestJira, scale: Scale,
               now: datetime) -> None:
    rnd = random.Random(7)
    rows = [UsageRow(request_id=f"r{i}", user_id=f"U{i % 50}", department=rnd.choice(DEPARTMENTS),
                     project=rnd.choice([None, "apollo", "gemini", "mercury"]), channel="C0OPS",
                     model=rnd.choice(MODELS), input_tokens=rnd.randint(100, 4000),
                     output_tokens=rnd.randint(50, 1500), cost_nanos=rnd.randint(10**5, 10**8),
                     at=now - timedelta(seconds=rnd.randint(1, 30 * 86400)))
            for i in range(scale.ledger_rows)]
    ledger = Ledger(db)
    for start in range(0, len(rows), 5000):
        await ledger.record(rows[start:start + 5000])
    denials = [{"at": now - timedelta(seconds=rnd.randint(1, 86400)), "request_id": f"q{i}",
                "source": "slash", "actor": "U0X", "channel": "C0OPS",
                "action": rnd.choice(["jira:issue:create", "agent:ask", "salesforce:query"]),
                "stage": "policy", "policy": rnd.choice(["rbac", "rate_limit", "dlp"]),
                "decision": "deny", "rule": "r", "detail": ""} for i in range(scale.tickets)]
    async with db.write() as conn:
        if denials:
            await conn.execute(AuditEvent.__table__.insert(), denials)
    store = RunStore(db)
    for i in range(scale.ledger_rows // 100):
        run_id, _ = await store.create(workflow="kickoff", trigger_key=f"t{i}", subject=f"S{i}",
                                       input={}, requested_by="U0X", channel="C0OPS", steps=["a"])
        await store.set_run(run_id, status="compensated" if i % 10 == 0 else "succeeded",
                            error="boom" if i % 10 == 0 else None, finished_at=now)
    for i in range(scale.tickets):
        snow.insert("incident", short_description=f"inc {i}", impact=str(1 + i % 3),
                    urgency=str(1 + (i // 3) % 3))
        jira.add_issue("OPS", f"issue {i}", created=now - timedelta(minutes=1 + i % 600))


def connectors(snow: FakeServiceNow, jira: DigestJira) -> Connectors:
    return Connectors(
        servicenow=ServiceNowConnector(ServiceNowConfig(snow.url, fake_snow.USER, fake_snow.PASSWORD)),
        jira=JiraConnector(JiraConfig(jira.url, fake_jira.USER, fake_jira.TOKEN)),
        salesforce=SalesforceConnector(SalesforceConfig()),
        sharepoint=SharePointConnector(SharePointConfig()))


async def median_of(repeat: int, fn: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(url: str, scale: Scale, repeat: int) -> dict[str, float]:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    now = datetime.now(UTC)
    with FakeServiceNow() as snow, DigestJira() as jira:
        await seed(db, snow, jira, scale, now)
        src = Sources(db, connectors(snow, jira), lambda: POLICY.budgets, timeout=60)
        service = DigestService(src, ScheduleStore(db), _Quiet(), lambda: POLICY, Metrics())
        period = Period(now - timedelta(days=1), now + timedelta(seconds=1))
        await service.compose([], period.start, period.end)  # warm: clients, imports, fonts
        out: dict[str, float] = {}
        for name in ("incidents", "jira", "workflows", "denials", "spend"):
            loader = getattr(fetch, name)
            out[f"fetch {name}"] = await median_of(repeat, lambda f=loader: f(src, period))
        sections = await fetch.collect(src, period, list(fetch.SOURCES))
        data = DigestData(period.start, period.end, "UTC", sections)
        out["build blocks"] = await median_of(repeat, lambda: asyncio.sleep(0, build(data)))
        spend = sections["spend"]
        assert isinstance(spend, Spend), spend
        out["draw chart"] = await median_of(repeat, lambda: asyncio.to_thread(
            daily_spend_png, spend.daily, "Daily LLM spend"))
        out["whole digest"] = await median_of(
            repeat, lambda: service.compose([], period.start, period.end))
    await db.dispose()
    return out


def report(results: dict[str, dict[str, float]]) -> None:
    labels = list(results)
    rows = list(next(iter(results.values())))
    print(f"{'ms (median)':<16}" + "".join(f"{label:>22}" for label in labels)
          + f"{'1x / baseline':>15}{'10x / 1x':>10}")
    for row in rows:
        ms = [results[label][row] * 1000 for label in labels]
        ratio = lambda a, b: f"{a / b:.1f}x" if b > 0 else "-"  # noqa: E731
        print(f"{row:<16}" + "".join(f"{v:>22.1f}" for v in ms)
              + f"{ratio(ms[1], ms[0]):>15}{ratio(ms[2], ms[1]):>10}")


async def main_async(args: argparse.Namespace) -> None:
    scales = [Scale("baseline (empty)", 0, 0), Scale("1x: 10k rows, 1k tix", 10_000, 1_000),
              Scale("10x: 100k rows, 10k", 100_000, 10_000)]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, scale in enumerate(scales):
            url = args.database_url or f"sqlite:///{tmp}/bench{i}.db"
            if args.database_url:
                await _reset_schema(url)
            started = time.perf_counter()
            results[scale.label] = await asyncio.wait_for(
                measure(url, scale, args.repeat), timeout=args.max_seconds)
            print(f"  {scale.label}: measured in {time.perf_counter() - started:.1f} s "
                  "(seeding included)", file=sys.stderr)
    report(results)


async def _reset_schema(url: str) -> None:
    from sqlalchemy import MetaData, create_engine

    from bot.storage.db import sync_url

    engine = create_engine(sync_url(url))
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--max-seconds", type=float, default=150.0, help="cap per scale")
    p.add_argument("--database-url", help="a PostgreSQL URL (its tables are dropped!); "
                                          "default: SQLite in a temporary directory")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
