"""APScheduler (AsyncIOScheduler) over the hub's database, with exactly-once runs across processes.

Every hub process runs one scheduler over the shared ``apscheduler_jobs`` table
(SQLAlchemyJobStore). Several may find a job due at once; each claims
``(job id, fire time)`` before running it (bot/scheduler/claims.py) and only the winner
runs. Missed fires are coalesced into one run (``coalesce=True``) if still within
``misfire_grace`` seconds; older ones are skipped, never replayed in a burst.

The job store speaks synchronous SQL. Run on the event loop, a job-store write could
wait on SQLite's write lock held by one of our own async transactions whose commit
needs that same loop: a stall until the busy timeout. So every job-store call runs in a
worker thread while holding the hub's write gate (``Database.write``), and the executor
hands jobs back to the loop thread-safely.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED, BaseScheduler
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from bot.scheduler import jobs
from bot.scheduler.claims import Claims, fire_key
from bot.scheduler.cron import Cron
from bot.scheduler.models import JOBS_TABLE
from bot.storage.db import Database, sync_url

log = logging.getLogger(__name__)
Guard = Callable[[], AbstractAsyncContextManager[Any]]
ClaimObserver = Callable[[str], None]  # "won" | "lost"


@dataclass(frozen=True)
class JobInfo:
    id: str
    name: str  # "<cron> (<time zone>)": what the job was scheduled with
    next_run: datetime | None


class Scheduler:
    def __init__(self, database_url: str, db: Database, claims: Claims, runner: jobs.Runner, *,
                 misfire_grace: float = 3600.0, observe: ClaimObserver | None = None) -> None:
        self._url = database_url
        self._db = db
        self._claims = claims
        self._runner = runner
        self._grace = misfire_grace
        self._observe = observe or (lambda _: None)
        self._aps: _HubScheduler | None = None

    @property
    def running(self) -> bool:
        return self._aps is not None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        store = _SharedJobStore(engine=_sync_engine(self._url), tablename=JOBS_TABLE)
        aps = _HubScheduler(
            self._db.write, event_loop=loop, timezone=UTC,
            jobstores={"default": store}, executors={"default": _HubExecutor(self._run)},
            job_defaults={"coalesce": True, "misfire_grace_time": int(self._grace),
                          "max_instances": 1})
        async with self._db.write():
            await asyncio.to_thread(aps.start)
        self._aps = aps

    async def stop(self, grace: float = 10.0) -> None:
        aps, self._aps = self._aps, None
        if aps is not None:
            await aps.close(grace)
        await self._claims.close()

    def wakeup(self) -> None:
        """Look for due jobs now (also picks up jobs other processes added)."""
        if self._aps is not None:
            self._aps.wakeup()

    async def put(self, job_id: str, cron: Cron) -> datetime | None:
        """Add or replace a job; returns its next fire time (None: scheduler not running)."""
        aps = self._aps
        if aps is None:
            return None

        def add() -> datetime | None:
            job = aps.add_job(jobs.fire, trigger=cron.trigger, args=[job_id], id=job_id,
                              name=label(cron), replace_existing=True)
            return job.next_run_time  # type: ignore[no-any-return]

        async with self._db.write():
            return await asyncio.to_thread(add)

    async def remove(self, job_id: str) -> bool:
        aps = self._aps
        if aps is None:
            return False

        def drop() -> bool:
            try:
                aps.remove_job(job_id)
            except JobLookupError:
                return False
            return True

        async with self._db.write():
            return await asyncio.to_thread(drop)

    async def jobs(self) -> dict[str, JobInfo]:
        aps = self._aps
        if aps is None:
            return {}
        found = await asyncio.to_thread(aps.get_jobs)
        return {j.id: JobInfo(j.id, j.name, j.next_run_time) for j in found}

    async def reconcile(self, wanted: Mapping[str, Cron],
                        have: Mapping[str, JobInfo] | None = None) -> None:
        """Make the stored jobs exactly `wanted` (`have`: the jobs, if read already).

        A job whose schedule is unchanged is left alone, so a fire missed while every
        process was down still runs (coalesced) instead of being rescheduled away.
        """
        if self._aps is None:
            return
        have = await self.jobs() if have is None else have
        for job_id, cron in wanted.items():
            if job_id not in have or have[job_id].name != label(cron):
                await self.put(job_id, cron)
        for job_id in have.keys() - wanted.keys():
            await self.remove(job_id)

    async def _run(self, job_id: str, fire_time: datetime) -> None:
        if not await self._claims.claim(job_id, fire_time):
            self._observe("lost")
            log.debug("scheduler: %s at %s ran elsewhere", job_id, fire_key(fire_time))
            return
        self._observe("won")
        await self._runner(job_id, fire_time)


def label(cron: Cron) -> str:
    return f"{cron.expr} ({cron.timezone})"


class _HubExecutor(AsyncIOExecutor):  # type: ignore[misc]
    """Starts each job's task on the loop (from the job-store thread), telling it its fire time."""

    def __init__(self, run: jobs.Runner) -> None:
        super().__init__()
        self._run = run

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        context = contextvars.copy_context()
        context.run(jobs.FIRING.set, jobs.Firing(self._run, run_times[-1]))
        # the parent creates the task in the current context: inside context.run, that is ours
        submit = super()._do_submit_job
        self._eventloop.call_soon_threadsafe(context.run, submit, job, run_times)

    def pending(self) -> set[asyncio.Future[Any]]:
        return set(self._pending_futures)


class _HubScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """AsyncIOScheduler whose job-store work runs in a thread, one pass at a time, under `guard`."""

    def __init__(self, guard: Guard, **options: Any) -> None:
        self._guard = guard
        self._pass: asyncio.Task[None] | None = None
        self._again = False
        super().__init__(**options)

    def wakeup(self) -> None:  # APScheduler calls this from any thread
        loop = self._eventloop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self.state != STATE_RUNNING:
            return
        self._stop_timer()
        if self._pass is not None and not self._pass.done():
            self._again = True  # something changed during this pass: look again after it
            return
        self._pass = self._eventloop.create_task(self._process(), name="scheduler")

    async def _process(self) -> None:
        wait: float | None = None
        self._again = True
        while self._again and self.state == STATE_RUNNING:
            self._again = False
            try:
                async with self._guard():
                    wait = await asyncio.to_thread(self._process_jobs)
            except Exception:
                log.exception("scheduler: looking for due jobs failed")
                wait = self.jobstore_retry_interval
        if self.state == STATE_RUNNING:
            self._start_timer(wait)

    async def close(self, grace: float) -> None:
        """Start nothing new; let the pass in progress and running jobs finish (up to `grace`
        seconds each), then shut down. A job still running then is cancelled."""
        if self.state != STATE_STOPPED:
            self.pause()  # a pass that starts now finds nothing to do
        self._stop_timer()
        if self._pass is not None:
            await asyncio.wait({self._pass}, timeout=grace)
        await asyncio.sleep(0)  # jobs the last pass handed over (call_soon_threadsafe) start
        executor = self._lookup_executor("default")
        running = executor.pending()
        if running:
            await asyncio.wait(running, timeout=grace)
        if self.state != STATE_STOPPED:
            await asyncio.to_thread(BaseScheduler.shutdown, self, False)
        self._stop_timer()


class _SharedJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """Another process may delete a job (`digest cancel`) while this one is running it."""

    def update_job(self, job: Any) -> None:
        try:
            super().update_job(job)
        except JobLookupError:
            log.info("scheduler: job %s was removed while it ran", job.id)


def _sync_engine(database_url: str) -> Engine:
    url = sync_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
