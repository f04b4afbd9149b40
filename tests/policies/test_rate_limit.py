"""The rate-limit policy with in-memory counters, called directly with hand-built requests."""

from __future__ import annotations

import asyncio
import os
import re
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from policies.rate_limit import RateLimitPolicy, parse, retry_after
from policies.store import PolicyStore
from policies.types import Decision, Principal, Reply, Request, Route, RouteKind, Source

COMMAND = Route(RouteKind.COMMAND, "help", "help")
AGENT = Route(RouteKind.AGENT, "agent", "agent:ask")

NO_DEFAULTS = """
limits:
  person: {}
  channel: {}
  department: {}
  global: {}
"""


class Endpoint:
    """The rest of the chain: counts what got through."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def __call__(self, request: Request) -> Reply:
        self.seen.append(request)
        return Reply("done")


class Harness:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = PolicyStore(str(path))
        self.store.load()
        self.decisions: list[tuple[str, Decision]] = []
        self.policy = RateLimitPolicy(self.store, None, self.record)
        self.endpoint = Endpoint()

    def record(self, request: Request, decision: Decision) -> None:
        self.decisions.append((request.principal.user_id, decision))

    async def send(self, user: str = "U0ALICE", *, route: Route = COMMAND,
                   channel: str = "C0OPS") -> Reply:
        request = Request(id=f"r{len(self.decisions)}", source=Source.SLASH,
                          principal=Principal(user), text="x", channel=channel, route=route)
        return await self.policy(request, self.endpoint)

    async def oks(self, n: int, user: str = "U0ALICE", *, route: Route = COMMAND,
                  channel: str = "C0OPS") -> list[bool]:
        return [(await self.send(user, route=route, channel=channel)).ok for _ in range(n)]

    def rewrite(self, yaml: str) -> None:
        stat = self.path.stat()
        self.path.write_text(textwrap.dedent(yaml))
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert self.store.refresh(), self.store.last_error


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Callable[[str], Harness]]:
    made: list[Harness] = []

    def build(yaml: str) -> Harness:
        path = tmp_path / f"policy{len(made)}.yaml"
        path.write_text(textwrap.dedent(yaml))
        made.append(Harness(path))
        return made[-1]

    yield build
    for h in made:
        await h.policy.close()


async def test_person_limit_counts_exactly_and_per_person(make) -> None:
    h = make("""
        limits:
          person: {commands: "3/minute"}
          channel: {}
          department: {}
          global: {}
    """)
    assert await h.oks(5) == [True, True, True, False, False]
    assert len(h.endpoint.seen) == 3
    assert await h.oks(3, "U0BOB") == [True, True, True]


async def test_agent_and_commands_are_separate_budgets(make) -> None:
    h = make("""
        limits:
          person: {commands: "2/minute", agent: "1/minute"}
          channel: {}
          department: {}
          global: {}
    """)
    assert await h.oks(2, route=AGENT) == [True, False]
    assert await h.oks(3) == [True, True, False]
    assert [r.route.kind for r in h.endpoint.seen] == ["agent", "command", "command"]


async def test_channel_limit_is_shared_by_everyone_in_the_channel(make) -> None:
    h = make("""
        limits:
          person: {}
          channel: {agent: "2/minute"}
          department: {}
          global: {}
    """)
    assert await h.oks(1, "U0ALICE", route=AGENT, channel="C1") == [True]
    assert await h.oks(1, "U0BOB", route=AGENT, channel="C1") == [True]
    denied = await h.send("U0CAROL", route=AGENT, channel="C1")
    assert not denied.ok and "per-channel limit of 2 agent requests per minute" in denied.text
    assert await h.oks(2, "U0ALICE", route=AGENT, channel="C2") == [True, True]
    # a request without a channel (a webhook, say) is not held by any channel's limit
    assert await h.oks(3, "U0ALICE", route=AGENT, channel="") == [True, True, True]


async def test_department_limit_comes_from_the_people_section(make) -> None:
    h = make("""
        people:
          U0ALICE: {department: engineering}
          U0BOB: {department: engineering}
          U0CAROL: {department: sales}
        limits:
          person: {}
          channel: {}
          department: {commands: "2/minute"}
          global: {}
    """)
    assert await h.oks(1, "U0ALICE") + await h.oks(1, "U0BOB") == [True, True]
    denied = await h.send("U0ALICE")
    assert "per-department (engineering) limit of 2 commands per minute" in denied.text
    assert await h.oks(2, "U0CAROL") == [True, True]
    assert await h.oks(4, "U0NODEPT") == [True] * 4  # no department, no department limit


async def test_global_limit_holds_everyone_together(make) -> None:
    h = make("""
        limits:
          person: {}
          channel: {}
          department: {}
          global: {agent: "3/minute"}
    """)
    firsts = [await h.send(u, route=AGENT, channel=c) for u, c in
              [("U1", "C1"), ("U2", "C2"), ("U3", "C3"), ("U4", "C4")]]
    assert [r.ok for r in firsts] == [True, True, True, False]
    assert "the global limit of 3 agent requests per minute" in firsts[-1].text
    assert await h.oks(2, "U5") == [True, True]  # commands are another budget


async def test_denial_names_the_limit_and_when_to_retry(make) -> None:
    h = make("""
        limits:
          person: {agent: "2/minute"}
          channel: {}
          department: {}
          global: {}
    """)
    await h.oks(2, route=AGENT)
    denied = await h.send(route=AGENT)
    assert not denied.ok
    assert "per-person limit of 2 agent requests per minute" in denied.text
    retry = re.search(r"Try again in (\d+) s\.", denied.text)
    assert retry is not None and 55 <= int(retry.group(1)) <= 60


async def test_a_denied_request_spends_no_other_scope(make) -> None:
    h = make("""
        limits:
          person: {commands: "1/minute"}
          channel: {}
          department: {}
          global: {commands: "3/minute"}
    """)
    assert await h.oks(4, "U0ALICE") == [True, False, False, False]
    # had the three denied requests counted globally, bob would be held already
    assert await h.oks(1, "U0BOB") + await h.oks(1, "U0CAROL") == [True, True]
    denied = await h.send("U0DAVE")
    assert "the global limit of 3 commands per minute" in denied.text


async def test_several_rates_in_one_limit_and_the_window_moves(make) -> None:
    h = make("""
        limits:
          person: {commands: "1/second;2/minute"}
          channel: {}
          department: {}
          global: {}
    """)
    assert await h.oks(2) == [True, False]
    assert h.decisions[-1][1].rule == "person:commands 1/second"
    assert "Try again in 1 s" in (await h.send()).text
    await asyncio.sleep(1.05)
    assert await h.oks(2) == [True, False]
    assert h.decisions[-1][1].rule == "person:commands 2/minute"


async def test_decisions_are_recorded_with_rule_and_reason(make) -> None:
    h = make("""
        limits:
          person: {agent: "1/minute"}
          channel: {}
          department: {}
          global: {agent: "100/hour"}
    """)
    await h.send(route=AGENT)
    await h.send(route=AGENT)
    await h.send()  # commands: no limit applies
    (u1, allow), (u2, deny), (u3, unlimited) = h.decisions
    assert (allow.policy, allow.kind, allow.rule, allow.reason) == (
        "rate_limit", "allow", "person:agent 1/minute", "0 left")
    assert (deny.policy, deny.kind, deny.rule) == ("rate_limit", "deny", "person:agent 1/minute")
    assert re.fullmatch(r"the per-person limit of 1 agent request per minute; retry in \d+ s",
                        deny.reason)
    assert (unlimited.kind, unlimited.rule, unlimited.reason) == ("allow", "none",
                                                                  "no commands limit")
    assert u1 == u2 == u3 == "U0ALICE"


async def test_remaining_reports_every_limit_without_spending(make) -> None:
    h = make("""
        people:
          U0ALICE: {department: engineering}
        limits:
          person: {commands: "30/minute", agent: "10/minute"}
          channel: {agent: "60/hour"}
          department: {agent: "1000/hour"}
          global: {agent: "10000/2 hours"}
    """)
    await h.send()
    await h.send(route=AGENT)
    request = Request(id="w", source=Source.SLASH, principal=Principal("U0ALICE"), text="whoami",
                      channel="C0OPS", route=COMMAND)
    expected = [
        "commands: 29/30 per minute (you)",
        "agent: 9/10 per minute (you)",
        "agent: 59/60 per hour (this channel)",
        "agent: 999/1000 per hour (engineering)",
        "agent: 9999/10000 per 2 hours (everyone)",
    ]
    assert await h.policy.remaining(request) == expected
    assert await h.policy.remaining(request) == expected  # asking spent nothing


async def test_a_reloaded_policy_takes_effect(make) -> None:
    h = make("""
        limits:
          person: {commands: "2/minute"}
          channel: {}
          department: {}
          global: {}
    """)
    assert await h.oks(3) == [True, True, False]
    h.rewrite("""
        limits:
          person: {commands: "4/minute"}
          channel: {}
          department: {}
          global: {}
    """)
    # a changed rate is a new counter (the rate is part of the key): four fresh requests
    assert await h.oks(5) == [True, True, True, True, False]
    h.rewrite(NO_DEFAULTS)
    assert await h.oks(3) == [True, True, True]


async def test_built_in_defaults_apply_without_a_policy_file() -> None:
    store = PolicyStore(None)
    store.load()
    seen: list[Decision] = []
    policy = RateLimitPolicy(store, None, lambda _, d: seen.append(d))
    request = Request(id="d", source=Source.DM, principal=Principal("U0ALICE"), text="hi",
                      channel="D0ALICE", route=AGENT)
    replies = [await policy(request, Endpoint()) for _ in range(11)]
    await policy.close()
    assert [r.ok for r in replies] == [True] * 10 + [False]  # person agent: 10/minute
    assert seen[-1].rule == "person:agent 10/minute"


async def test_unreachable_redis_fails_open_and_says_so(make) -> None:
    h = make(NO_DEFAULTS.replace("person: {}", 'person: {commands: "1/minute"}'))
    down = RateLimitPolicy(h.store, "redis://127.0.0.1:1/0", h.record)  # nothing listens on :1
    try:
        request = Request(id="x", source=Source.SLASH, principal=Principal("U0ALICE"), text="x",
                          channel="C0OPS", route=COMMAND)
        replies = [await down(request, h.endpoint) for _ in range(2)]
        assert [r.ok for r in replies] == [True, True]
        assert {(d.kind, d.rule) for _, d in h.decisions} == {("allow", "storage-unavailable")}
        assert await down.remaining(request) == [
            "rate limits: the shared counter store is unreachable right now"]
    finally:
        await down.close()


def test_a_bad_redis_url_is_refused_at_construction_without_echoing_it() -> None:
    with pytest.raises(ValueError, match=r"redis://, rediss:// or unix://, not http://") as e:
        RateLimitPolicy(PolicyStore(None), "http://user:s3cret@cache:6379", lambda *_: None)
    assert "s3cret" not in str(e.value)
    RateLimitPolicy(PolicyStore(None), "rediss://cache:6380/2", lambda *_: None)  # no I/O here


def test_limit_strings_are_parsed_once_and_retry_times_read_well() -> None:
    assert parse("10/minute") is parse("10/minute")
    assert parse("") == ()
    assert [retry_after(s) for s in (0.2, 42.1, 119, 600, 7200.5)] == [
        "1 s", "43 s", "119 s", "10 min", "3 h"]
