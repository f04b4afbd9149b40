"""Block Kit builders for command replies (pure: dicts in, dicts out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policies.types import Reply, Visibility

Block = Mapping[str, Any]


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text[:3000]}


def card(title: str, url: str | None, fields: Iterable[tuple[str, object]],
         body: str | None = None, *, visibility: Visibility = "ephemeral",
         note: str | None = None) -> Reply:
    """A record: linked title, up to 10 label/value fields, optional body and footnote."""
    heading = f"*<{url}|{title}>*" if url else f"*{title}*"
    shown = [(k, v) for k, v in fields if v not in (None, "")][:10]
    blocks: list[Block] = [{"type": "section", "text": _mrkdwn(heading)}]
    if shown:
        blocks.append({"type": "section",
                       "fields": [_mrkdwn(f"*{k}*\n{v}") for k, v in shown]})
    if body:
        blocks.append({"type": "section", "text": _mrkdwn(body)})
    if note:
        blocks.append({"type": "context", "elements": [_mrkdwn(note)]})
    text = "\n".join([title + (f" <{url}>" if url else ""), *(f"{k}: {v}" for k, v in shown),
                      *([body] if body else [])])
    return Reply(text=text, blocks=tuple(blocks), visibility=visibility)


def listing(title: str, rows: Sequence[str], *, empty: str, more: int = 0) -> Reply:
    """A bulleted list with a heading; `more` says how many were left out."""
    if not rows:
        return Reply(f"{title}\n{empty}")
    lines = [f"• {r}" for r in rows]
    if more > 0:
        lines.append(f"_…and {more} more_")
    text = f"*{title}*\n" + "\n".join(lines)
    return Reply(text, blocks=({"type": "section", "text": _mrkdwn(text)},))


def link(label: str, url: str | None) -> str:
    return f"<{url}|{label}>" if url else label
