"""A fake Slack: the Web API methods the hub calls, response_url hooks, and a request signer.

Shapes follow api.slack.com's documented responses. The signer is written here
from Slack's spec (v0:timestamp:body, HMAC-SHA256) rather than borrowed from
the code under test, so a verification bug cannot hide behind a signing bug.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.fakes.server import FakeServer, Recorded, Response

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Posted:
    """A message that reached Slack: by chat.postMessage, chat.postEphemeral or a response_url."""

    via: str
    channel: str
    text: str
    thread_ts: str | None = None
    user: str | None = None
    blocks: Any = None
    response_type: str | None = None
    ts: str | None = None  # the message's own ts (chat.postMessage), or the one updated


@dataclass
class Uploaded:
    """A file shared by files_upload_v2: getUploadURLExternal, POST the bytes, complete."""

    file_id: str
    filename: str
    content: bytes
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None


class FakeSlack(FakeServer):
    def __init__(self, users: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.users = users or {}
        self.usergroups: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []  # newest last: {id, name, channel, user, content}
        self.posted: list[Posted] = []
        self.reactions: list[tuple[str, str, str]] = []  # (method, ts, name)
        self.updated: list[Posted] = []  # chat.update calls
        self.socket_mode_url = ""  # where apps.connections.open sends Socket Mode clients
        self.uploads: list[Uploaded] = []  # completed files_upload_v2 uploads
        self._upload_slots: dict[str, Uploaded] = {}  # file id -> announced, maybe sent
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        self._routes_()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def share_file(self, name: str, content: bytes, *, channel: str, user: str) -> str:
        file_id = f"F{len(self.files) + 1:08d}"
        self.files.append({"id": file_id, "name": name, "channel": channel, "user": user,
                           "content": content})
        return file_id

    def wait_for_posts(self, n: int, timeout: float = 10.0) -> list[Posted]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.posted) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} Slack message(s), got {self.posted}")
                self._changed.wait(left)
            return list(self.posted)

    def wait_for_uploads(self, n: int, timeout: float = 10.0) -> list[Uploaded]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.uploads) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} upload(s), got {self.uploads}")
                self._changed.wait(left)
            return list(self.uploads)

    def _post(self, posted: Posted) -> None:
        with self._changed:
            self.posted.append(posted)
            self._changed.notify_all()

    def _routes_(self) -> None:
        api = self.route

        @api("POST", r"/api/auth\.test")
        def auth_test(rec: Recorded, _: Any) -> Response:
            if _args(rec).get("token") != BOT_TOKEN and _bearer(rec) != BOT_TOKEN:
                return Response(200, {"ok": False, "error": "invalid_auth"})
            return Response(200, {"ok": True, "url": "https://acme.slack.com/", "team": "Acme",
                                  "user": "switchboard", "team_id": "T0ACME", "user_id": "UBOT",
                                  "bot_id": "BBOT"})

        @api("POST", r"/api/chat\.postMessage")
        def post_message(rec: Recorded, _: Any) -> Response:
            a = _args(rec)
            ts = f"{time.time():.6f}{next(self._ts)}"
            self._post(Posted("chat.postMessage", a["channel"], a.get("text", ""),
                              a.get("thread_ts"), blocks=a.get("blocks"), ts=ts))
            return Response(200, {"ok": True, "channel": a["channel"], "ts": ts,
                                  "message": {"text": a.get("text", ""), "ts": ts}})

        @api("POST", r"/api/apps\.connections\.open")
        def connections_open(rec: Recorded, _: Any) -> Response:
            if not _bearer(rec).startswith("xapp-") or not self.socket_mode_url:
                return Response(200, {"ok": False, "error": "invalid_auth"})
            return Response(200, {"ok": True, "url": self.socket_mode_url})

        @api("POST", r"/api/chat\.update")
        def update_message(rec: Recorded, _: Any) -> Response:
            a = _args(rec)
            self.updated.append(Posted("chat.update", a["channel"], a.get("text", ""),
                                       blocks=a.get("blocks"), ts=a.get("ts")))
            return Response(200, {"ok": True, "channel": a["channel"], "ts": a.get("ts"),
                                  "text": a.get("text", "")})

        @api("POST", r"/api/chat\.postEphemeral")
        def post_ephemeral(rec: Recorded, _: Any) -> Response:
            a = _args(rec)
            self._post(Posted("chat.postEphemeral", a["channel"], a.get("text", ""),
                              a.get("thread_ts"), user=a.get("user"), blocks=a.get("blocks")))
            return Response(200, {"ok": True, "message_ts": f"{time.time():.6f}"})

        @api("POST", r"/api/reactions\.(add|remove)")
        def reactions(rec: Recorded, m: Any) -> Response:
            a = _args(rec)
            self.reactions.append((m.group(1), a.get("timestamp", ""), a.get("name", "")))
            return Response(200, {"ok": True})

        @api("GET", r"/api/users\.info")
        @api("POST", r"/api/users\.info")
        def users_info(rec: Recorded, _: Any) -> Response:
            uid = _args(rec).get("user", "")
            user = self.users.get(uid)
            if user is None:
                return Response(200, {"ok": False, "error": "user_not_found"})
            return Response(200, {"ok": True, "user": {"id": uid, "name": user.get("name", uid),
                                                       "real_name": user.get("name", uid),
                                                       "profile": {"email": user.get("email")}}})

        @api("GET", r"/api/usergroups\.list")
        @api("POST", r"/api/usergroups\.list")
        def usergroups_list(rec: Recorded, _: Any) -> Response:
            return Response(200, {"ok": True, "usergroups": self.usergroups})

        @api("GET", r"/api/files\.list")
        @api("POST", r"/api/files\.list")
        def files_list(rec: Recorded, _: Any) -> Response:
            a = _args(rec)
            mine = [f for f in reversed(self.files)
                    if f["channel"] == a.get("channel") and f["user"] == a.get("user")]
            count = int(a.get("count", 100))
            return Response(200, {"ok": True, "files": [
                {"id": f["id"], "name": f["name"], "size": len(f["content"]),
                 "url_private": f"{self.url}/files-pri/{f['id']}/{f['name']}",
                 "url_private_download": f"{self.url}/files-pri/{f['id']}/download/{f['name']}"}
                for f in mine[:count]]})

        @api("GET", r"/files-pri/([^/]+)/(?:download/)?(.+)")
        def file_download(rec: Recorded, m: Any) -> Response:
            if _bearer(rec) != BOT_TOKEN:  # Slack answers a login page without the token
                return Response(302, "", headers={"Location": f"{self.url}/login"})
            for f in self.files:
                if f["id"] == m.group(1):
                    return Response(200, f["content"])
            return Response(404, "not found")

        @api("GET", r"/api/files\.getUploadURLExternal")
        @api("POST", r"/api/files\.getUploadURLExternal")
        def get_upload_url(rec: Recorded, _: Any) -> Response:
            a = _args(rec)
            if not a.get("filename") or not str(a.get("length", "")).isdigit():
                return Response(200, {"ok": False, "error": "invalid_arguments"})
            file_id = f"F{len(self._upload_slots) + 1:08d}U"
            self._upload_slots[file_id] = Uploaded(file_id, a["filename"], b"")
            return Response(200, {"ok": True, "file_id": file_id,
                                  "upload_url": f"{self.url}/upload/v1/{file_id}"})

        @api("POST", r"/upload/v1/(\w+)")
        def upload_bytes(rec: Recorded, m: Any) -> Response:
            slot = self._upload_slots.get(m.group(1))
            if slot is None:
                return Response(404, "not found")
            slot.content = rec.body
            return Response(200, f"OK - {len(rec.body)}")

        @api("POST", r"/api/files\.completeUploadExternal")
        def complete_upload(rec: Recorded, _: Any) -> Response:
            a = _args(rec)
            done = []
            for f in json.loads(a.get("files") or "[]"):
                slot = self._upload_slots.get(f.get("id", ""))
                if slot is None or not slot.content:
                    return Response(200, {"ok": False, "error": "file_not_found"})
                slot.title, slot.channel = f.get("title") or slot.filename, a.get("channel_id")
                slot.thread_ts = a.get("thread_ts")
                done.append(slot)
            with self._changed:
                self.uploads.extend(done)
                self._changed.notify_all()
            return Response(200, {"ok": True, "files": [
                {"id": u.file_id, "name": u.filename, "title": u.title} for u in done]})

        @api("POST", r"/hooks/(.+)")
        def response_url(rec: Recorded, m: Any) -> Response:
            a = rec.json()
            self._post(Posted("response_url", m.group(1), a.get("text", ""),
                              blocks=a.get("blocks"), response_type=a.get("response_type")))
            return Response(200, "ok")


def _args(rec: Recorded) -> dict[str, Any]:
    """slack_sdk sends arguments as a query string, a form or JSON, depending on the method."""
    args: dict[str, Any] = {k: v[0] for k, v in rec.query.items()}
    if rec.headers.get("content-type", "").startswith("application/json"):
        args.update(rec.json() or {})
    elif rec.body:
        args.update({k: v[0] for k, v in parse_qs(rec.body.decode()).items()})
    return args


def _bearer(rec: Recorded) -> str:
    return rec.headers.get("authorization", "").removeprefix("Bearer ")


# -- inbound payloads, shaped as Slack sends them -------------------------------------

def slash_command(text: str, *, user: str = "U0ALICE", channel: str = "C0OPS",
                  trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
                  response_url: str = "", command: str = "/sb") -> bytes:
    return urlencode({
        "token": "deprecated-verification-token", "team_id": "T0ACME", "team_domain": "acme",
        "channel_id": channel, "channel_name": "ops", "user_id": user, "user_name": "alice",
        "command": command, "text": text, "api_app_id": "A0SWITCH", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": trigger_id,
    }).encode()


def event_callback(event: dict[str, Any], *, event_id: str = "Ev0MENTION1") -> bytes:
    return json.dumps({
        "token": "deprecated-verification-token", "team_id": "T0ACME", "api_app_id": "A0SWITCH",
        "event": event, "type": "event_callback", "event_id": event_id,
        "event_time": int(time.time()), "authorizations": [
            {"team_id": "T0ACME", "user_id": "UBOT", "is_bot": True}],
    }).encode()


def app_mention(text: str, *, user: str = "U0ALICE", channel: str = "C0OPS",
                ts: str = "1700000000.000100", thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts,
             "channel": channel, "event_ts": ts, "team": "T0ACME"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct_message(text: str, *, user: str = "U0ALICE", channel: str = "D0ALICE",
                   ts: str = "1700000000.000200") -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
            "channel": channel, "event_ts": ts, "team": "T0ACME"}


def block_action(action_id: str, value: str, *, user: str = "U0ALICE", channel: str = "C0OPS",
                 message_ts: str = "1700000000.000900", thread_ts: str | None = None,
                 response_url: str = "", trigger_id: str = "trig-click") -> bytes:
    """A button click (interactivity `block_actions`), form-encoded as Slack sends it."""
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "text": "…"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions", "user": {"id": user, "team_id": "T0ACME", "username": user},
        "api_app_id": "A0SWITCH", "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": trigger_id, "team": {"id": "T0ACME", "domain": "acme"},
        "channel": {"id": channel, "name": "ops"}, "message": message,
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
