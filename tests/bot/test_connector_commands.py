"""Slash verbs for the four systems, end to end: signed Slack request -> hub -> real vendor
library -> fake system -> reply on the fake Slack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.server import Response
from tests.fakes.slack import FakeSlack, slash_command
from tests.hub import RunningHub, hub_settings, running_hub
from tests.systems import Systems, running_systems

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def systems(tmp_path: Path) -> Iterator[Systems]:
    with running_systems(tmp_path) as s:
        yield s


@pytest.fixture
def hub(slack: FakeSlack, systems: Systems, sqlite_url: str, policy_file: str):
    settings = systems.configure(hub_settings(sqlite_url, slack, policy_file))
    with running_hub(settings) as running:
        yield running


class Conversation:
    def __init__(self, hub: RunningHub, slack: FakeSlack) -> None:
        self.hub, self.slack, self.n = hub, slack, 0

    def say(self, text: str, user: str = "U0ALICE", channel: str = "C0OPS"):
        self.n += 1
        seen = len(self.slack.posted)
        body = slash_command(text, user=user, channel=channel, trigger_id=f"trig-{self.n}",
                             response_url=self.slack.response_url(f"r{self.n}"))
        assert self.hub.post_slack(body, FORM).status_code == 200
        return self.slack.wait_for_posts(seen + 1)[seen]


@pytest.fixture
def chat(hub: RunningHub, slack: FakeSlack) -> Conversation:
    return Conversation(hub, slack)


# -- ServiceNow ----------------------------------------------------------------------------

def test_incident_show_renders_a_card(chat, systems: Systems) -> None:
    systems.servicenow.insert("incident", number="INC0010001", short_description="VPN down",
                              urgency="1", impact="1")
    reply = chat.say("incident show inc0010001")
    assert reply.response_type == "ephemeral"
    assert "INC0010001: VPN down" in reply.text
    assert reply.blocks[0]["text"]["text"].startswith("*<http")
    fields = {f["text"].split("\n")[0]: f["text"] for f in reply.blocks[1]["fields"]}
    assert "*Priority*" in fields and "*State*" in fields


def test_incident_create_is_posted_in_channel_and_stored(chat, systems: Systems) -> None:
    reply = chat.say("incident create Checkout returns 502 urgency=1")
    assert reply.response_type == "in_channel", reply.text
    stored = systems.servicenow.record("incident", short_description="Checkout returns 502")
    assert stored is not None and stored["urgency"] == "1"
    assert stored["number"] in reply.text


def test_incident_note_adds_a_work_note(chat, systems: Systems) -> None:
    inc = systems.servicenow.insert("incident", short_description="Disk full")
    reply = chat.say(f"incident note {inc['number']} Cleared /var/log")
    assert "Added a work note" in reply.text
    [note] = systems.servicenow.work_notes[inc["sys_id"]]
    assert "Cleared /var/log" in note and "via Slack" in note


@pytest.mark.parametrize(("text", "says"), [
    ("incident show", "Missing the incident number"),
    ("incident show OPS-1", "is not an incident number"),
    ("incident create", "Missing the short description"),
    ("incident create Broken urgency=7", "`urgency` must be a whole number from 1 to 3"),
    ("incident note INC0010001", "Missing the note text"),
    ("jira create ops", "Missing the summary"),
    ("sp list", "Missing the folder path"),
])
def test_bad_arguments_name_the_field(chat, text: str, says: str) -> None:
    reply = chat.say(text)
    assert reply.response_type == "ephemeral" and says in reply.text


def test_unknown_incident_says_so(chat) -> None:
    reply = chat.say("incident show INC0099999")
    assert "INC0099999" in reply.text and reply.response_type == "ephemeral"


def test_a_system_that_is_down_gets_a_clear_message_and_metrics(chat, systems, hub) -> None:
    for _ in range(3):  # every retry of the read fails
        systems.servicenow.fail_next("GET", r"/api/now/table/incident", Response(503, "busy"))
    reply = chat.say("incident show INC0010001")
    assert "ServiceNow" in reply.text and reply.response_type == "ephemeral"
    metrics = hub.http.get("/metrics").text
    assert 'switchboard_connector_calls_total{operation="get_incident",outcome="Unavailable",' \
           'system="servicenow"} 1.0' in metrics


# -- Jira --------------------------------------------------------------------------------

def test_jira_show_create_search_comment(chat, systems: Systems) -> None:
    key = systems.jira.add_issue("OPS", "Pager storm")
    assert f"{key}: Pager storm" in chat.say(f"jira show {key}").text

    created = chat.say("jira create OPS Checkout times out type=Bug")
    assert created.response_type == "in_channel" and "Checkout times out" in created.text
    new_key = next(k for k, v in systems.jira.issues.items() if v["summary"] == "Checkout times out")
    assert systems.jira.issues[new_key]["issuetype"] == "Bug"

    found = chat.say("jira search project = OPS")
    assert key in found.text and new_key in found.text

    commented = chat.say(f"jira comment {key} Rolled back")
    assert "Commented on" in commented.text
    assert "Rolled back" in systems.jira.comments[key][0]["body"]


# -- Salesforce (over TLS with a private CA) -----------------------------------------------

def test_sf_opportunity_create_show_and_query(chat, systems: Systems) -> None:
    created = chat.say("sf opportunity create Acme renewal amount=25000 close=2026-12-31",
                       user="U0BOB", channel="C0SALES")
    assert "Acme renewal" in created.text and "$25,000" in created.text
    [opp_id] = list(systems.salesforce.records["Opportunity"])
    shown = chat.say(f"sf opportunity show {opp_id}", user="U0BOB", channel="C0SALES")
    assert "Prospecting" in shown.text and "2026-12-31" in shown.text
    rows = chat.say("sf query SELECT Name FROM Opportunity", user="U0BOB", channel="C0SALES")
    assert "1 row(s)" in rows.text and "Acme renewal" in rows.text
    refused = chat.say("sf query DELETE FROM Opportunity", user="U0BOB", channel="C0SALES")
    assert "Only SOQL `SELECT`" in refused.text


def test_sf_bad_amount_names_the_field(chat) -> None:
    reply = chat.say("sf opportunity create Acme amount=lots", user="U0BOB", channel="C0SALES")
    assert "`amount` must be an amount" in reply.text


def test_salesforce_verbs_only_in_the_sales_channel(chat) -> None:
    reply = chat.say("sf query SELECT Name FROM Opportunity", user="U0BOB", channel="C0OPS")
    assert "Not allowed" in reply.text and "only in other channels" in reply.text


# -- SharePoint ------------------------------------------------------------------------------

def test_sp_list_and_upload_the_file_shared_in_slack(chat, systems, slack: FakeSlack) -> None:
    systems.sharepoint.add_folder("Shared Documents/Reports")
    systems.sharepoint.add_file("Shared Documents/Reports/q3.pdf", b"%PDF-1.7 q3")
    listed = chat.say('sp list "Shared Documents/Reports"')
    assert "q3.pdf" in listed.text

    missing = chat.say('sp upload "Shared Documents/Reports"')
    assert "found no file you shared" in missing.text
    slack.share_file("runbook.md", b"# Runbook\nrestart it", channel="C0OPS", user="U0ALICE")
    uploaded = chat.say('sp upload "Shared Documents/Reports"')
    assert "Uploaded" in uploaded.text and "runbook.md" in uploaded.text
    path = systems.sharepoint.path("Shared Documents/Reports/runbook.md")
    assert systems.sharepoint.files[path][0] == b"# Runbook\nrestart it"


def test_readyz_lists_every_connector(hub) -> None:
    checks = hub.http.get("/readyz").json()["checks"]
    assert {k: checks["connectors"][k] for k in ("servicenow", "jira", "salesforce",
                                                 "sharepoint")} == dict.fromkeys(
        ("servicenow", "jira", "salesforce", "sharepoint"), "healthy")


def test_unconfigured_system_says_which_variables_to_set(slack, sqlite_url, policy_file) -> None:
    with running_hub(hub_settings(sqlite_url, slack, policy_file)) as hub:
        chat = Conversation(hub, slack)
        reply = chat.say("incident show INC0010001")
        assert "SERVICENOW_URL" in reply.text
        assert hub.http.get("/readyz").json()["checks"]["connectors"]["jira"] == "not configured"
