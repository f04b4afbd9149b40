"""`/sb digest …` end to end: signed slash commands -> the real hub -> fake Slack (blocks,
files_upload_v2) and the fake ServiceNow/Jira."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.scheduler.cron import parse_cron
from bot.settings import JiraSettings, ServiceNowSettings
from tests.bot.test_connector_commands import FORM
from tests.conftest import DATA
from tests.digest import fakes
from tests.fakes import jira as fake_jira
from tests.fakes import servicenow as fake_snow
from tests.fakes.servicenow import FakeServiceNow
from tests.fakes.slack import FakeSlack, Posted, slash_command
from tests.hub import RunningHub, hub_settings, running_hub

PNG = b"\x89PNG\r\n\x1a\n"


def policy_with_digests(tmp_path: Path, schedules: dict[str, object]) -> str:
    policy = yaml.safe_load((DATA / "policy.yaml").read_text())
    policy["digests"] = {"timezone": "Europe/Berlin", "schedules": schedules}
    policy["budgets"] = {"engineering": {"monthly_usd": 500}}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return str(path)


@pytest.fixture
def systems() -> Iterator[tuple[FakeServiceNow, fakes.DigestJira]]:
    with FakeServiceNow() as snow, fakes.DigestJira() as jira:
        yield snow, jira


@pytest.fixture
def hub(slack: FakeSlack, sqlite_url: str, tmp_path: Path,
        systems: tuple[FakeServiceNow, fakes.DigestJira]) -> Iterator[RunningHub]:
    snow, jira = systems
    policy = policy_with_digests(tmp_path, {"weekly": {"cron": "0 8 * * 1", "channel": "C0OPS",
                                                       "sections": ["spend"]}})
    settings = hub_settings(sqlite_url, slack, policy).model_copy(update={
        "servicenow": ServiceNowSettings(url=snow.url, user=fake_snow.USER,
                                         password=fake_snow.PASSWORD),
        "jira": JiraSettings(url=jira.url, user=fake_jira.USER, token=fake_jira.TOKEN)})
    with running_hub(settings) as running:
        yield running


class Conversation:
    """Like tests/bot's, but waits for the reply itself: a digest posts before it."""

    def __init__(self, hub: RunningHub, slack: FakeSlack) -> None:
        self.hub, self.slack, self.n = hub, slack, 0

    def say(self, text: str, user: str = "U0ALICE", channel: str = "C0OPS") -> Posted:
        self.n += 1
        hook = f"r{self.n}"
        body = slash_command(text, user=user, channel=channel, trigger_id=f"trig-{self.n}",
                             response_url=self.slack.response_url(hook))
        assert self.hub.post_slack(body, FORM).status_code == 200
        for _ in range(200):
            replies = [p for p in self.slack.posted if p.via == "response_url" and p.channel == hook]
            if replies:
                return replies[0]
            self.slack.wait_for_posts(len(self.slack.posted) + 1)
        raise AssertionError(f"no reply to {text!r}")


@pytest.fixture
def chat(hub: RunningHub, slack: FakeSlack) -> Conversation:
    return Conversation(hub, slack)


def test_digest_now_posts_blocks_and_uploads_the_chart_into_its_thread(
        chat: Conversation, hub: RunningHub, slack: FakeSlack,
        systems: tuple[FakeServiceNow, fakes.DigestJira]) -> None:
    snow, jira = systems
    now = datetime.now(UTC)
    fakes.seed_servicenow(snow)
    fakes.seed_jira(jira, now)
    hub.run(fakes.seed_ledger(hub.runtime.db, now))

    reply = chat.say("digest now <#C0REPORTS|reports>")
    assert reply.response_type == "ephemeral", reply.text
    assert reply.text.startswith(":newspaper: Posted the digest in <#C0REPORTS>")
    [digest] = [p for p in slack.posted if p.via == "chat.postMessage"]
    assert digest.channel == "C0REPORTS" and digest.thread_ts is None
    blocks = digest.blocks if isinstance(digest.blocks, list) else json.loads(digest.blocks)
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"].startswith("Switchboard digest")
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "Open incidents — 6" in shown and "3 created, 1 resolved" in shown
    assert "`████████░░` *engineering* 81% · $403.00 of $500.00" in shown
    [chart] = slack.wait_for_uploads(1)
    assert chart.content.startswith(PNG) and chart.filename == "llm-spend.png"
    assert chart.channel == "C0REPORTS" and chart.thread_ts == digest.ts
    assert chart.title == "Daily LLM spend"


