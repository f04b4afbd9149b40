"""The live policy: reloaded on change, a broken edit keeps the last good one; every decision
audited and counted. Unit tests of PolicyStore, then the real hub over HTTP."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from policies.errors import PolicyFileError
from policies.store import PolicyStore
from policies.types import Principal
from tests import hub as hub_chat
from tests.fakes.slack import FakeSlack
from tests.hub import RunningHub, hub_settings, running_hub

FORM = "application/x-www-form-urlencoded"
POLICIES = {"rbac", "rate_limit", "dlp"}  # the ones under test here
ALICE, MALLORY = Principal("U0ALICE"), Principal("U0MALLORY")

GOOD = """
roles:
  sre: {members: [U0ALICE], allow: ["agent:ask", "jira:*"]}
dlp:
  allow: ["*@example.com"]
"""


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "policy.yaml"
    write(p, GOOD)
    return p


# -- PolicyStore ----------------------------------------------------------------------------------

def test_without_a_file_the_built_in_defaults_deny_all_but_help() -> None:
    store = PolicyStore(None)
    active = store.load()
    assert active.source == "built-in defaults"
    assert active.rbac.check(ALICE, "agent:ask").rule == "no-role"
    assert store.refresh() is False and store.current is active


def test_an_invalid_file_at_start_is_fatal(path: Path) -> None:
    write(path, "roles: {sre: {allow: oops}}\n")
    with pytest.raises(PolicyFileError, match=r"roles\.sre\.allow \(line 1\)"):
        PolicyStore(str(path)).load()


def test_refresh_does_nothing_while_the_file_is_unchanged(path: Path) -> None:
    store = PolicyStore(str(path))
    first = store.load()
    assert store.refresh() is False
    assert store.current is first


def test_a_change_takes_effect_on_refresh(path: Path) -> None:
    store = PolicyStore(str(path))
    store.load()
    assert not store.current.rbac.check(MALLORY, "agent:ask").allowed
    write(path, GOOD.replace("[U0ALICE]", "[U0ALICE, U0MALLORY]"))
    assert store.refresh() is True
    assert store.current.rbac.check(MALLORY, "agent:ask").rule == "role:sre"
    assert store.current.source == str(path) and store.last_error is None


def test_a_broken_edit_keeps_the_last_good_policy_and_says_why(path: Path) -> None:
    store = PolicyStore(str(path))
    good = store.load()
    write(path, GOOD.replace('allow: ["agent:ask", "jira:*"]', 'allow: "agent:ask"'))
    assert store.refresh() is False
    assert store.current is good
    assert store.last_error == f"{path}: roles.sre.allow (line 2): Input should be a list"
    assert store.refresh() is False and store.last_error is not None  # still broken, still said

    write(path, GOOD.replace("jira:*", "servicenow:*"))  # fixed
    assert store.refresh() is True
    assert store.last_error is None
    assert store.current.rbac.check(ALICE, "servicenow:incident:read").allowed
    assert not store.current.rbac.check(ALICE, "jira:issue:read").allowed


def test_a_deleted_file_keeps_the_last_good_policy(path: Path) -> None:
    store = PolicyStore(str(path))
    good = store.load()
    path.unlink()
    assert store.refresh() is False
    assert store.current is good
    assert store.last_error == f"{path}: cannot read it: No such file or directory"
    write(path, GOOD)
    assert store.refresh() is True and store.last_error is None


def test_an_edit_within_one_timestamp_tick_is_still_seen(path: Path) -> None:
    # Coarse filesystem clocks can give two quick writes the same mtime.
    store = PolicyStore(str(path))
    store.load()
    before = path.stat().st_mtime_ns
    write(path, GOOD.replace("[U0ALICE]", "[U0ALICE, U0MALLORY]"))
    os.utime(path, ns=(before, before))
    assert store.refresh() is True
    assert store.current.rbac.check(MALLORY, "agent:ask").allowed


def test_an_atomic_rename_with_the_same_size_and_mtime_is_still_seen(path: Path) -> None:
    # Editors and config-map updates replace the file; only the inode tells.
    store = PolicyStore(str(path))
    store.load()
    st = path.stat()
    new = path.with_name("policy.yaml.new")
    write(new, GOOD.replace("U0ALICE", "U0ROBIN"))  # same length
    os.utime(new, ns=(st.st_mtime_ns, st.st_mtime_ns))
    os.replace(new, path)
    assert path.stat().st_size == st.st_size
    assert store.refresh() is True
    assert store.current.rbac.roles_of(Principal("U0ROBIN")) == ["sre"]


# -- the running hub ----------------------------------------------------------------------------

class Chat(hub_chat.Chat):
    def __init__(self, hub: RunningHub, slack: FakeSlack) -> None:
        super().__init__(hub, slack, prefix="reload")

    def decisions(self, request_id: str) -> list[tuple[str, str, str]]:
        """rbac, rate_limit and dlp decisions in order (other policies, e.g. budgets, left out)."""
        rows = self.hub.run(self.hub.runtime.audit.recent(100, request_id=request_id))
        return [(r.policy, r.decision, r.rule) for r in rows
                if r.stage == "policy" and r.policy in POLICIES]


@pytest.fixture
def hub(slack: FakeSlack, sqlite_url: str, path: Path) -> Iterator[RunningHub]:
    with running_hub(hub_settings(sqlite_url, slack, str(path))) as running:
        yield running


def wait_for(condition: Callable[[], object], timeout: float = 6.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_running_hub_picks_up_a_new_member_without_restart(hub: RunningHub, slack: FakeSlack,
                                                             path: Path) -> None:
    chat = Chat(hub, slack)
    rid, denied = chat.say("ask what is broken?", user="U0MALLORY")
    assert "no Switchboard role" in denied.text
    assert chat.decisions(rid) == [("rbac", "deny", "no-role")]

    before = hub.runtime.store.current
    write(path, GOOD.replace("[U0ALICE]", "[U0ALICE, U0MALLORY]"))
    took = wait_for(lambda: hub.runtime.store.current is not before)
    assert took < 4.0  # the reload loop runs every 2 s

    rid, answer = chat.say("ask what is broken?", user="U0MALLORY")
    assert "Not allowed" not in answer.text and "You asked" in answer.text
    assert chat.decisions(rid)[0] == ("rbac", "allow", "role:sre")


def test_a_broken_edit_shows_in_readyz_and_the_old_policy_keeps_working(
        hub: RunningHub, slack: FakeSlack, path: Path) -> None:
    chat = Chat(hub, slack)
    write(path, GOOD.replace("[U0ALICE]", "[U0ALICE, U0MALLORY]") + "limits:\n  person: nope\n")

    def policy_check() -> dict[str, Any]:
        checks: dict[str, dict[str, Any]] = hub.http.get("/readyz").json()["checks"]
        return checks["policy"]

    wait_for(lambda: "last_error" in policy_check())
    check = policy_check()
    assert check["ok"] is True and check["detail"] == str(path)
    assert check["last_error"] == (f"{path}: limits.person (line 6): Input should be a valid "
                                   "dictionary or instance of LimitSet")
    assert hub.http.get("/readyz").status_code == 200  # a rejected edit is not an outage

    rid, answer = chat.say("ask status?")  # alice: still allowed by the last good policy
    assert chat.decisions(rid)[0] == ("rbac", "allow", "role:sre")
    assert "You asked" in answer.text
    rid, denied = chat.say("ask status?", user="U0MALLORY")  # the broken edit did not apply
    assert chat.decisions(rid) == [("rbac", "deny", "no-role")]
    assert "no Switchboard role" in denied.text

    write(path, GOOD)
    wait_for(lambda: "last_error" not in policy_check())


# -- every decision: an audit row and a counter ----------------------------------------------------

DECIDING = """
roles:
  sre: {members: [U0ALICE], allow: ["agent:ask"]}
