"""Secret detectors: vendor keys with known prefixes, key blocks, JWTs, passwords
in URLs, and high-entropy credentials in `key=value` form.

Every pattern has literal strings that must occur in the text before its
regex runs (the prefilter): a message without "xox", "AKIA", "eyJ", "://"...
costs a few substring checks. Vendor formats are documented by the vendors
(and collected by gitleaks and detect-secrets); the generic rule is ours:
a credential-named key whose value is neither a placeholder nor low-entropy.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from policies.dlp.detectors import Candidate
from policies.dlp.validators import (
    basic_auth_valid,
    char_classes,
    is_placeholder,
    jwt_header_valid,
    shannon_entropy,
)


def _has_digit(v: str) -> bool:
    return any(c.isdigit() for c in v) and not is_placeholder(v)


def _mixed_case_digits(v: str) -> bool:
    # Real keys are random base62; branch names like sk-fix-login-2 are not.
    return any(c.isupper() for c in v) and any(c.islower() for c in v) and _has_digit(v)


def _jwt(v: str) -> bool:
    return jwt_header_valid(v.split(".", 1)[0])


def _random_token(v: str) -> bool:
    return char_classes(v) >= 2 and shannon_entropy(v) >= 3.0 and not is_placeholder(v)


def _random_digits(v: str) -> bool:
    # "Bearer your-access-token-here" is a doc snippet; real tokens carry digits.
    return _random_token(v) and any(c.isdigit() for c in v)


def _url_password(v: str) -> bool:
    return not is_placeholder(v)


@dataclass(frozen=True, slots=True)
class _KeyPattern:
    detail: str
    literals: tuple[str, ...]  # one must occur in the text (case-sensitive) for the regex to run
    regex: re.Pattern[str]
    check: Callable[[str], bool] | None = None  # on the secret's text
    group: int = 0  # which group is the secret (the rest is context)


_W = r"(?<![\w-])"  # not glued to a longer word
_PATTERNS: tuple[_KeyPattern, ...] = (
    _KeyPattern("slack_token", ("xox",),
                re.compile(_W + r"xox[abposre](?:\.xox[a-z])?-[0-9A-Za-z-]{10,250}"), _has_digit),
    _KeyPattern("slack_token", ("xapp-",), re.compile(_W + r"xapp-\d-[0-9A-Za-z-]{10,250}")),
    _KeyPattern("slack_webhook", ("hooks.slack.com",),
                re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[\w/-]{20,}")),
    _KeyPattern("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
                re.compile(_W + r"gh[pousr]_[A-Za-z0-9]{36,255}(?!\w)")),
    _KeyPattern("github_token", ("github_pat_",), re.compile(r"github_pat_\w{50,255}")),
    _KeyPattern("gitlab_token", ("glpat-",), re.compile(r"glpat-[\w-]{20,}")),
    _KeyPattern("aws_access_key", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
                re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}"
                           r"(?![A-Za-z0-9])")),
    _KeyPattern("google_api_key", ("AIza",), re.compile(r"AIza[\w-]{35}(?![\w-])")),
    _KeyPattern("google_oauth", ("GOCSPX-", "ya29."),
                re.compile(r"GOCSPX-[\w-]{28}|ya29\.[\w-]{20,}")),
    _KeyPattern("stripe_key", ("_live_", "_test_", "whsec_"),
                re.compile(_W + r"(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,247}"
                                r"|whsec_[\w+/=]{24,})")),
    _KeyPattern("anthropic_key", ("sk-ant-",), re.compile(_W + r"sk-ant-[a-z]+\d\d-[\w-]{20,}")),
    _KeyPattern("openai_key", ("sk-",),
                re.compile(_W + r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[\w-]{20,}"),
                _mixed_case_digits),
    _KeyPattern("jwt", ("eyJ",),
                re.compile(_W + r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"), _jwt),
    _KeyPattern("private_key", ("PRIVATE KEY",),
                re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----.*?"
                           r"(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.S)),
    _KeyPattern("url_password", ("://",),
                re.compile(r"\b[A-Za-z][\w+.-]{1,20}://[^\s:/@]{0,128}:([^\s@/]{1,256})@[^\s/@]"),
                _url_password, group=1),
)  # fmt: skip

# One pass of a literal alternation tells which vendor patterns can match at all.
_LITERALS = sorted({lit for p in _PATTERNS for lit in p.literals}, key=len, reverse=True)
_TRIGGER = re.compile("|".join(map(re.escape, _LITERALS)))


def _armed_by(lit: str) -> tuple[int, ...]:
    """The patterns a literal arms ("sk-ant-" also arms the plain "sk-" pattern)."""
    return tuple(i for i, p in enumerate(_PATTERNS) if any(lit in x for x in p.literals))


_BY_LITERAL = {lit: _armed_by(lit) for lit in _LITERALS}

# Case-insensitive rules run when the lower-cased text holds one of their words.
_BEARER_RE = re.compile(r"(?i)\bbearer\s+([\w.~+/-]{16,}=*)")
_BASIC_RE = re.compile(r"(?i)\bbasic\s+([A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])")
_KV_WORDS = ("pass", "pwd", "secret", "token", "key", "credential")
# After a key: `=`, `:` or `=>`, optional quotes, then the value.
_SEP_VALUE_RE = re.compile(r"[\"']?[ \t]{0,3}(?:=>?|:)[ \t]{0,3}[\"']?([^\s\"'`,;&<>]{6,512})")
_KEY_TAIL_RE = re.compile(r"[A-Za-z0-9_.-]*")
_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
# A key names a credential when it ENDS with one of these words: token_ttl,
# secret_name, password_policy and max_tokens are settings, not secrets.
_PASSWORD_KEYS = ("password", "passwd", "passphrase", "pwd")
_KEY_PREFIXES = ("api", "access", "secret", "private", "client", "signing", "master",
                 "encryption", "auth", "app")  # fmt: skip
_SECRET_KEYS = (
    *("secret", "token", "apikey", "credential", "credentials"),
    *(f"{word}{sep}key" for word in _KEY_PREFIXES for sep in ("", "_", "-", ".")),
)
# Lower-cases ASCII only, so offsets in the copy are offsets in the text
# ("İ".lower() is two characters long).
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def find_secrets(text: str) -> list[Candidate]:
    found: list[Candidate] = []
    hits = _TRIGGER.findall(text)
    if hits:
        for i in sorted({i for lit in set(hits) for i in _BY_LITERAL[lit]}):
            _run(_PATTERNS[i], text, found)
    low = text.lower()
    if len(low) != len(text):
        low = text.translate(_ASCII_LOWER)
    if "bearer" in low:
        _groups(_BEARER_RE, text, "bearer_token", _random_digits, found)
    if "basic" in low:
        _groups(_BASIC_RE, text, "basic_auth", basic_auth_valid, found)
    if any(w in low for w in _KV_WORDS):
        _key_values(text, low, found)
    return found


def _run(p: _KeyPattern, text: str, found: list[Candidate]) -> None:
    for m in p.regex.finditer(text):
        value = m.group(p.group)
        if p.check is None or p.check(value):
            found.append(Candidate("secret", m.start(p.group), m.end(p.group), value, p.detail))


def _groups(
    regex: re.Pattern[str],
    text: str,
    detail: str,
    check: Callable[[str], bool],
    found: list[Candidate],
) -> None:
    for m in regex.finditer(text):
        if check(m.group(1)):
            found.append(Candidate("secret", m.start(1), m.end(1), m.group(1), detail))


def _key_values(text: str, low: str, found: list[Candidate]) -> None:
    """key=value pairs whose key names a credential, found from the key words out.

    Finding the words with str.find and widening to the whole key is several
    times cheaper than a regex trying every word start as a possible key.
    """
    seen: set[int] = set()
    for word in _KV_WORDS:
        i = low.find(word)
        while i != -1:
            start = i
            while start and text[start - 1] in _KEY_CHARS:
                start -= 1
            tail = _KEY_TAIL_RE.match(text, i)
            end = max(tail.end() if tail else 0, i + len(word))  # always move on
            if start not in seen:
                seen.add(start)
                _pair(text, start, end, found)
            i = low.find(word, end)


def _pair(text: str, start: int, end: int, found: list[Candidate]) -> None:
    key = text[start:end].lower().rstrip("0123456789_-")
    if key.endswith(_PASSWORD_KEYS):
        weak_ok = True  # any real password counts, even a weak one
    elif key.endswith(_SECRET_KEYS):
        weak_ok = False  # tokens and keys are random: long, mixed, high-entropy
    else:
        return
    m = _SEP_VALUE_RE.match(text, end)
    if m is None:
        return
    value = m.group(1).rstrip(".")
    if value and _credential_value(value, weak_ok):
        found.append(Candidate("secret", m.start(1), m.start(1) + len(value), value, "credential"))


def _credential_value(value: str, weak_ok: bool) -> bool:
    if weak_ok:
        return not is_placeholder(value) and (char_classes(value) >= 2 or len(value) >= 12)
    return (
        len(value) >= 16
        and _random_token(value)
        and (any(c.isdigit() for c in value) or char_classes(value) >= 3)
    )
