"""Rate limits shared through the real Redis on 127.0.0.1:6379: replicas spend one budget.

Isolation from other tests on the same Redis: every test counts under its own
key prefix or its own user id, so nothing here can touch another test's keys
(or flush them), and each test deletes only what it created.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from policies.rate_limit import RateLimitPolicy
from policies.store import PolicyStore
from policies.types import Decision, Principal, Reply, Request, Route, RouteKind, Source
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, sign, slash_command

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
COMMAND = Route(RouteKind.COMMAND, "help", "help")


def _policy(tmp_path: Path, person_commands: str) -> str:
    path = tmp_path / "policy.yaml"
    # only the person scope: a global or channel limit here would be shared with other tests
    path.write_text(textwrap.dedent(f"""
        limits:
          person: {{commands: "{person_commands}"}}
          channel: {{}}
          department: {{}}
          global: {{}}
    """))
    return str(path)


def _delete_keys(url: str, pattern: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"sbtest-{uuid.uuid4().hex[:12]}"
    yield name
    _delete_keys(redis_url, f"{name}:*")


async def _ok(policy: RateLimitPolicy, user: str = "U0ALICE") -> Reply:
    async def endpoint(_: Request) -> Reply:
        return Reply("done")

    request = Request(id=uuid.uuid4().hex, source=Source.SLASH, principal=Principal(user),
                      text="help", channel="C0OPS", route=COMMAND)
    return await policy(request, endpoint)


async def test_two_replicas_count_exactly_against_one_budget(redis_url, prefix, tmp_path) -> None:
    store = PolicyStore(_policy(tmp_path, "5/minute"))
    store.load()
    seen: list[Decision] = []
    a = RateLimitPolicy(store, redis_url, lambda _, d: seen.append(d), key_prefix=prefix)
    b = RateLimitPolicy(store, redis_url, lambda _, d: seen.append(d), key_prefix=prefix)
    try:
        replies = [await _ok(p) for p in (a, b, a, b, a, b)]
        assert [r.ok for r in replies] == [True] * 5 + [False]
        assert "per-person limit of 5 commands per minute" in replies[-1].text
        assert "Try again in 60 s" in replies[-1].text or "Try again in 59 s" in replies[-1].text
        assert [d.kind for d in seen] == ["allow"] * 5 + ["deny"]
        assert [d.reason for d in seen[:5]] == ["4 left", "3 left", "2 left", "1 left", "0 left"]
        request = Request(id="w", source=Source.SLASH, principal=Principal("U0ALICE"), text="",
                          channel="C0OPS", route=COMMAND)
        assert await b.remaining(request) == ["commands: 0/5 per minute (you)"]
        assert await a.remaining(request) == await b.remaining(request)
        assert (await _ok(a, "U0BOB")).ok  # another person, another counter
    finally:
        await a.close()
        await b.close()


async def test_replicas_racing_for_the_last_slots_never_overspend(redis_url, prefix,
                                                                  tmp_path) -> None:
    store = PolicyStore(_policy(tmp_path, "7/minute"))
    store.load()
    replicas = [RateLimitPolicy(store, redis_url, lambda *_: None, key_prefix=prefix)
                for _ in range(3)]
    try:
        replies = await asyncio.gather(*(_ok(replicas[i % 3]) for i in range(30)))
        assert sum(r.ok for r in replies) == 7
        # most lost the race at the hit, after their test passed: still a proper denial
        assert all("per-person limit of 7 commands per minute" in r.text
                   for r in replies if not r.ok)
    finally:
        for r in replicas:
            await r.close()


# -- the proof: two real hub processes, one Redis -----------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _hub_process(tmp_path: Path, name: str, env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    db = tmp_path / f"{name}.db"
    log = (tmp_path / f"{name}.log").open("wb")
    proc_env = {**os.environ, **env, "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}"}
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=proc_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _wait_ready(urls: list[str], tmp_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    pending = set(urls)
    while pending:
        for url in list(pending):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    pending.discard(url)
            except httpx.TransportError:
                pass
        if pending and time.monotonic() > deadline:
            logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log"))
            raise AssertionError(f"hubs not ready: {sorted(pending)}\n{logs}")
        time.sleep(0.1)


def test_two_hub_processes_share_one_budget(redis_url, slack: FakeSlack, tmp_path) -> None:
    user = f"U0RL{uuid.uuid4().hex[:8].upper()}"  # a counter no other test run can share
    slack.users[user] = {"name": "Rita Limit", "email": "rita@example.com"}
    env = {"SWITCHBOARD_REDIS_URL": redis_url, "SWITCHBOARD_LOG_LEVEL": "WARNING",
           "SWITCHBOARD_POLICY_FILE": _policy(tmp_path, "4/minute"),
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url}
    try:
        with ExitStack() as stack:
            hubs = [stack.enter_context(_hub_process(tmp_path, n, env)) for n in ("a", "b")]
            _wait_ready(hubs, tmp_path)
            for i in range(10):  # a, b, a, b, …: one at a time, each answered before the next
                body = slash_command("help", user=user, trigger_id=f"rl-{user}-{i}",
                                     response_url=slack.response_url(f"rl{i}"))
                r = httpx.post(f"{hubs[i % 2]}/slack/events", content=body, timeout=5,
                               headers={"Content-Type": "application/x-www-form-urlencoded",
                                        **sign(body)})
                assert r.status_code == 200, r.text
                slack.wait_for_posts(i + 1)
            metrics = [httpx.get(f"{h}/metrics", timeout=5).text for h in hubs]
    finally:
        _delete_keys(redis_url, f"*/{user}/*")
    answers = {p.channel: p.text for p in slack.posted}  # channel = the response_url's name
    normal = [i for i in range(10) if "/sb whoami" in answers[f"rl{i}"]]
    denied = [i for i in range(10) if "Slow down" in answers[f"rl{i}"]]
    # each hub alone would have answered 4 of its own 5: together they answered 4 in all
    assert normal == [0, 1, 2, 3]
    assert denied == [4, 5, 6, 7, 8, 9]
    for i in denied:
        assert "per-person limit of 4 commands per minute" in answers[f"rl{i}"]
        assert "Try again in" in answers[f"rl{i}"]
    for text in metrics:
        assert ('switchboard_policy_decisions_total{decision="deny",policy="rate_limit"} 3.0'
                in text)
