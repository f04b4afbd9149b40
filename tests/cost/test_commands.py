"""Argument parsing and rendering of `cost` and `budget` (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.commands.args import UsageError
from bot.commands.cost import parse_cost_args, progress_bar, spend_table


@pytest.mark.parametrize(("text", "parsed"), [
    ("", ("month", "department")),
    ("today", ("today", "department")),
    ("WEEK by Model", ("week", "model")),
    ("by user", ("month", "user")),
    ("month by project", ("month", "project")),
])
def test_cost_arguments(text: str, parsed: tuple[str, str]) -> None:
    assert parse_cost_args(text) == parsed


@pytest.mark.parametrize(("text", "says"), [
    ("yesterday", "`yesterday` is not a period: use today, week or month"),
    ("today week", "`today week` is not a period"),
    ("by", "`by (nothing)`: group by department, model, user or project"),
    ("week by team", "`by team`: group by"),
    ("by model user", "`by model user`: group by"),
])
def test_bad_cost_arguments_name_the_allowed_values(text: str, says: str) -> None:
    with pytest.raises(UsageError, match="Usage: `/sb cost") as e:
        parse_cost_args(text)
    assert says in e.value.message


@pytest.mark.parametrize(("ratio", "bar"), [
    (0.0, "░░░░░░░░░░ 0%"), (0.62, "▓▓▓▓▓▓░░░░ 62%"), (0.999, "▓▓▓▓▓▓▓▓▓░ 99%"),
    (1.0, "▓▓▓▓▓▓▓▓▓▓ 100%"), (1.5, "▓▓▓▓▓▓▓▓▓▓ 150%"),
])
def test_progress_bar(ratio: float, bar: str) -> None:
    assert progress_bar(ratio) == bar


def test_small_totals_show_hundredths_of_a_cent() -> None:
    table = spend_table("model", [("gpt-4o-mini", Decimal("0.00021"), 1000, 100)])
    assert table.splitlines()[1].split() == ["gpt-4o-mini", "$0.0002", "1,000", "100"]
