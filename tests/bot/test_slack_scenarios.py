"""Signed Slack requests over HTTP to the real hub; replies land on the fake Slack Web API."""

from __future__ import annotations

import json
import time

import pytest

from bot.settings import SlackSettings
from tests.fakes.slack import (
    SIGNING_SECRET,
    FakeSlack,
    app_mention,
    direct_message,
    event_callback,
    sign,
    slash_command,
)
from tests.hub import hub_settings, running_hub

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
def hub(slack: FakeSlack, sqlite_url: str, policy_file: str):
    with running_hub(hub_settings(sqlite_url, slack, policy_file)) as running:
        yield running


def audit_rows(hub, request_id: str):
    return hub.run(hub.runtime.audit.recent(100, request_id=request_id))


def test_slash_help_lists_only_permitted_verbs(hub, slack: FakeSlack) -> None:
    body = slash_command("help", user="U0ALICE", response_url=slack.response_url("r1"))
    assert hub.post_slack(body, FORM).status_code == 200
    [reply] = slack.wait_for_posts(1)
    assert reply.via == "response_url" and reply.response_type == "ephemeral"
    assert "/sb ask <question>" in reply.text and "/sb whoami" in reply.text

    body = slash_command("help", user="U0MALLORY", trigger_id="t-2",
                        response_url=slack.response_url("r2"))
    hub.post_slack(body, FORM)
    second = slack.wait_for_posts(2)[1]
    assert "/sb whoami" in second.text and "/sb ask" not in second.text
    assert "need a role you don't have" in second.text


def test_whoami_shows_roles_department_and_email(hub, slack: FakeSlack) -> None:
    hub.post_slack(slash_command("whoami", response_url=slack.response_url("w")), FORM)
    [reply] = slack.wait_for_posts(1)
    assert "sre" in reply.text and "engineering" in reply.text
    assert "alice@example.com" in reply.text
    assert "*Limits left:*" in reply.text and "agent: 10/10 per minute (you)" in reply.text


def test_denied_command_is_a_clear_ephemeral_message_and_audited(hub, slack: FakeSlack) -> None:
    body = slash_command("ask what is broken?", user="U0MALLORY", trigger_id="t-deny",
                         response_url=slack.response_url("deny"))
    hub.post_slack(body, FORM)
    [reply] = slack.wait_for_posts(1)
    assert reply.response_type == "ephemeral"
    assert "Not allowed" in reply.text and "no Switchboard role" in reply.text
    hub.settle()
    rows = audit_rows(hub, "slack:command:t-deny")
    policy = [r for r in rows if r.stage == "policy"]
    assert [(r.policy, r.decision, r.rule, r.actor) for r in policy] == [
        ("rbac", "deny", "no-role", "U0MALLORY")]
    assert [r.stage for r in rows] == ["received", "policy", "outcome"]
    assert rows[-1].decision == "error"


def test_email_membership_grants_role_in_its_channel_only(hub, slack: FakeSlack) -> None:
    # bob holds sales-ops through his email address, and only in C0SALES
    hub.post_slack(slash_command("ask pipeline?", user="U0BOB", channel="C0OPS", trigger_id="b1",
                                 response_url=slack.response_url("b1")), FORM)
    [denied] = slack.wait_for_posts(1)
    assert "only in other channels" in denied.text
    hub.post_slack(slash_command("help", user="U0BOB", channel="C0SALES", trigger_id="b2",
                                 response_url=slack.response_url("b2")), FORM)
    assert "/sb ask" in slack.wait_for_posts(2)[1].text


def test_mention_is_answered_in_its_thread_with_progress(hub, slack: FakeSlack) -> None:
    event = app_mention("what is going on with INC0010001?", ts="1700000001.000100")
    assert hub.post_slack(event_callback(event, event_id="EvM1"), JSON).status_code == 200
    [reply] = slack.wait_for_posts(1)
    assert reply.via == "chat.postMessage"
    assert (reply.channel, reply.thread_ts) == ("C0OPS", "1700000001.000100")
    assert "ServiceNow is not configured" in reply.text  # the team really called its tool
    hub.settle()
    assert ("add", "1700000001.000100", "hourglass_flowing_sand") in slack.reactions
    assert ("remove", "1700000001.000100", "hourglass_flowing_sand") in slack.reactions


def test_mention_starting_with_a_verb_runs_the_command_without_the_agent(hub, slack) -> None:
    hub.post_slack(event_callback(app_mention("whoami"), event_id="EvW"), JSON)
    [reply] = slack.wait_for_posts(1)
    assert "*Roles:* sre" in reply.text
    assert slack.reactions == []  # no agent work, no progress marker


