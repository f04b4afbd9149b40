"""One shape for every policy: an onion, like starlette's middleware.

A policy is `async (request, call_next) -> Reply`. It stops the chain by
returning a denial rather than raising, and it can act on the way out too
(DLP on replies). Every decision goes to a DecisionSink (audit log + metrics).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from policies.types import Decision, Reply, Request

Next = Callable[[Request], Awaitable[Reply]]
DecisionSink = Callable[[Request, Decision], None]


class Policy(Protocol):
    name: str

    async def __call__(self, request: Request, call_next: Next) -> Reply: ...


def build_chain(policies: Sequence[Policy], endpoint: Next) -> Next:
    """Wrap `endpoint` so `policies[0]` sees the request first and the reply last."""
    handler = endpoint
    for policy in reversed(policies):
        handler = _bind(policy, handler)
    return handler


def _bind(policy: Policy, call_next: Next) -> Next:
    async def step(request: Request) -> Reply:
        return await policy(request, call_next)

    return step
