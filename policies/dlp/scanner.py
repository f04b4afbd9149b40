"""The DLP scanner: detectors in, decisions and a redacted copy out.

    scanner = DlpScanner(policy.dlp)                # compiles once, no I/O
    result = scanner.scan(text, channel="C0SALES01")
    result.action      # "block" | "redact" | "allow"
    result.text        # every block/redact span replaced by "[REDACTED:<kind>]"
    result.summary()   # "payment_card x1, email x2": safe to log and audit

Raw values never leave this module: a Finding carries the kind, the span and
a digest. Findings a rule or the allowlist lets through are not reported, so
`findings` is exactly what DLP acted on and `action` is "allow" iff it is empty.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from policies.dlp.config import KINDS, Action, DlpConfig
from policies.dlp.detectors import (
    HAS_DIGITS,
    Candidate,
    find_cards,
    find_emails,
    find_ibans,
    find_phones,
    find_ssns,
)
from policies.dlp.keys import find_secrets

_STRENGTH: dict[str, int] = {"allow": 0, "redact": 1, "block": 2}
# When two candidates overlap, the more specific kind wins (a password that is
# all digits is a secret, not a card; digits inside an IBAN are not a card; a URL's
# password is not an email).
_PRIORITY = {k: i for i, k in enumerate(("secret", "iban", "payment_card", "us_ssn", "phone", "email"))}
Detector = Callable[[str], Iterable[Candidate]]
# Numeric detectors run only when the text has three digits (perhaps spaced) in a row.
_NUMERIC: dict[str, Detector] = {
    "payment_card": find_cards, "us_ssn": find_ssns, "iban": find_ibans, "phone": find_phones,
}  # fmt: skip
_OTHER: dict[str, Detector] = {"secret": find_secrets, "email": find_emails}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing DLP acted on. `digest` is sha256 (or HMAC) of the normalized value."""

    kind: str  # payment_card | us_ssn | iban | secret | email | phone
    start: int
    end: int
    digest: str
    detail: str = ""  # card brand, IBAN/phone country, or secret type (aws_access_key, jwt, ...)
    action: Action = "block"
    path: str = ""  # for scan_value: where in the structure, e.g. "args.customer[0].email"


@dataclass(frozen=True, slots=True)
class ScanResult:
    findings: tuple[Finding, ...]
    action: Action  # strongest of the findings' actions, "allow" if none
    text: str  # redacted text; "" for scan_value (the redacted copy is returned beside it)

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def summary(self) -> str:
        """Counts per kind, e.g. "payment_card x1, secret x2"; never values."""
        counts = Counter(f.kind for f in self.findings)
        return ", ".join(f"{k} x{counts[k]}" for k in KINDS if k in counts)


