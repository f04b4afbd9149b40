"""The analyst failing: the kickoff stops before it makes anything, and says why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cost.ledger import spend_by
from bot.settings import OpenAISettings
from tests.fakes.openai import FakeOpenAI, Reply
from tests.fakes.slack import FakeSlack
from tests.hub import hub_settings, running_hub
from tests.systems import running_systems
from tests.workflows.kit import SECRETS, Kit


def test_an_analyst_failure_leaves_nothing_and_is_reported(
        tmp_path: Path, slack: FakeSlack, sqlite_url: str, policy_file: str) -> None:
    with running_systems(tmp_path) as systems, FakeOpenAI(default=None) as model:
        model.fail_next(500, {"error": {"message": "overloaded", "type": "server_error"}})
        settings = systems.configure(hub_settings(sqlite_url, slack, policy_file,
                                                  webhook_secrets=SECRETS, model="openai:gpt-4o"))
        settings = settings.model_copy(update={"openai": OpenAISettings(base_url=model.url,
                                                                        api_key="sk-test")})
        with running_hub(settings) as hub:
            kit = Kit(hub, slack, systems)
            before = kit.state()
            run = kit.kickoff(kit.ritm())

            assert run.status == "compensated"
            assert run.step("analysis").status == "failed"
            assert "analyst" in (run.step("analysis").error or "")
            assert kit.state() == before
            assert model.requests  # the real model class called the fake over HTTP
            [outcome] = [p.text for p in slack.posted if "failed at" in p.text]
            assert "failed at *Requirements analysis*" in outcome
            assert "Nothing was left behind." in outcome


def test_the_analysts_tokens_are_charged_to_the_ledger(
        tmp_path: Path, slack: FakeSlack, sqlite_url: str, policy_file: str) -> None:
    analysis = {"summary": "A portal for Acme.", "epic": "Acme customer portal",
                "stories": [{"title": "Single sign-on", "description": "Okta SSO",
                             "estimate_points": 3}],
                "estimate_days": 2, "stakeholders": [], "risks": []}
    with running_systems(tmp_path) as systems, FakeOpenAI(default=None) as model:
        model.script(Reply.text(json.dumps(analysis), prompt_tokens=900, completion_tokens=150))
        settings = systems.configure(hub_settings(sqlite_url, slack, policy_file,
                                                  webhook_secrets=SECRETS, model="openai:gpt-4o"))
        settings = settings.model_copy(update={"openai": OpenAISettings(base_url=model.url,
                                                                        api_key="sk-test")})
        with running_hub(settings) as hub:
            kit = Kit(hub, slack, systems)
            run = kit.kickoff(kit.ritm())
            assert run.step("analysis").status == "done"
            now = datetime.now(UTC)
            rows = hub.run(spend_by(hub.runtime.db, now - timedelta(hours=1),
                                    now + timedelta(hours=1), "model"))
    [(model_name, usd, tokens_in, tokens_out)] = rows
    assert (model_name, tokens_in, tokens_out) == ("gpt-4o", 900, 150)
    assert usd > 0
