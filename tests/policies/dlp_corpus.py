"""A labelled DLP corpus, generated deterministically (seeded faker + random).

Positives embed one (sometimes two) entities in chat sentences and carry the
span of each; negatives are ops chatter with none. Every secret is generated at
run time, so no token-shaped literal sits in the repository to trip a secret
scanner. Used by tests/policies/test_dlp_accuracy.py and bench/compare_dlp.py.

Ground truth does not come from the engine under test: cards come from faker's
Luhn-valid generator, SSNs from faker's SSA-rule generator, IBANs from faker's
mod-97 generator, and phones are kept only when libphonenumber's numbering
plan says they can exist (the definition of a phone number, not a detector).
Templates use `{field}` placeholders filled lazily from FIELDS; `{v}` (and
`{e}`, `{c}`, `{p}` in mixed messages) is the labelled value.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from faker import Faker

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
PASSWORD_CHARS = ALNUM + "!#%*_-.+="


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Sample:
    text: str
    spans: tuple[Span, ...]  # empty for a negative
    family: str  # "payment_card/amex", "secret/jwt", "negative/ticket", ...


class Gen:
    """The seeded sources every generator draws from."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self._fakers: dict[str, Faker] = {}

    def localized(self, locale: str) -> Faker:
        """A Faker for `locale`, built once (construction is slow), reseeded per use."""
        fake = self._fakers.get(locale)
        if fake is None:
            fake = self._fakers[locale] = Faker(locale)
        fake.seed_instance(self.rng.randint(0, 2**31))
        return fake

    def pick(self, seq: tuple[str, ...]) -> str:
        return self.rng.choice(seq)

    def n(self, a: int, b: int) -> str:
        return str(self.rng.randint(a, b))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def digits(self, n: int) -> str:
        return self.chars(string.digits, n)


class _Fields(dict[str, str]):
    """Template fields, generated on first use (faker names are slow), stable within one text."""

    def __init__(self, g: Gen) -> None:
        super().__init__()
        self.g = g

    def __missing__(self, key: str) -> str:
        value = self[key] = FIELDS[key](self.g)
        return value


def fill(g: Gen, template: str) -> str:
    return template.format_map(_Fields(g))


def _embed(g: Gen, template: str, family: str, values: dict[str, tuple[str, str]]) -> Sample:
    """Fill `template`; `values` maps a placeholder to (kind, text) to label."""
    fields = _Fields(g)
    text, spans = "", []
    for i, part in enumerate(re.split(r"\{(" + "|".join(values) + r")\}", template)):
        if i % 2 == 0:
            text += part.format_map(fields)
            continue
        kind, value = values[part]
        spans.append(Span(kind, len(text), len(text) + len(value)))
        text += value
    return Sample(text, tuple(spans), family)


# ------------------------------------------------------------------ ops fields

SERVICES = ("checkout-api", "billing-worker", "auth-gateway", "search-indexer", "slack-bot",
            "payments", "ledger", "notifications", "kafka-connect", "postgres-primary")  # fmt: skip


def _luhn_ok(digits: str) -> bool:  # independent of the engine's own Luhn
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _order_number(g: Gen, sep: str = "") -> str:
    """A 16-digit number that fails Luhn, like the order ids shops print."""
    while True:
        digits = g.n(1, 9) + g.digits(15)
        if not _luhn_ok(digits):
            return sep.join(digits[i : i + 4] for i in range(0, 16, 4)) if sep else digits


def _bad_ssn(g: Gen) -> str:
    area, group, serial = g.n(1, 899).zfill(3), g.n(1, 99).zfill(2), g.n(1, 9999).zfill(4)
    flaw = g.rng.randint(0, 4)
    area = ("000", "666", "9" + g.digits(2), area, area)[flaw]
    return f"{area}-{'00' if flaw == 3 else group}-{'0000' if flaw == 4 else serial}"


def _bad_iban(g: Gen) -> str:
    iban = g.localized(g.pick(("de_DE", "fr_FR", "nl_NL", "en_GB"))).iban()
    return f"{iban[:2]}{(int(iban[2:4]) + g.rng.randint(1, 50)) % 100:02d}{iban[4:]}"


