"""Starting, resuming and deciding on workflow runs: what the hub, commands and webhooks call.

Runs are driven by tasks of this process, each holding the run's lease
(renewed while it works). `sweep` — at start and then every few seconds —
picks up runs nobody holds (a hub that died mid-run: its lease ran out) and
cancels runs whose approval timed out. A graceful stop waits a little for
runs in flight and otherwise leaves them to their lease, so that a write still
in flight in a worker thread cannot race the replica that resumes the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from bot.metrics import Metrics
from bot.storage.db import Database
from bot.workflows import kickoff
from bot.workflows.deps import WorkflowDeps
from bot.workflows.engine import Engine
from bot.workflows.report import Reporter
from bot.workflows.saga import StepRunner, Workflow
from bot.workflows.store import RunRecord, RunStore
from policies.store import ActivePolicy
from policies.types import Principal

log = logging.getLogger(__name__)


def approval_action(workflow: str, step: str) -> str:
    """What an approver's role must list under `approve:` (e.g. `workflow:*`)."""
    return f"workflow:{workflow}:{step}"


class WorkflowService:
    def __init__(self, db: Database, deps: WorkflowDeps, metrics: Metrics,
                 policy: Callable[[], ActivePolicy], *, lease_seconds: float = 60.0,
                 workflows: Iterable[Workflow] = ()) -> None:
        self.store = RunStore(db)
        self.deps = deps
        self._policy = policy
        self._metrics = metrics
        self.reporter = Reporter(deps.notifier, self.store)
        runner = StepRunner(self.store, deps, self._observe_step)
        known = {w.name: w for w in (kickoff.WORKFLOW, *workflows)}
        self.engine = Engine(self.store, known, runner, self.reporter, self._count,
                             lambda: policy().file.workflows.approvals.timeout_seconds)
        self._lease = timedelta(seconds=lease_seconds)
        self._owner = uuid.uuid4().hex[:16]
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self.accepting = True

    @property
    def sweep_interval(self) -> float:
        return min(30.0, max(0.2, self._lease.total_seconds() / 2))

    # -- starting runs -------------------------------------------------------------------
    async def launch(self, workflow: str, *, trigger_key: str, subject: str,
                     input: dict[str, Any], requested_by: str, channel: str,
                     thread_ts: str | None = None) -> tuple[int, bool]:
        """Store the run (once per trigger) and start driving it; (run id, newly created)."""
        steps = [s.name for s in self.engine.workflow(workflow).steps]
        run_id, created = await self.store.create(
            workflow=workflow, trigger_key=trigger_key, subject=subject, input=input,
            requested_by=requested_by, channel=channel, steps=steps, thread_ts=thread_ts)
        if created:
            self._count(workflow, "started")
            self.schedule(run_id)
        return run_id, created

    async def kickoff(self, number: str, *, trigger_key: str, requested_by: str,
                      channel: str = "") -> tuple[int, bool]:
        config = self._policy().file.workflows.kickoff
        data = kickoff.kickoff_input(number, config)
        return await self.launch(kickoff.NAME, trigger_key=trigger_key, subject=number,
                                 input=data, requested_by=requested_by,
                                 channel=channel or config.announce_channel or "")

    def schedule(self, run_id: int) -> None:
        if not self.accepting:
            return
        running = self._tasks.get(run_id)
        if running is not None and not running.done():
            self._again.add(run_id)  # e.g. approved while the task was just letting go
            return
        task = asyncio.get_running_loop().create_task(self._drive(run_id), name=f"run:{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def _drive(self, run_id: int) -> None:
        while True:
            self._again.discard(run_id)
            await self._drive_once(run_id)
            if run_id not in self._again or not self.accepting:
                return

    async def _drive_once(self, run_id: int) -> None:
        if not await self.store.claim(run_id, self._owner, self._lease):
            return  # finished, waiting for approval, or another replica holds it
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(run_id))
        try:
            await self.engine.drive(run_id)
        except Exception:  # the lease runs out and a later sweep tries again
            log.exception("workflow run %s stopped unexpectedly; it will be resumed", run_id)
            return
        finally:
            heartbeat.cancel()
        await self.store.release(run_id, self._owner)

    async def _heartbeat(self, run_id: int) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            with contextlib.suppress(Exception):
                if not await self.store.renew(run_id, self._owner, self._lease):
                    log.warning("lost the lease on workflow run %s", run_id)

    # -- background -----------------------------------------------------------------------
    async def sweep(self) -> None:
        """Resume runs nobody drives; cancel (and undo) runs whose approval timed out."""
        for run_id in await self.store.resumable():
            self.schedule(run_id)
        for run_id in await self.store.expired_approvals():
            seconds = self._policy().file.workflows.approvals.timeout_seconds
            if await self.store.transition(
                    run_id, "waiting_approval", status="compensating", cancelled=True,
                    approval_deadline=None, error=f"no approval within {_duration(seconds)}"):
                self.schedule(run_id)

    async def stop(self, grace: float = 10.0) -> None:
        self.accepting = False
        tasks = [t for t in self._tasks.values() if not t.done()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until no run is being driven here (tests)."""
        while tasks := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.wait(tasks)

    # -- approvals ------------------------------------------------------------------------
    async def decide(self, run_id: int, step: str, approve: bool,
                     who: Principal) -> tuple[bool, str]:
        """An approver's click: (accepted, what to tell them)."""
        run = await self.store.load(run_id)
        if run is None or step not in {s.name for s in run.steps}:
            return False, f"There is no workflow run {run_id} with a step {step!r}."
        if run.status != "waiting_approval" or run.step(step).status != "pending":
            return False, f"Run {run_id} is not waiting for approval (it is {run.status})."
        verdict = self._policy().rbac.can_approve(who, approval_action(run.workflow, step))
        if approve and not verdict.allowed:
            return False, f"You may not approve this: {verdict.reason}."
        if not approve and not verdict.allowed and who.user_id != run.requested_by:
            return False, "Only an approver or the person who started the run may reject it."
        if not await self._record_decision(run, step, approve, who):
            return False, f"Run {run_id} was decided a moment ago by someone else."
        verb = "approved" if approve else "rejected"
        await self.reporter.in_thread(run, f"{'✅' if approve else '🚫'} <@{who.user_id}> {verb} "
                                      f"*{self.engine.workflow(run.workflow).step(step).label}*.")
        self.schedule(run_id)
        return True, f"You {verb} run {run_id}."

    async def _record_decision(self, run: RunRecord, step: str, approve: bool,
                               who: Principal) -> bool:
        if approve:  # approved_by first: the run must never look runnable without it
            await self.store.set_step(run.id, step, result={**run.step(step).result,
                                                           "approved_by": who.user_id})
            return await self.store.transition(run.id, "waiting_approval", status="running",
                                               approval_deadline=None)
        return await self.store.transition(
            run.id, "waiting_approval", status="compensating", cancelled=True,
            approval_deadline=None, error=f"rejected by <@{who.user_id}>")

    # -- metrics ----------------------------------------------------------------------------
    def _count(self, workflow: str, status: str) -> None:
        self._metrics.workflow_runs_total.labels(workflow, status).inc()

    def _observe_step(self, workflow: str, step: str, outcome: str, seconds: float) -> None:
        self._metrics.workflow_step_seconds.labels(workflow, step, outcome).observe(seconds)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
