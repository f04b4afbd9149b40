"""`switchboard digest run --channel C… [--dry-run]`: one digest, printed or posted."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.digest.build import terminal
from bot.digest.service import Composed
from bot.settings import Settings


def run_digest(settings: Settings, channel: str, sections: Sequence[str], *, dry_run: bool,
               chart: Path | None = None) -> int:
    if not dry_run and not settings.slack.configured:
        print("switchboard: Slack is not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET), "
              "so there is nowhere to post; use --dry-run to print the digest.", file=sys.stderr)
        return 2
    composed = asyncio.run(_build(settings, channel, sections, post=not dry_run))
    print(terminal(composed.digest.text))
    if composed.chart is None:
        print("\n(no chart: the spend section was not shown)")
    elif chart is not None:
        chart.write_bytes(composed.chart)
        print(f"\nchart: {len(composed.chart):,}-byte PNG written to {chart}")
    else:
        where = "not uploaded (dry run; --chart FILE saves it)" if dry_run else "in the thread"
        print(f"\nchart: {len(composed.chart):,}-byte PNG, {where}")
    if not dry_run:
        print(f"posted to {channel}")
    return 0


async def _build(settings: Settings, channel: str, sections: Sequence[str], *,
                 post: bool) -> Composed:
    from bot.app import build_runtime  # the whole hub graph, as `serve` builds it

    rt = build_runtime(settings)
    await rt.start(process=False)  # migrations, audit; no scheduler, no inbox work
    try:
        assert rt.services.digests is not None
        return await rt.services.digests.now(channel, sections, post=post, trigger="cli")
    finally:
        await rt.stop()