def _ip(g: Gen) -> str:
    return g.pick((g.fake.ipv4_private(), g.fake.ipv4_public(), f"10.{g.n(0, 255)}.{g.n(0, 255)}.1"))


def _iso(g: Gen) -> str:
    dt = g.fake.date_time_between("-1y", "now")
    formats = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d %H:%M:%S,%f", "%b %d %H:%M:%S", "%m/%d/%Y %H:%M")
    return dt.strftime(g.pick(formats))


def _ver(g: Gen) -> str:
    return f"{g.n(0, 9)}.{g.n(0, 40)}.{g.n(0, 30)}"


def _sf_id(g: Gen, prefix: str) -> str:
    return prefix + g.digits(1) + g.chars(ALNUM, 11) + g.chars(string.ascii_uppercase, 3)


def _cursor(g: Gen) -> str:
    return base64.urlsafe_b64encode(json.dumps({"page": int(g.n(2, 90))}).encode()).decode()


def _json_log(g: Gen) -> str:
    record = {"level": "error", "ts": int(g.n(1_600_000_000, 1_800_000_000)) + g.rng.random(),
              "msg": "upstream timeout", "request_id": g.fake.uuid4(), "status": 504}  # fmt: skip
    return json.dumps(record)


FIELDS: dict[str, Callable[[Gen], str]] = {
    "name": lambda g: g.fake.name(),
    "first": lambda g: g.fake.first_name(),
    "company": lambda g: g.fake.company(),
    "date": lambda g: g.fake.date_between("-1y", "today").isoformat(),
    "amount": lambda g: f"{g.rng.uniform(5, 9000):.2f}",
    "host": lambda g: f"{g.fake.word()}-{g.n(1, 40).zfill(2)}.prod.internal",
    "svc": lambda g: g.pick(SERVICES),
    "svc2": lambda g: g.pick(SERVICES),
    "ver": _ver,
    "ver2": _ver,
    "mm": lambda g: g.n(1, 12).zfill(2),
    "yy": lambda g: g.n(25, 31),
    "cvv": lambda g: g.digits(3),
    "small": lambda g: g.n(1, 99),
    "num": lambda g: g.n(100, 99999),
    "big": lambda g: f"{g.rng.randint(1000, 99_999_999):,}",
    "ms": lambda g: g.n(1, 30000),
    "pct": lambda g: g.n(50, 99),
    "inc": lambda g: "INC" + g.n(1, 999999).zfill(7),
    "inc2": lambda g: "INC" + g.n(1, 999999).zfill(7),
    "ritm": lambda g: "RITM" + g.n(1, 99999).zfill(7),
    "chg": lambda g: "CHG" + g.n(1, 99999).zfill(7),
    "prb": lambda g: "PRB" + g.n(1, 99999).zfill(7),
    "ops": lambda g: f"OPS-{g.n(1, 9999)}",
    "sha7": lambda g: g.chars(HEX, 7),
    "sha12": lambda g: g.chars(HEX, 12),
    "sha40": lambda g: g.chars(HEX, 40),
    "hex8": lambda g: g.chars(HEX, 8),
    "hex16": lambda g: g.chars(HEX, 16),
    "hex32": lambda g: g.chars(HEX, 32),
    "hex64": lambda g: g.chars(HEX, 64),
    "uuid": lambda g: g.fake.uuid4(),
    "iso": _iso,
    "iso2": _iso,
    "epoch": lambda g: g.n(1_600_000_000, 1_800_000_000),
    "epoch_ms": lambda g: g.n(1_600_000_000_000, 1_800_000_000_000),
    "ip": _ip,
    "ip2": _ip,
    "ipv6": lambda g: g.fake.ipv6(),
    "mac": lambda g: g.fake.mac_address(),
    "port": lambda g: g.n(1, 65535),
    "pid": lambda g: g.n(100, 65000),
    "uid": lambda g: "U" + g.chars(UPPER_DIGITS, 8),
    "cid": lambda g: "C" + g.chars(UPPER_DIGITS, 8),
    "sf006": lambda g: _sf_id(g, "006"),
    "sf001": lambda g: _sf_id(g, "001"),
    "acct": lambda g: g.digits(12),
    "order": _order_number,
    "order_spaced": lambda g: _order_number(g, " "),
    "order_dashed": lambda g: _order_number(g, "-"),
    "bad_ssn": _bad_ssn,
    "bad_iban": _bad_iban,
    "b64": lambda g: g.chars(B64, 64),
    "cursor": _cursor,
    "json_log": _json_log,
    "ups": lambda g: "1Z" + g.chars(UPPER_DIGITS, 16),
    "license": lambda g: f"{g.chars(string.ascii_uppercase, 2)}{g.digits(2)}-{g.chars(UPPER_DIGITS, 4)}",
    "pids": lambda g: " ".join(g.n(1000, 9999) for _ in range(4)),
    "ports": lambda g: " ".join(g.pick(("8080", "8443", "9090", "5432", "6379", "3000")) for _ in "1234"),
    "zoom": lambda g: f"{g.n(800, 999)} {g.n(1000, 9999)} {g.n(1000, 9999)}",
    "usps": lambda g: f"9400 1{g.digits(3)} {g.digits(4)} {g.digits(4)} {g.digits(4)} {g.digits(2)}",
}  # fmt: skip

