"""Checksums and plausibility rules that turn a regex candidate into a finding.

Regexes find shapes; these functions decide whether a shape is the real thing
(a Luhn-valid card of a known brand, an SSN the SSA could have issued, an IBAN
whose mod-97 holds, a credential that is not a placeholder). They are pure
and cheap, and they are what keeps ops chatter (order numbers, ids, hashes)
from being flagged.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter

# Doubling table for Luhn: digit -> sum of the digits of 2*digit.
_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLE[d] if i & 1 else d
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card scheme whose IIN range and length fit `digits`, or None."""
    n = len(digits)
    if n < 13 or n > 19:  # 12-digit Maestro exists but is rare; 12 digits is an AWS account id
        return None
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    brand: str | None = None
    if digits[0] == "4":
        brand = "visa" if n in (13, 16, 19) else None
    elif 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        brand = "mastercard" if n == 16 else None
    elif p2 in (34, 37):
        brand = "amex" if n == 15 else None
    elif p4 == 6011 or 644 <= p3 <= 649 or p2 == 65 or 622126 <= p6 <= 622925:
        brand = "discover" if n >= 16 else None
    elif p2 == 35:  # JCB is 3528-3589; generators and test suites use all of 35xx
        brand = "jcb" if n >= 16 else None
    elif p4 in (2131, 1800):
        brand = "jcb" if n == 15 else None
    elif 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:
        brand = "diners" if n >= 14 else None
    elif p2 == 62:
        brand = "unionpay" if n >= 16 else None
    elif p2 == 50 or 56 <= p2 <= 69:
        brand = "maestro"
    return brand


def card_valid(digits: str) -> str | None:
    """The brand when `digits` is a plausible card number (IIN, length, Luhn)."""
    brand = card_brand(digits)
    return brand if brand and luhn_valid(digits) else None


# Famous numbers that were printed in advertising and are not anyone's SSN.
_SSN_PUBLISHED = frozenset({"078051120", "219099999"})


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    a = int(area)
    if a == 0 or a == 666 or a >= 900 or group == "00" or serial == "0000":
        return False
    return area + group + serial not in _SSN_PUBLISHED


# ISO 13616 registry: country -> IBAN length.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip


def iban_valid(compact: str) -> bool:
    """Registry length for the country, then the ISO 7064 mod-97 check."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def shannon_entropy(value: str) -> float:
    """Bits per character; random base64 is ~5-6, English words ~3-4."""
    n = len(value)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def char_classes(value: str) -> int:
    """How many of lower, upper, digit, other the value mixes."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


_PLACEHOLDER_WORDS = frozenset(
    {
        "null", "none", "nil", "true", "false", "redacted", "changeme", "change_me",
        "password", "passwd", "secret", "token", "example", "sample", "dummy", "test",
        "placeholder", "your_password", "yourpassword", "your_token", "your-token",
        "undefined", "empty", "hidden", "masked", "required", "optional",
    }
)  # fmt: skip


def is_placeholder(value: str) -> bool:
    """Template variables, masks and stock words that stand in for a secret."""
    v = value.strip("\"'`")
    if not v or v.lower() in _PLACEHOLDER_WORDS:
        return True
    if v[0] in "$<{%[(" or v.startswith(("{{", "ENC[", "vault:", "arn:", "ref+")):
        return True
    if set(v) <= set("*xX.-_#") or v.lower().startswith(("xxx", "***", "...", "<redacted")):
        return True
    return "://" in v or v.startswith(("/", "~/", "./", "../"))  # a path or URL, not a secret


def jwt_header_valid(segment: str) -> bool:
    """The first JWT segment is base64url JSON naming an algorithm or type."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and ("alg" in header or "typ" in header)


def basic_auth_valid(b64: str) -> bool:
    """An HTTP Basic credential decodes to `user:password`."""
    try:
        raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        return False
    user, sep, password = raw.partition(":")
    return bool(sep and user and password) and raw.isprintable()