limits:
  person: {commands: "1/minute", agent: "10/minute"}
dlp:
  allow: ["*@example.com"]
"""


def decision_counts(hub: RunningHub) -> dict[tuple[str, str], float]:
    text = hub.http.get("/metrics").text
    [family] = [f for f in text_string_to_metric_families(text)
                if f.name == "switchboard_policy_decisions"]
    return {(s.labels["policy"], s.labels["decision"]): s.value for s in family.samples
            if s.name.endswith("_total") and s.labels["policy"] in POLICIES}


def test_each_policys_decisions_are_audited_and_counted(slack: FakeSlack, database_url: str,
                                                        tmp_path: Path) -> None:
    policy = tmp_path / "deciding.yaml"
    write(policy, DECIDING)
    with running_hub(hub_settings(database_url, slack, str(policy))) as hub:
        chat = Chat(hub, slack)
        rid, reply = chat.say("ask anything?", user="U0MALLORY")
        assert chat.decisions(rid) == [("rbac", "deny", "no-role")]

        rid, _ = chat.say("help")
        assert chat.decisions(rid) == [("rbac", "allow", "always-allowed"),
                                       ("rate_limit", "allow", "person:commands 1/minute"),
                                       ("dlp", "allow", "in:clean")]
        rid, reply = chat.say("help")
        assert "Slow down" in reply.text
        assert chat.decisions(rid) == [("rbac", "allow", "always-allowed"),
                                       ("rate_limit", "deny", "person:commands 1/minute")]

        rid, reply = chat.say("ask is card 4111 1111 1111 1111 still valid?")
        assert "payment card" in reply.text and "4111" not in reply.text
        assert chat.decisions(rid) == [("rbac", "allow", "role:sre"),
                                       ("rate_limit", "allow", "person:agent 10/minute"),
                                       ("dlp", "deny", "in:payment_card")]

        rid, reply = chat.say("ask write to carol@corp.test please")
        assert chat.decisions(rid)[-1] == ("dlp", "redact", "in:email")
        assert "carol@corp.test" not in reply.text

        assert decision_counts(hub) == {
            ("rbac", "allow"): 4, ("rbac", "deny"): 1,
            ("rate_limit", "allow"): 3, ("rate_limit", "deny"): 1,
            ("dlp", "allow"): 1, ("dlp", "deny"): 1, ("dlp", "redact"): 1,
        }
        rows = hub.run(hub.runtime.audit.recent(200))
        blocked = [r for r in rows if r.rule == "in:payment_card"]
        assert [(r.actor, r.action) for r in blocked] == [("U0ALICE", "agent:ask")]
        assert not any("4111" in (r.detail or "") for r in rows)  # never the value itself
