"""Webhook authentication, pure: Standard Webhooks signatures and bearer tokens."""

from __future__ import annotations

import base64
import json
import time

import pytest

from bot.errors import BadRequest, Unauthorized
from bot.webhooks import schemas
from bot.webhooks.auth import parse_sources, verify
from tests.workflows.kit import SECRET, signed_headers

BODY = json.dumps({"type": "request_item.kickoff", "data": {"number": "RITM0010001"}}).encode()
SOURCES = parse_sources({"servicenow": f"whsec_{SECRET}", "legacy": "bearer:tok-123",
                         "plain": "not-base64-secret"})
NOW = time.time()


def test_a_standard_webhooks_signature_is_accepted_and_names_the_delivery() -> None:
    headers = signed_headers(BODY, msg_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    assert verify(SOURCES["servicenow"], headers, BODY, NOW) == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def test_the_spec_example_verifies() -> None:
    """The example in the Standard Webhooks spec (whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)."""
    auth = parse_sources({"s": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})["s"]
    body = b'{"test": 2432232314}'
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    assert verify(auth, headers, body, 1614265330) == "msg_p5jXN8AQM9LWM0D4loKWxJek"


def test_one_of_several_signatures_may_match_during_key_rotation() -> None:
    headers = signed_headers(BODY)
    headers["webhook-signature"] = "v1,b2xkLWtleQ== " + headers["webhook-signature"]
    assert verify(SOURCES["servicenow"], headers, BODY, NOW)


@pytest.mark.parametrize("tamper", ["body", "id", "secret", "version", "missing"])
def test_anything_off_in_a_signature_is_401(tamper: str) -> None:
    body, headers = BODY, signed_headers(BODY)
    if tamper == "body":
        body = BODY.replace(b"0001", b"0002")
    elif tamper == "id":
        headers["webhook-id"] = "msg_other"
    elif tamper == "secret":
        headers = signed_headers(BODY, secret_b64=base64.b64encode(b"another key").decode())
    elif tamper == "version":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    else:
        del headers["webhook-signature"]
    with pytest.raises(Unauthorized):
        verify(SOURCES["servicenow"], headers, body, NOW)


@pytest.mark.parametrize("skew", [-301, 301, 10_000])
def test_a_stale_timestamp_is_401_even_when_signed(skew: int) -> None:
    headers = signed_headers(BODY, timestamp=int(NOW) + skew)
    with pytest.raises(Unauthorized, match="stale"):
        verify(SOURCES["servicenow"], headers, BODY, NOW)


def test_a_timestamp_that_is_not_a_number_is_401() -> None:
    headers = signed_headers(BODY)
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(Unauthorized, match="Unix seconds"):
        verify(SOURCES["servicenow"], headers, BODY, NOW)


def test_a_secret_without_prefix_is_used_as_is() -> None:
    headers = signed_headers(BODY, secret_b64=base64.b64encode(b"not-base64-secret").decode())
    assert verify(SOURCES["plain"], headers, BODY, NOW)


def test_bearer_sources_need_the_token_and_take_an_idempotency_key() -> None:
    auth = SOURCES["legacy"]
    assert verify(auth, {"authorization": "Bearer tok-123", "idempotency-key": "k-1"}, BODY,
                  NOW) == "k-1"
    assert verify(auth, {"authorization": "Bearer tok-123", "webhook-id": "w-1"}, BODY,
                  NOW) == "w-1"
    derived = verify(auth, {"authorization": "Bearer tok-123"}, BODY, NOW)
    assert derived.startswith("sha256-")
    assert verify(auth, {"authorization": "bearer tok-123"}, BODY, NOW) == derived  # same body
    for wrong in ({}, {"authorization": "Bearer tok-124"}, {"authorization": "Basic tok-123"}):
        with pytest.raises(Unauthorized):
            verify(auth, wrong, BODY, NOW)
    with pytest.raises(Unauthorized, match="stale"):
        verify(auth, {"authorization": "Bearer tok-123", "webhook-timestamp": "1"}, BODY, NOW)


def test_a_delivery_id_with_spaces_is_400() -> None:
    headers = signed_headers(BODY, msg_id="has space")
    with pytest.raises(BadRequest):
        verify(SOURCES["servicenow"], headers, BODY, NOW)


@pytest.mark.parametrize("secrets", [{"Bad Name": "x"}, {"s": "bearer:"}, {"s": "whsec_***"}])
def test_malformed_secrets_fail_at_start_up(secrets: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        parse_sources(secrets)


@pytest.mark.parametrize(("body", "says"), [
    (b"{", "not valid JSON"),
    (b"[1]", "JSON object"),
    (b'{"type": "nope", "data": {}}', "type"),
    (b'{"type": "request_item.kickoff", "data": {"number": "INC1"}}', "data.number"),
    (b'{"type": "incident.created", "data": {"number": "INC0010001"}}', "data.priority"),
    (b'{"type": "incident.created", "data": {"number": "INC0010001", "priority": 9}}',
     "less than or equal to 5"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_schema_errors_say_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(BadRequest, match=says) as e:
        schemas.parse("servicenow", body)
    assert e.value.status == 400
