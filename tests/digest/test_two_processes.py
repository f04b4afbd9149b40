"""Two real hub processes (`python -m bot.cli serve`) on one database, one fake Slack:
each scheduled digest is posted exactly once, and both processes competed for every fire."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, select

from bot.scheduler.models import SchedulerClaim
from bot.storage.db import sync_url
from bot.storage.migrate import upgrade
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
EVERY = 2  # seconds between fires: a 6-field cron, allowed in the policy file
FIRING_FOR = 7.0  # seconds both processes run side by side


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def hub_process(database_url: str, policy: Path, slack: FakeSlack) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "SWITCHBOARD_", "SERVICENOW_", "JIRA_"))}
    env.update(SWITCHBOARD_DATABASE_URL=database_url, SWITCHBOARD_POLICY_FILE=str(policy),
               SWITCHBOARD_LOG_LEVEL="WARNING", SLACK_BOT_TOKEN=BOT_TOKEN,
               SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url)
    proc = subprocess.Popen(  # noqa: S603 (our own argv)
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        assert b"Traceback" not in err, err.decode(errors="replace")[-3000:]


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"hub at {url} did not start")


def claims_metric(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.findall(r'switchboard_scheduler_claims_total\{result="(\w+)"\} ([0-9.]+)', text)
    return {result: float(n) for result, n in found}


def test_two_hub_processes_post_each_scheduled_digest_once(
        database_url: str, slack: FakeSlack, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"digests": {"schedules": {"both": {
        "cron": f"*/{EVERY} * * * * *", "channel": "C0OPS", "sections": ["denials", "workflows"]}}}}))
    upgrade(database_url)  # once, here: two processes never race to create the tables
    with hub_process(database_url, policy, slack) as a, hub_process(database_url, policy, slack) as b:
        wait_ready(a)
        wait_ready(b)
        time.sleep(FIRING_FOR)
        seen = [claims_metric(a), claims_metric(b)]
    posts = [p for p in slack.posted if p.via == "chat.postMessage"]
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        claims = conn.execute(select(SchedulerClaim.fire_time, SchedulerClaim.claimed_by)
                              .where(SchedulerClaim.job_id == "policy:both")).all()
    engine.dispose()

    fires = sorted(datetime.fromisoformat(f) for f, _ in claims)
    assert len(fires) >= 3, (fires, seen)
    assert len(posts) == len(fires)  # one digest per claimed fire, no more
    assert all(p.channel == "C0OPS" and "Policy denials" in p.text for p in posts)
    assert fires == [fires[0] + timedelta(seconds=EVERY * i) for i in range(len(fires))]  # none lost
    assert sum(m.get("lost", 0) for m in seen) >= 1, seen  # the processes did compete
    assert all(m.get("won", 0) + m.get("lost", 0) >= 1 for m in seen), seen
