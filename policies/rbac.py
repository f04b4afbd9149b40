"""Role-based access control by Slack identity.

A person holds the roles whose `members` name their Slack user id, their email
(globs allowed) or a Slack user group they belong to (`@handle`). A role grants
`system:object:verb` patterns, optionally only in some channels. Everything not
granted is denied, except the always-open verbs (`help`, `whoami`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from policies.policy_file import PolicyFile, Role
from policies.types import Principal

# A click on an Approve / Deny button passes the chain as APPROVAL; the handler then decides
# who may approve that action (the requester or an approver role) and audits it.
APPROVAL = "approval:respond"
ALWAYS_ALLOWED = frozenset({"help", "whoami", APPROVAL})


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    rule: str  # the role that allowed it, or why it was denied
    reason: str = ""


def action_matches(pattern: str, action: str) -> bool:
    """`servicenow:*` covers every ServiceNow action; `servicenow:*:read` only reads.

    A trailing `*` segment swallows the rest; other `*` segments match one segment.
    """
    want, have = pattern.split(":"), action.split(":")
    for i, part in enumerate(want):
        if part == "*" and i == len(want) - 1:
            return True
        if i >= len(have) or not fnmatchcase(have[i], part):
            return False
    return len(want) == len(have)


@dataclass(frozen=True, slots=True)
class _CompiledRole:
    name: str
    ids: frozenset[str]
    groups: frozenset[str]
    email_globs: tuple[str, ...]
    allow: tuple[str, ...]
    channels: frozenset[str]
    approve: tuple[str, ...]

    @classmethod
    def of(cls, name: str, role: Role) -> _CompiledRole:
        ids = {m for m in role.members if not m.startswith("@") and "@" not in m}
        groups = {m[1:] for m in role.members if m.startswith("@")}
        emails = tuple(m.lower() for m in role.members if "@" in m and not m.startswith("@"))
        return cls(
            name, frozenset(ids), frozenset(groups), emails, role.allow,
            frozenset(role.channels), role.approve,
        )

    def in_channel(self, channel: str) -> bool:
        return "*" in self.channels or channel in self.channels or not channel

    def scope_note(self, channel: str) -> str:
        # No channel given (CLI, system sources): say where the grant really applies.
        if channel or "*" in self.channels:
            return ""
        return f"only in channels {', '.join(sorted(self.channels))}"


class Rbac:
    """Compiled once per policy file; `check` is a few set lookups."""

    def __init__(self, policy: PolicyFile) -> None:
        self._roles = tuple(_CompiledRole.of(n, r) for n, r in policy.roles.items())
        # Member -> role positions, so finding someone's roles does not scan every role
        # (50 roles scanned with fnmatch cost ~100 µs per check, and `help` runs ~30 checks).
        self._by_key: dict[tuple[str, str], list[int]] = {}
        globs: list[tuple[re.Pattern[str], int]] = []
        for i, role in enumerate(self._roles):
            keys = [("id", m) for m in role.ids] + [("group", g) for g in role.groups]
            for email in role.email_globs:
                if any(c in email for c in "*?["):
                    globs.append((re.compile(fnmatch.translate(email)), i))
                else:
                    keys.append(("email", email))
            for key in keys:
                self._by_key.setdefault(key, []).append(i)
        self._email_globs = tuple(globs)

    def _mine(self, who: Principal) -> list[_CompiledRole]:
        """The roles `who` holds, in file order."""
        keys = [("id", who.user_id), *(("group", g) for g in who.groups)]
        email = (who.email or "").lower()
        if email:
            keys.append(("email", email))
        hits = {i for key in keys for i in self._by_key.get(key, ())}
        if email:
            hits.update(i for rx, i in self._email_globs if rx.match(email))
        return [self._roles[i] for i in sorted(hits)]

    def roles_of(self, who: Principal) -> list[str]:
        return [r.name for r in self._mine(who)]

    def check(self, who: Principal, action: str, channel: str = "") -> Verdict:
        if action in ALWAYS_ALLOWED:
            return Verdict(True, "always-allowed")
        mine = self._mine(who)
        granting = [r for r in mine if any(action_matches(p, action) for p in r.allow)]
        for role in granting:
            if role.in_channel(channel):
                return Verdict(True, f"role:{role.name}", role.scope_note(channel))
        if granting:
            names = ", ".join(r.name for r in granting)
            return Verdict(False, "channel-scope", f"`{action}` is allowed for {names} only in "
                           "other channels")
        if not mine:
            return Verdict(False, "no-role", "you have no Switchboard role yet")
        return Verdict(False, "default-deny", f"none of your roles allows `{action}`")

    def can_approve(self, who: Principal, action: str) -> Verdict:
        for role in self._mine(who):
            if any(action_matches(p, action) for p in role.approve):
                return Verdict(True, f"role:{role.name}")
        return Verdict(False, "no-approver-role", f"you may not approve `{action}`")

    def permitted(self, who: Principal, actions: Iterable[str], channel: str = "") -> list[str]:
        return [a for a in actions if self.check(who, a, channel).allowed]
