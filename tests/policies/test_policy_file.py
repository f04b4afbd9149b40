"""The policy file is validated on load; every error names the key path and its line."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from policies.errors import PolicyFileError
from policies.policy_file import PolicyFile, load_policy_file

DATA = Path(__file__).parents[1] / "data" / "policy.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value.problems


def test_the_scenario_policy_loads_with_its_roles_people_and_limits() -> None:
    policy = load_policy_file(DATA)
    assert {"sre", "sales-ops"} <= set(policy.roles)
    assert policy.roles["sales-ops"].channels == ("C0SALES",)
    assert policy.roles["sre"].approve == ("jira:issue:create", "workflow:*")
    assert policy.people["U0BOB"].department == "sales"
    assert policy.limits.person.commands == "30/minute"  # a default the file does not override


def test_an_empty_file_is_the_built_in_defaults(tmp_path: Path) -> None:
    assert load_policy_file(write(tmp_path, "# nothing yet\n")) == PolicyFile()


def test_unknown_top_level_key_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, """
        roles:
          sre: {members: [U1], allow: ["*"]}
        rolez:
          ops: {}
    """)
    assert problems(path) == ["rolez (line 3): Extra inputs are not permitted"]


def test_unknown_key_inside_a_role_is_named_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, """
        roles:
          sre:
            members: [U1]
            alow: ["servicenow:*"]
    """)
    assert problems(path) == ["roles.sre.alow (line 4): Extra inputs are not permitted"]


@pytest.mark.parametrize("rate", ["thirty a minute", "30/fortnight", "30/minute;"])
def test_a_bad_limit_string_names_the_limit_and_the_notation(tmp_path: Path, rate: str) -> None:
    path = write(tmp_path, f"""
        limits:
          person:
            agent: "10/minute"
            commands: "{rate}"
    """)
    [problem] = problems(path)
    assert problem.startswith("limits.person.commands (line 4): ")
    assert f"{rate!r} is not a rate like '30/minute'" in problem


def test_limits_notation_with_per_is_accepted(tmp_path: Path) -> None:
    # "30 per minute" is valid in the `limits` library's notation; it must not be refused.
    path = write(tmp_path, 'limits:\n  person: {commands: "30 per minute"}\n')
    assert load_policy_file(path).limits.person.commands == "30 per minute"


def test_the_global_limit_is_written_global_and_errors_say_so(tmp_path: Path) -> None:
    path = write(tmp_path, 'limits:\n  global: {agent: "lots"}\n')
    [problem] = problems(path)
    assert problem.startswith("limits.global.agent (line 2): ")


def test_an_unknown_dlp_kind_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, """
        dlp:
          allow: ["*@example.com"]
          rules: {payment_card: block, credit_card: block}
    """)
    [problem] = problems(path)
    assert problem == ("dlp.rules (line 3): unknown DLP rule 'credit_card' in rules; "
                       "known kinds: payment_card, us_ssn, iban, secret, email, phone")


def test_an_unknown_dlp_action_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "dlp:\n  rules:\n    email: mask\n")
    [problem] = problems(path)
    assert problem.startswith("dlp.rules.email (line 3): ")
    assert "'block', 'redact' or 'allow'" in problem


def test_a_string_where_a_list_belongs_is_a_type_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, """
        roles:
          sre:
            members: [U1]
            allow: "servicenow:*"
    """)
    assert problems(path) == ["roles.sre.allow (line 4): Input should be a list"]


def test_a_bad_list_item_is_named_by_index_and_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, """
        roles:
          sre:
            members:
              - U1
              - {email: a@example.com}
    """)
    [problem] = problems(path)
    assert problem == "roles.sre.members.1 (line 5): Input should be a valid string"


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, """
        roles:
          sre: {allow: "x"}
        limits:
          person: {commands: "often"}
        budgets:
          engineering: {monthly_usd: -5}
    """)
    keys = [p.split(" ")[0] for p in problems(path)]
    assert keys == ["roles.sre.allow", "limits.person.commands", "budgets.engineering.monthly_usd"]


def test_invalid_yaml_gives_the_parsers_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, """
        roles:
          sre:
            members: [U1, U2
            allow: ["*"]
    """)
    [problem] = problems(path)
    assert problem == ("not valid YAML (line 4, column 10): expected ',' or ']', but got ':' "
                       "(while parsing a flow sequence)")
    assert "\n" not in problem  # one line per problem, for the CLI and /readyz


def test_a_tab_indent_is_invalid_yaml_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "roles:\n  sre:\n\tmembers: [U1]\n")
    [problem] = problems(path)
    assert problem.startswith("not valid YAML (line 3, column 1): ")


def test_duplicate_keys_are_refused_rather_than_silently_merged(tmp_path: Path) -> None:
    # PyYAML keeps the last of two equal keys: a second `sre:` would silently drop the first.
    path = write(tmp_path, """
        roles:
          sre: {members: [U1], allow: ["servicenow:*"]}
          ops: {members: [U2]}
          sre: {members: [U3], allow: ["jira:*"]}
    """)
    assert problems(path) == ["roles.sre (line 4): duplicate key, first at line 2"]


@pytest.mark.parametrize(("text", "kind", "line"), [
    ("- roles\n- limits\n", "list", 1),
    ("# a comment first\n\njust words\n", "str", 3),
])
def test_a_top_level_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, kind: str,
                                                      line: int) -> None:
    path = write(tmp_path, text)
    assert problems(path) == [
        f"(top level) (line {line}): must be a mapping (roles:, limits:, …), not {kind}"]


def test_a_missing_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == ["cannot read it: No such file or directory"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, "roles: {}\n")
    path.chmod(0)
    assert problems(path) == ["cannot read it: Permission denied"]


def test_a_directory_is_not_a_policy_file(tmp_path: Path) -> None:
    assert problems(tmp_path) == ["cannot read it: Is a directory"]