NEGATIVES: dict[str, tuple[str, ...]] = {
    "ticket": (
        "{inc} P2: {svc} returning 5xx since {iso}, assigned to {first}",
        "{ritm} approved, {chg} scheduled for {date} 22:00 UTC",
        "{ops} moved to In Progress by {first} https://acme.atlassian.net/browse/{ops}",
        "{prb} linked to {inc} and {inc2}",
    ),
    "git": (
        "merged {sha7} into main, deploying {svc} {ver}",
        "revert {sha40}: broke {svc} on {host}",
        "git bisect says {sha12} introduced the regression in #{num}",
        "cloned git@github.com:acme/{svc}.git at {sha7}, mirror ssh://git@gitlab.acme.io:2222/x.git",
    ),
    "ids": (
        "request {uuid} failed with 502 after {ms}ms",
        "trace_id={hex32} span_id={hex16} status=ERROR",
        "sys_id {hex32} updated by {first}",
        "https://acme.service-now.com/nav_to.do?uri=incident.do?sys_id={hex32}",
        "<@{uid}> can you take {inc}? posted in <#{cid}|ops-alerts>",
        "opportunity {sf006} closed won, account {sf001}, owner {uid}",
    ),
    "version": (
        "upgrading {svc} from {ver} to v{ver2}-rc{small}",
        "python 3.11.{small}, node v20.{small}.1, k8s 1.29.{small}",
        "helm chart {svc}-{ver} pinned, image tag {ver2}-{sha7}",
    ),
    "timestamp": (
        "{iso} ERROR [{svc}] connection reset by peer",
        "{iso} {host} sshd[{pid}]: Accepted publickey for deploy from {ip} port {port} ssh2",
        "outage window {date} 14:02-14:37 UTC ({small}m {small}s)",
        "last heartbeat at epoch {epoch} ({epoch_ms} ms)",
        "cron fired at {iso} for job {num}, next run {iso2}",
    ),
    "network": (
        "{host} ({ip}:{port}) unreachable from {ip2}",
        "curl http://{ip}:8080/metrics timed out",
        "allow {ip}/24 on sg-{hex8}, port {port}",
        "node ip-10-0-{small}-{small}.ec2.internal NotReady, IPv6 {ipv6}",
        "MAC {mac} on port Gi1/0/{small} flapping",
    ),
    "build": (
        "build #{num}.{small} passed in {small}m{small}s",
        "pipeline {num} run {num} failed at stage test ({num} tests, {small} failures)",
        "job {num}{small} retried {small} times",
        "artifact {svc}-{ver}+build.{num}.tar.gz uploaded ({num} MB)",
    ),
    "metrics": (
        "p50 {small}ms p99 {ms}ms over {big} requests",
        "took 1h{small}m{small}s, uptime {num}d 4h",
        "processed {big} events, lag {num}, queue depth {num}",
        "disk {pct}% full on /var/lib/docker, {small}.5GiB free",
        "timeout after {ms} ms (retries=3, backoff=2.0, pool=50)",
    ),
    "log": (
        "{json_log}",
        "{iso} WARN pool exhausted (max=50, active=50, idle=0, waiters={num})",
        "GET /api/v2/orders/{num}?page={small} 200 {ms}ms {num}b",
        "{svc}-{hex8}-x2k4q OOMKilled (exit 137), restarts {small}",
        "pulled registry.acme.io/{svc}@sha256:{hex64}",
        "arn:aws:iam::{acct}:role/deploy assumed, wrote s3://acme-logs-{acct}/{date}/part-1.gz",
    ),
    "stacktrace": (
        'Traceback (most recent call last):\n  File "/app/bot/router.py", line {num}, in run\n'
        "KeyError: 'user_id'",
        "java.lang.NullPointerException\n\tat com.acme.Invoice.total(Invoice.java:{num})",
        "panic: index out of range [{small}] with length {small}\n\ngoroutine {num} [running]:",
    ),
    "order_number": (
        "order {order} shipped, tracking {ups}",
        "invoice {order_spaced} is overdue, {amount} USD",
        "PO {num}{num} approved, ORD-{date}-{num} and order #{order}",
        "SELECT * FROM orders WHERE id = {order} -- slow, {ms}ms",
    ),
    "invalid_ssn": (
        "part number {bad_ssn} is back-ordered",
        "case {bad_ssn} closed by {first}",
        "legacy ref {bad_ssn} migrated to {inc}",
    ),
    "lookalike": (
        "old reference {bad_iban} was rejected by the bank (checksum)",
        "license key {license}-{license}",
        "+1 to that, +{num} lines in the diff, tz UTC+0{small}:00",
        "room 3-{num}, extension {num}, bridge PIN {num}#",
        "CVE-2024-{num} patched in {svc} {ver}",
        "cron '0 */{small} * * *' for digest {small}",
    ),
    "secretish": (
        "token_ttl={num} max_tokens={num} temperature=0.{small}",
        "password_policy=strict, secret_name=prod/db/password, auth_method=saml ({ops})",
        "password reset sent to <@{uid}>, rotate the api key next week",
        "export DB_PASSWORD=${{DB_PASSWORD}} and password: ******** in the runbook",
        "-----BEGIN CERTIFICATE-----\n{b64}\n{b64}\n-----END CERTIFICATE-----",
        "next page: cursor={cursor}",
        "tokens used: {num} prompt / {num} completion, api_key_id={small}",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{b64} deploy@ci-runner-{small}",
    ),
    "hard": (
        "pids {pids} still hold the lock on {host}",
        "ports {ports} open on {ip}",
        "order {order_dashed} refunded",
        "curl -H 'Authorization: Bearer your-access-token-here' https://api.acme.io/v1/me",
        "-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----",
        "password_expires_in=90d, api_key=REPLACE_ME_WITH_REAL_KEY, idempotency_key={uuid}",
        "checksum: {hex64}, etag {hex32}",
        "Zoom meeting ID {zoom}, passcode in the invite",
        "USPS tracking {usps}",
        "traite 1 {num} {num} lignes en {small} s",
        "on-call rotation week {small}: call the bridge at 10:30",
        "git remote set-url origin https://github.com/acme/{svc}.git && git push",
    ),
    "emailish": (
        "ping @oncall and @here, then npm i @types/node@20.{small}.1",
        "systemctl restart user@1000.service on {host}",
        "docker pull python@sha256:{hex64}",
    ),
}