class DlpScanner:
    """Scans text and tool payloads against one DlpConfig. Thread-safe, immutable."""

    def __init__(self, config: DlpConfig, *, digest_key: bytes | None = None) -> None:
        self._rules: dict[str, Action] = dict(config.rules)
        self._channels = {ch: {**self._rules, **ov} for ch, ov in config.channels.items()}
        tables = [self._rules, *self._channels.values()]
        # A kind allowed everywhere is not looked for at all.
        live = {k for k in KINDS if any(t[k] != "allow" for t in tables)}
        self._numeric = tuple(d for k, d in _NUMERIC.items() if k in live)
        self._other = tuple(d for k, d in _OTHER.items() if k in live)
        self._allow = _compile_globs(config.allow)
        self._digest_key = digest_key  # HMAC key: plain sha256 of an SSN is brute-forceable

    def scan(self, text: str, channel: str | None = None) -> ScanResult:
        candidates = self._detect(text)
        if not candidates:
            return ScanResult((), "allow", text)
        rules = self._channels.get(channel, self._rules) if channel else self._rules
        findings = []
        for c in _resolve_overlaps(candidates):
            action = rules[c.kind]
            if action != "allow" and not self._allowlisted(text[c.start : c.end], c.value):
                findings.append(Finding(c.kind, c.start, c.end, self._digest(c.value),
                                        c.detail, action))  # fmt: skip
        return ScanResult(tuple(findings), _strongest(findings), _redact(text, findings))

    def fingerprint(self, text: str, channel: str | None = None) -> str:
        """For audit rows and logs: each acted-on value becomes its kind and digest.

        The same value always gets the same digest, so an operator can tell that
        two rows carried the same card without the card being stored.
        """
        result = self.scan(text, channel)
        return _redact(text, result.findings, digests=True) if result.findings else text

    def scan_value(self, value: object, channel: str | None = None) -> tuple[object, ScanResult]:
        """Scan every string (and long integer) in a str/dict/list/tuple structure.

        Returns a redacted copy (dicts come back as dicts, tuples as tuples; a
        redacted integer becomes its placeholder string) and one merged result
        whose findings name their place in `path`; their spans are offsets into
        that one string. Other types pass through unscanned.
        """
        findings: list[Finding] = []
        out = self._walk(value, channel, "", findings)
        return out, ScanResult(tuple(findings), _strongest(findings), "")

    def _detect(self, text: str) -> list[Candidate]:
        found: list[Candidate] = []
        for detect in self._other:
            found.extend(detect(text))
        if self._numeric and HAS_DIGITS.search(text):
            for detect in self._numeric:
                found.extend(detect(text))
        return found

    def _allowlisted(self, raw: str, normalized: str) -> bool:
        allow = self._allow
        return allow is not None and bool(allow.match(raw.lower()) or allow.match(normalized))

    def _digest(self, value: str) -> str:
        data = value.encode()
        if self._digest_key is not None:
            return hmac.new(self._digest_key, data, hashlib.sha256).hexdigest()[:16]
        return hashlib.sha256(data).hexdigest()[:16]

    def _walk(self, value: object, channel: str | None, path: str, acc: list[Finding]) -> object:
        if isinstance(value, str):
            return self._leaf(value, value, channel, path, acc)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**8:
            return self._leaf(str(value), value, channel, path, acc)  # a card sent as a number
        if isinstance(value, Mapping):
            return self._walk_mapping(value, channel, path, acc)
        if isinstance(value, list | tuple):
            items = [self._walk(v, channel, f"{path}[{i}]", acc) for i, v in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        return value

    def _leaf(
        self, text: str, original: object, channel: str | None, path: str, acc: list[Finding]
    ) -> object:
        result = self.scan(text, channel)
        if not result.findings:
            return original
        acc.extend(replace(f, path=path) for f in result.findings)
        return result.text

    def _walk_mapping(
        self, value: Mapping[object, object], channel: str | None, path: str, acc: list[Finding]
    ) -> dict[object, object]:
        out: dict[object, object] = {}
        for key, item in value.items():
            # Keys are scanned too, and paths use the redacted key so they stay loggable.
            new_key = key
            if isinstance(key, str):
                new_key = self._walk(key, channel, f"{path}{{key}}", acc)
            n = 2
            while new_key in out:  # two keys redacted to the same placeholder
                new_key, n = f"{new_key}#{n}", n + 1
            sub = f"{path}.{new_key}" if path else str(new_key)
            out[new_key] = self._walk(item, channel, sub, acc)
        return out


def _resolve_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    if len(candidates) == 1:
        return candidates
    ranked = sorted(candidates, key=lambda c: (_PRIORITY[c.kind], c.start - c.end, c.start))
    kept: list[Candidate] = []
    for c in ranked:
        if all(c.end <= k.start or c.start >= k.end for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda c: c.start)


def _strongest(findings: Iterable[Finding]) -> Action:
    best: Action = "allow"
    for f in findings:
        if _STRENGTH[f.action] > _STRENGTH[best]:
            best = f.action
    return best


def _redact(text: str, findings: Iterable[Finding], *, digests: bool = False) -> str:
    parts: list[str] = []
    pos = 0
    for f in findings:  # sorted by start, non-overlapping
        label = f"[REDACTED:{f.kind}:{f.digest}]" if digests else f"[REDACTED:{f.kind}]"
        parts += (text[pos : f.start], label)
        pos = f.end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _compile_globs(globs: Iterable[str]) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(g.lower()) for g in globs]
    return re.compile("|".join(parts)) if parts else None
