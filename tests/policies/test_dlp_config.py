"""The `dlp:` section of the policy file: defaults, merging and clear errors."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from policies.dlp import DEFAULT_RULES, KINDS, DlpConfig


def test_defaults_block_financial_data_and_secrets_and_redact_contact_details() -> None:
    config = DlpConfig()
    assert config.rules == dict(DEFAULT_RULES)
    assert {k for k, v in config.rules.items() if v == "block"} == {
        "payment_card", "us_ssn", "iban", "secret"}  # fmt: skip
    assert config.rules["email"] == config.rules["phone"] == "redact"
    assert config.allow == [] and config.channels == {}


def test_rules_in_the_file_are_laid_over_the_defaults() -> None:
    config = DlpConfig.model_validate({"rules": {"email": "allow"}})
    assert config.rules["email"] == "allow"
    assert config.rules["payment_card"] == "block"  # leaving a kind out never disables it
    assert set(config.rules) == set(KINDS)


def test_the_architecture_example_loads() -> None:
    section = yaml.safe_load(
        """
        rules: {payment_card: block, us_ssn: block, iban: block, secret: block,
                email: redact, phone: redact}
        allow: ["*@example.com"]
        channels:
          C0SECOPS1: {secret: redact}
        """
    )
    config = DlpConfig.model_validate(section)
    assert config.channels == {"C0SECOPS1": {"secret": "redact"}}


def test_unknown_rule_names_fail_and_list_the_known_kinds() -> None:
    with pytest.raises(ValidationError) as e:
        DlpConfig.model_validate({"rules": {"credit_card": "block"}})
    message = str(e.value)
    assert "'credit_card'" in message
    for kind in KINDS:
        assert kind in message


def test_unknown_kinds_in_channel_overrides_fail_naming_the_channel() -> None:
    with pytest.raises(ValidationError, match=r"channels\.C0SALES01.*known kinds"):
        DlpConfig.model_validate({"channels": {"C0SALES01": {"ssn": "allow"}}})


@pytest.mark.parametrize(
    "section",
    [
        {"rules": {"email": "mask"}},  # not an action
        {"channels": {"C1": {"email": "drop"}}},
        {"rulez": {}},  # unknown key
        {"allow": ["*"]},  # would switch DLP off
        {"allow": [""]},
    ],
)
def test_invalid_sections_are_rejected(section: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DlpConfig.model_validate(section)


def test_config_is_immutable() -> None:
    config = DlpConfig()
    with pytest.raises(ValidationError):
        config.allow = ["*@evil.example"]  # type: ignore[misc]
