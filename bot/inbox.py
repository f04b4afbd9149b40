"""The durable inbox: nothing lost, nothing done twice.

Ingress calls `store` before it acknowledges; a duplicate key (a Slack retry,
a replayed webhook) stores nothing and reports False. Concurrent stores are
committed together (group commit): each caller still waits for its own row
to be durable, but a burst of acks costs one transaction, not one each.

Processing claims an item with a lease, so a hub that died mid-item (lease
expired) or before it started one (still pending) picks it up again on start,
and two replicas never work the same item at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.db import Database
from bot.storage.models import InboxItem

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    kind: str
    body: bytes
    content_type: str
    attempts: int


class Inbox:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def store(self, key: str, kind: str, body: bytes, content_type: str) -> bool:
        """Store under `key`; False when that key was stored before (nothing changes)."""
        row = {"dedupe_key": key, "kind": kind, "body": body, "content_type": content_type,
               "status": "pending", "attempts": 0, "received_at": datetime.now(UTC)}
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, stored))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await stored

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                new_keys = await self._insert_new([row for row, _ in batch])
            except Exception as e:
                for _, stored in batch:
                    if not stored.done():
                        stored.set_exception(e)
                continue
            for row, stored in batch:
                is_new = row["dedupe_key"] in new_keys
                new_keys.discard(row["dedupe_key"])  # a key twice in one batch: the first wins
                if not stored.done():
                    stored.set_result(is_new)

    async def _insert_new(self, rows: list[dict[str, Any]]) -> set[str]:
        unique = list({row["dedupe_key"]: row for row in reversed(rows)}.values())
        stmt = (self._insert(InboxItem).values(unique)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(InboxItem.dedupe_key))
        async with self._db.write(urgent=True) as conn:  # Slack is waiting on this one
            return set((await conn.execute(stmt)).scalars())

    async def claim(self, key: str) -> Item | None:
        """Take the item for processing, or None if someone else has it or it is finished."""
        now = datetime.now(UTC)
        async with self._db.write() as conn:
            result = await conn.execute(
                update(InboxItem)
                .where(InboxItem.dedupe_key == key, _claimable(now))
                .values(status="processing", lease_until=now + LEASE,
                        attempts=InboxItem.attempts + 1)
            )
            if result.rowcount != 1:
                return None
            row = (await conn.execute(
                select(InboxItem.kind, InboxItem.body, InboxItem.content_type, InboxItem.attempts)
                .where(InboxItem.dedupe_key == key)
            )).one()
        return Item(key, row.kind, row.body, row.content_type, row.attempts)

    async def finish(self, key: str, error: str | None = None, *, attempts: int = 0) -> None:
        """Mark done; on error, put it back for another try until MAX_ATTEMPTS."""
        status = "done" if error is None else "failed" if attempts >= MAX_ATTEMPTS else "pending"
        async with self._db.write() as conn:
            await conn.execute(
                update(InboxItem).where(InboxItem.dedupe_key == key)
                .values(status=status, error=error, lease_until=None,
                        finished_at=datetime.now(UTC) if status != "pending" else None)
            )

    async def unfinished(self, limit: int = 1000) -> Sequence[str]:
        """Keys to resume: never started, or started by a hub whose lease ran out."""
        async with self._db.engine.connect() as conn:
            rows = await conn.execute(
                select(InboxItem.dedupe_key).where(_claimable(datetime.now(UTC)))
                .order_by(InboxItem.id).limit(limit)
            )
            return [r[0] for r in rows]

    async def status(self, key: str) -> str | None:
        async with self._db.engine.connect() as conn:
            return (await conn.execute(
                select(InboxItem.status).where(InboxItem.dedupe_key == key)
            )).scalar_one_or_none()


def _claimable(now: datetime) -> Any:
    return or_(InboxItem.status == "pending",
               (InboxItem.status == "processing") & (InboxItem.lease_until < now))
