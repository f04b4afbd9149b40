"""The rate-limit step of the chain: per person, channel, department and everyone together.

Each scope has two budgets, plain commands and agent (LLM) requests, written in
the `limits` library's notation ("30/minute", "10/minute;100/hour") in the
policy file's `limits:` section. Counters live in process memory, or in Redis
when the hub runs as several replicas (SWITCHBOARD_REDIS_URL), so that every
replica spends the same budget.

Strategy: the moving window. It is exact ("no more than N in any 60 s"), where
a fixed window lets a person spend 2N across a window boundary, and in Redis
its acquire is one atomic Lua script, so replicas racing for the last slot
never let N+1 through. It costs a list of up to N timestamps per key, which is
small at chat-ops rates. Replicas stamp entries with their own clocks: keep
them NTP-synced (skew shifts the window by the skew, nothing worse).

A storage outage fails open (the request is allowed, the decision says why):
limits protect capacity and cost, and budgets/RBAC still apply, so an
unreachable Redis should not take the whole bot down with it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.util import WindowStats

from policies.chain import DecisionSink, Next
from policies.policy_file import LimitSet, PolicyFile
from policies.store import PolicyStore
from policies.types import Decision, Reply, Request, RouteKind

T = TypeVar("T")
log = logging.getLogger(__name__)

Budget = Literal["commands", "agent"]
Scope = Literal["person", "channel", "department", "global"]
BUDGETS: tuple[Budget, ...] = ("commands", "agent")

_REDIS_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}
_REDIS_TIMEOUT = 1.0  # seconds; a stalled Redis must not stall every request behind it


@dataclass(frozen=True, slots=True)
class Limit:
    """One rate that applies to one request: scope, whose counter, which budget, how much."""

    scope: Scope
    subject: str  # user id, channel id, department name, or "*" for global
    budget: Budget
    item: RateLimitItem

    @property
    def ids(self) -> tuple[str, str, str]:
        return (self.scope, self.budget, self.subject)

    @property
    def rule(self) -> str:
        """As the audit log shows it: "person:agent 10/minute"."""
        return f"{self.scope}:{self.budget} {notation(self.item)}"


@dataclass(frozen=True, slots=True)
class _Verdict:
    decision: Decision
    denial: str | None = None  # the text for the person when denied


class RateLimitPolicy:
    name = "rate_limit"

    def __init__(self, store: PolicyStore, storage_uri: str | None, record: DecisionSink,
                 *, key_prefix: str = "switchboard") -> None:
        self._store = store  # read on every request: the policy file may be reloaded under us
        self._uri = _async_uri(storage_uri) if storage_uri else None  # validated now, used later
        self._record = record
        self._key_prefix = key_prefix  # Redis key namespace (tests use a unique one)
        self._storage: Storage | None = None
        self._limiter: MovingWindowRateLimiter | None = None

    async def __call__(self, request: Request, call_next: Next) -> Reply:
        budget = budget_of(request)
        limits = limits_for(request, budget, self._store.current.file)
        if not limits:
            self._record(request, Decision(self.name, "allow", "none", f"no {budget} limit"))
            return await call_next(request)
        try:
            verdict = await self._consume(limits)
        except StorageError as e:
            log.warning("rate-limit storage unreachable, allowing %s uncounted: %s",
                        request.id, type(e.storage_error).__name__)
            self._record(request, Decision(self.name, "allow", "storage-unavailable",
                                           "rate-limit storage unreachable; allowed uncounted"))
            return await call_next(request)
        self._record(request, verdict.decision)
        if verdict.denial is not None:
            return Reply.error(verdict.denial)
        return await call_next(request)

    async def remaining(self, request: Request) -> list[str]:
        """What is left in each applicable limit, for `whoami`; consumes nothing."""
        file = self._store.current.file
        limits = [lim for b in BUDGETS for lim in limits_for(request, b, file)]
        try:
            stats = await self._stats(limits)
        except StorageError:
            return ["rate limits: the shared counter store is unreachable right now"]
        return [f"{lim.budget}: {max(0, s.remaining)}/{lim.item.amount} per {period(lim.item)} "
                f"({_whose(lim)})" for lim, s in zip(limits, stats, strict=True)]

    async def close(self) -> None:
        """Release Redis connections (and the in-memory expiry task) if any were opened."""
        storage, self._storage, self._limiter = self._storage, None, None
        if isinstance(storage, RedisStorage):
            client: Any = getattr(storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()
        elif isinstance(storage, MemoryStorage) and storage.timer is not None:
            storage.timer.cancel()

    # -- counting ---------------------------------------------------------------------------

    async def _consume(self, limits: list[Limit]) -> _Verdict:
        # Test every limit first, then hit them all: a request denied by one scope must not
        # spend the budget of the others.
        stats = await self._stats(limits)
        blocked = [(lim, s) for lim, s in zip(limits, stats, strict=True) if s.remaining < 1]
        if blocked:
            # the one that frees up last is the honest "try again" time
            lim, s = max(blocked, key=lambda pair: pair[1].reset_time)
            return self._deny(lim, s.reset_time)
        limiter = self._get_limiter()
        hits = await self._each([limiter.hit(lim.item, *lim.ids) for lim in limits])
        for lim, ok in zip(limits, hits, strict=True):
            # Another replica took the last slot between our test and our hit. The hit is
            # atomic, so the count stays exact; the other scopes hit just now stay spent.
            if not ok:
                [s] = await self._stats([lim])
                return self._deny(lim, s.reset_time)
        tightest, s = min(zip(limits, stats, strict=True), key=lambda pair: pair[1].remaining)
        return _Verdict(Decision(self.name, "allow", tightest.rule, f"{s.remaining - 1} left"))

    def _deny(self, lim: Limit, reset_time: float) -> _Verdict:
        wait = retry_after(reset_time - time.time())
        what = f"the {_scope_label(lim)} limit of {_amount(lim)} per {period(lim.item)}"
        return _Verdict(Decision(self.name, "deny", lim.rule, f"{what}; retry in {wait}"),
                        f":hourglass: Slow down: you reached {what}. Try again in {wait}.")

    async def _stats(self, limits: list[Limit]) -> list[WindowStats]:
        limiter = self._get_limiter()
        return await self._each(
            [limiter.get_window_stats(lim.item, *lim.ids) for lim in limits])

    async def _each(self, calls: list[Awaitable[T]]) -> list[T]:
        """Redis: overlap the round trips. In memory: one after another, which is ~10x cheaper
        than scheduling tasks for calls that never wait (measured in bench_policies.py)."""
        if self._uri is not None:
            return list(await asyncio.gather(*calls))
        return [await call for call in calls]

    def _get_limiter(self) -> MovingWindowRateLimiter:
        # Built on first use, inside the event loop: no connection or task at construction.
        if self._limiter is None:
            self._storage = self._build_storage()
            self._limiter = MovingWindowRateLimiter(self._storage)
        return self._limiter

    def _build_storage(self) -> Storage:
        if self._uri is None:
            return MemoryStorage(wrap_exceptions=True)
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # redis-py's asyncio client (already a dependency) rather than limits' default,
        # coredis. One quick retry covers a pooled connection the server closed; the
        # default (10 retries with backoff) would hold every request for seconds when
        # Redis is down.
        options: dict[str, Any] = {"socket_connect_timeout": _REDIS_TIMEOUT,
                                   "socket_timeout": _REDIS_TIMEOUT,
                                   "retry": Retry(NoBackoff(), 1)}
        return RedisStorage(self._uri, wrap_exceptions=True, implementation="redispy",
                            key_prefix=self._key_prefix, **options)


# -- which limits apply (pure) ----------------------------------------------------------------

def budget_of(request: Request) -> Budget:
    is_agent = request.route is not None and request.route.kind is RouteKind.AGENT
    return "agent" if is_agent else "commands"


def limits_for(request: Request, budget: Budget, file: PolicyFile) -> list[Limit]:
    """Every rate that applies to this request's budget, in scope order."""
    return [Limit(scope, subject, budget, item)
            for scope, subject, limit_set in _scopes(request, file)
            for item in parse(getattr(limit_set, budget) or "")]


