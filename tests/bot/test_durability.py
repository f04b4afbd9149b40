"""Nothing lost, nothing done twice: on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack, slash_command
from tests.hub import hub_settings, running_hub

FORM = "application/x-www-form-urlencoded"


def test_item_stored_by_a_stopped_hub_is_processed_exactly_once_after_restart(
        database_url: str, slack: FakeSlack, policy_file: str) -> None:
    settings = hub_settings(database_url, slack, policy_file)
    body = slash_command("whoami", trigger_id="t-restart", response_url=slack.response_url("x"))

    # 1. a hub that acknowledges and stores, then stops before it processes anything
    with running_hub(settings, process=False) as first:
        assert first.post_slack(body, FORM).status_code == 200
        assert first.run(first.runtime.inbox.status("slack:command:t-restart")) == "pending"
    assert slack.posted == []

    # 2. the next hub resumes it on start
    with running_hub(settings) as second:
        slack.wait_for_posts(1)
        second.settle()
        assert second.run(second.runtime.inbox.status("slack:command:t-restart")) == "done"
        # Slack retries the same command later: still stored once, answered once
        assert second.post_slack(body, FORM).status_code == 200
        second.settle()

    # 3. another restart finds nothing left to do
    with running_hub(settings) as third:
        third.settle()
    assert [p.text.split("\n")[0] for p in slack.posted] == [
        "*You are* <@U0ALICE> (`U0ALICE`), alice@example.com"]
