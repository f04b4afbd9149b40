"""Hostile and odd input: no crash, sane spans, no catastrophic backtracking."""

from __future__ import annotations

import random
import string
import time

import pytest

from policies.dlp import DlpConfig, DlpScanner

SCANNER = DlpScanner(DlpConfig())
# Arabic-Indic and full-width digits must not reach the checksums (they read ASCII).
ARABIC_INDIC = "".join(map(chr, range(0x0660, 0x066A)))
FULL_WIDTH = "".join(map(chr, range(0xFF10, 0xFF1A)))
ODD = ARABIC_INDIC + FULL_WIDTH + "\u00e9\u00df\u20ac\u200b\t\n"


@pytest.mark.parametrize(
    "alphabet",
    [string.printable + ODD, "0123456789 -+().@:/" + ODD, string.ascii_uppercase + "0123456789 "],
    ids=["mixed", "digit-heavy", "iban-like"],
)
def test_random_text_never_crashes_and_findings_are_ordered_disjoint_spans(alphabet: str) -> None:
    rng = random.Random(11)
    for _ in range(600):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 240)))
        result = SCANNER.scan(text)
        end = 0
        for f in result.findings:
            assert end <= f.start < f.end <= len(text)
            end = f.end
        assert result.text == text or result.findings


def test_unicode_digits_are_not_read_as_a_card() -> None:
    def as_digits(block: str, ascii_digits: str) -> str:
        return ascii_digits.translate(str.maketrans("0123456789", block))

    text = (
        f"card {as_digits(ARABIC_INDIC, '4111111111111111')} or {as_digits(FULL_WIDTH, '4111111111111111')}"
    )
    assert SCANNER.scan(text).findings == ()


def test_case_folding_that_changes_length_does_not_shift_spans() -> None:
    for prefix in ("\u0130\u0130 ", "\u212a "):  # "İ".lower() is 2 chars; Kelvin sign -> "k"
        text = prefix + "password=hunter22 \u212aEY=x"
        (finding,) = SCANNER.scan(text).findings
        assert text[finding.start : finding.end] == "hunter22"


@pytest.mark.parametrize(
    "hostile",
    [
        "4" * 100_000,
        "1 " * 50_000,
        "+1 2 3 4 5 6 7 8 9 " * 5_000,
        "a@" + "b." * 50_000 + "c",
        "password=" + "A1" * 50_000,
        "-----BEGIN PRIVATE KEY-----" * 3_000,
        "x-api-key: " * 8_000,
        "DE89 " * 20_000,
    ],
    ids=["digits", "spaced-digits", "plus-groups", "email-labels", "long-value", "key-headers",
         "kv-keys", "iban-prefixes"],
)  # fmt: skip
def test_hundred_kilobyte_hostile_input_is_scanned_in_linear_time(hostile: str) -> None:
    started = time.perf_counter()
    SCANNER.scan(hostile)
    assert time.perf_counter() - started < 3.0  # catastrophic backtracking would take minutes
