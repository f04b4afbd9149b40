"""`switchboard digest run`: printed in a dry run, posted (with the chart) otherwise."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from tests.digest import fakes
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack


@pytest.fixture
def seeded(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    upgrade(sqlite_url)

    async def seed() -> None:
        db = Database(sqlite_url)
        await fakes.seed_ledger(db, datetime.now(UTC))
        await fakes.seed_denials(db, datetime.now(UTC))
        await db.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", sqlite_url)
    return sqlite_url


def test_dry_run_prints_and_posts_nothing(seeded: str, slack: FakeSlack, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    chart = tmp_path / "spend.png"
    assert main(["digest", "run", "--channel", "C0OPS", "--dry-run", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Switchboard digest — ")
    assert "ServiceNow: not configured" in out and "Jira: not configured" in out
    assert "Policy denials — 5\nrbac 3 · dlp 1 · rate_limit 1\nMost denied: jira:issue:create 3" in out
    assert "LLM spend\n$3.50 in this period\nBy department: engineering $3.00 · sales $0.50" in out
    assert "*" not in out and "<http" not in out  # terminal text, not mrkdwn
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert slack.posted == [] and slack.uploads == []


def test_run_posts_the_digest_and_its_chart(seeded: str, slack: FakeSlack,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    assert main(["digest", "run", "--channel", "C0COSTS", "--sections", "spend"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("posted to C0COSTS")
    [post] = slack.posted
    assert post.channel == "C0COSTS" and "$3.50 in this period" in post.text
    [upload] = slack.uploads
    assert upload.thread_ts == post.ts and upload.content.startswith(b"\x89PNG")


def test_posting_needs_slack(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "run", "--channel", "C0OPS"]) == 2
    assert "use --dry-run" in capsys.readouterr().err
    assert main(["digest", "run", "--channel", "C0OPS", "--sections", "weather"]) == 2
