"""Accuracy on the labelled corpus, with the issue's hard thresholds.

`pytest -s tests/policies/test_dlp_accuracy.py` prints the per-entity table.
"""

from __future__ import annotations

import pytest

from policies.dlp import DlpConfig, DlpScanner
from tests.policies.dlp_corpus import (
    Gen,
    Report,
    Sample,
    build_corpus,
    card_samples,
    negative_samples,
    score,
    secret_samples,
)

# recall >= 0.99 for cards, SSNs, IBANs and keys; at most 2% of ops chat flagged.
RECALL_FLOOR = {"payment_card": 0.99, "us_ssn": 0.99, "iban": 0.99, "secret": 0.99}
NEGATIVE_PRECISION_FLOOR = 0.98


@pytest.fixture(scope="module")
def corpus() -> tuple[Sample, ...]:
    return build_corpus()


@pytest.fixture(scope="module")
def report(corpus: tuple[Sample, ...]) -> Report:
    scanner = DlpScanner(DlpConfig())

    def predict(text: str) -> list[tuple[str, int, int]]:
        return [(f.kind, f.start, f.end) for f in scanner.scan(text).findings]

    result = score(corpus, predict)
    print("\n" + result.table("DLP accuracy on the labelled corpus"))
    return result


def test_corpus_is_big_and_varied_enough_to_mean_something(corpus: tuple[Sample, ...]) -> None:
    negatives = [s for s in corpus if not s.spans]
    assert len(negatives) >= 500
    families = {s.family for s in corpus}
    for kind in ("payment_card/", "iban/", "secret/", "phone/"):
        assert sum(f.startswith(kind) for f in families) >= 3, kind
    assert len({s.family for s in negatives}) >= 10


def test_corpus_generation_is_deterministic() -> None:
    first, again = Gen(5), Gen(5)
    assert negative_samples(first, rounds=1) == negative_samples(again, rounds=1)
    assert secret_samples(first, per_type=1) == secret_samples(again, per_type=1)
    assert card_samples(Gen(6), per_type=2) != card_samples(first, per_type=2)


@pytest.mark.parametrize("kind", sorted(RECALL_FLOOR))
def test_recall_meets_the_floor(report: Report, kind: str) -> None:
    scores = report.kinds[kind]
    assert scores.expected >= 100
    assert scores.recall >= RECALL_FLOOR[kind], report.table()


def test_ops_chat_is_left_alone(report: Report) -> None:
    assert report.negatives >= 500
    assert report.negative_precision >= NEGATIVE_PRECISION_FLOOR, report.table()


def test_email_and_phone_are_found_too(report: Report) -> None:
    # No floor in the issue; these guard against a silent regression.
    assert report.kinds["email"].recall >= 0.95
    assert report.kinds["phone"].recall >= 0.90


def test_every_kind_is_precise_on_the_whole_corpus(report: Report) -> None:
    for kind, scores in report.kinds.items():
        assert scores.precision >= 0.97, (kind, report.table())
