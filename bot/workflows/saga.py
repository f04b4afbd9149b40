"""The saga engine: ordered steps, each with an action and its undo.

A run executes its steps in order and stores each step's state and result as
it goes (`StepContext.remember` saves a partial result at once, so an undo or a
resume knows about an object the moment it exists). When a step fails, the
steps that did something are undone in reverse order — the failed step too,
since it may have made half of its objects — and the run ends `compensated`,
or `compensation_failed` naming what could not be undone. A step listed in the
run's `approval_steps` waits for an approver before it runs (see service.py).

Actions must be safe to run again with the same idempotency key: a hub that
died mid-step runs the step again on resume, so an action looks for an object
carrying its key before it creates one. Undos must be safe to run again too
(an object already gone counts as undone).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agents.errors import AgentError
from bot.errors import SwitchboardError
from connectors.errors import ConnectorError, NotFound

if TYPE_CHECKING:
    from bot.workflows.deps import WorkflowDeps
    from bot.workflows.store import RunRecord, RunStore

log = logging.getLogger(__name__)

Results = dict[str, dict[str, Any]]  # step name -> its result


class StepError(Exception):
    """A step cannot go on; the message is safe to show in Slack."""


@dataclass(frozen=True)
class UndoReport:
    undone: tuple[str, ...] = ()  # "deleted Jira OPS-1"
    left: tuple[str, ...] = ()  # "SharePoint folder X: SharePoint is unavailable"

    def __add__(self, other: UndoReport) -> UndoReport:
        return UndoReport(self.undone + other.undone, self.left + other.left)


class Undo:
    """Collects what an undo did, one object at a time: one failure does not stop the rest."""

    def __init__(self) -> None:
        self._undone: list[str] = []
        self._left: list[str] = []

    async def attempt(self, what: str, fn: Callable[[], Awaitable[Any]]) -> None:
        try:
            await fn()
        except NotFound:
            self._undone.append(f"{what} (already gone)")
        except Exception as e:
            log.warning("undo failed: %s", what, exc_info=True)
            self._left.append(f"{what}: {describe(e)}")
        else:
            self._undone.append(what)

    def report(self) -> UndoReport:
        return UndoReport(tuple(self._undone), tuple(self._left))


@dataclass
class StepContext:
    run: RunRecord
    key: str  # the step's idempotency key: the marker it leaves on what it creates
    result: dict[str, Any]  # partial result so far (from an earlier attempt, on resume)
    results: Results  # every step's result, earlier steps included
    deps: WorkflowDeps
    _save: Callable[[dict[str, Any]], Awaitable[None]] = field(repr=False)

    @property
    def input(self) -> dict[str, Any]:
        return self.run.input

    async def remember(self, **values: Any) -> None:
        """Store part of the result now: whatever happens next, undo and resume know it."""
        self.result.update(values)
        await self._save(dict(self.result))


StepAction = Callable[[StepContext], Awaitable[dict[str, Any]]]
StepUndo = Callable[[StepContext], Awaitable[UndoReport]]


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # for people: "Jira epic and stories"
    action: StepAction
    undo: StepUndo | None = None  # None: nothing to undo (reads, analysis)


@dataclass(frozen=True)
class Workflow:
    name: str  # "kickoff"
    title: str  # "Project kickoff"
    steps: tuple[Step, ...]
    summary: Callable[[Results], list[str]]  # success lines for Slack

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def describe(e: BaseException) -> str:
    """An error as a person may read it: our trees carry safe messages; others only a name."""
    if isinstance(e, ConnectorError | SwitchboardError):
        return e.message
    if isinstance(e, AgentError | StepError):
        return str(e)
    getter = getattr(getattr(e, "response", None), "get", None)
    said = getter("error") if callable(getter) else None
    if said:  # a Slack API error: its code ("channel_not_found") is safe and useful
        return f"Slack said {said}"
    return f"unexpected {type(e).__name__}"


def now() -> datetime:
    return datetime.now(UTC)


class StepRunner:
    """Runs one step or one undo, keeping the store and the step latency histogram current."""

    def __init__(self, store: RunStore, deps: WorkflowDeps,
                 observe: Callable[[str, str, str, float], None]) -> None:
        self._store = store
        self._deps = deps
        self._observe = observe  # (workflow, step, outcome, seconds)

    def context(self, run: RunRecord, name: str, results: Results) -> StepContext:
        record = run.step(name)

        async def save(result: dict[str, Any]) -> None:
            results[name] = result
            await self._store.set_step(run.id, name, result=result)

        return StepContext(run, record.key, dict(record.result), results, self._deps, save)

    async def run(self, run: RunRecord, workflow: Workflow, step: Step,
                  results: Results) -> str | None:
        """None when the step is done; else the error, as a person may read it."""
        ctx = self.context(run, step.name, results)
        await self._store.step_started(run.id, step.name)
        started = time.perf_counter()
        try:
            result = await step.action(ctx)
        except Exception as e:
            error = describe(e)
            log.warning("workflow %s run %s: step %s failed: %s", workflow.name, run.id,
                        step.name, error, exc_info=not isinstance(e, ConnectorError | StepError))
            self._observe(workflow.name, step.name, "failed", time.perf_counter() - started)
            await self._store.set_step(run.id, step.name, status="failed", error=error,
                                       result=ctx.result, finished_at=now())
            return error
        self._observe(workflow.name, step.name, "done", time.perf_counter() - started)
        results[step.name] = result
        await self._store.set_step(run.id, step.name, status="done", result=result,
                                   finished_at=now())
        return None

    async def undo(self, run: RunRecord, workflow: Workflow, step: Step,
                   results: Results) -> UndoReport:
        assert step.undo is not None
        ctx = self.context(run, step.name, results)
        started = time.perf_counter()
        try:
            report = await step.undo(ctx)
        except Exception as e:  # an undo should collect its failures; this is the backstop
            log.warning("undo of %s failed", step.name, exc_info=True)
            report = UndoReport(left=(f"{step.label}: {describe(e)}",))
        self._observe(workflow.name, step.name, "undo", time.perf_counter() - started)
        status = "compensation_failed" if report.left else "compensated"
        failure = run.step(step.name).error  # why the step failed, if it did: keep it
        if report.left:
            failure = "; ".join(filter(None, [failure, "could not undo: " + "; ".join(report.left)]))
        await self._store.set_step(
            run.id, step.name, status=status, finished_at=now(), error=failure,
            result={**ctx.result, "undo": {"undone": report.undone, "left": report.left}})
        return report


def undo_report_of(run: RunRecord) -> UndoReport:
    """What every step's undo reported (kept in the step results, so it survives a restart)."""
    total = UndoReport()
    for step in reversed(run.steps):
        undo = step.result.get("undo") or {}
        total += UndoReport(tuple(undo.get("undone", ())), tuple(undo.get("left", ())))
    return total