def test_schedule_list_cancel(chat: Conversation, hub: RunningHub) -> None:
    reply = chat.say('digest schedule "0 9 * * 1-5" <#C0REPORTS|reports> incidents costs '
                     'tz=America/New_York')
    assert reply.text.startswith(":calendar: Scheduled digest `d"), reply.text
    schedule_id = reply.text.split("`")[1]
    assert "`0 9 * * 1-5` (America/New_York), incidents, spend" in reply.text
    next_run = parse_cron("0 9 * * 1-5", "America/New_York").next_fires(1, datetime.now(UTC))[0]
    assert f"Next: {next_run:%a} {next_run.day} {next_run:%b} 09:00" in reply.text

    timetable = hub.runtime.services.digests.timetable
    jobs = hub.run(timetable.scheduler.jobs())
    assert jobs[schedule_id].name == "0 9 * * 1-5 (America/New_York)"
    assert jobs[schedule_id].next_run == next_run

    listed = chat.say("digest list").text
    assert f"`{schedule_id}` <#C0REPORTS> `0 9 * * 1-5` (America/New_York)" in listed
    assert "`policy:weekly` <#C0OPS> `0 8 * * 1` (Europe/Berlin), spend; next Mon" in listed
    assert "(policy file)" in listed and "by <@U0ALICE>" in listed

    assert chat.say(f"digest cancel {schedule_id}").text.startswith(":wastebasket: Cancelled")
    assert schedule_id not in hub.run(timetable.scheduler.jobs())
    assert schedule_id not in chat.say("digest list").text
    assert "comes from the policy file" in chat.say("digest cancel policy:weekly").text
    assert "no digest schedule `d000000`" in chat.say("digest cancel d000000").text


BAD_INPUT = [
    ('digest schedule "61 9 * * *"', "the minute field `61` is wrong"),
    ('digest schedule "0 9 * *"', "it has 4 field(s), cron needs 5 fields"),
    ('digest schedule "0 9 * * 8"', "the day-of-week field `8` is wrong"),
    ('digest schedule "0 0 31 2 *"', "never fires"),
    ('digest schedule "*/5 * * * *"', "more often than every 15 minutes"),
    ('digest schedule "* * * * * *"', "it has 6 field(s)"),  # seconds: policy file only
    ('digest schedule "0 9 * * *" tz=Mars/Olympus', "`Mars/Olympus` is not a time zone"),
    ('digest schedule "0 9 * * *" weather', "`weather` is not a digest section"),
    ('digest schedule "0 9 * * *" #ops', "I can't tell which channel `#ops` is"),
    ("digest schedule", "Missing the cron expression"),
    ("digest now <#C0OPS|ops> everything", "`everything` is not a digest section"),
    ("digest cancel", "Missing the schedule id"),
]


def test_bad_input_gets_a_clear_error_and_stores_nothing(chat: Conversation,
                                                         hub: RunningHub) -> None:
    for text, says in BAD_INPUT:  # one hub for all: each case is one slash command
        reply = chat.say(text)
        assert reply.response_type == "ephemeral" and says in reply.text, (text, reply.text)
    rows = hub.run(hub.runtime.services.digests.store.all())
    assert [s.id for s in rows] == ["policy:weekly"]
    assert not [p for p in chat.slack.posted if p.via == "chat.postMessage"]


@pytest.mark.parametrize("text", ["digest schedule 0 9 * * 1-5 incidents",
                                  "digest schedule \u201c0 9 * * 1-5\u201d incidents"])
def test_unquoted_or_smart_quoted_cron(chat: Conversation, text: str) -> None:
    reply = chat.say(text)
    assert "`0 9 * * 1-5` (Europe/Berlin), incidents" in reply.text, reply.text


def test_permissions(chat: Conversation) -> None:
    assert chat.say("digest list", user="U0MALLORY").text.startswith(":no_entry: Not allowed")
    assert "`digest:run`" in chat.say("digest now", user="U0BOB", channel="C0SALES").text
    assert "`digest:manage`" in chat.say('digest schedule "0 9 * * *"', user="U0BOB",
                                         channel="C0SALES").text
    assert "`digest:read`" in chat.say("digest list", user="U0BOB", channel="C0SALES").text
    assert not [p for p in chat.slack.posted if p.via == "chat.postMessage"]


def test_a_hub_that_does_not_process_runs_no_scheduler(slack: FakeSlack, sqlite_url: str,
                                                       tmp_path: Path) -> None:
    policy = policy_with_digests(tmp_path, {"fast": {"cron": "* * * * * *", "channel": "C0OPS"}})
    with running_hub(hub_settings(sqlite_url, slack, policy), process=False) as quiet:
        digests = quiet.runtime.services.digests
        assert not digests.timetable.scheduler.running
        quiet.run(asyncio.sleep(1.1))  # the policy's every-second cron would have fired
        assert quiet.run(digests.store.all()) == []  # not even synced from the policy file
    assert slack.posted == []
