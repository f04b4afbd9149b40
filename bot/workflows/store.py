"""Runs and steps in the database: created once per trigger, claimed with a lease, resumed.

A run is created together with all its steps in one transaction, under a
unique trigger key (the webhook delivery, the Slack trigger), so a replayed
trigger finds the run it started instead of starting another. Each step gets
an idempotency key derived from the trigger, the marker a step leaves on what
it creates so that a resumed step can look before it creates.

Executing a run takes a lease (like the inbox's): two replicas never drive the
same run, and a run whose hub died is picked up once its lease has run out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.db import Database
from bot.workflows.models import WorkflowRun, WorkflowStep

ACTIVE = ("running", "compensating")  # a task should be driving these
TERMINAL = ("succeeded", "compensated", "cancelled", "compensation_failed")


@dataclass(frozen=True)
class RunSummary:
    """What the digest shows of a run."""

    id: int
    workflow: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class StepRecord:
    name: str
    position: int
    status: str
    key: str  # the idempotency key
    result: dict[str, Any]
    error: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class RunRecord:
    id: int
    workflow: str
    subject: str
    trigger_key: str
    status: str
    input: dict[str, Any]
    requested_by: str
    channel: str
    thread_ts: str | None
    error: str | None
    left_behind: tuple[str, ...]
    cancelled: bool
    approval_deadline: datetime | None
    started_at: datetime
    finished_at: datetime | None
    steps: tuple[StepRecord, ...]

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        return {s.name: s.result for s in self.steps}


def step_key(trigger_key: str, workflow: str, step: str) -> str:
    """`sbk` + 13 hex digits: one word to search for in every system (no punctuation)."""
    digest = hashlib.sha256(f"{trigger_key}|{workflow}|{step}".encode()).hexdigest()
    return f"sbk{digest[:13]}"


async def runs_since(db: Database, since: datetime) -> list[RunSummary]:
    """Runs started or finished at or after `since`, oldest first (for digests)."""
    # SQLite keeps timestamps as UTC text without a zone: compare in UTC on both databases.
    since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(WorkflowRun.id, WorkflowRun.workflow, WorkflowRun.status,
                   WorkflowRun.started_at, WorkflowRun.finished_at, WorkflowRun.error)
            .where(or_(WorkflowRun.started_at >= since, WorkflowRun.finished_at >= since))
            .order_by(WorkflowRun.started_at, WorkflowRun.id))
        return [RunSummary(r.id, r.workflow, r.status, _aware(r.started_at),
                           _aware_or_none(r.finished_at), r.error) for r in rows]


class RunStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert

    async def create(self, *, workflow: str, trigger_key: str, subject: str,
                     input: dict[str, Any], requested_by: str, channel: str,
                     steps: Sequence[str], thread_ts: str | None = None) -> tuple[int, bool]:
        """(run id, True) for a new run; (the earlier run's id, False) for a known trigger."""
        row = {"workflow": workflow, "trigger_key": trigger_key, "subject": subject,
               "status": "running", "input": json.dumps(input), "requested_by": requested_by,
               "channel": channel, "thread_ts": thread_ts, "left_behind": "[]",
               "cancelled": False, "started_at": datetime.now(UTC)}
        stmt = (self._insert(WorkflowRun).values(row)
                .on_conflict_do_nothing(index_elements=["trigger_key"])
                .returning(WorkflowRun.id))
        async with self._db.write() as conn:
            run_id = (await conn.execute(stmt)).scalar_one_or_none()
            if run_id is None:
                earlier = await conn.execute(
                    select(WorkflowRun.id).where(WorkflowRun.trigger_key == trigger_key))
                return int(earlier.scalar_one()), False
            await conn.execute(insert(WorkflowStep), [
                {"run_id": run_id, "position": i, "name": name, "status": "pending",
                 "idempotency_key": step_key(trigger_key, workflow, name), "result": "{}",
                 "attempts": 0} for i, name in enumerate(steps)])
        return int(run_id), True

    async def load(self, run_id: int) -> RunRecord | None:
        async with self._db.engine.connect() as conn:
            run = (await conn.execute(
                select(WorkflowRun).where(WorkflowRun.id == run_id))).one_or_none()
            if run is None:
                return None
            steps = (await conn.execute(
                select(WorkflowStep).where(WorkflowStep.run_id == run_id)
                .order_by(WorkflowStep.position))).all()
        return _run_record(run, steps)

    async def latest(self, workflow: str, subject: str) -> RunRecord | None:
        async with self._db.engine.connect() as conn:
            run_id = (await conn.execute(
                select(WorkflowRun.id).where(WorkflowRun.workflow == workflow,
                                             WorkflowRun.subject == subject)
                .order_by(WorkflowRun.id.desc()).limit(1))).scalar_one_or_none()
        return await self.load(run_id) if run_id is not None else None

    # -- leases -------------------------------------------------------------------------
    async def claim(self, run_id: int, owner: str, lease: timedelta) -> bool:
        """Take the run to drive it; False if it is finished, waiting, or someone holds it."""
        now = datetime.now(UTC)
        async with self._db.write() as conn:
            result = await conn.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.status.in_(ACTIVE),
                       or_(WorkflowRun.lease_until.is_(None), WorkflowRun.lease_until < now,
                           WorkflowRun.lease_owner == owner))
                .values(lease_owner=owner, lease_until=now + lease))
            return bool(result.rowcount == 1)

    async def renew(self, run_id: int, owner: str, lease: timedelta) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.lease_owner == owner)
                .values(lease_until=datetime.now(UTC) + lease))
            return bool(result.rowcount == 1)

    async def release(self, run_id: int, owner: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.lease_owner == owner)
                .values(lease_owner=None, lease_until=None))

    async def resumable(self, limit: int = 200) -> list[int]:
        """Runs to drive: active, and nobody's lease on them (never taken, or run out)."""
        now = datetime.now(UTC)
        async with self._db.engine.connect() as conn:
            rows = await conn.execute(
                select(WorkflowRun.id)
                .where(WorkflowRun.status.in_(ACTIVE),
                       or_(WorkflowRun.lease_until.is_(None), WorkflowRun.lease_until < now))
                .order_by(WorkflowRun.id).limit(limit))
            return [int(r[0]) for r in rows]

    async def expired_approvals(self) -> list[int]:
        async with self._db.engine.connect() as conn:
            rows = await conn.execute(
                select(WorkflowRun.id)
                .where(WorkflowRun.status == "waiting_approval",
                       WorkflowRun.approval_deadline < datetime.now(UTC)))
            return [int(r[0]) for r in rows]

    # -- state changes ------------------------------------------------------------------
    async def set_run(self, run_id: int, **values: Any) -> None:
        if "left_behind" in values:
            values["left_behind"] = json.dumps(list(values["left_behind"]))
        async with self._db.write() as conn:
            await conn.execute(update(WorkflowRun).where(WorkflowRun.id == run_id).values(**values))

    async def transition(self, run_id: int, from_status: str, **values: Any) -> bool:
        """Change the run only if it is still in `from_status` (approval clicks vs timeout)."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.status == from_status)
                .values(**values))
            return bool(result.rowcount == 1)

    async def set_step(self, run_id: int, name: str, **values: Any) -> None:
        if "result" in values:
            values["result"] = json.dumps(values["result"], default=str)
        async with self._db.write() as conn:
            await conn.execute(
                update(WorkflowStep)
                .where(WorkflowStep.run_id == run_id, WorkflowStep.name == name)
                .values(**values))

    async def step_started(self, run_id: int, name: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(WorkflowStep)
                .where(WorkflowStep.run_id == run_id, WorkflowStep.name == name)
                .values(status="running", attempts=WorkflowStep.attempts + 1, error=None,
                        started_at=datetime.now(UTC), finished_at=None))


def _run_record(run: Any, steps: Sequence[Any]) -> RunRecord:
    return RunRecord(
        id=run.id, workflow=run.workflow, subject=run.subject, trigger_key=run.trigger_key,
        status=run.status, input=json.loads(run.input or "{}"), requested_by=run.requested_by,
        channel=run.channel, thread_ts=run.thread_ts, error=run.error,
        left_behind=tuple(json.loads(run.left_behind or "[]")), cancelled=bool(run.cancelled),
        approval_deadline=_aware_or_none(run.approval_deadline),
        started_at=_aware(run.started_at), finished_at=_aware_or_none(run.finished_at),
        steps=tuple(StepRecord(
            name=s.name, position=s.position, status=s.status, key=s.idempotency_key,
            result=json.loads(s.result or "{}"), error=s.error, attempts=s.attempts,
            started_at=_aware_or_none(s.started_at), finished_at=_aware_or_none(s.finished_at))
            for s in steps))


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)
