"""The scheduler on SQLite and PostgreSQL: claims, exactly-once across schedulers, coalescing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.scheduler.claims import DatabaseClaims, RedisClaims, fire_key
from bot.scheduler.cron import parse_cron
from bot.scheduler.models import SchedulerClaim
from bot.scheduler.scheduler import Scheduler
from bot.storage.db import Database
from bot.storage.migrate import upgrade

EVERY_SECOND = parse_cron("* * * * * *", "UTC", allow_seconds=True)
Runs = list[tuple[str, str, datetime]]  # (scheduler name, job id, fire time)


@pytest.fixture
async def dbs(database_url: str) -> AsyncIterator[Callable[[], Database]]:
    """Databases on the one URL, as separate hub processes would open them."""
    await asyncio.to_thread(upgrade, database_url)
    opened: list[Database] = [Database(database_url)]
    async with opened[0].engine.connect():
        pass  # on SQLite: the file switches to WAL now, not while two "processes" race for it

    def open_one() -> Database:
        opened.append(Database(database_url))
        return opened[-1]

    yield open_one
    for db in opened:
        await db.dispose()


def scheduler(url: str, db: Database, name: str, runs: Runs, observed: list[str] | None = None,
              grace: float = 3600) -> Scheduler:
    async def run(job_id: str, fire_time: datetime) -> None:
        runs.append((name, job_id, fire_time))

    return Scheduler(url, db, DatabaseClaims(db, me=name), run, misfire_grace=grace,
                     observe=(observed.append if observed is not None else None))


async def wait_for(check: Callable[[], bool], within: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_exactly_one_claim_wins(dbs: Callable[[], Database]) -> None:
    first, second = dbs(), dbs()
    fire = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    claims = [DatabaseClaims(db, me=f"p{i}") for i, db in enumerate((first, second) * 5)]
    won = await asyncio.gather(*(c.claim("policy:ops", fire) for c in claims))
    assert sum(won) == 1
    # the same instant written in another zone is the same fire; another instant is not
    berlin = fire.astimezone(parse_cron("0 9 * * *", "Europe/Berlin").trigger.timezone)
    assert await claims[1].claim("policy:ops", berlin) is False
    assert await claims[1].claim("policy:ops", fire + timedelta(days=1)) is True
    assert await claims[1].prune(datetime.now(UTC)) == 0  # nothing older than 30 days


@pytest.mark.redis
async def test_redis_claims_exactly_one_wins(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    claims = [RedisClaims(redis_url, me=f"p{i}", prefix=prefix) for i in range(6)]
    fire = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    try:
        won = await asyncio.gather(*(c.claim("d1", fire) for c in claims))
        assert sum(won) == 1
    finally:
        for c in claims:
            await c.close()


async def test_redis_down_means_nobody_runs() -> None:
    claims = RedisClaims("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert await claims.claim("d1", datetime.now(UTC)) is False
    await claims.close()


async def test_a_due_job_runs_with_its_scheduled_fire_time(database_url: str,
                                                           dbs: Callable[[], Database]) -> None:
    db, runs = dbs(), []
    s = scheduler(database_url, db, "a", runs)
    await s.start()
    try:
        await s.put("d1", EVERY_SECOND)
        await wait_for(lambda: len(runs) >= 2)
    finally:
        await s.stop()
    fires = [f for _, _, f in runs]
    assert all(f.microsecond == 0 for f in fires) and fires == sorted(set(fires))
    async with db.engine.connect() as conn:
        claimed = (await conn.execute(select(SchedulerClaim.fire_time))).scalars().all()
    assert set(claimed) == {fire_key(f) for f in fires}


async def test_two_schedulers_on_one_database_run_each_fire_once(
        database_url: str, dbs: Callable[[], Database]) -> None:
    runs: Runs = []
    observed: list[str] = []
    a = scheduler(database_url, dbs(), "a", runs, observed)
    b = scheduler(database_url, dbs(), "b", runs, observed)
    await a.start()
    await b.start()
    try:
        await a.put("d1", EVERY_SECOND)
        b.wakeup()  # b learns of the new job on its next look, as every 30 s in the hub
        await wait_for(lambda: len(runs) >= 3 and "lost" in observed)
    finally:
        await asyncio.gather(a.stop(), b.stop())
    fires = [f for _, _, f in runs]
    assert len(fires) == len(set(fires))  # never the same fire twice
    assert observed.count("won") == len(runs)


async def test_missed_fires_are_coalesced_into_one_run(database_url: str,
                                                       dbs: Callable[[], Database]) -> None:
    runs: Runs = []
    first = scheduler(database_url, dbs(), "first", runs)
    await first.start()
    await first.put("d1", EVERY_SECOND)
    await first.stop()  # every process is down ...
    runs.clear()
    await asyncio.sleep(2.3)  # ... while two fires pass
    second = scheduler(database_url, dbs(), "second", runs)
    started = datetime.now(UTC)
    await second.start()
    try:
        await wait_for(lambda: len(runs) >= 1)
        await asyncio.sleep(0.3)
    finally:
        await second.stop()
    caught_up = [f for _, _, f in runs if f < started]
    assert len(caught_up) == 1  # one run for the missed ones, not a burst
    assert started - caught_up[0] < timedelta(seconds=1.1)  # and it is the latest missed fire


async def test_reconcile_leaves_an_unchanged_job_alone(database_url: str,
                                                       dbs: Callable[[], Database]) -> None:
    s = scheduler(database_url, dbs(), "a", [])
    daily = parse_cron("0 9 * * 1-5", "Europe/Berlin")
    await s.start()
    try:
        await s.reconcile({"d1": daily, "d2": daily})
        before = await s.jobs()
        await s.reconcile({"d1": daily, "d3": parse_cron("30 8 * * *", "UTC")})
        after = await s.jobs()
    finally:
        await s.stop()
    assert set(before) == {"d1", "d2"} and set(after) == {"d1", "d3"}
    assert after["d1"] == before["d1"]
    assert before["d1"].name == "0 9 * * 1-5 (Europe/Berlin)"
    assert before["d1"].next_run is not None
    assert before["d1"].next_run.astimezone(UTC).hour in (7, 8)  # 09:00 in Berlin


async def test_a_job_cancelled_while_it_runs_does_not_stop_the_scheduler(
        database_url: str, dbs: Callable[[], Database]) -> None:
    runs: Runs = []
    db = dbs()
    s = scheduler(database_url, db, "a", runs)
    other = scheduler(database_url, dbs(), "other", runs)
    await s.start()
    await other.start()
    try:
        await s.put("d1", EVERY_SECOND)
        await wait_for(lambda: len(runs) >= 1)
        assert await other.remove("d1") is True  # "digest cancel" in another process
        await s.put("d2", EVERY_SECOND)
        await wait_for(lambda: any(job == "d2" for _, job, _ in runs))
    finally:
        await asyncio.gather(s.stop(), other.stop())
    async with db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(SchedulerClaim))).scalar() \
            == len(runs)
