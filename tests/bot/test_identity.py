"""Who is asking: roles by Slack user group and by email, looked up through the real Web API
client against the fake Slack, and cached so a busy user does not cost a lookup per request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import directory as directory_module
from bot.slack.directory import Directory
from tests import hub as hub_chat
from tests.fakes.server import Response
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.hub import RunningHub, hub_settings, running_hub

FORM = "application/x-www-form-urlencoded"
ONCALL = {"id": "S0ONCALL", "team_id": "T0ACME", "handle": "oncall", "name": "On-call",
          "is_usergroup": True, "users": ["U0CAROL", "U0DAN"], "user_count": 2}


@pytest.fixture
def people(slack: FakeSlack) -> FakeSlack:
    slack.users["U0CAROL"] = {"name": "Carol Oncall", "email": "carol@example.com"}
    slack.users["U0BOBBY"] = {"name": "Bobby", "email": "BOB@Example.COM"}
    slack.usergroups.append(ONCALL)
    return slack


@pytest.fixture
def hub(people: FakeSlack, sqlite_url: str, policy_file: str) -> Iterator[RunningHub]:
    # tests/data/policy.yaml: sre has "@oncall"; sales-ops has bob@example.com, only in C0SALES
    with running_hub(hub_settings(sqlite_url, people, policy_file)) as running:
        yield running


class Chat(hub_chat.Chat):
    def __init__(self, hub: RunningHub, slack: FakeSlack) -> None:
        super().__init__(hub, slack, prefix="who")

    def rbac(self, request_id: str) -> tuple[str, str]:
        rows = self.hub.run(self.hub.runtime.audit.recent(100, request_id=request_id))
        [row] = [r for r in rows if r.policy == "rbac"]
        return row.decision, row.rule


def lookups(slack: FakeSlack, method: str) -> int:
    pattern = "/api/" + re.escape(method)
    return len(slack.calls("GET", pattern)) + len(slack.calls("POST", pattern))


def test_a_user_group_member_gets_the_groups_role(hub: RunningHub, people: FakeSlack) -> None:
    chat = Chat(hub, people)
    rid, answer = chat.say("ask what is paging?", user="U0CAROL")
    assert chat.rbac(rid) == ("allow", "role:sre")
    assert "You asked" in answer.text
    _, whoami = chat.say("whoami", user="U0CAROL")
    assert "*Roles:* sre" in whoami.text and "carol@example.com" in whoami.text


def test_outside_the_group_the_same_request_is_denied(hub: RunningHub, people: FakeSlack) -> None:
    people.users["U0ERIN"] = {"name": "Erin", "email": "erin@corp.test"}
    chat = Chat(hub, people)
    rid, answer = chat.say("ask what is paging?", user="U0ERIN")
    assert chat.rbac(rid) == ("deny", "no-role")
    assert "no Switchboard role" in answer.text


def test_an_email_role_matches_whatever_case_slack_returns(hub: RunningHub,
                                                           people: FakeSlack) -> None:
    chat = Chat(hub, people)
    rid, _ = chat.say("ask pipeline?", user="U0BOBBY", channel="C0SALES")
    assert chat.rbac(rid) == ("allow", "role:sales-ops")
    rid, answer = chat.say("ask pipeline?", user="U0BOBBY", channel="C0OPS")
    assert chat.rbac(rid) == ("deny", "channel-scope")
    assert "only in other channels" in answer.text


def test_users_and_groups_are_looked_up_once_not_per_request(hub: RunningHub,
                                                             people: FakeSlack) -> None:
    chat = Chat(hub, people)
    for _ in range(3):
        chat.say("whoami", user="U0CAROL")
    chat.say("help", user="U0BOBBY")
    chat.say("whoami", user="U0BOBBY")
    assert lookups(people, "users.info") == 2  # one per person
    assert lookups(people, "usergroups.list") == 1  # one for everyone
    [call] = people.calls("GET", r"/api/usergroups\.list")
    assert call.query["include_users"] == ["1"]


def test_no_group_lookups_when_the_policy_names_no_group(people: FakeSlack, sqlite_url: str,
                                                         tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("roles:\n  sre: {members: [carol@example.com], allow: [agent:ask]}\n")
    with running_hub(hub_settings(sqlite_url, people, str(policy))) as hub:
        chat = Chat(hub, people)
        rid, _ = chat.say("ask hello", user="U0CAROL")
        assert chat.rbac(rid) == ("allow", "role:sre")
    assert lookups(people, "usergroups.list") == 0  # no usergroups:read scope needed


async def test_a_failed_group_refresh_keeps_the_groups_it_knew(
        people: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(directory_module, "TTL", 0.0)  # every lookup refreshes
    client = AsyncWebClient(token=BOT_TOKEN, base_url=people.api_url)
    directory = Directory(client, wants_groups=lambda: True)
    assert (await directory.principal("U0CAROL")).groups == {"oncall"}
    people.fail_next("GET", r"/api/usergroups\.list",  # slack_sdk lists groups with GET
                     Response(200, {"ok": False, "error": "ratelimited"}))
    carol = await directory.principal("U0CAROL")
    assert len(people.calls("GET", r"/api/usergroups\.list")) == 2  # the refresh did fail
    assert carol.groups == {"oncall"}  # not locked out of her role by one failed call
    assert carol.email == "carol@example.com"


async def test_an_unknown_user_has_no_email_and_no_groups(people: FakeSlack) -> None:
    directory = Directory(AsyncWebClient(token=BOT_TOKEN, base_url=people.api_url),
                          wants_groups=lambda: True)
    ghost = await directory.principal("U0GHOST", "T0ACME")
    assert (ghost.user_id, ghost.team_id, ghost.email, ghost.groups) == (
        "U0GHOST", "T0ACME", None, frozenset())
