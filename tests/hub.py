"""Run the real hub over real HTTP (uvicorn on a loopback port) inside a test."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from bot.app import Runtime, create_app
from bot.messages import WORKING
from bot.settings import HubSettings, Settings, SlackSettings
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Posted, sign, slash_command


def hub_settings(database_url: str, slack: FakeSlack | None, policy_file: str | None = None,
                 **hub: Any) -> Settings:
    slack_settings = (SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                                    api_url=slack.api_url) if slack else SlackSettings())
    return Settings(hub=HubSettings(database_url=database_url, policy_file=policy_file, **hub),
                    slack=slack_settings)


class RunningHub:
    def __init__(self, url: str, runtime: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.runtime = runtime
        self._loop = loop
        self.http = httpx.Client(base_url=url, timeout=10)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the hub's own event loop (to read its database, say)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def post_slack(self, body: bytes, content_type: str, *, headers: dict[str, str] | None = None,
                   signed: bool = True) -> httpx.Response:
        h = {"Content-Type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        return self.http.post("/slack/events", content=body, headers=h)

    def settle(self) -> None:
        """Wait until every stored item is processed and every audit row written."""
        self.run(self.runtime.worker.idle())
        self.run(self.runtime.audit.flush())


@contextmanager
def running_hub(settings: Settings, *, process: bool = True) -> Iterator[RunningHub]:
    app = create_app(settings, process=process)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    loop_box: dict[str, asyncio.AbstractEventLoop] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        loop_box["loop"] = loop
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the hub did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    hub = RunningHub(f"http://127.0.0.1:{port}", app.state.runtime, loop_box["loop"])
    try:
        yield hub
    finally:
        hub.http.close()
        server.should_exit = True
        thread.join(timeout=30)


class Chat:
    """Slash commands one at a time, each answered before the next: (request id, answer)."""

    def __init__(self, hub: RunningHub, slack: FakeSlack, prefix: str = "chat") -> None:
        self.hub, self.slack, self.prefix, self.n = hub, slack, prefix, 0

    def say(self, text: str, user: str = "U0ALICE", channel: str = "C0OPS") -> tuple[str, Posted]:
        self.n += 1
        trigger = f"{self.prefix}-{self.n}"
        body = slash_command(text, user=user, channel=channel, trigger_id=trigger,
                             response_url=self.slack.response_url(trigger))
        assert self.hub.post_slack(body, "application/x-www-form-urlencoded").status_code == 200
        self.hub.settle()
        [answer] = [p for p in self.slack.posted if p.channel == trigger and p.text != WORKING]
        return f"slack:command:{trigger}", answer