def negative_samples(g: Gen, rounds: int = 9) -> list[Sample]:
    return [
        Sample(fill(g, template), (), f"negative/{family}")
        for _ in range(rounds)
        for family, templates in NEGATIVES.items()
        for template in templates
    ]


# ------------------------------------------------------------------ cards, SSNs, IBANs

CARD_TYPES = ("visa16", "visa13", "visa19", "mastercard", "amex", "discover", "diners",
              "jcb15", "jcb16")  # fmt: skip
CARD_TEMPLATES = (
    "Customer {name} says card {v} was charged twice, see {inc}",
    "can you refund {amount} USD to card {v}? order placed {date}",
    "{first} pasted their card number {v} in the support thread by mistake",
    "CC on file: {v} exp {mm}/{yy}",
    "Payment failed for {v} (declined, code 05), retry from {host}",
    "card {v} cvv {cvv}, billing zip in the ticket",
    "{v}",
    "Stripe says {v} is flagged for fraud, {ops} opened",
    "please update the corporate card to {v} before {date}",
    "charge went through on {v}, amount {amount}",
    '{{"customer": "{name}", "card":"{v}", "amount": {amount}}}',
    "card:{v} (from the chargeback form)",
    "card #{v}.",
)


def _group_card(digits: str, sep: str) -> str:
    sizes = {15: (4, 6, 5), 14: (4, 6, 4)}.get(len(digits), (4, 4, 4, 4, 4))
    out, pos = [], 0
    for size in sizes:
        if pos < len(digits):
            out.append(digits[pos : pos + size])
            pos += size
    return sep.join(out)


