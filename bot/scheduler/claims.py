"""Exactly one process runs each scheduled fire: whoever claims ``(job id, fire time)`` first.

Every hub process runs its own APScheduler over the shared job table, so several may
find the same job due at the same moment. Before a job runs, its process claims the
pair; the database (a primary key) or Redis (``SET NX``) lets exactly one claim succeed.
Fire times come from the trigger, not the clock, so every process computes the same key.

A claimed run that then dies half-way is not retried (at most once): a digest posted
twice is worse than one missed, and the next fire covers the gap ("since the last one").
When Redis is configured but unreachable, nobody claims (the run is skipped, logged
and counted), since falling back to the database could let two processes both win.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from bot.scheduler.models import SchedulerClaim
from bot.storage.db import Database

log = logging.getLogger(__name__)
KEEP = timedelta(days=30)  # claims older than this are pruned
_REDIS_TIMEOUT = 2.0


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def fire_key(fire_time: datetime) -> str:
    """The same instant gives the same text in every process, whatever its time zone."""
    return fire_time.astimezone(UTC).isoformat(timespec="microseconds")


class Claims(Protocol):
    async def claim(self, job_id: str, fire_time: datetime) -> bool: ...
    async def close(self) -> None: ...


class DatabaseClaims:
    def __init__(self, db: Database, me: str | None = None) -> None:
        self._db = db
        self._me = me or owner()

    async def claim(self, job_id: str, fire_time: datetime) -> bool:
        row = {"job_id": job_id, "fire_time": fire_key(fire_time), "claimed_by": self._me,
               "claimed_at": datetime.now(UTC)}
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(SchedulerClaim), [row])
        except IntegrityError:
            return False
        return True

    async def prune(self, now: datetime) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(SchedulerClaim).where(SchedulerClaim.claimed_at < now - KEEP))
        return int(result.rowcount or 0)

    async def close(self) -> None:
        return None


class RedisClaims:
    """``SET key owner NX EX`` on the Redis the replicas already share."""

    def __init__(self, url: str, me: str | None = None, prefix: str = "switchboard:claim:") -> None:
        self._url = url
        self._me = me or owner()
        self._prefix = prefix
        self._client: Any = None  # redis.asyncio.Redis, built on first use

    async def claim(self, job_id: str, fire_time: datetime) -> bool:
        key = f"{self._prefix}{job_id}@{fire_key(fire_time)}"
        try:
            won = await self._redis().set(key, self._me, nx=True, ex=int(KEEP.total_seconds()))
        except Exception as e:  # redis.RedisError, timeouts: fail closed (see module doc)
            log.error("scheduler: Redis unreachable, not running %s at %s (%s)", job_id,
                      fire_key(fire_time), type(e).__name__)
            return False
        return bool(won)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = aioredis.Redis.from_url(self._url, socket_timeout=_REDIS_TIMEOUT,
                                                   socket_connect_timeout=_REDIS_TIMEOUT)
        return self._client
