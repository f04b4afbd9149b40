"""The durable inbox: nothing lost, nothing done twice.

Ingress calls `store` before it acknowledges; a duplicate key (a Slack retry,
a replayed webhook) stores nothing and reports False. Processing claims an
item with a lease, so a hub that died mid-item (lease expired) or before it
started one (still pending) picks it up again on start, and two replicas
never work the same item at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

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
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def store(self, key: str, kind: str, body: bytes, content_type: str) -> bool:
        """Store under `key`; False when that key was stored before (nothing changes)."""
        stmt = (
            self._insert(InboxItem)
            .values(dedupe_key=key, kind=kind, body=body, content_type=content_type,
                    status="pending", attempts=0, received_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def claim(self, key: str) -> Item | None:
        """Take the item for processing, or None if someone else has it or it is finished."""
        now = datetime.now(UTC)
        claimable = or_(
            InboxItem.status == "pending",
            (InboxItem.status == "processing") & (InboxItem.lease_until < now),
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(InboxItem)
                .where(InboxItem.dedupe_key == key, claimable)
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
        async with self._engine.begin() as conn:
            await conn.execute(
                update(InboxItem).where(InboxItem.dedupe_key == key)
                .values(status=status, error=error, lease_until=None,
                        finished_at=datetime.now(UTC) if status != "pending" else None)
            )

    async def unfinished(self, limit: int = 1000) -> Sequence[str]:
        """Keys to resume: never started, or started by a hub whose lease ran out."""
        now = datetime.now(UTC)
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(InboxItem.dedupe_key)
                .where(or_(InboxItem.status == "pending",
                           (InboxItem.status == "processing") & (InboxItem.lease_until < now)))
                .order_by(InboxItem.id).limit(limit)
            )
            return [r[0] for r in rows]

    async def status(self, key: str) -> str | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(
                select(InboxItem.status).where(InboxItem.dedupe_key == key)
            )).scalar_one_or_none()
