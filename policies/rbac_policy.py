"""The RBAC step of the chain: the asking person must hold the requested action."""

from __future__ import annotations

from collections.abc import Callable

from policies.chain import DecisionSink, Next
from policies.rbac import Rbac
from policies.types import Decision, DecisionKind, Reply, Request


class RbacPolicy:
    name = "rbac"

    def __init__(self, rbac: Callable[[], Rbac], record: DecisionSink) -> None:
        self._rbac = rbac  # a getter: the policy file may be reloaded under us
        self._record = record

    async def __call__(self, request: Request, call_next: Next) -> Reply:
        verdict = self._rbac().check(request.principal, request.action, request.channel)
        kind: DecisionKind = "allow" if verdict.allowed else "deny"
        self._record(request, Decision(self.name, kind, verdict.rule, verdict.reason))
        if verdict.allowed:
            return await call_next(request)
        return Reply.error(f":no_entry: Not allowed: {verdict.reason}. "
                           "Ask an admin to grant it in the policy file, or try `help`.")
