"""The pure parts: cron parsing, Block Kit assembly, the chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.commands.digest import channel_of
from bot.digest.build import bar, budget_line, build, money, terminal
from bot.digest.chart import PNG_MAGIC, daily_spend_png
from bot.digest.model import (
    BudgetUse,
    Denials,
    DigestData,
    Incidents,
    JiraActivity,
    Problem,
    Run,
    Spend,
    Ticket,
    Workflows,
)
from bot.scheduler.cron import CronError, min_gap, parse_cron

MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(("expr", "days"), [
    ("0 9 * * 1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),  # crontab: 1 = Monday, not Tuesday
    ("0 9 * * 0", ["Sun"]), ("0 9 * * 7", ["Sun"]), ("0 9 * * sat,sun", ["Sat", "Sun"]),
    ("0 9 * * mon-sun", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
    ("0 9 * * */2", ["Tue", "Thu", "Sat", "Sun"]),  # crontab's 0,2,4,6
])
def test_day_of_week_means_what_crontab_means(expr: str, days: list[str]) -> None:
    fires = parse_cron(expr, "Europe/Berlin").next_fires(7, MONDAY)
    assert sorted({f"{f:%a}" for f in fires}, key=days.index) == days
    assert all(f.hour == 9 and f.tzinfo is not None for f in fires)


def test_timezone_and_seconds() -> None:
    cron = parse_cron("0 9 * * *", "America/New_York")
    assert cron.next_fires(1, MONDAY)[0] == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with pytest.raises(CronError, match="6 field"):
        parse_cron("*/5 * * * * *")
    assert min_gap(parse_cron("*/5 * * * * *", allow_seconds=True)) == timedelta(seconds=5)
    assert min_gap(parse_cron("0 9 * * 1-5")) == timedelta(days=1)


@pytest.mark.parametrize(("expr", "says"), [
    ("60 * * * *", "minute field `60` is wrong (the last value (60) is higher than the maximum"),
    ("0 24 * * *", "hour field `24`"), ("0 9 0 * *", "day-of-month field `0`"),
    ("0 9 * 13 *", "month field `13`"), ("0 9 * * fri-mon", "runs backwards"),
    ("0 9 * * funday", "`funday` is not a day"), ("x 9 * * *", "minute field `x`"),
    ("0 9 * * * * *", "7 field(s)"), ("0 0 30 2 *", "never fires"),
])
def test_malformed_cron_names_the_field(expr: str, says: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(expr)
    assert says in caught.value.message and "0 9 * * 1-5" in caught.value.message


@pytest.mark.parametrize(("word", "channel"), [
    ("<#C024BE7LR|general>", "C024BE7LR"), ("<#C024BE7LR>", "C024BE7LR"),
    ("#C024BE7LRX", "C024BE7LRX"), ("G0PRIVATE1", "G0PRIVATE1"), ("#general", None),
    ("incidents", None), ("<@U0ALICE>", None),
])
def test_channel_of(word: str, channel: str | None) -> None:
    assert channel_of(word) == channel


def data(**sections: object) -> DigestData:
    return DigestData(MONDAY - timedelta(days=1), MONDAY, "Europe/Berlin", sections,  # type: ignore[arg-type]
                      schedule="d1a2b3")


def test_blocks_and_text_hold_the_same_content() -> None:
    digest = build(data(
        incidents=Incidents({1: 1, 3: 4}),
        jira=JiraActivity(tuple(Ticket(f"OPS-{i}", f"Issue {i}", f"https://j/browse/OPS-{i}")
                                for i in range(7)), (), cap=7),
        workflows=Workflows((Run("1", "kickoff", "succeeded"),
                             Run("2", "kickoff", "compensation_failed", "<!channel> boom"))),
        denials=Denials({"rbac": 2}, {"jira:issue:create": 2}),
        spend=Spend({"engineering": 12.5}, {"gpt-4o": 12.5},
                    (BudgetUse("engineering", 480, 500), BudgetUse("sales", 10, 100)))))
    blocks = digest.blocks
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text",
                                                    "text": "Switchboard digest — Mon 2 Mar 07:00"}}
    assert blocks[1]["elements"][0]["text"] == \
        "Since Sun 1 Mar 07:00 (Europe/Berlin) · schedule `d1a2b3`"
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0] == "*Open incidents — 5*\n:red_circle: P1 Critical: *1* · P3 Moderate: *4*"
    assert sections[1].startswith("*Jira*\n7+ created, 0 resolved\nCreated: <https://j/browse/OPS-0|OPS-0>")
    assert "_and 2+ more_" in sections[1]
    assert "2 run(s): 1 succeeded, 1 compensation_failed" in sections[2]
    assert "&lt;!channel&gt; boom" in sections[2]  # data cannot ping a channel
    assert sections[4].startswith("*LLM spend*\n$12.50 in this period")
    assert sections[5].splitlines()[1] == \
        ":red_circle: `██████████` *engineering* 96% · $480.00 of $500.00"
    assert sections[5].splitlines()[2].startswith(":large_green_circle: `█░░░░░░░░░` *sales* 10%")
    assert len(blocks) == 2 + 2 * 6 and digest.problems == ()
    for line in ("Open incidents — 5", "7+ created, 0 resolved", "Policy denials — 2"):
        assert line in digest.text


def test_problems_take_one_line_each_and_are_summed_up() -> None:
    digest = build(data(incidents=Problem("ServiceNow", "not configured"),
                        jira=Problem("Jira", "could not load (Jira did not answer)"),
                        denials=Denials({}, {})))
    lines = [b["text"]["text"] for b in digest.blocks if b["type"] == "section"]
    assert lines == [":grey_question: ServiceNow: not configured",
                     ":grey_question: Jira: could not load (Jira did not answer)",
                     "*Policy denials*\nNo requests denied."]
    assert digest.blocks[-1]["elements"][0]["text"] == (
        ":warning: Could not show ServiceNow: not configured; "
        "Jira: could not load (Jira did not answer)")
    assert digest.problems == ("ServiceNow: not configured",
                               "Jira: could not load (Jira did not answer)")


def test_small_pieces() -> None:
    assert bar(0) == "░" * 10 and bar(0.55) == "██████░░░░" and bar(1.7) == "█" * 10
    assert money(0.004) == "<$0.01" and money(1234.5) == "$1,234.50" and money(0) == "$0.00"
    assert budget_line(BudgetUse("ops", 81, 100)).startswith(":large_yellow_circle:")
    assert terminal("*Jira* <https://j/OPS-1|OPS-1> :x: a &amp; b") == "Jira OPS-1 (https://j/OPS-1) a & b"
    assert terminal(":no_entry: `jira:issue:create` rate_limit _and 2 more_") == \
        "jira:issue:create rate_limit and 2 more"


def test_chart_is_a_png_even_without_spend() -> None:
    days = [(date(2026, 3, 1) + timedelta(days=i), float(i)) for i in range(14)]
    assert daily_spend_png(days, "Daily LLM spend").startswith(PNG_MAGIC)
    assert daily_spend_png([(date(2026, 3, 1), 0.0)], "nothing").startswith(PNG_MAGIC)
