"""A hub killed (SIGKILL) in the middle of a kickoff, and started again, finishes it exactly once.

The hub runs as a real `switchboard serve` process against the fakes. It is
killed while Jira holds back its answer to the second story — which Jira has
already created — so the restarted hub must find that story by its key rather
than create it again, and must not redo anything the first hub finished.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes import jira as fake_jira
from tests.fakes import servicenow as fake_snow
from tests.fakes.server import Recorded
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.systems import Systems, running_systems
from tests.workflows.kit import SECRETS, hang_after_doing, kickoff_event, signed_headers

ROOT = Path(__file__).parents[2]
POLICY = ROOT / "tests" / "data" / "policy.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(systems: Systems, slack: FakeSlack, db: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(
        ("SLACK_", "SWITCHBOARD_", "SERVICENOW_", "JIRA_", "SALESFORCE_", "SHAREPOINT_"))}
    return {**keep,
            "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}", "SWITCHBOARD_POLICY_FILE": str(POLICY),
            "SWITCHBOARD_WEBHOOK_SECRETS": SECRETS, "SWITCHBOARD_WORKFLOW_LEASE": "1.5",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SERVICENOW_URL": systems.servicenow.url, "SERVICENOW_USER": fake_snow.USER,
            "SERVICENOW_PASSWORD": fake_snow.PASSWORD,
            "JIRA_URL": systems.jira.url, "JIRA_USER": fake_jira.USER, "JIRA_TOKEN": fake_jira.TOKEN,
            "SALESFORCE_URL": systems.salesforce.url,
            "SALESFORCE_SESSION_ID": systems.salesforce.session_id,
            "SHAREPOINT_SITE_URL": systems.sharepoint.site_url,
            "SHAREPOINT_ACCESS_TOKEN": systems.sharepoint.token,
            "REQUESTS_CA_BUNDLE": systems.pki.ca_bundle}


class Hub:
    """`switchboard serve` in a child process of this test (killed only by its own pid)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=env, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"the hub did not start; see {log}")
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def systems(tmp_path: Path) -> Iterator[Systems]:
    with running_systems(tmp_path) as s:
        yield s


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _is_second_story(rec: Recorded) -> bool:
    fields = (rec.json() or {}).get("fields", {})
    return fields.get("issuetype", {}).get("name") == "Story" and "item 2." in str(
        fields.get("description"))


def test_a_hub_killed_mid_run_finishes_it_exactly_once_after_restart(
        tmp_path: Path, systems: Systems, slack: FakeSlack) -> None:
    db, log = tmp_path / "hub.db", tmp_path / "hub.log"
    env = _env(systems, slack, db)
    number = systems.servicenow.insert(
        "sc_req_item", short_description="Acme customer portal", state="1",
        description="Portal.\n- Build the login page\n- Show invoices\n- Email receipts")["number"]
    hang_after_doing(systems.jira.server, "POST", r"/rest/api/2/issue", _is_second_story)

    first = Hub(env, log)
    try:
        body = kickoff_event(number)
        assert httpx.post(f"{first.url}/webhooks/servicenow", content=body,
                          headers=signed_headers(body)).status_code == 202
        _wait(lambda: any(_is_second_story(r) for r in systems.jira.calls("POST", r"/rest/api/2/issue")))
        [(status, step)] = _query(db, "SELECT r.status, s.status FROM workflow_runs r JOIN "
                                      "workflow_steps s ON s.run_id = r.id WHERE s.name = 'jira'")
        assert (status, step) == ("running", "running")
        first.kill()  # mid-step: Jira made the second story, the hub never heard
    finally:
        first.stop()
    assert len(systems.jira.issues) == 3  # epic, story 1, story 2

    second = Hub(env, log)
    try:
        _wait(lambda: _query(db, "SELECT status FROM workflow_runs")[0][0] == "succeeded")
        metrics = httpx.get(f"{second.url}/metrics").text
    finally:
        second.stop()

    # exactly once, by the fakes' own records
    issues = systems.jira.issues
    assert sorted(v["issuetype"] for v in issues.values()) == ["Epic", "Story", "Story", "Story"]
    items = sorted(v["description"].rsplit("item ", 1)[1] for v in issues.values())
    assert items == ["0.", "1.", "2.", "3."]
    assert len(systems.salesforce.records["Opportunity"]) == 1
    project_folders = [p for p in systems.sharepoint.folders if "/Projects/" in p]
    assert len(project_folders) == 1
    assert len([f for f in systems.sharepoint.files if f.endswith("Project brief.md")]) == 1
    assert len([p for p in slack.posted if "Project kickoff:" in p.text]) == 1
    ritm = systems.servicenow.record("sc_req_item", number=number)
    assert ritm is not None and ritm["state"] == "2"
    assert len(systems.servicenow.work_notes[ritm["sys_id"]]) == 1
    attempts = dict(_query(db, "SELECT name, attempts FROM workflow_steps"))
    assert attempts["jira"] == 2 and attempts["read_request"] == attempts["servicenow"] == 1
    assert 'switchboard_workflow_runs_total{status="succeeded",workflow="kickoff"} 1.0' in metrics
