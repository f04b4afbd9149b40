"""The ack path for Slack: verify the signature, parse just enough to find the dedupe key.

Kept to this so Slack gets its 200 in well under 3 seconds; everything else
(bolt listeners, policies, routing) runs after the acknowledgement.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from bot import messages
from bot.errors import BadRequest, Unauthorized

MAX_BODY = 1 << 20  # Slack's own payloads are far smaller
REPLAY_WINDOW = 60 * 5


@dataclass(frozen=True, slots=True)
class Inbound:
    """An item to store: its dedupe key, and for url_verification the answer to give now."""

    key: str
    kind: str  # event | command | interaction
    challenge: str | None = None


class SlackVerifier:
    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def verify(self, body: bytes, timestamp: str | None, signature: str | None) -> None:
        if not timestamp or not signature:
            raise Unauthorized(messages.BAD_SIGNATURE)
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError as e:
            raise Unauthorized(messages.STALE_TIMESTAMP) from e
        if skew > REPLAY_WINDOW:
            raise Unauthorized(messages.STALE_TIMESTAMP)
        if not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            raise Unauthorized(messages.BAD_SIGNATURE)


def parse(body: bytes, content_type: str) -> Inbound:
    """Find the dedupe key of a verified Slack request; BadRequest says what is wrong."""
    if "application/json" in content_type:
        return _parse_event(body)
    if "application/x-www-form-urlencoded" in content_type:
        return _parse_form(body)
    raise BadRequest(f"unsupported Content-Type {content_type or '(none)'!r}: Slack sends "
                     "application/json (events) or application/x-www-form-urlencoded "
                     "(slash commands, interactivity)")


def _parse_event(body: bytes) -> Inbound:
    data = _json(body, "body")
    kind = data.get("type")
    if kind == "url_verification":
        challenge = data.get("challenge")
        if not isinstance(challenge, str):
            raise BadRequest("url_verification without a string 'challenge'")
        return Inbound(key="", kind="url_verification", challenge=challenge)
    if kind != "event_callback":
        raise BadRequest(f"unsupported event envelope type {kind!r} (expected event_callback)")
    event_id, event = data.get("event_id"), data.get("event")
    if not isinstance(event_id, str) or not event_id:
        raise BadRequest("event_callback without 'event_id'")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise BadRequest("event_callback without an 'event' object with a 'type'")
    return Inbound(key=f"slack:event:{event_id}", kind="event")


def _parse_form(body: bytes) -> Inbound:
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=True).items()}
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("body is not valid form data") from e
    if "payload" in form:
        payload = _json(form["payload"].encode(), "payload")
        if not isinstance(payload.get("type"), str):
            raise BadRequest("interaction payload without a 'type'")
        key = payload.get("trigger_id") or _digest(body)
        return Inbound(key=f"slack:interaction:{key}", kind="interaction")
    if "command" in form:
        for required in ("user_id", "channel_id"):
            if not form.get(required):
                raise BadRequest(f"slash command without '{required}'")
        key = form.get("trigger_id") or _digest(body)
        return Inbound(key=f"slack:command:{key}", kind="command")
    raise BadRequest("form body is neither a slash command ('command') nor an interaction "
                     "('payload')")


def _json(raw: bytes, what: str) -> dict[str, object]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"{what} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return data


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def sign_body(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with `body` (for the offline demo and load benchmarks)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # only None without a secret
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}
