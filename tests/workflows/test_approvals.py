"""Risky steps wait for an approver: Slack buttons, approver roles, and a timeout that undoes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.workflows.store import RunRecord
from tests.fakes.slack import FakeSlack
from tests.systems import running_systems
from tests.workflows.kit import Kit, kickoff_event, kit_hub, write_policy

APPROVALS = """  kickoff: {jira_project: OPS, announce_channel: C0PROJECTS, approval_steps: [opportunity]}
  approvals: {timeout_seconds: 600}
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    tmp = tmp_path_factory.mktemp("approvals")
    users = {"U0ALICE": {"name": "Alice Ops", "email": "alice@example.com"},
             "U0BOB": {"name": "Bob Sales", "email": "bob@example.com"}}
    with running_systems(tmp) as systems, FakeSlack(users=users) as slack, \
            kit_hub(systems, slack, f"sqlite:///{tmp / 'hub.db'}", write_policy(tmp, APPROVALS)) as k:
        yield k


def _waiting(kit: Kit) -> RunRecord:
    response = kit.webhook(kickoff_event(kit.ritm()))
    assert response.status_code == 202
    kit.settle()
    run = kit.run_for(response.json()["id"])
    assert run is not None and run.status == "waiting_approval", run
    return run


def _buttons(kit: Kit, run: RunRecord) -> dict[str, dict[str, str]]:
    [ask] = [p for p in kit.slack.posted if p.blocks and f"wfapprove:{run.id}" in str(p.blocks)]
    assert ask.thread_ts == run.thread_ts and "Salesforce opportunity" in ask.text
    return {e["text"]["text"]: e for b in ask.blocks if b["type"] == "actions" for e in b["elements"]}


def test_a_run_waits_before_the_risky_step_until_an_approver_clicks(kit: Kit) -> None:
    systems = kit.systems
    run = _waiting(kit)
    assert run.step("jira").status == "done" and run.step("opportunity").status == "pending"
    assert not any(run.subject in o["Name"] for o in systems.salesforce.records["Opportunity"].values())
    deadline = run.approval_deadline
    assert deadline is not None
    assert abs((deadline - datetime.now(UTC)).total_seconds() - 600) < 30
    approve = _buttons(kit, run)["Approve"]

    refused = kit.click(approve["action_id"], approve["value"], user="U0BOB")
    assert "may not approve" in refused.text
    assert kit.run_for(run.trigger_key).status == "waiting_approval"  # type: ignore[union-attr]

    accepted = kit.click(approve["action_id"], approve["value"], user="U0ALICE")
    assert f"You approved run {run.id}" in accepted.text
    done = kit.finished(run.trigger_key)
    assert done.status == "succeeded"
    assert done.step("opportunity").result.get("id") in systems.salesforce.records["Opportunity"]
    assert any("approved" in p.text and p.thread_ts == run.thread_ts for p in kit.slack.posted)

    again = kit.click(approve["action_id"], approve["value"], user="U0ALICE")
    assert "not waiting for approval" in again.text


def test_a_rejection_cancels_the_run_and_undoes_it(kit: Kit) -> None:
    before = kit.state()
    run = _waiting(kit)
    assert kit.state() != before  # the Jira epic and stories exist while it waits
    reject = _buttons(kit, run)["Reject"]
    assert f"You rejected run {run.id}" in kit.click(reject["action_id"], reject["value"]).text
    done = kit.finished(run.trigger_key)
    assert done.status == "cancelled" and "rejected by <@U0ALICE>" in (done.error or "")
    assert kit.state() == before
    start = f":no_entry_sign: Project kickoff run {run.id} "
    [told] = [p.text for p in kit.slack.posted if p.text.startswith(start)]
    assert "deleted Jira" in told and "Nothing was left behind." in told


def test_no_approval_in_time_cancels_and_undoes(kit: Kit) -> None:
    before = kit.state()
    run = _waiting(kit)
    service = kit.hub.runtime.workflows.service  # type: ignore[union-attr]
    kit.hub.run(service.sweep())  # not yet due: nothing happens
    assert kit.run_for(run.trigger_key).status == "waiting_approval"  # type: ignore[union-attr]

    past = datetime.now(UTC) - timedelta(seconds=1)  # as if the 600 s had gone by
    kit.hub.run(service.store.set_run(run.id, approval_deadline=past))
    kit.hub.run(service.sweep())
    done = kit.finished(run.trigger_key)
    assert done.status == "cancelled" and "no approval within 10 min" in (done.error or "")
    assert kit.state() == before
