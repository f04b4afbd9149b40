"""RBAC by Slack identity: patterns, membership, channel scope, default deny, approvers."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.policy_file import PolicyFile
from policies.rbac import Rbac, Verdict, action_matches
from policies.types import Principal

POLICY = PolicyFile.model_validate({
    "roles": {
        "sre": {"members": ["U0ALICE", "@oncall"],
                "allow": ["servicenow:*", "jira:issue:*", "agent:ask"],
                "approve": ["jira:issue:create", "workflow:*"]},
        "readers": {"members": ["*@example.com"], "allow": ["servicenow:*:read"]},
        "sales-ops": {"members": ["Bob@Example.com"], "allow": ["salesforce:*", "agent:ask"],
                      "channels": ["C0SALES", "C0DEALS"]},
        "admin": {"members": ["U0ROOT"], "allow": ["*"]},
        "empty": {"members": ["U0EMPTY"]},
    },
})
RBAC = Rbac(POLICY)

ALICE = Principal("U0ALICE", email="alice@corp.test")
BOB = Principal("U0BOB", email="bob@example.com")
CAROL_ONCALL = Principal("U0CAROL", email="carol@corp.test", groups=frozenset({"oncall"}))
DAVE = Principal("U0DAVE", email="dave@EXAMPLE.com")
MALLORY = Principal("U0MALLORY", email="mallory@elsewhere.test")
NOBODY = Principal("U0NOBODY")


# -- patterns ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "action", "matches"), [
    ("jira:issue:create", "jira:issue:create", True),
    ("jira:issue:create", "jira:issue:read", False),
    ("jira:issue:create", "jira:issue", False),
    ("jira:issue:create", "jira:issue:create:now", False),
    ("servicenow:*", "servicenow:incident:read", True),
    ("servicenow:*", "servicenow:incident:create", True),
    ("servicenow:*", "servicenownot:incident:read", False),
    ("servicenow:*", "jira:issue:read", False),
    ("servicenow:*:read", "servicenow:incident:read", True),
    ("servicenow:*:read", "servicenow:request:read", True),
    ("servicenow:*:read", "servicenow:incident:create", False),
    ("servicenow:*:read", "servicenow:read", False),
    ("servicenow:*:read", "servicenow:incident:read:all", False),
    ("jira:issue:*", "jira:issue:comment", True),
    ("jira:issue:*", "jira:project:read", False),
    ("jira:*:read", "jira:issue:read", True),
    ("*", "anything:at:all", True),
    ("*", "agent:ask", True),
    ("agent:ask", "agent:ask", True),
    ("agent:ask", "agent:asking", False),
    ("jira:issue:cre*", "jira:issue:create", True),  # a glob inside one segment
    ("jira:issue:cre*", "jira:issue:read", False),
    ("Jira:issue:create", "jira:issue:create", False),  # case matters: actions are code
])
def test_action_patterns(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=12)
ACTION = st.lists(SEGMENT, min_size=1, max_size=4).map(":".join)


@given(ACTION)
def test_every_action_matches_itself_and_star(action: str) -> None:
    assert action_matches(action, action)
    assert action_matches("*", action)


@given(SEGMENT, st.lists(SEGMENT, min_size=1, max_size=3))
def test_a_trailing_star_covers_everything_under_the_system(system: str, rest: list[str]) -> None:
    action = ":".join([system, *rest])
    assert action_matches(f"{system}:*", action)
    assert not action_matches(f"{system}x:*", action)


@given(SEGMENT, SEGMENT, SEGMENT)
def test_a_middle_star_is_exactly_one_segment(system: str, obj: str, verb: str) -> None:
    assert action_matches(f"{system}:*:{verb}", f"{system}:{obj}:{verb}")
    assert not action_matches(f"{system}:*:{verb}", f"{system}:{obj}:{obj}:{verb}")
    assert not action_matches(f"{system}:*:{verb}", f"{system}:{verb}")


# -- membership ---------------------------------------------------------------------------------

def test_member_by_user_id() -> None:
    assert RBAC.roles_of(ALICE) == ["sre"]
    assert RBAC.check(ALICE, "jira:issue:create") == Verdict(True, "role:sre")


def test_member_by_email_glob_is_case_insensitive() -> None:
    assert RBAC.roles_of(DAVE) == ["readers"]  # dave@EXAMPLE.com against *@example.com
    assert RBAC.check(DAVE, "servicenow:incident:read").rule == "role:readers"
    assert not RBAC.check(DAVE, "servicenow:incident:create").allowed


def test_member_by_exact_email_written_in_mixed_case() -> None:
    assert set(RBAC.roles_of(BOB)) == {"readers", "sales-ops"}


def test_an_email_elsewhere_matches_no_glob() -> None:
    assert RBAC.roles_of(MALLORY) == []
    assert RBAC.roles_of(Principal("U0EVE", email="eve@example.com.evil.test")) == []


def test_no_email_never_matches_an_email_member() -> None:
    assert RBAC.roles_of(Principal("U0X")) == []
    assert RBAC.roles_of(Principal("U0X", email="")) == []


def test_member_by_user_group_handle() -> None:
    assert RBAC.roles_of(CAROL_ONCALL) == ["sre"]
    assert RBAC.check(CAROL_ONCALL, "servicenow:incident:create").rule == "role:sre"
    not_oncall = Principal("U0CAROL", groups=frozenset({"oncall-old", "sales"}))
    assert RBAC.roles_of(not_oncall) == []


def test_a_user_id_is_not_an_email_and_a_handle_is_not_a_user_id() -> None:
    # "@oncall" grants by group only; a user whose id is "oncall" is not in it
    assert RBAC.roles_of(Principal("oncall")) == []
    assert RBAC.roles_of(Principal("@oncall")) == []


def test_roles_add_up() -> None:
    both = Principal("U0ALICE", email="alice@example.com")
    assert RBAC.roles_of(both) == ["sre", "readers"]
    assert RBAC.check(both, "servicenow:incident:read").rule == "role:sre"  # first in file order


# -- channel scope --------------------------------------------------------------------------------

def test_channel_scoped_role_allows_in_its_channels() -> None:
    for channel in ("C0SALES", "C0DEALS"):
        assert RBAC.check(BOB, "salesforce:opportunity:create", channel) == Verdict(
            True, "role:sales-ops")


def test_channel_scoped_role_denies_elsewhere_and_says_why() -> None:
    verdict = RBAC.check(BOB, "salesforce:opportunity:create", "C0OPS")
    assert verdict == Verdict(False, "channel-scope", "`salesforce:opportunity:create` is "
                              "allowed for sales-ops only in other channels")


def test_another_role_allowing_everywhere_wins_over_a_scoped_one() -> None:
    # bob's agent:ask comes from sales-ops (scoped); alice's from sre (everywhere)
    assert RBAC.check(BOB, "agent:ask", "C0OPS").rule == "channel-scope"
    assert RBAC.check(ALICE, "agent:ask", "C0OPS").allowed


def test_without_a_channel_a_scoped_grant_says_where_it_applies() -> None:
    verdict = RBAC.check(BOB, "salesforce:query", "")
    assert verdict == Verdict(True, "role:sales-ops", "only in channels C0DEALS, C0SALES")
    assert RBAC.check(ALICE, "jira:issue:read", "").reason == ""


# -- default deny -------------------------------------------------------------------------------

def test_someone_with_no_role_is_told_so() -> None:
    assert RBAC.check(MALLORY, "jira:issue:read", "C0OPS") == Verdict(
        False, "no-role", "you have no Switchboard role yet")


def test_a_role_that_does_not_grant_it_is_default_deny() -> None:
    verdict = RBAC.check(ALICE, "salesforce:query", "C0OPS")
    assert verdict == Verdict(False, "default-deny", "none of your roles allows `salesforce:query`")
    empty = RBAC.check(Principal("U0EMPTY"), "agent:ask")
    assert (empty.allowed, empty.rule) == (False, "default-deny")


def test_the_built_in_defaults_deny_everything_but_help_and_whoami() -> None:
    rbac = Rbac(PolicyFile())
    assert rbac.check(ALICE, "agent:ask").rule == "no-role"
    assert rbac.check(ALICE, "help") == Verdict(True, "always-allowed")
    assert rbac.check(ALICE, "whoami") == Verdict(True, "always-allowed")


@pytest.mark.parametrize("who", [MALLORY, NOBODY, ALICE])
def test_help_and_whoami_are_always_allowed_in_any_channel(who: Principal) -> None:
    for action in ("help", "whoami"):
        assert RBAC.check(who, action, "C0ANY") == Verdict(True, "always-allowed")


def test_only_the_bare_verbs_are_always_allowed() -> None:
    assert not RBAC.check(MALLORY, "help:admin").allowed
    assert not RBAC.check(MALLORY, "whoami:others").allowed


def test_star_grants_everything_to_its_members_only() -> None:
    assert RBAC.check(Principal("U0ROOT"), "salesforce:opportunity:delete", "C0ANY").allowed
    assert not RBAC.check(NOBODY, "salesforce:opportunity:delete", "C0ANY").allowed


@given(ACTION.filter(lambda a: a not in {"help", "whoami"}), st.text(max_size=10))
def test_a_person_without_roles_is_denied_everything(action: str, channel: str) -> None:
    verdict = RBAC.check(NOBODY, action, channel)
    assert (verdict.allowed, verdict.rule) == (False, "no-role")


@given(ACTION, st.sampled_from(["C0SALES", "C0DEALS"]), st.text(min_size=1, max_size=10))
def test_a_scoped_role_never_grants_outside_its_channels(action: str, inside: str,
                                                         outside: str) -> None:
    rbac = Rbac(PolicyFile.model_validate({"roles": {"r": {
        "members": ["U1"], "allow": ["*"], "channels": ["C0SALES", "C0DEALS"]}}}))
    who = Principal("U1")
    assert rbac.check(who, action, inside).allowed
    if outside not in {"C0SALES", "C0DEALS"} and action not in {"help", "whoami"}:
        assert rbac.check(who, action, outside).rule == "channel-scope"


# -- approvals and help -------------------------------------------------------------------------

def test_can_approve_follows_the_approve_list() -> None:
    assert RBAC.can_approve(ALICE, "jira:issue:create") == Verdict(True, "role:sre")
    assert RBAC.can_approve(CAROL_ONCALL, "workflow:kickoff:step").allowed
    assert RBAC.can_approve(ALICE, "jira:issue:delete") == Verdict(
        False, "no-approver-role", "you may not approve `jira:issue:delete`")


def test_holding_a_permission_is_not_approving_it() -> None:
    # bob may create opportunities but his role names no approvals
    assert RBAC.check(BOB, "salesforce:opportunity:create", "C0SALES").allowed
    assert RBAC.can_approve(BOB, "salesforce:opportunity:create").rule == "no-approver-role"
    assert not RBAC.can_approve(Principal("U0ROOT"), "jira:issue:create").allowed


def test_permitted_keeps_only_what_the_person_may_run_here() -> None:
    actions = ["help", "agent:ask", "jira:issue:create", "salesforce:query",
               "servicenow:incident:read", "whoami"]
    assert RBAC.permitted(BOB, actions, "C0SALES") == [
        "help", "agent:ask", "salesforce:query", "servicenow:incident:read", "whoami"]
    assert RBAC.permitted(BOB, actions, "C0OPS") == ["help", "servicenow:incident:read", "whoami"]
    assert RBAC.permitted(MALLORY, actions, "C0OPS") == ["help", "whoami"]


# -- membership lookups agree with the plain definition ----------------------------------------

IDS = st.sampled_from(["U1", "U2", "U3"])
HANDLES = st.sampled_from(["oncall", "sre", "sales"])
EMAILS = st.sampled_from(["a@example.com", "B@Example.com", "c@corp.test", "d@x.example.com"])
# One flat list, so globs turn up as often as ids (one_of would favour its first branches).
MEMBER = st.sampled_from(["U1", "U2", "@oncall", "@sre", "a@example.com", "b@EXAMPLE.com",
                          "c@corp.test", "*@example.com", "*@*.example.com", "?@corp.test"])


def naive_roles(policy: PolicyFile, who: Principal) -> list[str]:
    """The definition, role by role, as the module docstring states it."""
    email = (who.email or "").lower()

    def holds(member: str) -> bool:
        if member.startswith("@"):
            return member[1:] in who.groups
        if "@" in member:
            return bool(email) and fnmatchcase(email, member.lower())
        return member == who.user_id

    return [name for name, role in policy.roles.items() if any(map(holds, role.members))]


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["r1", "r2", "r3"]),
                       st.lists(MEMBER, min_size=1, max_size=3), min_size=1),
       IDS, st.frozensets(HANDLES, max_size=2), st.one_of(st.none(), EMAILS))
def test_roles_of_matches_the_definition(roles: dict[str, list[str]], user: str,
                                         groups: frozenset[str], email: str | None) -> None:
    policy = PolicyFile.model_validate(
        {"roles": {name: {"members": members, "allow": ["*"]} for name, members in roles.items()}})
    who = Principal(user, email=email, groups=groups)
    rbac = Rbac(policy)
    expected = naive_roles(policy, who)
    assert rbac.roles_of(who) == expected
    assert rbac.check(who, "jira:issue:read").allowed is bool(expected)
