"""The audit log: every request, policy decision and outcome, with who, what and which rule.

Decisions arrive synchronously from the policy chain; rows are written in
batches by one background task so the chain never waits on the database.
Text fields pass through `scrub` (DLP) first: a blocked value is never stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from bot.storage.db import Database
from bot.storage.models import AuditEvent
from policies.types import Decision, Reply, Request

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, db: Database, scrub: Callable[[str], str] = lambda s: s) -> None:
        self._db = db
        self._scrub = scrub
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # -- what gets recorded ----------------------------------------------------
    def received(self, request: Request) -> None:
        verb = request.route.verb if request.route else ""
        self._put(request, stage="received", detail=f"{verb} {request.route.args if request.route else ''}")

    def decision(self, request: Request, decision: Decision) -> None:
        self._put(request, stage="policy", policy=decision.policy, decision=decision.kind,
                  rule=decision.rule, detail=decision.reason)

    def outcome(self, request: Request, reply: Reply) -> None:
        self._put(request, stage="outcome", decision="ok" if reply.ok else "error",
                  detail=reply.text[:500])

    def event(self, request: Request, stage: str, detail: str, decision: str = "") -> None:
        self._put(request, stage=stage, decision=decision, detail=detail)

    def _put(self, request: Request, **fields: Any) -> None:
        row = {
            "at": datetime.now(UTC), "request_id": request.id, "source": str(request.source),
            "actor": request.principal.user_id, "channel": request.channel,
            "action": request.action, "policy": "", "decision": "", "rule": "", **fields,
        }
        row["detail"] = self._scrub(str(row.get("detail", "")).strip())
        self._queue.put_nowait(row)

    # -- writing -----------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._write_forever(), name="audit")

    async def flush(self) -> None:
        await self._queue.join()

    async def stop(self) -> None:
        await self.flush()
        if self._task:
            self._task.cancel()

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            try:
                async with self._db.write() as conn:
                    await conn.execute(insert(AuditEvent), batch)
            except Exception:
                log.exception("could not write %d audit row(s)", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def recent(self, limit: int = 50, request_id: str | None = None) -> Sequence[AuditEvent]:
        stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if request_id:
            stmt = stmt.where(AuditEvent.request_id == request_id)
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [AuditEvent(**row._mapping) for row in reversed(rows)]
