"""Our DLP engine against presidio-analyzer and detect-secrets on the same corpus.

    .venv/bin/pip install presidio-analyzer detect-secrets   # optional, not product deps
    python bench/compare_dlp.py

presidio runs its predefined recognizers directly (credit card, US SSN, IBAN,
email, phone): pattern recognizers need no spaCy model, and AnalyzerEngine's
NLP engine is not used. Its results are shown at score > 0 (AnalyzerEngine's
default threshold) and at score >= 0.5. detect-secrets runs `scan_line` with its
default plugins and filters on every line (its ad-hoc mode, eager search),
and again with eager search off (how `detect-secrets scan` reads files). A tool that is not installed is
skipped. Speed is messages per CPU second over the whole corpus.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.dlp import DlpConfig, DlpScanner
from tests.policies.dlp_corpus import KIND_ORDER, Report, Sample, build_corpus, score

Scored = list[tuple[str, int, int, float]]  # (kind, start, end, score)
PRESIDIO_KINDS = {"CREDIT_CARD": "payment_card", "US_SSN": "us_ssn", "IBAN_CODE": "iban",
                  "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone"}  # fmt: skip


def ours() -> Callable[[str], Scored]:
    scanner = DlpScanner(DlpConfig())
    return lambda text: [(f.kind, f.start, f.end, 1.0) for f in scanner.scan(text).findings]


def presidio() -> Callable[[str], Scored]:
    import tldextract.tldextract as tld
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    # The email recognizer validates domains with tldextract, which would fetch
    # the public-suffix list over the network: use the snapshot it ships with.
    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=())
    recognizers = [CreditCardRecognizer(), UsSsnRecognizer(), IbanRecognizer(),
                   EmailRecognizer(), PhoneRecognizer()]  # fmt: skip

    def predict(text: str) -> Scored:
        out = []
        for r in recognizers:
            for res in r.analyze(text, r.supported_entities, None):
                out.append((PRESIDIO_KINDS[res.entity_type], res.start, res.end, res.score))
        return out

    return predict


def detect_secrets(eager: bool) -> Callable[[str], Scored]:
    """`scan_line` (eager=True, its ad-hoc mode), or the same plugins and filters without
    eager search, the way `detect-secrets scan` reads files."""
    from detect_secrets.core import scan
    from detect_secrets.settings import default_settings, get_plugins
    from detect_secrets.util.code_snippet import get_code_snippet

    def line_secrets(line: str) -> list[str]:
        if eager:
            return [s.secret_value or "" for s in scan.scan_line(line)]
        context = get_code_snippet(lines=[line], line_number=1)
        return [
            s.secret_value or ""
            for plugin in get_plugins()
            for s in scan._scan_line(plugin, "adhoc", line, 0, context, enable_eager_search=False)
        ]

    def predict(text: str) -> Scored:
        out: Scored = []
        with default_settings():
            offset = 0
            for line in text.split("\n"):
                for value in line_secrets(line):
                    at = line.find(value) if value else -1
                    start, end = (at, at + len(value)) if at >= 0 else (0, len(line))
                    out.append(("secret", offset + start, offset + end, 1.0))
                offset += len(line) + 1
        return out

    return predict


def run(predict: Callable[[str], Scored], corpus: tuple[Sample, ...]) -> tuple[dict[str, Scored], float]:
    predict(corpus[0].text)  # warm up (lazy imports, caches)
    started = time.process_time()
    results = {s.text: predict(s.text) for s in corpus}
    return results, len(corpus) / (time.process_time() - started)


def report(results: dict[str, Scored], corpus: tuple[Sample, ...], threshold: float) -> Report:
    def at(text: str) -> list[tuple[str, int, int]]:
        return [(k, s, e) for k, s, e, sc in results[text] if sc > 0 and sc >= threshold]

    return score(corpus, at)


def row(name: str, rep: Report, covers: set[str], speed: float) -> str:
    cells = [f"{rep.kinds[k].recall:6.3f}" if k in covers else f"{'n/a':>6s}" for k in KIND_ORDER]
    flagged = f"{rep.negatives_flagged:3d}/{rep.negatives}"
    return f"{name:26s} {' '.join(cells)}   {rep.negative_precision:6.3f} {flagged:>8s} {speed:9,.0f}"


def main() -> None:
    corpus = build_corpus()
    print(f"corpus: {len(corpus)} messages, {sum(not s.spans for s in corpus)} ops-chat negatives\n")
    heads = " ".join(f"{k[:6]:>6s}" for k in KIND_ORDER)
    print(f"{'recall per entity':26s} {heads}   {'neg.P':>6s} {'flagged':>8s} {'msgs/s':>9s}")
    tools = [
        ("ours", ours, set(KIND_ORDER), (0.0,)),
        ("presidio", presidio, set(PRESIDIO_KINDS.values()), (0.0, 0.5)),
        ("detect-secrets scan_line", lambda: detect_secrets(eager=True), {"secret"}, (0.0,)),
        ("detect-secrets non-eager", lambda: detect_secrets(eager=False), {"secret"}, (0.0,)),
    ]
    for name, factory, covers, thresholds in tools:
        try:
            predict = factory()
        except ImportError as e:
            print(f"{name:26s} skipped: {e.name} is not installed")
            continue
        results, speed = run(predict, corpus)
        for threshold in thresholds:
            label = f"{name} (score>={threshold})" if len(thresholds) > 1 else name
            print(row(label, report(results, corpus, threshold), covers, speed))
    print("\nneg.P = share of ops-chat messages not flagged; flagged = false alarms among them")


if __name__ == "__main__":
    main()
