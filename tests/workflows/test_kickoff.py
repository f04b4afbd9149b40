"""Project kickoff end to end: webhook or slash command -> every system -> Slack; and undo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.jira import jira_error
from tests.fakes.salesforce import sf_error
from tests.fakes.server import Recorded, Response
from tests.fakes.slack import FakeSlack, slash_command
from tests.systems import Systems, running_systems
from tests.workflows.kit import FORM, Kit, fail_when, kit_hub


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Systems]:
    with running_systems(tmp_path_factory.mktemp("pki")) as s:
        yield s


@pytest.fixture(scope="module")
def mslack() -> Iterator[FakeSlack]:
    with FakeSlack(users={"U0ALICE": {"name": "Alice Ops", "email": "alice@example.com"},
                          "U0BOB": {"name": "Bob Sales", "email": "bob@example.com"}}) as fake:
        yield fake


@pytest.fixture(scope="module")
def kit(systems: Systems, mslack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Kit]:
    db = tmp_path_factory.mktemp("db") / "hub.db"
    policy = str(Path(__file__).parents[1] / "data" / "policy.yaml")
    with kit_hub(systems, mslack, f"sqlite:///{db}", policy) as k:
        yield k


def test_kickoff_by_webhook_creates_everything_and_links_it(kit: Kit, systems: Systems) -> None:
    number = kit.ritm()
    run = kit.kickoff(number)
    assert run.status == "succeeded", run
    jira = run.results["jira"]
    epic = systems.jira.issues[jira["epic"]["key"]]
    assert epic["issuetype"] == "Epic" and len(jira["stories"]) == 3
    assert all(systems.jira.issues[s["key"]]["issuetype"] == "Story" for s in jira["stories"])
    opp = systems.salesforce.records["Opportunity"][run.results["opportunity"]["id"]]
    assert opp["Name"].startswith(number)
    folder = run.results["sharepoint"]["folder"]
    assert any(p.endswith(folder.rsplit("/", 1)[1]) for p in systems.sharepoint.folders)
    ritm = systems.servicenow.record("sc_req_item", number=number)
    assert ritm is not None and ritm["state"] == "2"
    [note] = systems.servicenow.work_notes[ritm["sys_id"]]
    assert jira["epic"]["key"] in note and run.results["opportunity"]["id"] in note
    announced = [p for p in kit.slack.posted if p.channel == "C0PROJECTS" and "kickoff" in p.text.lower()]
    assert announced
    brief = systems.sharepoint.files[f"/sites/team/{folder}/Project brief.md"][0].decode()
    assert jira["epic"]["key"] in brief and all(s["key"] in brief for s in jira["stories"])
    assert "dana@example.com" in brief  # a stakeholder the analyst found in the request



def _thread(kit: Kit, run_id: int) -> list[str]:
    return [p.text for p in kit.slack.posted if f"run {run_id} " in p.text and p.thread_ts]


JIRA_ISSUE = r"/rest/api/2/issue"
SNOW_RITM = r"/api/now/table/sc_req_item/[0-9a-f]{32}"
SF_OPPS = r"/services/data/v59\.0/sobjects/Opportunity/?"
SP_UPLOAD = r"(?i)/sites/team/_api/web/getFolderByServerRelativeUrl\(.*\)/Files/add\(.*\)"


def _inject(step: str, systems: Systems, slack: FakeSlack) -> None:
    """One failure in `step`, half-way through where the step makes several things."""
    if step == "read_request":
        systems.servicenow.fail_next("GET", r"/api/now/table/sc_req_item", *[Response(503)] * 3)
    elif step == "jira":  # the epic and the first story exist when the second story fails
        stories = {"n": 0}

        def second_story(rec: Recorded) -> bool:
            if (rec.json() or {}).get("fields", {}).get("issuetype", {}).get("name") == "Story":
                stories["n"] += 1
            return stories["n"] == 2
        fail_when(systems.jira.server, "POST", JIRA_ISSUE, second_story,
                  jira_error(400, "Issue type is busy"))
    elif step == "opportunity":
        systems.salesforce.fail_next("POST", SF_OPPS, sf_error(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                               "Close date too soon"))
    elif step == "sharepoint":  # the folder exists when the brief's upload fails
        systems.sharepoint.fail_next("POST", SP_UPLOAD, Response(507, "Insufficient Storage"))
    elif step == "announce":
        fail_when(slack, "POST", r"/api/chat\.postMessage",
                  lambda rec: "Project kickoff:" in rec.body.decode(errors="replace"),
                  Response(200, {"ok": False, "error": "channel_not_found"}))
    elif step == "servicenow":
        systems.servicenow.fail_next("PATCH", SNOW_RITM, Response(503, "busy"))


@pytest.mark.parametrize("step", ["read_request", "jira", "opportunity", "sharepoint",
                                  "announce", "servicenow"])
def test_a_failure_at_any_step_leaves_nothing_behind(kit: Kit, systems: Systems, step: str) -> None:
    number = kit.ritm()
    before = kit.state()
    _inject(step, systems, kit.slack)

    run = kit.kickoff(number)

    assert run.status == "compensated", run
    assert run.step(step).status in ("failed", "compensated") and run.step(step).error
    assert kit.state() == before  # no issue, opportunity, folder or file left in any fake
    ritm = systems.servicenow.record("sc_req_item", number=number)
    assert ritm is not None and ritm["state"] == "1"
    assert not systems.servicenow.work_notes.get(ritm["sys_id"])
    label = kit.hub.runtime.workflows.service.engine.workflow("kickoff").step(step).label  # type: ignore[union-attr]
    [outcome] = [t for t in _thread(kit, run.id) if "failed at" in t]
    assert f"failed at *{label}*" in outcome and "Nothing was left behind." in outcome
    made = [v["key"] for v in run.step("jira").result.get("issues", {}).values()]
    for key in made:  # the message names each thing it undid
        assert f"deleted Jira {key}" in outcome
    if run.step("opportunity").result.get("id"):
        assert "deleted Salesforce opportunity" in outcome
    if run.step("sharepoint").result.get("folder"):
        assert "to the Recycle Bin" in outcome
    if step == "servicenow":
        withdrawn = [u for u in kit.slack.updated if u.ts == run.step("announce").result["ts"]]
        assert withdrawn and "rolled back" in withdrawn[-1].text


def test_the_jira_failure_half_way_deleted_the_epic_and_first_story(kit: Kit, systems: Systems) -> None:
    number = kit.ritm()
    _inject("jira", systems, kit.slack)
    run = kit.kickoff(number)
    issues = run.step("jira").result["issues"]
    assert sorted(issues) == ["0", "1"]  # the epic and one story were made, then undone
    assert all(v["key"] not in systems.jira.issues for v in issues.values())
    assert run.step("jira").status == "compensated"
    assert run.step("opportunity").status == "skipped"


def test_what_cannot_be_undone_is_named(kit: Kit, systems: Systems) -> None:
    number = kit.ritm()
    systems.sharepoint.fail_next("POST", SP_UPLOAD, Response(507, "Insufficient Storage"))
    systems.salesforce.fail_next("DELETE", r"/services/data/v59\.0/sobjects/Opportunity/\w+",
                                 sf_error(500, "UNKNOWN_EXCEPTION", "try later"))
    run = kit.kickoff(number)

    assert run.status == "compensation_failed"
    opp = run.step("opportunity").result["id"]
    assert opp in systems.salesforce.records["Opportunity"]  # the one thing left
    assert any(opp in left for left in run.left_behind)
    [outcome] = [t for t in _thread(kit, run.id) if "failed at" in t]
    assert "Could not undo" in outcome and opp in outcome
    assert "Nothing was left behind" not in outcome
    systems.salesforce.records["Opportunity"].pop(opp)  # tidy for the next test


def test_kickoff_by_slash_command_and_status(kit: Kit, systems: Systems) -> None:
    number = kit.ritm()
    seen = len(kit.slack.posted)
    body = slash_command(f"kickoff {number}", trigger_id="trig-kickoff-1",
                         response_url=kit.slack.response_url("kick"))
    assert kit.hub.post_slack(body, FORM).status_code == 200
    reply = kit.slack.wait_for_posts(seen + 1)[seen]
    assert "Kickoff run" in reply.text and number in reply.text
    run = kit.finished("slack:command:trig-kickoff-1")
    assert run.status == "succeeded" and run.channel == "C0OPS"

    seen = len(kit.slack.posted)
    status = slash_command(f"workflow status {run.id}", trigger_id="trig-status-1",
                           response_url=kit.slack.response_url("status"))
    kit.hub.post_slack(status, FORM)
    text = kit.slack.wait_for_posts(seen + 1)[seen].text
    assert f"run {run.id}" in text and "done" in text
    for label in ("Jira epic and stories", "Salesforce opportunity", "ServiceNow work note"):
        assert label in text


def test_slash_kickoff_checks_its_argument_and_permission(kit: Kit) -> None:
    seen = len(kit.slack.posted)
    kit.hub.post_slack(slash_command("kickoff INC0010001", trigger_id="trig-k2",
                                     response_url=kit.slack.response_url("k2")), FORM)
    assert "is not a request item number" in kit.slack.wait_for_posts(seen + 1)[seen].text
    kit.hub.post_slack(slash_command("kickoff RITM0010001", user="U0BOB", channel="C0SALES",
                                     trigger_id="trig-k3",
                                     response_url=kit.slack.response_url("k3")), FORM)
    assert "Not allowed" in kit.slack.wait_for_posts(seen + 2)[seen + 1].text


def test_metrics_count_runs_and_time_steps(kit: Kit) -> None:
    text = kit.hub.http.get("/metrics").text
    assert 'switchboard_workflow_runs_total{status="succeeded",workflow="kickoff"}' in text
    assert 'switchboard_workflow_runs_total{status="compensated",workflow="kickoff"}' in text
    assert 'switchboard_workflow_step_seconds_count{outcome="done",step="jira",workflow="kickoff"}' in text
    assert 'switchboard_workflow_step_seconds_count{outcome="undo",step="jira",workflow="kickoff"}' in text
