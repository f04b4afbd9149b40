"""The offline team end to end: real tools against the system fakes, writes held for approval."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack, app_mention, block_action, event_callback
from tests.hub import RunningHub, hub_settings, running_hub
from tests.systems import Systems, running_systems

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
THREAD = "1700000100.000100"


@pytest.fixture
def systems(tmp_path: Path) -> Iterator[Systems]:
    with running_systems(tmp_path) as s:
        s.servicenow.insert("incident", number="INC0010001", short_description="Checkout 502s",
                            description="Half of checkout requests fail since 09:12 UTC",
                            urgency="1", impact="1")
        yield s


@pytest.fixture
def hub(slack: FakeSlack, systems: Systems, sqlite_url: str, policy_file: str):
    with running_hub(systems.configure(hub_settings(sqlite_url, slack, policy_file))) as h:
        yield h


def mention(hub: RunningHub, text: str, user: str = "U0ALICE", event_id: str = "Ev1") -> None:
    event = app_mention(text, user=user, ts=THREAD)
    assert hub.post_slack(event_callback(event, event_id=event_id), JSON).status_code == 200


def click(hub: RunningHub, slack: FakeSlack, action: str, value: str, user: str, n: int) -> str:
    body = block_action(action, value, user=user, thread_ts=THREAD, trigger_id=f"click-{n}",
                        response_url=slack.response_url(f"click-{n}"))
    seen = len(slack.posted)
    assert hub.post_slack(body, FORM).status_code == 200
    hub.settle()
    return "\n".join(p.text for p in slack.posted[seen:])


def test_a_mention_reads_an_incident(hub, slack: FakeSlack) -> None:
    mention(hub, "what is the status of INC0010001?")
    [answer] = slack.wait_for_posts(1)
    assert "INC0010001" in answer.text and "Checkout 502s" in answer.text
    assert answer.thread_ts == THREAD


def test_opening_a_jira_bug_from_an_incident_waits_for_approval(hub, slack, systems) -> None:
    mention(hub, "please open a jira bug for INC0010001")
    posts = slack.wait_for_posts(2)  # the approval request, then the team's answer
    hub.settle()
    approval = next(p for p in slack.posted if p.blocks and "Approve?" in p.text)
    assert approval.thread_ts == THREAD and "create_jira_issue" in approval.text
    assert any("Waiting for approval: `create_jira_issue`" in p.text for p in posts)
    assert systems.jira.issues == {}  # nothing created before a person says so

    button = approval.blocks[1]["elements"][0]
    outsider = click(hub, slack, button["action_id"], button["value"], "U0MALLORY", 1)
    assert "Only <@U0ALICE>" in outsider and systems.jira.issues == {}

    done = click(hub, slack, button["action_id"], button["value"], "U0MGR", 2)
    [(key, issue)] = systems.jira.issues.items()
    assert issue["summary"] == "Checkout 502s (INC0010001)" and issue["issuetype"] == "Bug"
    assert key in done and "Approved" in done

    again = click(hub, slack, button["action_id"], button["value"], "U0ALICE", 3)
    assert "already" in again and len(systems.jira.issues) == 1
    rows = hub.run(hub.runtime.audit.recent(200))
    decisions = [(r.actor, r.policy, r.decision, r.rule) for r in rows if r.policy == "approval"]
    assert ("U0MALLORY", "approval", "deny", "no-approver-role") in decisions
    assert ("U0MGR", "approval", "allow", "role:approvers") in decisions


def test_denied_approval_runs_nothing(hub, slack, systems) -> None:
    mention(hub, "open a jira task for INC0010001 in WEB")
    slack.wait_for_posts(2)
    hub.settle()
    approval = next(p for p in slack.posted if p.blocks and "Approve?" in p.text)
    deny = approval.blocks[1]["elements"][1]
    said = click(hub, slack, deny["action_id"], deny["value"], "U0ALICE", 1)
    assert "Denied" in said and systems.jira.issues == {}


def test_a_tool_the_person_may_not_use_is_denied_and_audited(hub, slack, systems) -> None:
    mention(hub, "what is the status of INC0010001?", user="U0VIEWER", event_id="EvV")
    [answer] = slack.wait_for_posts(1)
    hub.settle()
    assert "DENIED" in answer.text and "Checkout 502s" not in answer.text
    assert systems.servicenow.calls("GET") == []  # the connector was never reached
    rows = hub.run(hub.runtime.audit.recent(100))
    assert any(r.policy == "agent_tool" and r.decision == "deny" and r.actor == "U0VIEWER"
               for r in rows)
