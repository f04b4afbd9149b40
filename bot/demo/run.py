"""The offline demo: the real hub on a loopback port, a Slack stand-in, signed requests.

It prints the conversation as the people in it would read it, then the audit log.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvicorn

from bot.app import Runtime, create_app
from bot.demo.standin import SlackStandIn
from bot.demo.systems import SystemsStandIn
from bot.settings import HubSettings, JiraSettings, ServiceNowSettings, Settings, SlackSettings
from bot.slack.ingress import sign_body

SECRET = "demo-signing-secret"  # noqa: S105 - the demo signs its own requests
BOT_TOKEN = "xoxb-demo"  # noqa: S105 - only the Slack stand-in sees it
POLICY = Path(__file__).with_name("policy.yaml")


@dataclass(frozen=True)
class Step:
    who: str
    says: str  # what the person typed, as shown
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    note: str = ""


def _slash(user: str, text: str, n: int, hook: str) -> Step:
    body = urlencode({"command": "/sb", "text": text, "user_id": user, "team_id": "T0DEMO",
                      "channel_id": "C0OPS", "trigger_id": f"demo-trigger-{n}",
                      "response_url": hook}).encode()
    return Step(user, f"/sb {text}", body, "application/x-www-form-urlencoded")


def _mention(user: str, text: str, event_id: str, ts: str, retry: int = 0) -> Step:
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts,
             "channel": "C0OPS", "team": "T0DEMO"}
    body = json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T0DEMO",
                       "event": event}).encode()
    headers = (("X-Slack-Retry-Num", str(retry)), ("X-Slack-Retry-Reason", "http_timeout"))
    return Step(user, f"@switchboard {text}", body, "application/json",
                headers if retry else (),
                "(Slack retries the same event: it is stored once, answered once)" if retry else "")


def _click(user: str, pending_id: str, n: int, hook: str) -> Step:
    payload = {"type": "block_actions", "user": {"id": user, "team_id": "T0DEMO"},
               "trigger_id": f"demo-click-{n}", "channel": {"id": "C0OPS"},
               "message": {"ts": "1700000000.000900", "thread_ts": "1700000000.000200"},
               "response_url": hook,
               "actions": [{"action_id": f"approve:{pending_id}", "value": pending_id}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return Step(user, "[clicks Approve]", body, "application/x-www-form-urlencoded")


def script(hooks: Callable[[str], str]) -> list[Step]:
    return [
        _slash("U0ALICE", "help", 1, hooks("alice-help")),
        _slash("U0ALICE", "whoami", 2, hooks("alice-whoami")),
        _mention("U0ALICE", "what is the status of INC0010001?", "EvDEMO1", "1700000000.000100"),
        _mention("U0ALICE", "what is the status of INC0010001?", "EvDEMO1", "1700000000.000100",
                 retry=1),
        _mention("U0ALICE", "please open a jira bug for INC0010001", "EvDEMO2",
                 "1700000000.000200"),
        _slash("U0MALLORY", "ask show me every open incident", 3, hooks("mallory-ask")),
        _slash("U0ALICE", "deploy prod", 4, hooks("alice-typo")),
    ]


async def _serve(app: object) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def _run(out: Callable[[str], None]) -> int:
    standin, systems = SlackStandIn(), SystemsStandIn()
    slack_server, slack_task, slack_url = await _serve(standin.app)
    systems_server, systems_task, systems.base = await _serve(systems.app)
    with tempfile.TemporaryDirectory(prefix="switchboard-demo-") as tmp:
        app = create_app(_settings(tmp, slack_url, systems.base))
        rt: Runtime = app.state.runtime
        hub_server, hub_task, hub_url = await _serve(app)
        try:
            out(f"Switchboard is listening on {hub_url} (Slack stand-in on {slack_url}, "
                f"ServiceNow and Jira stand-ins on {systems.base})\n")
            async with httpx.AsyncClient(base_url=hub_url, timeout=30) as http:
                for step in script(lambda name: f"{slack_url}/hooks/{name}"):
                    await _play(step, http, rt, standin, out)
                    pending = standin.pending_approval()
                    if pending:  # the approval message carries the button Alice clicks
                        click = _click("U0ALICE", pending, 9, f"{slack_url}/hooks/click")
                        await _play(click, http, rt, standin, out)
            created = [f"{key} “{issue['summary']}”" for key, issue in systems.issues.items()]
            out(f"Jira now holds: {', '.join(created) or 'nothing'}\n")
            await rt.audit.flush()
            await _print_audit(rt, out)
        finally:
            hub_server.should_exit = True
            await hub_task
    for server, task in ((slack_server, slack_task), (systems_server, systems_task)):
        server.should_exit = True
        await task
    return 0


def _settings(tmp: str, slack_url: str, systems_url: str) -> Settings:
    demo = "demo"  # the stand-ins accept any credentials
    return Settings(
        hub=HubSettings(database_url=f"sqlite:///{tmp}/demo.db", policy_file=str(POLICY)),
        slack=SlackSettings(bot_token=BOT_TOKEN, signing_secret=SECRET,
                            api_url=f"{slack_url}/api/"),
        servicenow=ServiceNowSettings(url=systems_url, user=demo, password=demo),
        jira=JiraSettings(url=systems_url, user=demo, token=demo),
    )


async def _play(step: Step, http: httpx.AsyncClient, rt: Runtime, standin: SlackStandIn,
                out: Callable[[str], None]) -> None:
    seen = len(standin.messages)
    headers = {"Content-Type": step.content_type, **sign_body(SECRET, step.body),
               **dict(step.headers)}
    started = time.perf_counter()
    response = await http.post("/slack/events", content=step.body, headers=headers)
    ack_ms = (time.perf_counter() - started) * 1000
    await rt.worker.idle()
    name = _NAMES.get(step.who, step.who)
    out(f"#ops  {name}: {step.says}")
    if step.note:
        out(f"      {step.note}")
    out(f"      [hub acknowledged: HTTP {response.status_code} in {ack_ms:.1f} ms]")
    for msg in standin.messages[seen:]:
        out(f"      switchboard ({msg.visibility}):")
        out(textwrap.indent(msg.text, "        │ "))
    if len(standin.messages) == seen:
        out("      (no new reply)")
    out("")


_NAMES = {"U0ALICE": "alice", "U0MALLORY": "mallory"}


async def _print_audit(rt: Runtime, out: Callable[[str], None]) -> None:
    out("Audit log (who, what, which policy and rule, result):")
    for row in await rt.audit.recent(200):
        out(f"  {row.at:%H:%M:%S} {row.actor:<10} {row.action or '-':<18} {row.stage:<9} "
            f"{(row.policy + ' ' + row.decision).strip() or '-':<14} {row.rule or '-':<16} "
            f"{row.detail[:60].splitlines()[0] if row.detail else ''}")


def run_demo(out: Callable[[str], None] = print) -> int:
    return asyncio.run(_run(out))