def test_direct_message_goes_to_the_agent(hub, slack: FakeSlack) -> None:
    hub.post_slack(event_callback(direct_message("hello"), event_id="EvDM"), JSON)
    [reply] = slack.wait_for_posts(1)
    assert reply.channel == "D0ALICE" and reply.thread_ts is None
    assert "You asked: “hello”" in reply.text


def test_retried_event_changes_nothing(hub, slack: FakeSlack) -> None:
    body = event_callback(app_mention("status?"), event_id="EvRETRY")
    assert hub.post_slack(body, JSON).status_code == 200
    slack.wait_for_posts(1)
    retry = hub.post_slack(body, JSON, headers={"X-Slack-Retry-Num": "1",
                                                "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    hub.settle()
    assert len(slack.posted) == 1
    assert hub.run(hub.runtime.inbox.status("slack:event:EvRETRY")) == "done"


def test_url_verification_echoes_the_challenge(hub) -> None:
    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    r = hub.post_slack(body, JSON)
    assert r.status_code == 200
    assert r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_bad_signature_is_401(hub, slack: FakeSlack) -> None:
    body = slash_command("help")
    forged = sign(body, secret="not-the-secret")
    r = hub.post_slack(body, FORM, headers=forged)
    assert r.status_code == 401 and "signature" in r.json()["error"]
    assert hub.post_slack(body, FORM, signed=False).status_code == 401
    time.sleep(0.2)
    assert slack.posted == []


def test_stale_timestamp_is_401_even_when_correctly_signed(hub) -> None:
    body = slash_command("help")
    old = sign(body, timestamp=int(time.time()) - 6 * 60)
    r = hub.post_slack(body, FORM, headers=old)
    assert r.status_code == 401 and "stale" in r.json()["error"]


@pytest.mark.parametrize(("body", "ctype", "says"), [
    (b"{not json", JSON, "not valid JSON"),
    (b"[1, 2]", JSON, "must be a JSON object"),
    (b'{"type": "event_callback", "event": {"type": "app_mention"}}', JSON, "event_id"),
    (b"command=%2Fsb&text=help", FORM, "user_id"),
    (b"payload=%7Bbroken", FORM, "not valid JSON"),
    (b"hello", "text/plain", "unsupported Content-Type"),
])
def test_malformed_bodies_are_400_with_a_clear_message(hub, body, ctype, says) -> None:
    r = hub.post_slack(body, ctype)
    assert r.status_code == 400
    assert says in r.json()["error"]


def test_oversized_body_is_413(hub) -> None:
    r = hub.post_slack(b"x" * (1 << 20 + 1), FORM)
    assert r.status_code == 413


def test_health_readiness_and_metrics(hub) -> None:
    assert hub.http.get("/healthz").json() == {"status": "ok"}
    ready = hub.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["slack"] == {"ok": True, "detail": "auth.test ok"}
    hub.post_slack(slash_command("help", trigger_id="m1"), FORM)
    hub.settle()
    text = hub.http.get("/metrics").text
    assert 'switchboard_inbound_total{ingress="slack",result="stored"} 1.0' in text
    assert 'switchboard_policy_decisions_total{decision="allow",policy="rbac"} 1.0' in text
    assert "switchboard_ack_seconds_bucket" in text


def test_readyz_says_when_slack_is_not_configured(sqlite_url: str) -> None:
    with running_hub(hub_settings(sqlite_url, None)) as hub:
        r = hub.http.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["slack"] == {"ok": False, "detail": "not configured"}
        assert r.json()["checks"]["database"] == {"ok": True}
        events = hub.post_slack(slash_command("help"), FORM)
        assert events.status_code == 503 and "SLACK_SIGNING_SECRET" in events.json()["error"]


def test_readyz_fails_when_auth_test_fails(sqlite_url: str, slack: FakeSlack) -> None:
    settings = hub_settings(sqlite_url, slack)
    revoked = SlackSettings(bot_token="xoxb-revoked", signing_secret=SIGNING_SECRET,
                            api_url=slack.api_url)
    settings = settings.model_copy(update={"slack": revoked})
    with running_hub(settings) as hub:
        r = hub.http.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["slack"]["detail"] == "auth.test failed: invalid_auth"


def test_a_slack_429_on_a_reply_is_retried_after_retry_after(hub, slack: FakeSlack) -> None:
    from tests.fakes.server import Response

    slack.fail_next("POST", r"/api/chat\.postMessage",
                    Response(429, {"ok": False, "error": "ratelimited"},
                             headers={"Retry-After": "1"}))
    hub.post_slack(event_callback(app_mention("status?"), event_id="Ev429"), JSON)
    [reply] = slack.wait_for_posts(1, timeout=15)
    assert reply.via == "chat.postMessage"
    assert len(slack.calls("POST", r"/api/chat\.postMessage")) == 2  # refused once, then sent
