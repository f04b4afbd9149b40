"""A fake Slack Socket Mode endpoint: a websocket that sends envelopes and records acks.

The hub's real slack_sdk SocketModeClient finds it through `apps.connections.open`
on the fake Web API (FakeSlack.socket_mode_url) and speaks the documented
protocol: a `hello`, then envelopes it must acknowledge by `envelope_id`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = threading.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def __enter__(self) -> FakeSocketMode:
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A0SWITCH"}}))
        with self._changed:
            self._sockets.append(ws)
            self._changed.notify_all()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                with self._changed:
                    self.acks.append(json.loads(msg.data))
                    self._changed.notify_all()
        return ws

    def wait_connected(self, timeout: float = 10) -> None:
        self._wait(lambda: bool(self._sockets), timeout, "no Socket Mode connection")

    def send(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": 0}
        ws = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(ws.send_str(json.dumps(envelope)), self._loop).result(5)

    def wait_acks(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        self._wait(lambda: len(self.acks) >= n, timeout, f"expected {n} ack(s)")
        return list(self.acks)

    def _wait(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(what)
                self._changed.wait(left)
