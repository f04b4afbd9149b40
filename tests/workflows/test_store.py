"""The run store and the saga engine on SQLite and PostgreSQL, with steps that touch no system."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.metrics import Metrics
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.workflows.deps import WorkflowDeps
from bot.workflows.saga import Step, StepContext, StepError, Undo, UndoReport, Workflow
from bot.workflows.service import WorkflowService
from bot.workflows.store import RunStore, runs_since
from policies.policy_file import PolicyFile
from policies.store import ActivePolicy

LEASE = timedelta(seconds=30)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def _create(store: RunStore, trigger: str = "t-1") -> tuple[int, bool]:
    return await store.create(workflow="demo", trigger_key=trigger, subject="RITM0010001",
                              input={"a": 1}, requested_by="U0ALICE", channel="",
                              steps=["one", "two"])


async def test_a_trigger_creates_one_run_with_keyed_steps(db: Database) -> None:
    store = RunStore(db)
    run_id, created = await _create(store)
    again, created_again = await _create(store)
    assert created and not created_again and again == run_id
    run = await store.load(run_id)
    assert run is not None and [s.status for s in run.steps] == ["pending", "pending"]
    keys = [s.key for s in run.steps]
    assert len(set(keys)) == 2 and all(k.startswith("sbk") and k.isalnum() for k in keys)
    other, _ = await _create(store, "t-2")
    assert not set(keys) & {s.key for s in (await store.load(other)).steps}  # type: ignore[union-attr]


async def test_leases_keep_two_hubs_off_one_run(db: Database) -> None:
    store = RunStore(db)
    run_id, _ = await _create(store)
    assert await store.resumable() == [run_id]
    assert await store.claim(run_id, "hub-a", LEASE)
    assert not await store.claim(run_id, "hub-b", LEASE)
    assert await store.resumable() == []
    await store.release(run_id, "hub-a")
    assert await store.claim(run_id, "hub-b", timedelta(seconds=-1))  # taken, then "died"
    assert await store.resumable() == [run_id]
    assert await store.claim(run_id, "hub-a", LEASE)
    assert not await store.renew(run_id, "hub-b", LEASE)


async def test_waiting_and_finished_runs_are_not_claimed(db: Database) -> None:
    store = RunStore(db)
    run_id, _ = await _create(store)
    await store.set_run(run_id, status="waiting_approval")
    assert not await store.claim(run_id, "hub-a", LEASE)
    assert await store.transition(run_id, "waiting_approval", status="running")
    assert not await store.transition(run_id, "waiting_approval", status="compensating")
    await store.set_run(run_id, status="succeeded", finished_at=datetime.now(UTC))
    assert not await store.claim(run_id, "hub-a", LEASE)


async def test_runs_since_for_the_digest(db: Database) -> None:
    store = RunStore(db)
    start = datetime.now(UTC) - timedelta(seconds=1)
    run_id, _ = await _create(store)
    await store.set_run(run_id, status="compensated", error="Jira: down",
                        finished_at=datetime.now(UTC))
    [summary] = await runs_since(db, start)
    assert (summary.id, summary.workflow, summary.status, summary.error) == (
        run_id, "demo", "compensated", "Jira: down")
    assert summary.started_at.tzinfo is not None and summary.finished_at is not None
    assert await runs_since(db, datetime.now(UTC) + timedelta(minutes=1)) == []


# -- the engine, with steps that only write down what they did -----------------------------
class Notes:
    def __init__(self) -> None:
        self.did: list[str] = []
        self.fail_at: str | None = None
        self.undo_fails: str | None = None

    def step(self, name: str) -> Step:
        async def action(ctx: StepContext) -> dict[str, Any]:
            if ctx.result.get("made"):  # resumed: the thing exists already
                self.did.append(f"found {name}")
            else:
                self.did.append(f"made {name}")
                await ctx.remember(made=name)
            if self.fail_at == name:
                raise StepError(f"{name} broke")
            return {"made": name}

        async def undo(ctx: StepContext) -> UndoReport:
            u = Undo()

            async def remove() -> None:
                if self.undo_fails == name:
                    raise StepError("no way back")
                self.did.append(f"undid {name}")

            await u.attempt(f"removed {name}", remove)
            return u.report()

        return Step(name, name.title(), action, undo)


class Silent:
    async def post(self, *a: Any, **k: Any) -> str | None:
        return None

    async def update(self, *a: Any, **k: Any) -> None:
        return None

    async def upload(self, *a: Any, **k: Any) -> None:
        return None


def _service(db: Database, notes: Notes) -> WorkflowService:
    flow = Workflow("demo", "Demo", tuple(notes.step(n) for n in ("one", "two", "three")),
                    lambda _: ["ok"])
    deps = WorkflowDeps(connectors=None, notifier=Silent(), analyze=None)  # type: ignore[arg-type]
    policy = ActivePolicy.of(PolicyFile(), "test")
    return WorkflowService(db, deps, Metrics(), lambda: policy, workflows=[flow])


async def _launch(service: WorkflowService) -> int:
    run_id, _ = await service.launch("demo", trigger_key="t", subject="X", input={},
                                     requested_by="U0ALICE", channel="")
    await service.idle()
    return run_id


async def test_a_failure_undoes_done_steps_newest_first(db: Database) -> None:
    notes = Notes()
    notes.fail_at = "three"
    service = _service(db, notes)
    run = await service.store.load(await _launch(service))
    assert run is not None and run.status == "compensated"
    assert notes.did == ["made one", "made two", "made three", "undid three", "undid two",
                         "undid one"]
    assert [s.status for s in run.steps] == ["compensated"] * 3
    assert run.step("three").error == "three broke"


async def test_an_undo_that_fails_is_named_and_the_rest_still_undone(db: Database) -> None:
    notes = Notes()
    notes.fail_at, notes.undo_fails = "three", "two"
    service = _service(db, notes)
    run = await service.store.load(await _launch(service))
    assert run is not None and run.status == "compensation_failed"
    assert run.left_behind == ("removed two: no way back",)
    assert "undid one" in notes.did and run.step("two").status == "compensation_failed"


async def test_a_resumed_step_finds_what_it_made_instead_of_making_it_again(db: Database) -> None:
    notes = Notes()
    service = _service(db, notes)
    store = service.store
    run_id, _ = await store.create(workflow="demo", trigger_key="t", subject="X", input={},
                                   requested_by="U0ALICE", channel="",
                                   steps=["one", "two", "three"])
    # as a hub that died inside step two left it: one done, two running with its object made
    await store.set_step(run_id, "one", status="done", result={"made": "one"})
    await store.step_started(run_id, "two")
    await store.set_step(run_id, "two", result={"made": "two"})
    await service.sweep()
    await service.idle()
    run = await store.load(run_id)
    assert run is not None and run.status == "succeeded"
    assert notes.did == ["found two", "made three"]
    assert run.step("two").attempts == 2
