"""Driving one run: steps in order, approval gates, and compensation on failure.

The caller (service.py) holds the run's lease while `drive` runs. Every state
change is stored before the next action, so whichever point the hub dies at,
`drive` called again on the same run carries on from there: a `running` run
re-enters its first unfinished step (whose action looks before it creates), a
`compensating` run undoes what is still done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.workflows.report import Reporter
from bot.workflows.saga import StepRunner, Workflow, now, undo_report_of
from bot.workflows.store import RunRecord, RunStore

log = logging.getLogger(__name__)
UNDOABLE = ("done", "failed", "running", "compensation_failed")


class Engine:
    def __init__(self, store: RunStore, workflows: Mapping[str, Workflow], runner: StepRunner,
                 reporter: Reporter, count: Callable[[str, str], None],
                 approval_timeout: Callable[[], float]) -> None:
        self._store = store
        self._workflows = workflows
        self._runner = runner
        self._reporter = reporter
        self._count = count  # (workflow, status): switchboard_workflow_runs_total
        self._approval_timeout = approval_timeout  # seconds, from the live policy file

    def workflow(self, name: str) -> Workflow:
        return self._workflows[name]

    async def drive(self, run_id: int) -> None:
        run = await self._store.load(run_id)
        if run is None:
            return
        workflow = self._workflows[run.workflow]
        if run.status == "compensating":
            await self._compensate(run, workflow)
        elif run.status == "running":
            await self._forward(run, workflow)

    async def _forward(self, run: RunRecord, workflow: Workflow) -> None:
        run = await self._reporter.opened(run, workflow)
        results = run.results
        gated = set(run.input.get("approval_steps", ()))
        for step in workflow.steps:
            record = run.step(step.name)
            if record.status in ("done", "skipped"):
                continue
            if step.name in gated and not record.result.get("approved_by"):
                await self._ask_approval(run, workflow, step.name)
                return
            error = await self._runner.run(run, workflow, step, results)
            if error is not None:
                await self._store.set_run(run.id, status="compensating",
                                          error=f"{step.label}: {error}")
                await self._compensate(await self._reload(run), workflow)
                return
            await self._reporter.refresh(run.id, workflow)
        await self._store.set_run(run.id, status="succeeded", finished_at=now())
        self._count(workflow.name, "succeeded")
        await self._reporter.succeeded(await self._reload(run), workflow)

    async def _ask_approval(self, run: RunRecord, workflow: Workflow, step: str) -> None:
        deadline = now() + timedelta(seconds=self._approval_timeout())
        record = run.step(step)
        if not record.result.get("approval_ts"):  # asked before a restart: do not ask twice
            ts = await self._reporter.ask_approval(run, workflow, step, deadline)
            await self._store.set_step(run.id, step, result={**record.result,
                                                             "approval_ts": ts or "-"})
        await self._store.set_run(run.id, status="waiting_approval", approval_deadline=deadline)
        await self._reporter.refresh(run.id, workflow)

    async def _compensate(self, run: RunRecord, workflow: Workflow) -> None:
        """Undo, newest first, every step that did (or may have done) something."""
        results = run.results
        for step in reversed(workflow.steps):
            record = run.step(step.name)
            if record.status in UNDOABLE and step.undo is not None:
                await self._runner.undo(run, workflow, step, results)
        for record in run.steps:
            if record.status == "pending":
                await self._store.set_step(run.id, record.name, status="skipped")
        run = await self._reload(run)
        undo = undo_report_of(run)
        status = ("compensation_failed" if undo.left
                  else "cancelled" if run.cancelled else "compensated")
        await self._store.set_run(run.id, status=status, finished_at=now(),
                                  left_behind=undo.left)
        self._count(workflow.name, status)
        await self._reporter.undone(await self._reload(run), workflow, undo)

    async def _reload(self, run: RunRecord) -> RunRecord:
        fresh = await self._store.load(run.id)
        assert fresh is not None
        return fresh
