"""Cron expressions as people write them, checked and turned into APScheduler triggers (pure).

Two things differ from handing the text to ``CronTrigger.from_crontab``:

- Day-of-week numbers mean what they mean in crontab (0 or 7 = Sunday, 1 = Monday).
  APScheduler 3 counts 0 = Monday, so ``from_crontab("0 9 * * 1-5")`` would fire
  Tuesday to Saturday. The field is expanded to day names (``mon,tue,wed,thu,fri``).
- Errors name the field and say what is wrong with it, for a person in Slack.

Six fields (a leading seconds field) are accepted only where ``allow_seconds`` is set
(the policy file), so tests can schedule a digest that fires within seconds.
When both day-of-month and day-of-week are restricted, a day must match both
(APScheduler's rule; classic cron accepts either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.errors import BadRequest

FIVE = ("minute", "hour", "day", "month", "day_of_week")
SIX = ("second", *FIVE)
_LABELS = {"second": "second", "minute": "minute", "hour": "hour", "day": "day-of-month",
           "month": "month", "day_of_week": "day-of-week"}
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order: 0 = Sunday
_DOW_TOKEN = re.compile(r"^(?P<range>\*|\w+(?:-\w+)?)(?:/(?P<step>\d+))?$")
EXAMPLE = "`0 9 * * 1-5` (09:00 on weekdays)"


class CronError(BadRequest):
    """A cron expression or time zone that cannot be used; the message says why."""


@dataclass(frozen=True)
class Cron:
    expr: str  # as written, whitespace normalised
    timezone: str  # IANA name
    trigger: CronTrigger

    def next_fires(self, count: int, after: datetime) -> list[datetime]:
        fires: list[datetime] = []
        previous: datetime | None = None
        now = after
        for _ in range(count):
            fire = self.trigger.get_next_fire_time(previous, now)
            if fire is None:
                break
            fires.append(fire)
            previous, now = fire, fire + timedelta(microseconds=1)
        return fires


def parse_cron(expr: str, timezone: str = "UTC", *, allow_seconds: bool = False) -> Cron:
    """``"0 9 * * 1-5"`` -> Cron; raises CronError naming the bad field."""
    zone = parse_timezone(timezone)
    words = expr.split()
    names = SIX if allow_seconds and len(words) == 6 else FIVE
    if len(words) != len(names):
        wanted = "5 fields (or 6 with seconds first)" if allow_seconds else "5 fields"
        raise CronError(f"`{expr.strip()}` is not a cron expression: it has {len(words)} field(s), "
                        f"cron needs {wanted}: minute hour day-of-month month day-of-week, "
                        f"e.g. {EXAMPLE}.")
    fields = dict(zip(names, words, strict=True))
    fields["day_of_week"] = _weekdays(fields["day_of_week"], expr)
    for name, value in fields.items():  # one at a time, so the error names the field
        try:
            CronTrigger(timezone=zone, **{name: value})
        except ValueError as e:
            raise _field_error(expr, name, words[names.index(name)], str(e)) from None
    trigger = CronTrigger(timezone=zone, **fields)
    cron = Cron(" ".join(words), timezone, trigger)
    if not cron.next_fires(1, datetime.now(zone)):
        raise CronError(f"`{cron.expr}` never fires (no such date); try e.g. {EXAMPLE}.")
    return cron


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"`{name}` is not a time zone I know; use an IANA name such as "
                        "`Europe/Berlin` or `UTC`.") from None


def min_gap(cron: Cron, samples: int = 50) -> timedelta:
    """The shortest time between two of the next `samples` fires (to refuse chatty schedules)."""
    fires = cron.next_fires(samples, datetime.now(cron.trigger.timezone))
    gaps = [b - a for a, b in pairwise(fires)]
    return min(gaps) if gaps else timedelta.max


def _field_error(expr: str, name: str, value: str, why: str) -> CronError:
    why = why.removeprefix(f"Error validating expression '{value}': ")
    return CronError(f"`{expr.strip()}` is not a valid cron expression: the {_LABELS[name]} field "
                     f"`{value}` is wrong ({why}). Fields: minute hour day-of-month month "
                     f"day-of-week, e.g. {EXAMPLE}.")


def _weekdays(field: str, expr: str) -> str:
    """Crontab day-of-week (0/7 = Sunday, names, ranges, steps) -> APScheduler day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for token in field.split(","):
        m = _DOW_TOKEN.match(token.strip().lower())
        if not m:
            raise _field_error(expr, "day_of_week", field, f"cannot read `{token}`")
        low, high = _day_range(m["range"], expr, field)
        if m["step"] and "-" not in m["range"]:
            high = 6  # `1/2`: from Monday on, every other day
        step = int(m["step"] or 1)
        if step < 1:
            raise _field_error(expr, "day_of_week", field, "a step must be 1 or more")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _day_range(text: str, expr: str, field: str) -> tuple[int, int]:
    if text == "*":
        return 0, 6
    first, _, last = text.partition("-")
    low = _day(first, expr, field)
    high = _day(last, expr, field) if last else low
    if last and high == 0 < low:
        high = 7  # `mon-sun`: Sunday closes the week
    if low > high:
        raise _field_error(expr, "day_of_week", field, f"the range `{text}` runs backwards")
    return low, high


def _day(text: str, expr: str, field: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    if text[:3] in _DAY_NAMES and text.isalpha():
        return _DAY_NAMES.index(text[:3])
    raise _field_error(expr, "day_of_week", field,
                       f"`{text}` is not a day: use 0-7 (0 and 7 are Sunday) or mon..sun")
