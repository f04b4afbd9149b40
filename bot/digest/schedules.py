"""Digest schedules in the database: the source of truth the scheduler's jobs are made from.

Schedules come from Slack (`/sb digest schedule`, ids like `d3f9a1`) or from the policy
file (`digests.schedules.<name>`, ids `policy:<name>`). Each keeps the time of its last
digest, so the next one covers "since the last digest".
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.scheduler.models import DigestScheduleRow
from bot.storage.db import Database

POLICY = "policy:"


@dataclass(frozen=True)
class Schedule:
    id: str
    cron: str
    timezone: str
    channel: str
    sections: tuple[str, ...]
    source: str = "slack"  # slack | policy
    created_by: str = ""
    jira_filter: str = ""
    last_run_at: datetime | None = None

    def same_plan(self, other: Schedule) -> bool:
        """Equal apart from bookkeeping (who, when it last ran)."""
        return replace(self, created_by="", last_run_at=None) == replace(
            other, created_by="", last_run_at=None)


def new_id() -> str:
    return "d" + secrets.token_hex(3)


class ScheduleStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, s: Schedule) -> None:
        async with self._db.write() as conn:
            await conn.execute(insert(DigestScheduleRow), [_row(s)])

    async def get(self, schedule_id: str) -> Schedule | None:
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(select(DigestScheduleRow)
                                      .where(DigestScheduleRow.id == schedule_id))).first()
        return _schedule(row) if row else None

    async def all(self) -> list[Schedule]:
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(select(DigestScheduleRow)
                                       .order_by(DigestScheduleRow.created_at))).all()
        return [_schedule(r) for r in rows]

    async def remove(self, schedule_id: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(delete(DigestScheduleRow)
                                        .where(DigestScheduleRow.id == schedule_id))
        return bool(result.rowcount)

    async def mark_run(self, schedule_id: str, at: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(update(DigestScheduleRow).where(DigestScheduleRow.id == schedule_id)
                               .values(last_run_at=at.astimezone(UTC)))

    async def last_run_in(self, channel: str) -> datetime | None:
        async with self._db.engine.connect() as conn:
            at = (await conn.execute(select(func.max(DigestScheduleRow.last_run_at))
                                     .where(DigestScheduleRow.channel == channel))).scalar()
        return _aware(at)

    async def sync_policy(self, wanted: Sequence[Schedule]) -> None:
        """Make the `policy:` rows match the file; an unchanged one keeps its last run."""
        have = {s.id: s for s in await self.all() if s.id.startswith(POLICY)}
        want = {s.id: s for s in wanted}
        gone = have.keys() - want.keys()
        changed = [s for s in wanted if s.id not in have or not s.same_plan(have[s.id])]
        if not gone and not changed:
            return
        with contextlib.suppress(IntegrityError):  # another process synced it at the same moment
            await self._replace(gone, changed, have)

    async def _replace(self, gone: set[str], changed: Sequence[Schedule],
                       have: dict[str, Schedule]) -> None:
        async with self._db.write() as conn:
            if gone:
                await conn.execute(delete(DigestScheduleRow).where(DigestScheduleRow.id.in_(gone)))
            for s in changed:
                last = have[s.id].last_run_at if s.id in have else None
                await conn.execute(delete(DigestScheduleRow).where(DigestScheduleRow.id == s.id))
                await conn.execute(insert(DigestScheduleRow), [_row(replace(s, last_run_at=last))])


def _row(s: Schedule) -> dict[str, object]:
    return {"id": s.id, "cron": s.cron, "timezone": s.timezone, "channel": s.channel,
            "sections": ",".join(s.sections), "jira_filter": s.jira_filter, "source": s.source,
            "created_by": s.created_by, "created_at": datetime.now(UTC),
            "last_run_at": s.last_run_at}


def _schedule(row: object) -> Schedule:
    r = row._mapping  # type: ignore[attr-defined]
    return Schedule(id=r["id"], cron=r["cron"], timezone=r["timezone"], channel=r["channel"],
                    sections=tuple(x for x in r["sections"].split(",") if x), source=r["source"],
                    created_by=r["created_by"], jira_filter=r["jira_filter"],
                    last_run_at=_aware(r["last_run_at"]))


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they are stored in UTC."""
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
