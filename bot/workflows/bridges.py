"""Incident bridges in the database: one row per incident posted to Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.db import Database
from bot.workflows.models import IncidentBridge


@dataclass(frozen=True)
class Bridge:
    number: str
    channel: str
    ts: str | None
    priority: int
    short_description: str
    acknowledged_by: str | None
    escalated_by: str | None
    jira_key: str | None


class BridgeStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert

    async def get(self, number: str) -> Bridge | None:
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(
                select(IncidentBridge).where(IncidentBridge.number == number))).one_or_none()
        if row is None:
            return None
        return Bridge(row.number, row.channel, row.ts, row.priority, row.short_description,
                      row.acknowledged_by, row.escalated_by, row.jira_key)

    async def claim(self, number: str, channel: str, priority: int, short_description: str) -> bool:
        """Record the incident before posting it; False if it was recorded before."""
        now = datetime.now(UTC)
        stmt = (self._insert(IncidentBridge)
                .values(number=number, channel=channel, priority=priority,
                        short_description=short_description, created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["number"])
                .returning(IncidentBridge.number))
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none() is not None

    async def set(self, number: str, *, only_if_unset: str | None = None, **values: Any) -> bool:
        """Update the bridge; with `only_if_unset` only while that column is still empty, so
        two people clicking at once cannot both acknowledge."""
        stmt = update(IncidentBridge).where(IncidentBridge.number == number)
        if only_if_unset is not None:
            stmt = stmt.where(getattr(IncidentBridge, only_if_unset).is_(None))
        async with self._db.write() as conn:
            result = await conn.execute(stmt.values(updated_at=datetime.now(UTC), **values))
            return bool(result.rowcount == 1)