def card_samples(g: Gen, per_type: int = 18) -> list[Sample]:
    out = []
    for card_type in CARD_TYPES:
        for i in range(per_type):
            digits = g.fake.credit_card_number(card_type)
            value = digits if i % 3 == 0 else _group_card(digits, " " if i % 3 == 1 else "-")
            family = f"payment_card/{card_type}"
            out.append(_embed(g, g.pick(CARD_TEMPLATES), family, {"v": ("payment_card", value)}))
    return out


SSN_TEMPLATES = (
    "{name}'s SSN is {v}, please update the HR record in {inc}",
    "onboarding {ops}: social security number {v}, start date {date}",
    "{v} is the SSN on file for {name}",
    "background check for {name} ({v}) came back clean",
    "SSN:{v}",
    '{{"employee": "{name}", "ssn": "{v}"}}',
)
# Nine bare digits are only an SSN with the words around them.
SSN_CONTEXT_TEMPLATES = (
    "W-4 form for {first}: ssn {v}",
    "can you verify identity with SSN {v}?",
    "payroll rejected {first}: SSN {v} does not match the name",
)


def ssn_samples(g: Gen, n: int = 160) -> list[Sample]:
    out = []
    for i in range(n):
        area, group, serial = g.fake.ssn().split("-")
        if i % 8 == 7:
            value, template = area + group + serial, g.pick(SSN_CONTEXT_TEMPLATES)
        else:
            value = (" " if i % 8 == 6 else "-").join((area, group, serial))
            template = g.pick(SSN_TEMPLATES + SSN_CONTEXT_TEMPLATES)
        out.append(_embed(g, template, "us_ssn", {"v": ("us_ssn", value)}))
    return out


IBAN_LOCALES = ("de_DE", "en_GB", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_PT", "no_NO",
                "fi_FI", "de_AT", "de_CH", "cs_CZ", "ro_RO", "tr_TR", "el_GR", "nl_BE", "en_IE",
                "da_DK", "sk_SK", "az_AZ", "pt_BR")  # fmt: skip
IBAN_TEMPLATES = (
    "Please wire {amount} EUR to IBAN {v} by {date}",
    "supplier {company} changed bank details, new IBAN: {v}",
    "refund for {inc} goes to {v}",
    "{first}, payroll account updated to {v}",
    "Beneficiary {name}, {v}, reference {ops}",
    "SEPA transfer to {v} bounced, can finance check?",
    "{v}",
    "IBAN:{v}.",
)


def iban_samples(g: Gen, per_locale: int = 8) -> list[Sample]:
    out = []
    for locale in IBAN_LOCALES:
        for j in range(per_locale):
            compact = g.localized(locale).iban()
            value = compact if j % 2 else " ".join(re.findall(".{1,4}", compact))
            family = f"iban/{compact[:2]}"
            out.append(_embed(g, g.pick(IBAN_TEMPLATES), family, {"v": ("iban", value)}))
    return out


# ------------------------------------------------------------------ secrets


def _password(g: Gen) -> str:
    while True:
        pw = g.chars(string.ascii_letters, 1) + g.chars(PASSWORD_CHARS, g.rng.randint(9, 17))
        if any(c.isdigit() for c in pw) and any(c.isupper() for c in pw):
            return pw


