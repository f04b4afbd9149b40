"""A hub wired to every fake, with helpers to send signed webhooks and read the fakes' state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.workflows.store import RunRecord
from tests.fakes.server import FakeServer, Recorded, Response
from tests.fakes.slack import FakeSlack, Posted, block_action
from tests.hub import RunningHub, hub_settings, running_hub
from tests.systems import Systems

SECRET = base64.b64encode(b"kickoff-webhook-signing-key-32b!").decode()
SECRETS = f"servicenow=whsec_{SECRET},legacy=bearer:tok-123"
FORM = "application/x-www-form-urlencoded"
TERMINAL = {"succeeded", "compensated", "cancelled", "compensation_failed"}
DESCRIPTION = ("Customer portal for Acme, owner dana@example.com.\n"
               "- Build the login page with SSO\n"
               "- Show open invoices with filters and export\n"
               "- Email receipts after each payment")


def standard_signature(body: bytes, *, msg_id: str, timestamp: int, secret_b64: str = SECRET) -> str:
    """Written from the Standard Webhooks spec, not from the code under test."""
    key = base64.b64decode(secret_b64)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, *, msg_id: str | None = None, timestamp: int | None = None,
                   secret_b64: str = SECRET) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": standard_signature(body, msg_id=msg_id, timestamp=ts,
                                                    secret_b64=secret_b64),
            "content-type": "application/json"}


def kickoff_event(number: str) -> bytes:
    return json.dumps({"type": "request_item.kickoff", "timestamp": "2026-11-23T10:00:00Z",
                       "data": {"number": number}}).encode()


def incident_event(number: str, priority: int, kind: str = "incident.created", **extra: str) -> bytes:
    return json.dumps({"type": kind, "data": {"number": number, "priority": priority,
                                              **extra}}).encode()


def fail_when(server: FakeServer, method: str, pattern: str,
              predicate: Callable[[Recorded], bool], *responses: Response) -> None:
    """Like `fail_next`, but only for requests `predicate` picks (the second story, the
    announcement): the others pass through to the fake's own routes."""
    queue = list(responses)
    _intercept(server, method, pattern, lambda rec, real: queue.pop(0)
               if queue and predicate(rec) else real(rec))


def hang_after_doing(server: FakeServer, method: str, pattern: str,
                     predicate: Callable[[Recorded], bool], seconds: float = 60.0) -> None:
    """The fake does the request `predicate` picks, then answers only after `seconds`: the
    object exists, but the client (a hub about to be killed) never hears of it."""
    done = {"n": 0}

    def answer(rec: Recorded, real: Callable[[Recorded], Response]) -> Response:
        response = real(rec)
        if done["n"] == 0 and predicate(rec):
            done["n"] += 1
            return Response(response.status, response.body, response.headers, delay=seconds)
        return response

    _intercept(server, method, pattern, answer)


def _intercept(server: FakeServer, method: str, pattern: str,
               answer: Callable[[Recorded, Callable[[Recorded], Response]], Response]) -> None:
    def handler(rec: Recorded, _: re.Match[str]) -> Response:
        def real(r: Recorded) -> Response:  # what the fake would have answered
            routes = server._routes
            mine = next(i for i, route in enumerate(routes) if route[2] is handler)
            for known, rx, fn in routes[mine + 1:]:
                found = rx.match(r.path)
                if known == r.method and found:
                    return fn(r, found)
            return Response(404, {"error": "no route"})

        return answer(rec, real)

    server._routes.insert(0, (method.upper(), re.compile(pattern + r"$"), handler))


@dataclass
class Kit:
    hub: RunningHub
    slack: FakeSlack
    systems: Systems

    def webhook(self, body: bytes, headers: dict[str, str] | None = None,
                source: str = "servicenow") -> httpx.Response:
        return self.hub.http.post(f"/webhooks/{source}", content=body,
                                  headers=signed_headers(body) if headers is None else headers)

    def ritm(self, title: str = "Acme customer portal", description: str = DESCRIPTION) -> str:
        item = self.systems.servicenow.insert("sc_req_item", short_description=title,
                                              description=description, state="1")
        return item["number"]

    def kickoff(self, number: str) -> RunRecord:
        response = self.webhook(kickoff_event(number))
        assert response.status_code == 202, response.text
        return self.finished(response.json()["id"])

    def finished(self, trigger_key: str) -> RunRecord:
        """Wait for every inbox item and run in flight, then the run of `trigger_key`."""
        self.settle()
        run = self.run_for(trigger_key)
        assert run is not None and run.status in TERMINAL, run
        return run

    def settle(self) -> None:
        service = self.hub.runtime.workflows.service  # type: ignore[union-attr]
        self.hub.settle()
        self.hub.run(service.idle())
        self.hub.settle()

    def run_for(self, trigger_key: str) -> RunRecord | None:
        from sqlalchemy import select

        from bot.workflows.models import WorkflowRun

        async def find() -> RunRecord | None:
            rt = self.hub.runtime
            async with rt.db.engine.connect() as conn:
                run_id = (await conn.execute(select(WorkflowRun.id).where(
                    WorkflowRun.trigger_key == trigger_key))).scalar_one_or_none()
            return await rt.workflows.service.store.load(run_id) if run_id else None  # type: ignore[union-attr]

        return self.hub.run(find())  # type: ignore[no-any-return]

    def click(self, action_id: str, value: str, *, user: str = "U0ALICE",
              channel: str = "C0INCIDENTS", message_ts: str = "1.0") -> Posted:
        seen = len(self.slack.posted)
        body = block_action(action_id, value, user=user, channel=channel, message_ts=message_ts,
                            trigger_id=f"trig-{uuid.uuid4().hex[:12]}",
                            response_url=self.slack.response_url(f"click-{uuid.uuid4().hex[:6]}"))
        assert self.hub.post_slack(body, FORM).status_code == 200
        self.settle()
        replies = [p for p in self.slack.posted[seen:] if p.via == "response_url"]
        assert replies, self.slack.posted[seen:]
        return replies[0]

    def state(self) -> dict[str, Any]:
        """Everything the fakes hold that a workflow could leave behind."""
        s = self.systems
        return {"jira": sorted(s.jira.issues), "salesforce": sorted(s.salesforce.records["Opportunity"]),
                "folders": sorted(s.sharepoint.folders), "files": sorted(s.sharepoint.files)}


@contextmanager
def kit_hub(systems: Systems, slack: FakeSlack, db_url: str, policy_file: str,
            **hub: Any) -> Iterator[Kit]:
    settings = systems.configure(hub_settings(db_url, slack, policy_file,
                                              webhook_secrets=SECRETS, **hub))
    with running_hub(settings) as running:
        yield Kit(running, slack, systems)


def write_policy(tmp: Path, extra: str) -> str:
    """The scenario policy plus `extra` YAML under `workflows:`."""
    base = (Path(__file__).parents[1] / "data" / "policy.yaml").read_text()
    head, _, _ = base.partition("workflows:")
    path = tmp / "policy.yaml"
    path.write_text(head + "workflows:\n" + extra)
    return str(path)
