"""Inbox semantics on SQLite and PostgreSQL: dedupe under concurrency, claims, leases, retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.inbox import MAX_ATTEMPTS, Inbox
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import InboxItem


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


async def test_concurrent_stores_keep_exactly_one_per_key(db: Database) -> None:
    inbox = Inbox(db)
    keys = [f"k{i % 10}" for i in range(60)]
    results = await asyncio.gather(*(inbox.store(k, "slack", b"{}", "application/json")
                                     for k in keys))
    firsts = [k for k, new in zip(keys, results, strict=True) if new]
    assert sorted(firsts) == sorted({*keys})
    assert await inbox.store("k3", "slack", b"{}", "application/json") is False
    assert len(await inbox.unfinished()) == 10


async def test_only_one_claim_wins(db: Database) -> None:
    inbox = Inbox(db)
    await inbox.store("one", "slack", b"body", "text/plain")
    claims = await asyncio.gather(*(inbox.claim("one") for _ in range(5)))
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].body == b"body" and won[0].attempts == 1
    assert await inbox.unfinished() == []  # held under a live lease


async def test_an_expired_lease_makes_the_item_resumable(db: Database) -> None:
    inbox = Inbox(db)
    await inbox.store("crashed", "slack", b"", "")
    assert await inbox.claim("crashed") is not None
    async with db.write() as conn:  # the hub holding it died five minutes ago
        await conn.execute(update(InboxItem).values(
            lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert await inbox.unfinished() == ["crashed"]
    again = await inbox.claim("crashed")
    assert again is not None and again.attempts == 2


async def test_failures_are_retried_then_parked(db: Database) -> None:
    inbox = Inbox(db)
    await inbox.store("flaky", "slack", b"", "")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        item = await inbox.claim("flaky")
        assert item is not None and item.attempts == attempt
        await inbox.finish("flaky", "boom", attempts=item.attempts)
    assert await inbox.status("flaky") == "failed"
    assert await inbox.claim("flaky") is None
