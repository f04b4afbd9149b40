"""A stand-in for Slack's Web API and response_url hooks, so the demo needs no workspace.

It answers the handful of methods the hub calls and keeps what was posted, in
order, for the demo to print. (The tests use their own, stricter fake.)
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

USERS = {
    "U0ALICE": ("Alice (SRE)", "alice@example.com"),
    "U0MALLORY": ("Mallory (contractor)", "mallory@contractor.test"),
}


@dataclass
class Message:
    channel: str
    text: str
    visibility: str  # "public", "only you", "in thread <ts>"


class SlackStandIn:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.reactions: list[str] = []
        self._approvals: list[str] = []  # ids behind Approve buttons not yet clicked
        self._ts = itertools.count(1)
        self.app = Starlette(routes=[
            Route("/api/{method}", self._api, methods=["GET", "POST"]),
            Route("/hooks/{name}", self._hook, methods=["POST"]),
        ])

    async def _api(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        args = dict(request.query_params)
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            args.update(json.loads(body or b"{}"))
        else:
            args.update(parse_qsl(body.decode()))
        return JSONResponse(self._answer(method, args))

    def _answer(self, method: str, a: dict[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0DEMO"}
        if method == "users.info":
            name, email = USERS.get(a.get("user", ""), ("someone", None))
            return {"ok": True, "user": {"id": a.get("user"), "real_name": name,
                                         "profile": {"email": email}}}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": []}
        if method in ("reactions.add", "reactions.remove"):
            self.reactions.append(f"{method.split('.')[1]} :{a.get('name')}:")
            return {"ok": True}
        if method == "chat.update":
            return {"ok": True, "channel": a.get("channel"), "ts": a.get("ts")}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            self._approvals += _approve_buttons(a.get("blocks"))
            where = "only you" if method == "chat.postEphemeral" else (
                f"in thread {a['thread_ts']}" if a.get("thread_ts") else "public")
            self.messages.append(Message(a.get("channel", ""), a.get("text", ""), where))
            return {"ok": True, "channel": a.get("channel"), "ts": ts, "message_ts": ts}
        return {"ok": True}

    def pending_approval(self) -> str | None:
        return self._approvals.pop(0) if self._approvals else None

    async def _hook(self, request: Request) -> PlainTextResponse:
        a = json.loads(await request.body())
        where = "public" if a.get("response_type") == "in_channel" else "only you"
        self.messages.append(Message(request.path_params["name"], a.get("text", ""), where))
        return PlainTextResponse("ok")


def _approve_buttons(blocks: Any) -> list[str]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e["value"] for b in blocks or [] for e in b.get("elements", [])
            if str(e.get("action_id", "")).startswith("approve:")]
