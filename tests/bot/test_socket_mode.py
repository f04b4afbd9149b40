"""Socket Mode: envelopes take the inbox path, are acknowledged after storing, answered once."""

from __future__ import annotations

from urllib.parse import parse_qsl

from bot.settings import SlackSettings
from bot.slack.socket_mode import as_http_body
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, slash_command
from tests.fakes.socket_mode import FakeSocketMode
from tests.hub import hub_settings, running_hub


def test_slash_command_over_socket_mode_is_answered_once(slack: FakeSlack, sqlite_url: str,
                                                         policy_file: str) -> None:
    with FakeSocketMode() as socket:
        slack.socket_mode_url = socket.url
        settings = hub_settings(sqlite_url, slack, policy_file).model_copy(update={
            "slack": SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                                   app_token="xapp-1-test", api_url=slack.api_url)})
        with running_hub(settings) as hub:
            socket.wait_connected()
            command = dict(parse_qsl(slash_command(
                "whoami", trigger_id="sock-1", response_url=slack.response_url("s")).decode()))
            socket.send("slash_commands", command, envelope_id="env-1")
            socket.send("slash_commands", command, envelope_id="env-1")  # redelivered
            acks = socket.wait_acks(2)
            [reply] = slack.wait_for_posts(1)
            hub.settle()
            assert hub.http.get("/readyz").json()["checks"]["socket_mode"]["ok"] is True
        assert [a["envelope_id"] for a in acks] == ["env-1", "env-1"]
        assert "*Roles:* sre" in reply.text and len(slack.posted) == 1


def test_envelopes_become_the_bodies_slack_would_post() -> None:
    assert as_http_body("events_api", {"type": "event_callback"}) == (
        b'{"type": "event_callback"}', "application/json")
    body, ctype = as_http_body("interactive", {"type": "block_actions"}) or (b"", "")
    assert ctype == "application/x-www-form-urlencoded" and body.startswith(b"payload=")
    assert as_http_body("disconnect", {}) is None
