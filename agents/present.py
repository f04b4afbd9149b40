"""Tool results as people read them (used by the offline model and by approvals)."""

from __future__ import annotations

import json
from typing import Any


def humanize(result: str) -> str:
    """A tool's JSON result as a few readable lines (what a model would say, minus the prose)."""
    try:
        data = json.loads(result)
    except ValueError:
        return result
    if isinstance(data, list):
        return "\n".join(f"• {_headline(d)}" for d in data[:20]) or "Nothing found."
    return _headline(data) if isinstance(data, dict) else str(data)


def _headline(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    ident = d.get("number") or d.get("key") or d.get("name") or d.get("id") or ""
    title = d.get("short_description") or d.get("summary") or ""
    state = d.get("state") or d.get("status") or d.get("stage") or ""
    parts = [f"*{ident}*" if ident else "", title, f"({state})" if state else "",
             f"<{d['url']}>" if d.get("url") else ""]
    return " ".join(p for p in parts if p) or json.dumps(d)[:300]
