"""Builds the digest service and its scheduler from settings (called by bot/app.py)."""

from __future__ import annotations

from bot.audit import AuditLog
from bot.connections import Connectors
from bot.digest.fetch import Sources
from bot.digest.schedules import ScheduleStore
from bot.digest.service import DigestService
from bot.digest.timetable import Timetable
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.scheduler.claims import Claims, DatabaseClaims, RedisClaims
from bot.scheduler.scheduler import Scheduler
from bot.settings import Settings
from bot.storage.db import Database
from policies.store import PolicyStore


def build_digests(settings: Settings, db: Database, connectors: Connectors, notifier: Notifier,
                  store: PolicyStore, metrics: Metrics, audit: AuditLog) -> DigestService:
    """No I/O: the scheduler starts with `DigestService.start` (only in a processing hub)."""
    schedules = ScheduleStore(db)
    service = DigestService(Sources(db, connectors, lambda: store.current.file.budgets),
                            schedules, notifier, lambda: store.current.file, metrics, audit=audit)
    redis_url = settings.hub.redis_url
    claims: Claims = RedisClaims(redis_url) if redis_url else DatabaseClaims(db)
    scheduler = Scheduler(settings.hub.database_url, db, claims, service.run_scheduled,
                          observe=lambda result: metrics.scheduler_claims_total.labels(result).inc())
    service.timetable = Timetable(scheduler, schedules, lambda: store.current.file,
                                  claims if isinstance(claims, DatabaseClaims) else None)
    return service
