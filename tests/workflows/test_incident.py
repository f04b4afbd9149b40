"""Incident bridge: P1/P2 webhooks -> the incident channel with buttons -> RBAC-checked clicks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.server import Response
from tests.fakes.slack import FakeSlack, Posted
from tests.systems import running_systems
from tests.workflows.kit import Kit, incident_event, kit_hub

CHANNEL = "C0INCIDENTS"
INCIDENT = r"/api/now/table/incident/[0-9a-f]{32}"


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    tmp = tmp_path_factory.mktemp("incident")
    users = {"U0ALICE": {"name": "Alice Ops", "email": "alice@example.com"},
             "U0BOB": {"name": "Bob Sales", "email": "bob@example.com"}}
    policy = str(Path(__file__).parents[1] / "data" / "policy.yaml")
    with running_systems(tmp) as systems, FakeSlack(users=users) as slack, \
            kit_hub(systems, slack, f"sqlite:///{tmp / 'hub.db'}", policy) as k:
        systems.servicenow.insert("sys_user", user_name="alice", name="Alice Ops",
                                  email="alice@example.com", active="true")
        yield k


def _bridged(kit: Kit, *, urgency: str = "1") -> tuple[str, Posted]:
    inc = kit.systems.servicenow.insert("incident", short_description="Checkout returns 502",
                                        urgency=urgency, impact="1")
    seen = len(kit.slack.posted)
    assert kit.webhook(incident_event(inc["number"], int(inc["priority"]))).status_code == 202
    kit.settle()
    [root] = [p for p in kit.slack.posted[seen:] if p.channel == CHANNEL and not p.thread_ts]
    return inc["number"], root


def _button(root: Posted, prefix: str) -> dict[str, str]:
    return next(e for b in root.blocks if b["type"] == "actions" for e in b["elements"]
                if e["action_id"].startswith(prefix))


def test_a_p1_is_posted_with_buttons_and_updates_go_to_its_thread(kit: Kit) -> None:
    number, root = _bridged(kit)
    assert "P1 incident" in root.text and number in root.text
    labels = [e["text"]["text"] for b in root.blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Acknowledge", "Open Jira bug", "Escalate"]

    body = incident_event(number, 1, "incident.updated", state="In Progress",
                          update="Rolled back the deploy")
    assert kit.webhook(body).status_code == 202
    kit.settle()
    update = kit.slack.posted[-1]
    assert update.thread_ts == root.ts and "Rolled back the deploy" in update.text


def test_lower_priorities_are_not_bridged(kit: Kit) -> None:
    inc = kit.systems.servicenow.insert("incident", short_description="Printer jam")
    seen = len(kit.slack.posted)
    assert kit.webhook(incident_event(inc["number"], int(inc["priority"]))).status_code == 202
    kit.settle()
    assert not [p for p in kit.slack.posted[seen:] if p.channel == CHANNEL]


def test_acknowledge_passes_rbac_and_updates_servicenow(kit: Kit) -> None:
    number, root = _bridged(kit)
    ack = _button(root, "incack")
    denied = kit.click(ack["action_id"], ack["value"], user="U0BOB", message_ts=root.ts or "")
    assert "Not allowed" in denied.text
    inc = kit.systems.servicenow.record("incident", number=number)
    assert inc is not None and inc["state"] == "1"

    done = kit.click(ack["action_id"], ack["value"], message_ts=root.ts or "")
    assert f"You acknowledged {number}" in done.text
    assert inc["state"] == "2" and inc.get("assigned_to")
    assert "Acknowledged in Slack by Alice Ops" in kit.systems.servicenow.work_notes[inc["sys_id"]][-1]
    assert any(p.thread_ts == root.ts and "acknowledged" in p.text for p in kit.slack.posted)
    assert "Acknowledged by <@U0ALICE>" in [u for u in kit.slack.updated if u.ts == root.ts][-1].text
    again = kit.click(ack["action_id"], ack["value"], message_ts=root.ts or "")
    assert "already acknowledged" in again.text


def test_open_jira_bug_links_it_back_once(kit: Kit) -> None:
    number, root = _bridged(kit, urgency="2")
    bug = _button(root, "incbug")
    started = kit.click(bug["action_id"], bug["value"], message_ts=root.ts or "")
    assert "Filing a Jira bug" in started.text
    [key] = [k for k, v in kit.systems.jira.issues.items() if v["summary"].startswith(f"[{number}]")]
    assert kit.systems.jira.issues[key]["issuetype"] == "Bug"
    inc = kit.systems.servicenow.record("incident", number=number)
    assert inc is not None
    assert any(key in note for note in kit.systems.servicenow.work_notes[inc["sys_id"]])
    assert any(p.thread_ts == root.ts and key in p.text for p in kit.slack.posted)
    assert f"Jira bug {key}" in [u for u in kit.slack.updated if u.ts == root.ts][-1].text

    again = kit.click(bug["action_id"], bug["value"], message_ts=root.ts or "")
    assert f"already has a Jira bug: {key}" in again.text
    assert len([k for k, v in kit.systems.jira.issues.items() if number in v["summary"]]) == 1


def test_a_failed_link_back_deletes_the_bug_and_says_so_in_the_thread(kit: Kit) -> None:
    _, root = _bridged(kit)
    before = sorted(kit.systems.jira.issues)
    kit.systems.servicenow.fail_next("PATCH", INCIDENT, Response(503, "busy"))
    bug = _button(root, "incbug")
    kit.click(bug["action_id"], bug["value"], message_ts=root.ts or "")
    assert sorted(kit.systems.jira.issues) == before
    [told] = [p.text for p in kit.slack.posted if p.thread_ts == root.ts and "failed at" in p.text]
    assert "Work note linking the bug" in told and "deleted Jira" in told
    retry = kit.click(bug["action_id"], bug["value"], message_ts=root.ts or "")  # may try again
    assert "Filing a Jira bug" in retry.text


def test_escalate_raises_the_incident_to_p1(kit: Kit) -> None:
    number, root = _bridged(kit, urgency="2")
    esc = _button(root, "incesc")
    assert "Not allowed" in kit.click(esc["action_id"], esc["value"], user="U0BOB").text
    done = kit.click(esc["action_id"], esc["value"], message_ts=root.ts or "")
    assert f"You escalated {number} to P1" in done.text
    inc = kit.systems.servicenow.record("incident", number=number)
    assert inc is not None and (inc["impact"], inc["urgency"], inc["priority"]) == ("1", "1", "1")
    assert any(p.thread_ts == root.ts and "escalated" in p.text for p in kit.slack.posted)
