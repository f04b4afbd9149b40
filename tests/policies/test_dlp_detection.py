"""What the scanner finds, and the ops chatter it must leave alone.

Token-shaped secrets are assembled at run time (`_token`) so that no literal
credential sits in the repository for a secret scanner to trip on.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from policies.dlp import DlpConfig, DlpScanner

SCANNER = DlpScanner(DlpConfig())
ALNUM = string.ascii_letters + string.digits


def _token(prefix: str, n: int, alphabet: str = ALNUM, seed: int = 7) -> str:
    rng = random.Random(seed)
    while True:
        body = "".join(rng.choice(alphabet) for _ in range(n))
        upper_ok = any(c.isupper() for c in body) or not any(c.isupper() for c in alphabet)
        if any(c.isdigit() for c in body) and upper_ok:
            return prefix + body


def _jwt() -> str:
    def enc(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': '42', 'iat': 1})}.{_token('', 43)}"


def _found(text: str) -> list[tuple[str, str, str]]:
    return [(f.kind, text[f.start : f.end], f.detail) for f in SCANNER.scan(text).findings]


@pytest.mark.parametrize(
    ("text", "kind", "value", "detail"),
    [
        ("refund card 4111 1111 1111 1111 exp 12/26", "payment_card", "4111 1111 1111 1111", "visa"),
        ("amex 3782-822463-10005 on file", "payment_card", "3782-822463-10005", "amex"),
        ("card:5555555555554444.", "payment_card", "5555555555554444", "mastercard"),
        ("4111111111111111 123 is the cvv", "payment_card", "4111111111111111", "visa"),
        ("SSN 123-45-6789 please", "us_ssn", "123-45-6789", ""),
        ("ssn: 536 22 1234", "us_ssn", "536 22 1234", ""),
        ("social security number 536221234", "us_ssn", "536221234", ""),
        ("wire to DE89 3704 0044 0532 0130 00 today", "iban", "DE89 3704 0044 0532 0130 00", "DE"),
        ("IBAN:GB82WEST12345698765432.", "iban", "GB82WEST12345698765432", "GB"),
        ("ping Jane.Doe+ops@Corp.example.co.uk now", "email", "Jane.Doe+ops@Corp.example.co.uk", ""),
        ("call me at (415) 555-2671", "phone", "(415) 555-2671", "US"),
        ("mobile +44 20 7946 0958", "phone", "+44 20 7946 0958", "GB"),
        ("ring 0049 30 901820 tomorrow", "phone", "0049 30 901820", "DE"),
        ("JP office +81 3-1234-5678", "phone", "+81 3-1234-5678", "JP"),
        ("SE: +46 8 12 34 56", "phone", "+46 8 12 34 56", "SE"),
        ("phone 4155552671", "phone", "4155552671", "US"),
    ],
)
def test_pii_in_sentences(text: str, kind: str, value: str, detail: str) -> None:
    assert _found(text) == [(kind, value, detail)]


SECRETS = [
    ("slack_token", "xoxb-" + "1234567890-9876543210123-" + _token("", 24)),
    ("slack_token", "xapp-1-A0" + _token("", 9, string.ascii_uppercase + string.digits) + "-1234"
     + _token("", 60, "0123456789abcdef")),
    ("slack_webhook", "https://hooks.slack.com/services/T0" + _token("", 8) + "/B0" + _token("", 8)
     + "/" + _token("", 24)),
    ("github_token", _token("ghp_", 36)),
    ("github_token", _token("github_pat_", 82, ALNUM + "_")),
    ("gitlab_token", _token("glpat-", 20)),
    ("aws_access_key", "AKIA" + _token("", 16, string.ascii_uppercase + string.digits)),
    ("google_api_key", _token("AIza", 35)),
    ("stripe_key", _token("sk_live_", 24)),
    ("openai_key", _token("sk-proj-", 48)),
    ("anthropic_key", _token("sk-ant-api03-", 93)),
    ("jwt", _jwt()),
]  # fmt: skip


@pytest.mark.parametrize(("detail", "secret"), SECRETS, ids=[s[0] for s in SECRETS])
def test_vendor_keys_are_found_whole(detail: str, secret: str) -> None:
    text = f"rotate this asap: `{secret}` (leaked in #general)"
    assert _found(text) == [("secret", secret, detail)]


def test_private_key_block_is_found_whole_even_when_cut_off() -> None:
    body = "\n".join(_token("", 64, ALNUM + "+/", seed=i) for i in range(3))
    block = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----"
    assert _found(f"deploy key:\n{block}\nthanks") == [("secret", block, "private_key")]
    cut = f"-----BEGIN RSA PRIVATE KEY-----\n{body}"
    assert _found(f"oops {cut}") == [("secret", cut, "private_key")]


@pytest.mark.parametrize(
    ("text", "secret", "detail"),
    [
        ("DATABASE_URL=postgres://app:Tr0ub4dor3@db-01:5432/app", "Tr0ub4dor3", "url_password"),
        ("redis://:s3cretPass9@cache:6379/0", "s3cretPass9", "url_password"),
        ("DB_PASSWORD=hunter22", "hunter22", "credential"),
        ('{"password": "S3cr3t!x", "user": "svc"}', "S3cr3t!x", "credential"),
        ("aws_secret_access_key = " + _token("", 40, ALNUM + "/+"),
         _token("", 40, ALNUM + "/+"), "credential"),
        ("GET /export?format=csv&access_token=" + _token("", 40) + "&page=2",
         _token("", 40), "credential"),
        ("payments: client_secret=" + _token("", 32), _token("", 32), "credential"),
        ("Authorization: Bearer " + _token("", 40, ALNUM + "-_."), _token("", 40, ALNUM + "-_."),
         "bearer_token"),
        ("Authorization: Basic " + base64.b64encode(b"svc:pa55w0rd").decode(),
         base64.b64encode(b"svc:pa55w0rd").decode(), "basic_auth"),
    ],
)  # fmt: skip
def test_passwords_and_generic_credentials(text: str, secret: str, detail: str) -> None:
    assert _found(text) == [("secret", secret, detail)]


OPS_CHATTER = [
    "INC0012345 P2: checkout-api 5xx since 2024-03-05T12:34:56.789Z, assigned to Priya",
    "OPS-123 and RITM0010001 linked, CHG0030002 approved for Sat 22:00 UTC",
    "merged 9fceb02 into main; revert 9fceb02d0ae598e95dc970b74767f19372d61af8 if it breaks",
    "request 123e4567-e89b-12d3-a456-426614174000 failed after 30000 ms",
    "upgrading from 1.2.3 to v2.14.0-rc1 (python 3.11.7)",
    "host 10.0.12.4:8443 unreachable from 192.168.100.200, port 5432 open",
    "build #20240305.17 passed in 12m3s, pipeline 4521 run 882133",
    "<@U012AB3CD> please check C0SALES01; opportunity 006Dn000004XyZ1IAK",
    "sys_id 9d385017c611228701d22104cc95c371 updated",
    "order 4532015112830367 shipped",  # Luhn-invalid 16 digits
    "parts 000-12-3456, 666-12-3456, 912-34-5678 back-ordered",
    "arn:aws:iam::123456789012:role/deploy assumed; epoch 1709654400123",
    "git clone git@github.com:acme/switchboard.git; systemctl restart user@1000.service",
    "https://deploy@github.com/acme/x and ssh://git@gitlab.acme.io:2222/ops/infra.git",
    "token_ttl=3600 max_tokens=4096 password_policy=strict secret_name=prod/db/password",
    "export DB_PASSWORD=${DB_PASSWORD}; password: ********; api_key=REPLACE_ME_WITH_REAL_KEY",
    "curl -H 'Authorization: Bearer your-access-token-here' https://api.example.com/v1/me",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    "sk-fix-the-login-page-handler-branch is merged",
    "bump @types/node@20.11.5, ping @oncall",
    "ref DE00 3704 0044 0532 0130 00 rejected (bad checksum)",
    "took 1h23m45s, p99 412ms, 1,234,567 events, disk 87% full",
    "docker pull python@sha256:" + "ab" * 32,
    "Zoom meeting ID 845 1234 5678",
    "invoice 1543 0060 7263 5586 is overdue",  # not +60 (Malaysia) 7263 5586
]


@pytest.mark.parametrize("text", OPS_CHATTER)
def test_ops_chatter_is_not_flagged(text: str) -> None:
    assert _found(text) == []


def test_one_message_with_several_kinds_reports_each_once() -> None:
    text = "Jane <jane@corp.io> card 4111-1111-1111-1111, SSN 123-45-6789, cb (415) 555-2671"
    assert [k for k, _, _ in _found(text)] == ["email", "payment_card", "us_ssn", "phone"]


def test_overlaps_go_to_the_more_specific_kind() -> None:
    # The URL's password is a secret; "pw@db.example.com" is not an email.
    assert _found("postgres://u:pw12345@db.example.com/x") == [("secret", "pw12345", "url_password")]
    # Digits inside an IBAN are not a card.
    assert [k for k, _, _ in _found("IBAN DE50 6079 4010 3727 1478 09")] in (["iban"], [])
