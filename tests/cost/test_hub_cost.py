"""Cost and budgets end to end: signed Slack request -> hub -> real agno OpenAIChat -> fake
OpenAI server; the ledger, the budget policy, alerts on the fake Slack, metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cost.ledger import spend_by
from bot.cost.periods import month_start, next_month_start
from bot.cost.prices import PriceTable
from tests.cost.hub import OWNER, Chat, cost_hub, ledger, script_delegation, seed, write_policy
from tests.fakes.openai import FakeOpenAI, Reply
from tests.fakes.slack import FakeSlack


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=Reply.text("Done.", prompt_tokens=40, completion_tokens=8)) as fake:
        yield fake


def month() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return month_start(now), next_month_start(now)


def spent(hub, group_by: str) -> list[tuple[str, Decimal, int, int]]:
    start, end = month()
    return hub.run(spend_by(ledger(hub).db, start, end, group_by))


def test_ledger_sums_equal_reported_usage_times_price(slack: FakeSlack, model: FakeOpenAI,
                                                      database_url: str, policy_file: str,
                                                      tmp_path: Path) -> None:
    policy = write_policy(tmp_path, policy_file, {"engineering": {"monthly_usd": 100}})
    script_delegation(model)
    with cost_hub(slack, model, database_url, policy) as hub:
        answer = Chat(hub, slack).mention("summarise the week for me")
        assert answer.text == "All quiet this week."
        by_model = spent(hub, "model")
        by_dept = spent(hub, "department")
        metrics = hub.http.get("/metrics").text
    reported = model.reported_usage()
    assert list(reported) == ["gpt-4o-mini"] and len(model.requests) == 2
    tin, tout = reported["gpt-4o-mini"]
    assert (tin, tout) == (1234 + 789, 56 + 101)
    price = PriceTable().lookup("gpt-4o-mini", "openai")
    assert price is not None
    usd = (tin * price.input_per_1m + tout * price.output_per_1m) / 10**6
    assert by_model == [("gpt-4o-mini", usd, tin, tout)]
    assert by_dept == [("engineering", usd, tin, tout)]
    assert ('switchboard_llm_tokens_total{department="engineering",direction="input",'
            f'model="gpt-4o-mini"}} {float(tin)}') in metrics
    assert ('switchboard_llm_tokens_total{department="engineering",direction="output",'
            f'model="gpt-4o-mini"}} {float(tout)}') in metrics
    assert 'switchboard_llm_cost_usd_total{department="engineering",model="gpt-4o-mini"}' \
        in metrics


def test_a_run_over_budget_is_refused_before_any_model_call(slack, model, database_url,
                                                            policy_file, tmp_path) -> None:
    policy = write_policy(tmp_path, policy_file,
                          {"engineering": {"monthly_usd": 500, "channel": OWNER}})
    with cost_hub(slack, model, database_url, policy) as hub:
        seed(hub, 512.40)
        chat = Chat(hub, slack)
        denied = chat.mention("what broke overnight?")
        assert denied.text.startswith(":no_entry: engineering has spent $512.40 of its $500 "
                                      f"monthly LLM budget; ask <#{OWNER}> or wait until ")
        assert "whole monthly LLM budget" in chat.posts_to(OWNER)[0]
        assert "project apollo" not in denied.text
        assert spent(hub, "department") == [("engineering", Decimal("512.4"), 1000, 500)]
    assert model.requests == []


def test_80_and_95_percent_alerts_go_out_once_per_period_across_restarts(
        slack, model, sqlite_url, policy_file, tmp_path) -> None:
    policy = write_policy(tmp_path, policy_file,
                          {"engineering": {"monthly_usd": 10, "channel": OWNER}})
    with cost_hub(slack, model, sqlite_url, policy) as hub:
        seed(hub, 8.20)
        chat = Chat(hub, slack)
        assert chat.mention("first question").text == "Done."
        assert chat.mention("second question").text == "Done."
        [warning] = chat.posts_to(OWNER)
        assert warning.startswith(":warning: *engineering* has used 82% of its monthly LLM "
                                  "budget ($8.20 of $10, ")
    with cost_hub(slack, model, sqlite_url, policy) as hub:  # a restart: nothing repeats
        chat = Chat(hub, slack)
        chat.mention("after the restart")
        assert len(chat.posts_to(OWNER)) == 1
        seed(hub, 1.40)
        chat.mention("now at 96%")
        chat.mention("and again")
        assert len(chat.posts_to(OWNER)) == 2
        assert "has used 96%" in chat.posts_to(OWNER)[1]
    with cost_hub(slack, model, sqlite_url, policy) as hub:
        Chat(hub, slack).mention("one more after another restart")
    assert len([p for p in slack.posted if p.channel == OWNER]) == 2
    assert len(model.requests) == 6  # alerts never stopped a run below 100%


def test_downgrade_runs_the_request_on_the_cheaper_model(slack, model, database_url,
                                                         policy_file, tmp_path) -> None:
    policy = write_policy(tmp_path, policy_file, {"project:apollo": {
        "monthly_usd": 20, "on_exceed": "downgrade", "downgrade_model": "openai:gpt-4o-mini"}})
    with cost_hub(slack, model, database_url, policy, spec="openai:gpt-4o") as hub:
        chat = Chat(hub, slack)
        chat.mention("under budget: the default model")
        seed(hub, 25.0, model="gpt-4o")
        assert chat.mention("over budget: the cheaper one").text == "Done."
        by_model = {k: (u, i, o) for k, u, i, o in spent(hub, "model")}
    assert model.models == ["gpt-4o", "gpt-4o-mini"]
    mini = PriceTable().lookup("gpt-4o-mini")
    assert mini is not None
    assert by_model["gpt-4o-mini"] == ((40 * mini.input_per_1m + 8 * mini.output_per_1m) / 10**6,
                                       40, 8)


def test_commands_that_need_no_model_spend_no_tokens(slack, model, sqlite_url, policy_file,
                                                     tmp_path) -> None:
    policy = write_policy(tmp_path, policy_file, {"engineering": {"monthly_usd": 1}})
    with cost_hub(slack, model, sqlite_url, policy) as hub:
        chat = Chat(hub, slack)
        assert "/sb cost" in chat.slash("help").text
        assert "engineering" in chat.slash("whoami").text
        assert "Nothing spent yet" in chat.slash("cost").text
        assert "engineering" in chat.slash("budget").text
        assert spent(hub, "user") == []
    assert model.requests == []


def test_cost_and_budget_show_seeded_spend(slack, model, sqlite_url, policy_file,
                                           tmp_path) -> None:
    policy = write_policy(tmp_path, policy_file, {
        "engineering": {"monthly_usd": 500, "channel": OWNER},
        "sales": {"monthly_usd": 100, "on_exceed": "downgrade",
                  "downgrade_model": "openai:gpt-4o-mini"},
        "project:apollo": {"monthly_usd": 1000, "on_exceed": "warn"}})
    with cost_hub(slack, model, sqlite_url, policy) as hub:
        seed(hub, 310.0)
        seed(hub, 120.5, dept="sales", project="zeus", user="U0BOB", model="claude-haiku-4-5")
        chat = Chat(hub, slack)
        table = chat.slash("cost").text
        by_model = chat.slash("cost today by model").text
        budget = chat.slash("budget").text
        bad_period = chat.slash("cost yesterday").text
        bad_group = chat.slash("cost week by team").text
    assert "LLM spend — this month" in table and "by department" in table
    lines = table.split("```")[1].splitlines()
    assert lines[0].split() == ["department", "USD", "input", "tok", "output", "tok"]
    assert lines[1].split() == ["engineering", "$310.00", "1,000", "500"]
    assert lines[2].split() == ["sales", "$120.50", "1,000", "500"]
    assert lines[3].split() == ["total", "$430.50", "2,000", "1,000"]
    assert "by model" in by_model and "claude-haiku-4-5" in by_model and "gpt-4o" in by_model
    assert "• *engineering* `▓▓▓▓▓▓░░░░ 62%` $310.00 of $500 — :white_check_mark: ok" in budget
    assert ("• *sales* `▓▓▓▓▓▓▓▓▓▓ 120%` $120.50 of $100 — :no_entry: spent: agent requests "
            "run on the cheaper openai:gpt-4o-mini") in budget
    assert "• *project apollo* `▓▓▓░░░░░░░ 31%` $310.00 of $1,000" in budget
    assert "`yesterday` is not a period: use today, week or month" in bad_period
    assert "`by team`: group by department, model, user or project" in bad_group
    assert model.requests == []


def test_the_offline_model_is_ledgered_at_zero_dollars(slack, model, sqlite_url, policy_file,
                                                      tmp_path) -> None:
    policy = write_policy(tmp_path, policy_file, {"engineering": {"monthly_usd": 1}})
    with cost_hub(slack, model, sqlite_url, policy, spec="offline") as hub:
        Chat(hub, slack).mention("summarise the week for me")
        [(key, usd, tin, tout)] = spent(hub, "model")
        metrics = hub.http.get("/metrics").text
    assert (key, usd) == ("offline", Decimal(0)) and tin > 0 and tout > 0
    assert "switchboard_llm_unpriced_calls_total{" not in metrics
    assert model.requests == []
