"""Who may call `POST /webhooks/{source}`: Standard Webhooks signatures or a bearer token.

See the package docstring for the scheme. Pure: headers and body in, a
delivery id out, or an error (401) that says what was wrong — never which
part of a secret or signature matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.errors import BadRequest, SwitchboardError, Unauthorized

REPLAY_WINDOW = 5 * 60  # seconds
SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")  # inbox kind "webhook:<source>" fits 32
DELIVERY_ID = re.compile(r"^[\x21-\x7e]{1,150}$")  # printable ASCII, no spaces


class UnknownSource(SwitchboardError):
    status = 404


class WebhooksDisabled(SwitchboardError):
    status = 403


@dataclass(frozen=True)
class SourceAuth:
    source: str
    scheme: Literal["signature", "bearer"]
    key: bytes = field(repr=False)  # the HMAC key, or the bearer token


def parse_sources(secrets: Mapping[str, str]) -> dict[str, SourceAuth]:
    """`{"servicenow": "whsec_…", "legacy": "bearer:…"}` -> how each source authenticates."""
    out: dict[str, SourceAuth] = {}
    for source, secret in secrets.items():
        if not SOURCE.match(source):
            raise ValueError(f"webhook source {source!r} in SWITCHBOARD_WEBHOOK_SECRETS must be "
                             "lower-case letters, digits, - or _ (at most 24)")
        if secret.startswith("bearer:"):
            token = secret.removeprefix("bearer:").strip()
            if not token:
                raise ValueError(f"webhook source {source!r}: 'bearer:' needs a token after it")
            out[source] = SourceAuth(source, "bearer", token.encode())
        elif secret.startswith("whsec_"):
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except binascii.Error as e:
                raise ValueError(f"webhook source {source!r}: the part after whsec_ is not "
                                 "base64") from e
            out[source] = SourceAuth(source, "signature", key)
        else:
            out[source] = SourceAuth(source, "signature", secret.encode())
    return out


def verify(auth: SourceAuth, headers: Mapping[str, str], body: bytes, now: float) -> str:
    """The delivery id of an authentic request; Unauthorized otherwise."""
    if auth.scheme == "bearer":
        return _bearer(auth, headers, body, now)
    return _signature(auth, headers, body, now)


def _signature(auth: SourceAuth, headers: Mapping[str, str], body: bytes, now: float) -> str:
    msg_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    signatures = headers.get("webhook-signature") or ""
    if not (msg_id and timestamp and signatures):
        raise Unauthorized("missing webhook-id, webhook-timestamp or webhook-signature header "
                           "(Standard Webhooks)")
    _fresh(timestamp, now)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(auth.key, signed, hashlib.sha256).digest())
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return _delivery_id(msg_id)
    raise Unauthorized("webhook signature does not match")


def _bearer(auth: SourceAuth, headers: Mapping[str, str], body: bytes, now: float) -> str:
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), auth.key):
        raise Unauthorized("missing or wrong bearer token")
    timestamp = headers.get("webhook-timestamp")
    if timestamp:
        _fresh(timestamp, now)
    given = headers.get("webhook-id") or headers.get("idempotency-key")
    if given:
        return _delivery_id(given)
    return "sha256-" + hashlib.sha256(body).hexdigest()[:40]  # same body, same delivery


def _fresh(timestamp: str, now: float) -> None:
    try:
        skew = abs(now - int(timestamp))
    except ValueError:
        raise Unauthorized("webhook-timestamp must be Unix seconds") from None
    if skew > REPLAY_WINDOW:
        raise Unauthorized("stale webhook-timestamp (more than 5 minutes off)")


def _delivery_id(value: str) -> str:
    if not DELIVERY_ID.match(value):
        raise BadRequest("webhook-id must be 1-150 printable characters without spaces")
    return value
