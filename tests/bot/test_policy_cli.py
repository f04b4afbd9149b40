"""`switchboard policy check`: validate the policy file, explain one decision (exit 0 / 3 / 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

CHECK = ["policy", "check"]


@pytest.fixture
def use_policy(monkeypatch: pytest.MonkeyPatch, policy_file: str) -> str:
    monkeypatch.setenv("SWITCHBOARD_POLICY_FILE", policy_file)
    return policy_file


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main([*CHECK, *args])
    return code, capsys.readouterr().out.splitlines()


def test_no_arguments_only_validates(use_policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys)
    assert code == 0
    assert len(out) == 1
    assert out[0].startswith(f"policy: {use_policy} (") and out[0].endswith(" roles) is valid")


def test_a_user_without_an_action_only_validates(use_policy: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--user", "U0ALICE")
    assert (code, len(out)) == (0, 1)


def test_allow_prints_the_role_that_allowed_it(use_policy: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--user", "U0ALICE", "--action", "jira:issue:create")
    assert code == 0
    assert out[1:] == ["user U0ALICE roles: sre", "ALLOW jira:issue:create by rule role:sre"]


def test_deny_without_a_role_exits_3(use_policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--user", "U0MALLORY", "--action", "jira:issue:create")
    assert code == 3
    assert out[1:] == ["user U0MALLORY roles: (none)",
                       "DENY jira:issue:create by rule no-role: you have no Switchboard role yet"]


def test_deny_by_default_names_the_action(use_policy: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--user", "U0ALICE", "--action", "salesforce:opportunity:create")
    assert code == 3
    assert out[-1] == ("DENY salesforce:opportunity:create by rule default-deny: "
                       "none of your roles allows `salesforce:opportunity:create`")


def test_channel_scope_by_email(use_policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    who = ["--user", "U0BOB", "--email", "bob@example.com", "--action", "salesforce:query:read"]
    code, out = run(capsys, *who, "--channel", "C0SALES")
    assert code == 0
    assert out[1:] == ["user U0BOB roles: sales-ops",
                       "ALLOW salesforce:query:read in C0SALES by rule role:sales-ops"]

    code, out = run(capsys, *who, "--channel", "C0OPS")
    assert code == 3
    assert out[-1] == ("DENY salesforce:query:read in C0OPS by rule channel-scope: "
                       "`salesforce:query:read` is allowed for sales-ops only in other channels")

    code, out = run(capsys, *who)  # no channel: allowed, and it says where
    assert code == 0
    assert out[-1] == ("ALLOW salesforce:query:read by rule role:sales-ops: "
                       "only in channels C0SALES")


@pytest.mark.parametrize("group", ["oncall", "@oncall"])  # as Slack shows it, or as the file
def test_group_membership(use_policy: str, capsys: pytest.CaptureFixture[str], group: str) -> None:
    code, out = run(capsys, "--user", "U0CAROL", "--group", "sales", "--group", group,
                    "--action", "servicenow:incident:create")
    assert code == 0
    assert out[-1] == "ALLOW servicenow:incident:create by rule role:sre"


def test_always_allowed_verbs(use_policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--user", "U0NOBODY", "--action", "help")
    assert (code, out[-1]) == (0, "ALLOW help by rule always-allowed")


def test_an_invalid_file_exits_1_listing_every_problem(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("roles:\n  sre: {allow: jira}\nlimits:\n  person: {commands: often}\nextra: 1\n")
    monkeypatch.setenv("SWITCHBOARD_POLICY_FILE", str(bad))
    code, out = run(capsys, "--user", "U0ALICE", "--action", "jira:issue:create")
    assert code == 1
    assert out == [
        f"invalid policy file {bad}:",
        "  - roles.sre.allow (line 2): Input should be a list",
        "  - limits.person.commands (line 4): 'often' is not a rate like '30/minute' "
        "(couldn't parse rate limit string 'often')",
        "  - extra (line 5): Extra inputs are not permitted",
    ]


def test_a_missing_file_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SWITCHBOARD_POLICY_FILE", str(tmp_path / "absent.yaml"))
    code, out = run(capsys)
    assert code == 1
    assert out == [f"invalid policy file {tmp_path / 'absent.yaml'}:",
                   "  - cannot read it: No such file or directory"]


def test_without_a_policy_file_the_defaults_deny(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--user", "U0ALICE", "--action", "agent:ask")
    assert code == 3
    assert out[0] == "policy: built-in defaults (0 roles) is valid"
    assert out[-1].startswith("DENY agent:ask by rule no-role")
