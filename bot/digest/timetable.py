"""Keeps the scheduler's jobs in step with the digest schedules, in every hub process.

Every `TICK` seconds (and at start): the policy file's `digests.schedules` are synced into
the schedule table, the scheduler's jobs are made to match the table (a schedule another
process added or cancelled shows up here too), and the scheduler looks for due jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.digest.schedules import POLICY, Schedule, ScheduleStore
from bot.scheduler.claims import DatabaseClaims
from bot.scheduler.cron import Cron, CronError, parse_cron
from bot.scheduler.scheduler import Scheduler
from policies.policy_file import PolicyFile

log = logging.getLogger(__name__)
TICK = 30.0
PRUNE_EVERY = timedelta(hours=1)


def plan(schedule: Schedule) -> Cron:
    """Seconds-level (6-field) crons only from the policy file (tests, operators)."""
    return parse_cron(schedule.cron, schedule.timezone, allow_seconds=schedule.source == "policy")


def policy_schedules(file: PolicyFile) -> list[Schedule]:
    d = file.digests
    return [Schedule(id=POLICY + name, cron=s.cron, timezone=s.timezone or d.timezone,
                     channel=s.channel, sections=s.sections, source="policy",
                     created_by="policy file", jira_filter=s.jira_filter)
            for name, s in d.schedules.items()]


class Timetable:
    def __init__(self, scheduler: Scheduler, store: ScheduleStore,
                 policy: Callable[[], PolicyFile], claims: DatabaseClaims | None = None,
                 tick: float = TICK) -> None:
        self.scheduler = scheduler
        self._store = store
        self._policy = policy
        self._claims = claims  # pruned hourly (Redis claims expire by themselves)
        self._every = tick
        self._synced: PolicyFile | None = None
        self._pruned: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.scheduler.start()
        await self.tick()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="digest-timetable")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.scheduler.stop()

    async def tick(self) -> None:
        file = self._policy()
        if file is not self._synced:  # the policy store swaps the object when the file changes
            await self._store.sync_policy(policy_schedules(file))
            self._synced = file
        await self._reconcile()
        await self._prune()
        self.scheduler.wakeup()

    async def put(self, schedule: Schedule) -> datetime | None:
        return await self.scheduler.put(schedule.id, plan(schedule))

    async def remove(self, schedule_id: str) -> None:
        await self.scheduler.remove(schedule_id)

    async def plans(self) -> dict[str, tuple[datetime | None, str | None]]:
        """Per schedule id: the next fire this scheduler knows of, or why it cannot fire."""
        jobs = await self.scheduler.jobs()
        out: dict[str, tuple[datetime | None, str | None]] = {}
        for s in await self._store.all():
            try:
                plan(s)
            except CronError as e:
                out[s.id] = (None, e.message)
                continue
            job = jobs.get(s.id)
            out[s.id] = (job.next_run if job else None, None)
        return out

    async def _reconcile(self) -> None:
        # Jobs before rows: a job is added only after its row is committed, so a job seen
        # here without a row really has been cancelled, not just created a moment ago.
        have = await self.scheduler.jobs()
        wanted: dict[str, Cron] = {}
        for s in await self._store.all():
            try:
                wanted[s.id] = plan(s)
            except CronError as e:
                log.error("digest schedule %s cannot run: %s", s.id, e.message)
        await self.scheduler.reconcile(wanted, have)

    async def _prune(self) -> None:
        now = datetime.now(UTC)
        if self._claims is None or (self._pruned and now - self._pruned < PRUNE_EVERY):
            return
        self._pruned = now
        removed = await self._claims.prune(now)
        if removed:
            log.info("scheduler: pruned %d old claim(s)", removed)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.tick()
            except Exception:
                log.exception("digest timetable tick failed")
