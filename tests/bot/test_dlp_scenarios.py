"""DLP end to end: what a person pastes never reaches the agent, the audit log or Slack raw."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack, slash_command
from tests.hub import hub_settings, running_hub

FORM = "application/x-www-form-urlencoded"
CARD = "4111-1111-1111-1111"


def test_card_in_a_question_is_refused_and_never_stored_raw(slack: FakeSlack, sqlite_url: str,
                                                           policy_file: str) -> None:
    with running_hub(hub_settings(sqlite_url, slack, policy_file)) as hub:
        hub.post_slack(slash_command(f"ask refund card {CARD} now", trigger_id="dlp1",
                                     response_url=slack.response_url("dlp1")), FORM)
        [reply] = slack.wait_for_posts(1)
        hub.settle()
        rows = hub.run(hub.runtime.audit.recent(50, request_id="slack:command:dlp1"))
    assert "payment card" in reply.text and CARD not in reply.text
    assert all(CARD not in f"{r.detail} {r.rule}" for r in rows)
    assert ("dlp", "deny", "in:payment_card") in [(r.policy, r.decision, r.rule) for r in rows]
    assert "[REDACTED:payment_card:" in rows[0].detail  # the received row: type and digest


def test_phone_number_reaches_the_agent_redacted(slack: FakeSlack, sqlite_url: str,
                                                 policy_file: str) -> None:
    with running_hub(hub_settings(sqlite_url, slack, policy_file)) as hub:
        hub.post_slack(slash_command("ask page +1 415 555 2671 about the outage",
                                     trigger_id="dlp2", response_url=slack.response_url("d")), FORM)
        posts = slack.wait_for_posts(2)  # "working on it", then the answer
    answer = posts[-1].text
    assert "You asked:" in answer  # the offline model echoes what it was given
    assert "555 2671" not in answer and "[REDACTED:phone]" in answer
