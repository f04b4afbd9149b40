"""Parsing command arguments, with errors that say which field is missing or wrong."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot.errors import BadRequest


class UsageError(BadRequest):
    """The person typed the command wrong; `message` says what and shows the usage."""


@dataclass(frozen=True)
class Args:
    words: tuple[str, ...]
    options: Mapping[str, str]

    @classmethod
    def parse(cls, text: str, known: frozenset[str] = frozenset()) -> Args:
        """`OPS fix the thing type=Bug` -> words (OPS, fix, the, thing), options {type: Bug}.

        Only `known` option names are options, so `a=b` inside free text stays text.
        """
        try:
            tokens = shlex.split(text)
        except ValueError:  # an unbalanced quote: keep the text as the person typed it
            tokens = text.split()
        words, options = [], {}
        for token in tokens:
            name, sep, value = token.partition("=")
            if sep and name.lower() in known:
                options[name.lower()] = value
            else:
                words.append(token)
        return cls(tuple(words), options)

    def word(self, index: int, field: str, usage: str) -> str:
        if len(self.words) <= index:
            raise UsageError(f"Missing the {field}. Usage: `{usage}`")
        return self.words[index]

    def rest(self, index: int, field: str, usage: str) -> str:
        text = " ".join(self.words[index:]).strip()
        if not text:
            raise UsageError(f"Missing the {field}. Usage: `{usage}`")
        return text


def matching(value: str, pattern: str, what: str, example: str) -> str:
    if not re.fullmatch(pattern, value, re.I):
        raise UsageError(f"`{value}` is not {what} (like `{example}`).")
    return value.upper()


def int_in(value: str | None, field: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise UsageError(f"`{field}` must be a whole number from {low} to {high}, not `{value}`.")
    return int(value)


def money(value: str | None, field: str) -> float | None:
    if value is None:
        return None
    try:
        amount = float(value.replace(",", "").removeprefix("$"))
    except ValueError:
        raise UsageError(f"`{field}` must be an amount like 25000, not `{value}`.") from None
    if amount < 0:
        raise UsageError(f"`{field}` cannot be negative.")
    return amount


def iso_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"`{field}` must be a date like 2026-12-31, not `{value}`.") from None