def _jwt(g: Gen) -> str:
    def enc(obj: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    header = {"alg": g.pick(("HS256", "RS256", "ES256")), "typ": "JWT"}
    claims = {"sub": g.fake.uuid4(), "email": g.fake.email(), "iat": int(g.n(1, 2**31))}
    return f"{enc(header)}.{enc(claims)}.{g.chars(URLSAFE, 43)}"


def _private_key(g: Gen) -> str:
    kind = g.pick(("RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "))
    body = "\n".join(g.chars(B64, 64) for _ in range(g.rng.randint(3, 8)))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


def _slack_webhook(g: Gen) -> str:
    path = f"T{g.chars(UPPER_DIGITS, 8)}/B{g.chars(UPPER_DIGITS, 10)}/{g.chars(ALNUM, 24)}"
    return "https://hooks.slack.com/services/" + path


def _kv(keys: tuple[str, ...], value: Callable[[Gen], str]) -> SecretMaker:
    return lambda g: (g.pick(keys), value(g), "")


def _bare(value: Callable[[Gen], str]) -> SecretMaker:
    return lambda g: ("", value(g), "")


URL_SCHEMES = ("postgres://", "mysql://", "redis://", "https://", "amqp://")
PASSWORD_KEYS = ("DB_PASSWORD=", "password: ", "MYSQL_ROOT_PASSWORD=", '"password": "',
                 "kubectl create secret generic db --from-literal=password=")  # fmt: skip
API_KEY_KEYS = ("X-API-Key: ", "api_key=", '"client_secret": "', "SENDGRID_API_KEY=",
                "auth_token: ", "aws_secret_access_key = ")  # fmt: skip
# Each maker returns (text before, the secret, text after).
SecretMaker = Callable[[Gen], tuple[str, str, str]]
SECRET_MAKERS: dict[str, SecretMaker] = {
    "slack_bot_token": _bare(lambda g: f"xoxb-{g.digits(11)}-{g.digits(13)}-{g.chars(ALNUM, 24)}"),
    "slack_user_token": _bare(
        lambda g: f"xoxp-{g.digits(11)}-{g.digits(11)}-{g.digits(13)}-{g.chars(HEX, 32)}"
    ),
    "slack_webhook": _bare(_slack_webhook),
    "github_pat": _bare(lambda g: "ghp_" + g.chars(ALNUM, 36)),
    "github_oauth": _bare(lambda g: "gho_" + g.chars(ALNUM, 36)),
    "github_fine_grained": _bare(
        lambda g: f"github_pat_{g.chars(ALNUM, 22)}_{g.chars(ALNUM, 59)}"
    ),
    "aws_access_key": _bare(lambda g: "AKIA" + g.chars(UPPER_DIGITS, 16)),
    "google_api_key": _bare(lambda g: "AIza" + g.chars(URLSAFE, 35)),
    "stripe_secret": _bare(
        lambda g: g.pick(("sk_live_", "rk_live_", "sk_test_")) + g.chars(ALNUM, g.rng.randint(24, 99))
    ),
    "openai_key": _bare(lambda g: f"sk-proj-{g.chars(URLSAFE, 74)}T3BlbkFJ{g.chars(URLSAFE, 74)}"),
    "openai_legacy": _bare(lambda g: f"sk-{g.chars(ALNUM, 20)}T3BlbkFJ{g.chars(ALNUM, 20)}"),
    "anthropic_key": _bare(lambda g: f"sk-ant-api03-{g.chars(URLSAFE, 93)}AA"),
    "private_key": _bare(_private_key),
    "jwt": _bare(_jwt),
    "url_password": lambda g: (
        g.pick(URL_SCHEMES) + g.fake.user_name() + ":",
        _password(g),
        f"@{g.fake.domain_word()}-db.internal:5432/app",
    ),
    "git_url_token": lambda g: (
        "git clone https://x-access-token:", "ghs_" + g.chars(ALNUM, 36), "@github.com/acme/x.git"
    ),
    "password_kv": _kv(PASSWORD_KEYS, _password),
    "api_key_kv": _kv(API_KEY_KEYS, lambda g: g.chars(g.pick((ALNUM, HEX, URLSAFE)), 40)),
    "query_token": lambda g: (
        f"GET https://api.{g.fake.domain_name()}/v1/export?format=csv&access_token=",
        g.chars(ALNUM, 40),
        "&page=2",
    ),
    "bearer": _kv(("Authorization: Bearer ",), lambda g: g.chars(URLSAFE + ".", 40)),
}  # fmt: skip
SECRET_TEMPLATES = (
    "{first} pasted {v} in #general, rotate it asap",
    "config for {svc}: {v}",
    "try `{v}` against staging and tell me if it 401s",
    "{v}",
    "found in the logs on {host}: {v}",
    "can someone check why {v} returns 403 since {date}?",
    "here you go:\n{v}\nthanks!",
)


def secret_samples(g: Gen, per_type: int = 12) -> list[Sample]:
    out = []
    for detail, make in SECRET_MAKERS.items():
        for _ in range(per_type):
            before, secret, after = make(g)
            template = g.pick(SECRET_TEMPLATES).replace("{v}", before + "{v}" + after)
            out.append(_embed(g, template, f"secret/{detail}", {"v": ("secret", secret)}))
    return out


# ------------------------------------------------------------------ emails and phones

EMAIL_TEMPLATES = (
    "ping {v} about {inc}",
    "cc {v} on the postmortem please",
    "{name} <{v}> requested access to {svc}",
    "Send the invoice to {v} by {date}",
    "mailto:{v}",
    "password reset link went to {v} instead of the new address",
    "{v} is the owner of {ops}",
    '{{"assignee": "{v}", "state": "open"}}',
)


def email_samples(g: Gen, n: int = 120) -> list[Sample]:
    out = []
    for i in range(n):
        value = (g.fake.email(), g.fake.company_email(), g.fake.free_email())[i % 3]
        if i % 5 == 0:
            value = value[0].upper() + value[1:]
        out.append(_embed(g, g.pick(EMAIL_TEMPLATES), "email", {"v": ("email", value)}))
    return out


US_AREAS = ("201", "202", "206", "212", "213", "303", "305", "310", "312", "404", "415", "512",
            "617", "646", "702", "713", "718", "805", "917", "949")  # fmt: skip
US_FORMATS = ("({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}", "+1-{a}-{e}-{l}",
              "1-{a}-{e}-{l}", "{a}-{e}-{l} x{x}", "+1 ({a}) {e}-{l}", "{a} {e} {l}",
              "tel:+1{a}{e}{l}")  # fmt: skip
INTL_REGIONS = ("GB", "DE", "FR", "IN", "AU", "JP", "BR", "MX", "ES", "IT", "NL", "SG", "ZA",
                "IE", "CH", "SE", "PL")  # fmt: skip
PHONE_TEMPLATES = (
    "call me at {v} if the bridge drops",
    "{name}'s mobile: {v}",
    "on-call phone for {svc} this week is {v}",
    "customer callback number {v} re {inc}",
    "WhatsApp {v} for the vendor escalation",
    "reach {first} on {v}",
    "{v}",
)


def _us_phone(g: Gen) -> str:
    while True:
        a, e, line = g.pick(US_AREAS), g.n(201, 989), g.digits(4)
        if phonenumbers.is_valid_number(phonenumbers.parse(a + e + line, "US")):
            return g.pick(US_FORMATS).format(a=a, e=e, l=line, x=g.n(10, 9999))


def _intl_phone(g: Gen) -> tuple[str, str]:
    region = g.pick(INTL_REGIONS)
    kind = g.rng.choice((phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE))
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None, region  # every region in INTL_REGIONS has both types
    national = str(example.national_number)
    while True:
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(national[:-4] + g.digits(4)),
            italian_leading_zero=example.italian_leading_zero,  # Italian fixed lines keep their 0
        )
        if phonenumbers.is_valid_number(number):
            break
    style = g.rng.randint(0, 3)
    fmt = phonenumbers.PhoneNumberFormat.E164 if style == 1 else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    text = phonenumbers.format_number(number, fmt)
    return ("00" + text[1:] if style == 2 else text), region


