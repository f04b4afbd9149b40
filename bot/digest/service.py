"""Digests end to end: fetch each section, build the blocks, post them, chart in the thread.

`DigestService` serves the slash verbs (`digest now|schedule|list|cancel`), the CLI
(`switchboard digest run`) and the scheduler (`run_scheduled`, once per fire).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.digest import build as builder
from bot.digest.chart import daily_spend_png
from bot.digest.fetch import Period, Sources, collect
from bot.digest.model import SECTIONS, Digest, DigestData, Problem, Spend
from bot.digest.schedules import Schedule, ScheduleStore, new_id
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.scheduler.claims import fire_key
from bot.scheduler.cron import CronError, min_gap, parse_cron
from policies.policy_file import PolicyFile
from policies.types import Principal, Request, Source

if TYPE_CHECKING:
    from bot.audit import AuditLog
    from bot.digest.timetable import Timetable

log = logging.getLogger(__name__)
CHART_FILE = "llm-spend.png"
MIN_GAP_FROM_SLACK = timedelta(minutes=15)  # a channel is not a log stream


@dataclass(frozen=True)
class Composed:
    data: DigestData
    digest: Digest
    chart: bytes | None  # PNG of daily spend, when the spend section loaded


@dataclass(frozen=True)
class Planned:
    schedule: Schedule
    next_run: datetime | None  # None: not scheduled in this process (scheduler off or invalid)
    problem: str | None = None  # why a policy-file schedule cannot run


class DigestService:
    def __init__(self, sources: Sources, store: ScheduleStore, notifier: Notifier,
                 policy: Callable[[], PolicyFile], metrics: Metrics, *,
                 audit: AuditLog | None = None, lookback: timedelta = timedelta(hours=24),
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sources = sources
        self.store = store
        self._notifier = notifier
        self._policy = policy
        self._metrics = metrics
        self._audit = audit
        self._lookback = lookback
        self._clock = clock or (lambda: datetime.now(UTC))
        self.timetable: Timetable | None = None  # attached by build_digests

    async def start(self) -> None:
        """Start the scheduler (hubs that process work; never the CLI or store-only hubs)."""
        if self.timetable is not None:
            await self.timetable.start()

    async def stop(self) -> None:
        if self.timetable is not None:
            await self.timetable.stop()

    # -- building and posting ---------------------------------------------------------------
    async def compose(self, sections: Sequence[str], start: datetime, end: datetime, *,
                      timezone: str | None = None, schedule_id: str | None = None,
                      jira_filter: str = "") -> Composed:
        wanted = [s for s in SECTIONS if s in sections] if sections else list(SECTIONS)
        found = await collect(self.sources, Period(start, end, jira_filter), wanted)
        for name, section in found.items():
            if isinstance(section, Problem):
                self._metrics.digest_section_problems_total.labels(name).inc()
        data = DigestData(start, end, timezone or self._policy().digests.timezone, found,
                          schedule_id)
        spend = found.get("spend")
        chart = await self._chart(spend) if isinstance(spend, Spend) else None
        return Composed(data, builder.build(data), chart)

    async def post(self, channel: str, composed: Composed) -> str | None:
        """Post the digest; the chart goes into its thread. Returns the message ts."""
        digest = composed.digest
        ts = await self._notifier.post(channel, digest.text, digest.blocks)
        if ts and composed.chart:
            try:
                await self._notifier.upload(channel, CHART_FILE, composed.chart,
                                            "Daily LLM spend", thread_ts=ts)
            except Exception:  # the digest is out; a missing chart is not worth failing it
                log.warning("digest: chart upload to %s failed", channel, exc_info=True)
        return ts

    async def now(self, channel: str, sections: Sequence[str] = (), *, post: bool = True,
                  trigger: str = "command") -> Composed:
        """The digest for `channel` since its last scheduled one (or `lookback`), posted."""
        started = time.perf_counter()
        end = self._clock()
        start = await self.store.last_run_in(channel) or end - self._lookback
        try:
            composed = await self.compose(sections, start, end)
            if post:
                await self.post(channel, composed)
        except Exception:
            self._metrics.digests_total.labels(trigger, "failed").inc()
            raise
        self._count(trigger, "posted" if post else "printed", started)
        return composed

    async def run_scheduled(self, schedule_id: str, fire_time: datetime) -> None:
        """One scheduled fire, already claimed by this process (see bot/scheduler)."""
        schedule = await self.store.get(schedule_id)
        if schedule is None:
            log.info("digest: schedule %s is gone; nothing to post", schedule_id)
            return
        started, end = time.perf_counter(), self._clock()
        start = schedule.last_run_at or min(fire_time, end) - self._lookback
        try:
            composed = await self.compose(schedule.sections, start, end,
                                          timezone=schedule.timezone, schedule_id=schedule.id,
                                          jira_filter=schedule.jira_filter)
            await self.post(schedule.channel, composed)
        except Exception:
            self._metrics.digests_total.labels("schedule", "failed").inc()
            raise
        await self.store.mark_run(schedule.id, end)
        self._count("schedule", "posted", started)
        self._record(schedule, fire_time, composed.digest)

    # -- schedules ------------------------------------------------------------------------
    async def schedule(self, cron_text: str, channel: str, sections: Sequence[str],
                       created_by: str, timezone: str | None = None) -> Planned:
        """A new schedule from Slack; raises CronError (the message says what is wrong)."""
        zone = timezone or self._policy().digests.timezone
        cron = parse_cron(cron_text, zone)
        if min_gap(cron) < MIN_GAP_FROM_SLACK:
            raise CronError(f"`{cron.expr}` fires more often than every "
                            f"{MIN_GAP_FROM_SLACK.seconds // 60} minutes; pick a calmer schedule, "
                            "e.g. `0 9 * * 1-5`.")
        schedule = Schedule(new_id(), cron.expr, zone, channel, tuple(sections),
                            created_by=created_by)
        await self.store.add(schedule)
        next_run = await self.timetable.put(schedule) if self.timetable else None
        return Planned(schedule, next_run or cron.next_fires(1, self._clock())[0])

    async def schedules(self) -> list[Planned]:
        planned = await self.timetable.plans() if self.timetable else {}
        return [Planned(s, *planned.get(s.id, (None, None))) for s in await self.store.all()]

    async def cancel(self, schedule_id: str) -> Schedule | None:
        schedule = await self.store.get(schedule_id)
        if schedule is None or schedule.source != "slack":
            return schedule  # the caller says why a policy-file schedule stays
        await self.store.remove(schedule_id)
        if self.timetable:
            await self.timetable.remove(schedule_id)
        return schedule

    # -- helpers --------------------------------------------------------------------------
    async def _chart(self, spend: Spend) -> bytes | None:
        if not spend.daily:
            return None
        first, last = spend.daily[0][0], spend.daily[-1][0]
        title = f"Daily LLM spend, {first:%d %b} to {last:%d %b %Y} (UTC)"
        try:
            return await asyncio.to_thread(daily_spend_png, spend.daily, title)
        except Exception:
            log.warning("digest: drawing the spend chart failed", exc_info=True)
            return None

    def _count(self, trigger: str, outcome: str, started: float) -> None:
        self._metrics.digests_total.labels(trigger, outcome).inc()
        self._metrics.digest_seconds.labels(trigger).observe(time.perf_counter() - started)

    def _record(self, schedule: Schedule, fire_time: datetime, digest: Digest) -> None:
        if self._audit is None:
            return
        request = Request(id=f"digest:{schedule.id}@{fire_key(fire_time)}", source=Source.SCHEDULE,
                          principal=Principal.system("scheduler"), text="digest",
                          channel=schedule.channel)
        detail = f"posted digest {schedule.id}" + (
            f"; could not show: {'; '.join(digest.problems)}" if digest.problems else "")
        self._audit.event(request, "digest", detail, decision="ok")
