"""A running hub with real agno (OpenAIChat) on the fake OpenAI server, and a policy with budgets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.cost.ledger import Ledger, UsageRow
from bot.settings import OpenAISettings
from tests.fakes.openai import FakeOpenAI, Reply, offers_tool
from tests.fakes.slack import FakeSlack, Posted, app_mention, event_callback, slash_command
from tests.hub import RunningHub, hub_settings, running_hub

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
LEADER = offers_tool("delegate_task_to_member")
OWNER = "C0ENGOWN"  # engineering's budget owner channel


def write_policy(tmp_path: Path, base: str, budgets: dict[str, Any],
                 prices: dict[str, Any] | None = None) -> str:
    """The scenario policy (tests/data/policy.yaml) plus budgets (and prices)."""
    data = yaml.safe_load(Path(base).read_text())
    data["budgets"] = budgets
    if prices:
        data["prices"] = prices
    path = tmp_path / "policy-with-budgets.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@contextmanager
def cost_hub(slack: FakeSlack, model: FakeOpenAI, db_url: str, policy: str,
             spec: str = "openai:gpt-4o-mini") -> Iterator[RunningHub]:
    settings = hub_settings(db_url, slack, policy, model=spec)
    settings = settings.model_copy(update={"openai": OpenAISettings(base_url=model.url,
                                                                     api_key="sk-test")})
    with running_hub(settings) as hub:
        yield hub


def ledger(hub: RunningHub) -> Ledger:
    led = hub.runtime.services.ledger
    assert led is not None
    return led


def seed(hub: RunningHub, usd: float, *, dept: str = "engineering", project: str = "apollo",
         user: str = "U0ALICE", model: str = "gpt-4o", at: datetime | None = None) -> None:
    row = UsageRow(request_id=f"seed-{usd}-{dept}", user_id=user, department=dept,
                   project=project, channel="C0OPS", model=model, input_tokens=1000,
                   output_tokens=500, cost_nanos=round(usd * 10**9),
                   at=at or datetime.now(UTC))
    hub.run(ledger(hub).record([row]))


class Chat:
    """Mentions and slash commands from one person; answers read back from the fake Slack."""

    def __init__(self, hub: RunningHub, slack: FakeSlack) -> None:
        self.hub, self.slack = hub, slack
        self.n = 100 * len(slack.posted)  # dedupe keys stay unique across hub restarts

    def mention(self, text: str, user: str = "U0ALICE") -> Posted:
        self.n += 1
        ts = f"1700000{self.n:03d}.000100"
        event = app_mention(text, user=user, ts=ts)
        seen = len(self.slack.posted)
        resp = self.hub.post_slack(event_callback(event, event_id=f"EvCost{self.n}"), JSON)
        assert resp.status_code == 200
        self.hub.settle()
        return next(p for p in self.slack.wait_for_posts(seen + 1)[seen:] if p.thread_ts == ts)

    def slash(self, text: str, user: str = "U0ALICE") -> Posted:
        self.n += 1
        seen = len(self.slack.posted)
        body = slash_command(text, user=user, channel="C0OPS", trigger_id=f"cost-{self.n}",
                             response_url=self.slack.response_url(f"cost{self.n}"))
        assert self.hub.post_slack(body, FORM).status_code == 200
        return self.slack.wait_for_posts(seen + 1)[seen]

    def posts_to(self, channel: str) -> list[str]:
        return [p.text for p in self.slack.posted if p.channel == channel]


def script_delegation(model: FakeOpenAI, answer: str = "All quiet this week.") -> None:
    """Leader routes to the analyst (one model call), the analyst answers (one more)."""
    model.script(Reply.tool_call("delegate_task_to_member",
                                 {"member_id": "analyst", "task": "Summarise the week"},
                                 prompt_tokens=1234, completion_tokens=56), when=LEADER)
    model.script(Reply.text(answer, prompt_tokens=789, completion_tokens=101),
                 when=lambda body: not LEADER(body))
