"""Decisions, redaction, allowlists, channel overrides, digests and scan_value."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from policies.dlp import DlpConfig, DlpScanner, Finding, ScanResult

CARD = "4111 1111 1111 1111"
SSN = "123-45-6789"
EMAIL = "jane.doe@corp.io"
PHONE = "(415) 555-2671"


def scanner(**section: object) -> DlpScanner:
    return DlpScanner(DlpConfig.model_validate(section))


def test_clean_text_is_allowed_untouched() -> None:
    text = "deploy v2.14.0 to prod at 14:00, INC0012345"
    result = scanner().scan(text)
    assert result == ScanResult((), "allow", text)
    assert not result.blocked
    assert result.summary() == ""


def test_block_and_redact_spans_are_replaced_and_the_strongest_action_wins() -> None:
    text = f"mail {EMAIL} about card {CARD} and call {PHONE}"
    result = scanner().scan(text)
    assert result.action == "block" and result.blocked
    assert result.text == (
        "mail [REDACTED:email] about card [REDACTED:payment_card] and call [REDACTED:phone]"
    )
    assert [f.action for f in result.findings] == ["redact", "block", "redact"]
    assert result.summary() == "payment_card x1, email x1, phone x1"


def test_redact_only_is_not_blocked() -> None:
    result = scanner().scan(f"cc {EMAIL} and {EMAIL.upper()}")
    assert result.action == "redact" and not result.blocked
    assert result.text == "cc [REDACTED:email] and [REDACTED:email]"
    assert result.summary() == "email x2"


def test_findings_carry_kind_span_and_digest_but_never_the_value() -> None:
    text = f"SSN {SSN}"
    result = scanner().scan(text)
    (finding,) = result.findings
    assert (finding.kind, text[finding.start : finding.end]) == ("us_ssn", SSN)
    # The digest is of the normalized value, so 123-45-6789 and 123 45 6789 correlate.
    assert finding.digest == hashlib.sha256(b"123456789").hexdigest()[:16]
    assert scanner().scan("SSN 123 45 6789").findings[0].digest == finding.digest
    for leak in (SSN, "123456789"):
        assert leak not in repr(result.findings) and leak not in result.summary()
        assert leak not in result.text


def test_a_digest_key_turns_the_digest_into_an_hmac() -> None:
    keyed = DlpScanner(DlpConfig(), digest_key=b"k3y").scan(f"SSN {SSN}").findings[0]
    assert keyed.digest == hmac.new(b"k3y", b"123456789", hashlib.sha256).hexdigest()[:16]


def test_allow_rule_lets_a_kind_through_and_reports_nothing() -> None:
    text = f"cc {EMAIL}, card {CARD}"
    result = scanner(rules={"email": "allow"}).scan(text)
    assert [f.kind for f in result.findings] == ["payment_card"]
    assert result.text == f"cc {EMAIL}, card [REDACTED:payment_card]"


def test_a_kind_may_be_switched_from_block_to_redact() -> None:
    result = scanner(rules={"payment_card": "redact"}).scan(f"card {CARD}")
    assert result.action == "redact"
    assert result.text == "card [REDACTED:payment_card]"


def test_allowlist_globs_match_found_values_case_insensitively() -> None:
    s = scanner(allow=["*@example.com", "4111111111111111"])
    result = s.scan(f"Alice@Example.COM, {EMAIL}, test card {CARD}")
    assert [f.kind for f in result.findings] == ["email"]
    assert result.text == f"Alice@Example.COM, [REDACTED:email], test card {CARD}"


def test_allowlist_does_not_match_a_substring() -> None:
    result = scanner(allow=["*@example.com"]).scan("mail bob@example.com.evil.io")
    assert result.action == "redact"


def test_channel_overrides_apply_only_in_their_channel() -> None:
    s = scanner(channels={"C0SECOPS1": {"secret": "redact", "email": "allow"}})
    text = f"DB_PASSWORD=hunter22 cc {EMAIL}"
    here = s.scan(text, channel="C0SECOPS1")
    assert here.action == "redact"
    assert here.text == f"DB_PASSWORD=[REDACTED:secret] cc {EMAIL}"
    for elsewhere in (s.scan(text, channel="C0SALES01"), s.scan(text)):
        assert elsewhere.action == "block"
        assert elsewhere.text == "DB_PASSWORD=[REDACTED:secret] cc [REDACTED:email]"


def test_a_kind_allowed_globally_is_still_enforced_where_a_channel_says_so() -> None:
    s = scanner(rules={"phone": "allow"}, channels={"C0HR": {"phone": "block"}})
    assert s.scan(f"call {PHONE}").action == "allow"
    assert s.scan(f"call {PHONE}", channel="C0HR").action == "block"


def test_scan_value_walks_nested_structures_and_returns_a_redacted_copy() -> None:
    args = {
        "summary": "refund",
        "customer": {"email": EMAIL, "cards": [CARD, "none"], "age": 42},
        "notes": ("call " + PHONE, None, 3.5, True),
        "card_as_number": 4111111111111111,
    }
    out, result = scanner().scan_value(args)
    assert out == {
        "summary": "refund",
        "customer": {"email": "[REDACTED:email]", "cards": ["[REDACTED:payment_card]", "none"],
                     "age": 42},
        "notes": ("call [REDACTED:phone]", None, 3.5, True),
        "card_as_number": "[REDACTED:payment_card]",
    }  # fmt: skip
    assert args["customer"]["email"] == EMAIL  # type: ignore[index]  # the input is not mutated
    assert result.action == "block" and result.text == ""
    assert sorted((f.path, f.kind) for f in result.findings) == [
        ("card_as_number", "payment_card"),
        ("customer.cards[0]", "payment_card"),
        ("customer.email", "email"),
        ("notes[0]", "phone"),
    ]


def test_scan_value_scans_keys_and_keeps_paths_free_of_raw_values() -> None:
    out, result = scanner().scan_value({EMAIL: {"ssn": SSN}, "bob@corp.io": 1})
    assert out == {"[REDACTED:email]": {"ssn": "[REDACTED:us_ssn]"}, "[REDACTED:email]#2": 1}
    assert result.summary() == "us_ssn x1, email x2"
    assert all(EMAIL not in f.path for f in result.findings)
    assert "[REDACTED:email].ssn" in {f.path for f in result.findings}


def test_scan_value_leaves_clean_values_identical_and_other_types_alone() -> None:
    marker = object()
    value = ["fine", 12, marker, {"k": "v"}]
    out, result = scanner().scan_value(value)
    assert out == value and out[2] is marker
    assert result == ScanResult((), "allow", "")
    assert scanner().scan_value("plain text")[0] == "plain text"


def test_scan_value_honours_the_channel() -> None:
    s = scanner(channels={"C0HR": {"us_ssn": "allow"}})
    assert s.scan_value({"ssn": SSN}, channel="C0HR") == ({"ssn": SSN}, ScanResult((), "allow", ""))


@pytest.mark.parametrize("action", ["block", "redact"])
def test_every_acted_on_span_is_redacted_whatever_the_action(action: str) -> None:
    result = scanner(rules={k: action for k in ("email", "us_ssn")}).scan(f"{EMAIL} {SSN}")
    assert result.text == "[REDACTED:email] [REDACTED:us_ssn]"


def test_results_are_immutable_values() -> None:
    finding = Finding("email", 0, 3, "abc")
    assert finding.detail == "" and finding.action == "block" and finding.path == ""
    with pytest.raises(AttributeError):
        finding.kind = "phone"  # type: ignore[misc]