def phone_samples(g: Gen, n: int = 160) -> list[Sample]:
    out = []
    for i in range(n):
        value, region = (_us_phone(g), "US") if i % 2 else _intl_phone(g)
        family = f"phone/{region}"
        out.append(_embed(g, g.pick(PHONE_TEMPLATES), family, {"v": ("phone", value)}))
    return out


MIXED_TEMPLATES = (
    "{name} <{e}> says {c} was double charged",
    "refund {c}, customer {e}",
    "{e} / {p}: callback about {inc}",
)


def mixed_samples(g: Gen, n: int = 30) -> list[Sample]:
    """Two entities in one message, the way people actually overshare."""
    out = []
    for _ in range(n):
        template = g.pick(MIXED_TEMPLATES)
        values = {
            "e": ("email", g.fake.email()),
            "c": ("payment_card", _group_card(g.fake.credit_card_number("visa16"), " ")),
            "p": ("phone", _us_phone(g)),
        }
        used = {k: v for k, v in values.items() if "{" + k + "}" in template}
        out.append(_embed(g, template, "mixed", used))
    return out


@lru_cache(maxsize=4)
def build_corpus(seed: int = 20240305) -> tuple[Sample, ...]:
    g = Gen(seed)
    return tuple(
        card_samples(g) + ssn_samples(g) + iban_samples(g) + secret_samples(g)
        + email_samples(g) + phone_samples(g) + mixed_samples(g) + negative_samples(g)
    )  # fmt: skip


