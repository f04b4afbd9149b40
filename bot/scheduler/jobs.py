"""The function every stored job points at, and how it reaches the hub that fired it.

APScheduler pickles a job as a *reference* (``bot.scheduler.jobs:fire``) plus its
arguments, so the job cannot carry the running hub with it. The hub's executor sets
``FIRING`` (which hub, which scheduled fire time) in the context it creates the job's
task in; ``fire`` reads it back. A context variable rather than a global registry,
because tests run several hubs in one process and each must run its own jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

Runner = Callable[[str, datetime], Awaitable[None]]  # (job id, scheduled fire time)


@dataclass(frozen=True)
class Firing:
    run: Runner
    fire_time: datetime


FIRING: ContextVar[Firing | None] = ContextVar("scheduler_firing", default=None)


async def fire(job_id: str) -> None:
    """Entry point of every scheduled job (stored by reference in the job table)."""
    firing = FIRING.get()
    if firing is None:
        log.error("scheduler: job %s ran outside the hub's executor; skipped", job_id)
        return
    await firing.run(job_id, firing.fire_time)