def _scopes(request: Request, file: PolicyFile) -> list[tuple[Scope, str, LimitSet]]:
    user = request.principal.user_id
    scopes: list[tuple[Scope, str, LimitSet]] = [("person", user, file.limits.person)]
    if request.channel:
        scopes.append(("channel", request.channel, file.limits.channel))
    person = file.people.get(user)
    if person is not None and person.department:
        scopes.append(("department", person.department, file.limits.department))
    scopes.append(("global", "*", file.limits.global_))
    return scopes


@lru_cache(maxsize=256)
def parse(text: str) -> tuple[RateLimitItem, ...]:
    """Parsed once per distinct string: the policy can be reloaded, the strings rarely change."""
    return tuple(parse_many(text)) if text else ()


# -- wording ----------------------------------------------------------------------------------

def notation(item: RateLimitItem) -> str:
    """Back to the policy file's notation: "10/minute", "100/2 hours"."""
    return f"{item.amount}/{period(item)}"


def period(item: RateLimitItem) -> str:
    unit: str = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def retry_after(seconds: float) -> str:
    s = max(1, math.ceil(seconds))
    if s < 120:
        return f"{s} s"
    if s < 2 * 3600:
        return f"{math.ceil(s / 60)} min"
    return f"{math.ceil(s / 3600)} h"


def _amount(lim: Limit) -> str:
    n = lim.item.amount
    noun = ("agent request" if lim.budget == "agent" else "command") + ("" if n == 1 else "s")
    return f"{n} {noun}"


def _scope_label(lim: Limit) -> str:
    if lim.scope == "department":
        return f"per-department ({lim.subject})"
    return {"person": "per-person", "channel": "per-channel", "global": "global"}[lim.scope]


def _whose(lim: Limit) -> str:
    return {"person": "you", "channel": "this channel", "global": "everyone"}.get(
        lim.scope, lim.subject)


def _async_uri(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in _REDIS_SCHEMES:
        shown = f"{scheme}://" if sep else "a URL without a scheme"  # never echo a password
        raise ValueError(f"the Redis URL must start with redis://, rediss:// or unix://, "
                         f"not {shown}")
    return f"{_REDIS_SCHEMES[scheme]}://{rest}"