# ------------------------------------------------------------------ scoring

KIND_ORDER = ("payment_card", "us_ssn", "iban", "secret", "email", "phone")
Predict = Callable[[str], list[tuple[str, int, int]]]  # text -> [(kind, start, end)]


@dataclass
class KindScore:
    kind: str
    expected: int = 0  # labelled spans
    detected: int = 0  # labelled spans overlapped by a finding of the same kind
    true_findings: int = 0  # findings that overlap a labelled span of their kind
    false_findings: int = 0  # findings that do not

    @property
    def recall(self) -> float:
        return self.detected / self.expected if self.expected else float("nan")

    @property
    def precision(self) -> float:
        total = self.true_findings + self.false_findings
        return self.true_findings / total if total else float("nan")


@dataclass
class Report:
    kinds: dict[str, KindScore]
    negatives: int = 0
    negatives_flagged: int = 0

    @property
    def negative_precision(self) -> float:
        """Share of ops-chat messages left alone (1 - false-alarm rate)."""
        return 1 - self.negatives_flagged / self.negatives if self.negatives else float("nan")

    def table(self, title: str = "") -> str:
        rows = [title, f"{'entity':14s} {'n':>5s} {'recall':>7s} {'precision':>9s} {'FP':>4s}"]
        for k in KIND_ORDER:
            s = self.kinds[k]
            rows.append(f"{k:14s} {s.expected:5d} {s.recall:7.3f} {s.precision:9.3f} {s.false_findings:4d}")
        rows.append(
            f"{'ops negatives':14s} {self.negatives:5d} {'':7s} "
            f"{self.negative_precision:9.3f} {self.negatives_flagged:4d}"
        )
        return "\n".join(rows)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(corpus: tuple[Sample, ...], predict: Predict) -> Report:
    """Recall per labelled span, precision per finding, false alarms per negative message."""
    report = Report({k: KindScore(k) for k in KIND_ORDER})
    for sample in corpus:
        found = [f for f in predict(sample.text) if f[0] in report.kinds]
        labels = [(sp.kind, (sp.start, sp.end)) for sp in sample.spans]
        for kind, span in labels:
            report.kinds[kind].expected += 1
            report.kinds[kind].detected += any(k == kind and _overlaps((s, e), span) for k, s, e in found)
        for kind, start, end in found:
            hit = any(k == kind and _overlaps((start, end), span) for k, span in labels)
            if hit:
                report.kinds[kind].true_findings += 1
            else:
                report.kinds[kind].false_findings += 1
        if not labels:
            report.negatives += 1
            report.negatives_flagged += bool(found)
    return report
