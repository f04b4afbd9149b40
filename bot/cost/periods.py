"""Calendar periods in UTC: budgets run per calendar month, reports per day, week or month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from policies.budget import month_key, month_start, next_month_start

PERIODS = ("today", "week", "month")
__all__ = ["PERIODS", "Window", "day_of", "month_key", "month_start", "next_month_start", "window"]


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    label: str  # "this month (November 2026)"


def window(period: str, now: datetime) -> Window:
    """`today` (since 00:00 UTC), `week` (since Monday 00:00 UTC) or `month` (since the 1st)."""
    now = now.astimezone(UTC)
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if period == "today":
        return Window(day, day + timedelta(days=1), f"today ({day:%a %d %b %Y}, UTC)")
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return Window(monday, monday + timedelta(days=7), f"this week (from {monday:%a %d %b})")
    if period == "month":
        return Window(month_start(now), next_month_start(now), f"this month ({now:%B %Y})")
    raise ValueError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()
