"""The Guard on its own, driven with plain functions (no vendor library, no HTTP)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from connectors.errors import (
    AuthFailed,
    CircuitOpen,
    ConnectorError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
    describe_field_errors,
)
from connectors.resilience import Guard, ResiliencePolicy, parse_retry_after, translate_http

FAST = ResiliencePolicy(
    timeout=1.0,
    attempts=3,
    backoff_initial=0.001,
    backoff_max=0.01,
    breaker_fail_max=3,
    breaker_reset_timeout=0.5,  # generous: a loaded CI box must not half-open it early
)


class VendorBoom(Exception):
    """Stands in for a vendor library's own exception."""


def translate(exc: BaseException) -> ConnectorError:
    if isinstance(exc, VendorBoom):
        return Unavailable("acme", "Acme is down.")
    return Unavailable("acme", f"unexpected {type(exc).__name__}")


class Script:
    """A callable that plays a script of outcomes (exceptions raise, values return)."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[float] = []

    def __call__(self) -> object:
        self.calls.append(time.monotonic())
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


Observed = list[tuple[str, str, str, float]]


def make_guard(policy: ResiliencePolicy = FAST) -> tuple[Guard, Observed]:
    seen: Observed = []
    guard = Guard("acme", policy, translate, lambda *args: seen.append(args))
    return guard, seen


def unavailable() -> Unavailable:
    return Unavailable("acme", "Acme had a server error (HTTP 503).")


# -- success, retries ---------------------------------------------------------------


async def test_success_returns_value_and_reports_ok() -> None:
    guard, seen = make_guard()
    assert await guard.call("get", Script(42), idempotent=True) == 42
    assert [(s, o, out) for s, o, out, _ in seen] == [("acme", "get", "ok")]
    assert seen[0][3] >= 0


async def test_reads_are_retried_until_success() -> None:
    guard, seen = make_guard()
    fn = Script(unavailable(), unavailable(), "done")
    assert await guard.call("get", fn, idempotent=True) == "done"
    assert len(fn.calls) == 3
    assert [out for *_, out, _ in seen] == ["ok"]  # one observation per call, not per attempt


async def test_reads_give_up_after_policy_attempts() -> None:
    guard, seen = make_guard()
    fn = Script(unavailable())
    with pytest.raises(Unavailable, match="HTTP 503"):
        await guard.call("get", fn, idempotent=True)
    assert len(fn.calls) == FAST.attempts
    assert seen[0][2] == "Unavailable"


async def test_writes_are_attempted_once() -> None:
    guard, seen = make_guard()
    fn = Script(unavailable(), "never reached")
    with pytest.raises(Unavailable):
        await guard.call("create", fn, idempotent=False)
    assert len(fn.calls) == 1
    assert seen[0][1:3] == ("create", "Unavailable")


@pytest.mark.parametrize(
    "error",
    [
        NotFound("acme", "no such thing"),
        InvalidRequest("acme", "bad", {"summary": "required"}),
        AuthFailed("acme", "who are you"),
    ],
)
async def test_caller_errors_are_not_retried(error: ConnectorError) -> None:
    guard, seen = make_guard()
    fn = Script(error, "never reached")
    with pytest.raises(type(error)) as caught:
        await guard.call("get", fn, idempotent=True)
    assert caught.value is error  # passed through untouched
    assert len(fn.calls) == 1
    assert seen[0][2] == type(error).__name__


async def test_rate_limit_waits_for_retry_after() -> None:
    guard, _ = make_guard(ResiliencePolicy(backoff_initial=0.001, backoff_max=1.0))
    fn = Script(RateLimited("acme", "slow down", retry_after=0.2), "ok")
    assert await guard.call("get", fn, idempotent=True) == "ok"
    assert len(fn.calls) == 2
    assert fn.calls[1] - fn.calls[0] >= 0.19  # far above the 1 ms backoff


async def test_rate_limit_longer_than_backoff_max_is_raised_not_waited() -> None:
    guard, _ = make_guard()  # backoff_max 10 ms
    fn = Script(RateLimited("acme", "slow down", retry_after=30), "ok")
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await guard.call("get", fn, idempotent=True)
    assert caught.value.retry_after == 30
    assert len(fn.calls) == 1
    assert time.monotonic() - started < 1


async def test_rate_limit_without_retry_after_uses_backoff() -> None:
    guard, _ = make_guard()
    fn = Script(RateLimited("acme", "slow down"), "ok")
    assert await guard.call("get", fn, idempotent=True) == "ok"
    assert len(fn.calls) == 2


async def test_backoff_grows_between_attempts() -> None:
    policy = ResiliencePolicy(attempts=3, backoff_initial=0.05, backoff_max=1.0)
    guard, _ = make_guard(policy)
    fn = Script(unavailable(), unavailable(), "ok")
    await guard.call("get", fn, idempotent=True)
    first, second = fn.calls[1] - fn.calls[0], fn.calls[2] - fn.calls[1]
    assert first >= 0.05  # initial * 2**0 (+ jitter)
    assert second >= 0.10  # initial * 2**1 (+ jitter)


# -- translation, timeouts -------------------------------------------------------------


async def test_vendor_exceptions_are_translated_with_cause() -> None:
    guard, seen = make_guard()
    boom = VendorBoom("raw vendor text with secrets")
    with pytest.raises(Unavailable, match=r"^Acme is down\.$") as caught:
        await guard.call("get", Script(boom), idempotent=False)
    assert caught.value.__cause__ is boom
    assert seen[0][2] == "Unavailable"


async def test_timeout_becomes_unavailable() -> None:
    release = threading.Event()
    guard, seen = make_guard(ResiliencePolicy(timeout=0.05, attempts=1))

    def hang() -> str:
        release.wait(5)
        return "late"

    started = time.monotonic()
    try:
        with pytest.raises(Unavailable, match=r"did not answer within 0\.05 s"):
            await guard.call("get", hang, idempotent=True)
    finally:
        release.set()
    assert time.monotonic() - started < 1
    assert seen[0][2] == "Unavailable"


async def test_timeouts_are_retried_for_reads() -> None:
    release = threading.Event()
    calls: list[int] = []
    guard, _ = make_guard(ResiliencePolicy(timeout=0.5, attempts=2, backoff_initial=0.001))

    def slow_then_fast() -> str:
        calls.append(1)
        if len(calls) == 1:
            release.wait(5)
        return "fast"

    try:
        assert await guard.call("get", slow_then_fast, idempotent=True) == "fast"
    finally:
        release.set()
    assert len(calls) == 2


async def test_calls_run_off_the_event_loop() -> None:
    guard, _ = make_guard()
    loop_thread = threading.get_ident()
    ran_in = await guard.call("get", threading.get_ident, idempotent=True)
    assert ran_in != loop_thread


async def test_broken_observer_does_not_break_the_call() -> None:
    def observer(*_: object) -> None:
        raise RuntimeError("metrics backend down")

    guard = Guard("acme", FAST, translate, observer)
    assert await guard.call("get", Script(1), idempotent=True) == 1


# -- circuit breaker ---------------------------------------------------------------------


async def trip(guard: Guard) -> None:
    for _ in range(FAST.breaker_fail_max):
        with pytest.raises(Unavailable):
            await guard.call("get", Script(unavailable()), idempotent=False)


async def test_breaker_opens_fails_fast_half_opens_and_closes() -> None:
    guard, seen = make_guard()
    assert guard.circuit_state == "closed"
    await trip(guard)
    assert guard.circuit_state == "open"

    fn = Script("ok")
    with pytest.raises(CircuitOpen, match="paused calls"):
        await guard.call("get", fn, idempotent=True)
    assert fn.calls == []  # failing fast: the system was not called
    assert seen[-1][2] == "CircuitOpen"

    await asyncio.sleep(FAST.breaker_reset_timeout + 0.05)
    assert guard.circuit_state == "half-open"
    assert await guard.call("get", fn, idempotent=True) == "ok"
    assert guard.circuit_state == "closed"


async def test_failed_trial_reopens_the_breaker() -> None:
    guard, _ = make_guard()
    await trip(guard)
    await asyncio.sleep(FAST.breaker_reset_timeout + 0.05)
    with pytest.raises(Unavailable):
        await guard.call("get", Script(unavailable()), idempotent=False)
    assert guard.circuit_state == "open"
    with pytest.raises(CircuitOpen):
        await guard.call("get", Script("ok"), idempotent=True)


async def test_retries_count_towards_the_breaker_and_stop_when_it_opens() -> None:
    guard, _ = make_guard(
        ResiliencePolicy(
            attempts=10,
            backoff_initial=0.001,
            backoff_max=0.002,
            breaker_fail_max=3,
            breaker_reset_timeout=5,
        )
    )
    fn = Script(unavailable())
    with pytest.raises(CircuitOpen):
        await guard.call("get", fn, idempotent=True)
    assert len(fn.calls) == 3  # the 4th attempt met an open breaker and was not retried
    assert guard.circuit_state == "open"


@pytest.mark.parametrize(
    "error",
    [NotFound("acme", "x"), InvalidRequest("acme", "x"), AuthFailed("acme", "x")],
)
async def test_caller_errors_do_not_trip_the_breaker(error: ConnectorError) -> None:
    guard, _ = make_guard()
    for _ in range(FAST.breaker_fail_max * 2):
        with pytest.raises(type(error)):
            await guard.call("get", Script(error), idempotent=False)
    assert guard.circuit_state == "closed"


async def test_rate_limits_count_against_the_breaker() -> None:
    guard, _ = make_guard()
    for _ in range(FAST.breaker_fail_max):
        with pytest.raises(RateLimited):
            await guard.call("get", Script(RateLimited("acme", "x", 60)), idempotent=False)
    assert guard.circuit_state == "open"


async def test_success_resets_the_failure_count() -> None:
    guard, _ = make_guard()
    for _ in range(3):
        for _ in range(FAST.breaker_fail_max - 1):
            with pytest.raises(Unavailable):
                await guard.call("get", Script(unavailable()), idempotent=False)
        await guard.call("get", Script("ok"), idempotent=False)
    assert guard.circuit_state == "closed"


# -- translate_http ------------------------------------------------------------------------


def response(status: int, body: object = None, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode() if body is not None else b""
    resp.headers.update(headers or {})
    return resp


def http_error(status: int, body: object = None, **headers: str) -> requests.HTTPError:
    return requests.HTTPError(f"{status}", response=response(status, body, headers))


class VendorStatusError(Exception):
    """A vendor exception that carries .status_code and .response, like JIRAError."""

    def __init__(self, status_code: int, response: requests.Response) -> None:
        self.status_code = status_code
        self.response = response


@pytest.mark.parametrize(
    ("exc", "kind", "wording"),
    [
        (requests.Timeout("read timed out"), Unavailable, "did not answer in time"),
        (requests.ConnectTimeout("connect timed out"), Unavailable, "did not answer in time"),
        (requests.ConnectionError("refused"), Unavailable, "Could not reach Jira"),
        (http_error(401), AuthFailed, "rejected Switchboard's credentials"),
        (http_error(403, {"errorMessages": ["No permission"]}), AuthFailed, "No permission"),
        (http_error(404, {"errorMessages": ["Issue does not exist"]}), NotFound, "Issue does not"),
        (http_error(409), InvalidRequest, "HTTP 409"),
        (http_error(500), Unavailable, r"server error \(HTTP 500\)"),
        (http_error(503), Unavailable, "HTTP 503"),
        (json.JSONDecodeError("Expecting value", "<html>", 0), Unavailable, "malformed"),
        (requests.exceptions.JSONDecodeError("Expecting value", "<", 0), Unavailable, "malformed"),
        (ValueError("bad"), Unavailable, "malformed"),
    ],
)
def test_translate_http(exc: BaseException, kind: type[ConnectorError], wording: str) -> None:
    err = translate_http("jira", exc)
    assert type(err) is kind
    assert err.system == "jira"
    assert re.search(wording, err.message)


def test_translate_http_field_errors() -> None:
    body = {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}
    err = translate_http("jira", http_error(400, body))
    assert isinstance(err, InvalidRequest)
    assert err.field_errors == {"summary": "You must specify a summary of the issue."}
    assert err.message == (
        "Jira says the field 'summary' is not valid: You must specify a summary of the issue."
    )


def test_translate_http_several_field_errors_and_salesforce_shape() -> None:
    body = [
        {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        },
        {"message": "Bad date", "fields": ["CloseDate"]},
    ]
    err = translate_http("salesforce", http_error(400, body))
    assert isinstance(err, InvalidRequest)
    assert set(err.field_errors) == {"Name", "CloseDate"}
    assert err.message == (
        "Salesforce says: the field 'Name' is not valid: Required fields are missing: [Name]; "
        "the field 'CloseDate' is not valid: Bad date."
    )


def test_translate_http_rate_limit_reads_retry_after() -> None:
    err = translate_http("servicenow", http_error(429, None, **{"Retry-After": "7"}))
    assert isinstance(err, RateLimited)
    assert err.retry_after == 7
    assert err.message == "ServiceNow is rate limiting Switchboard. Try again in 7 s."


def test_translate_http_vendor_exception_with_status_code() -> None:
    exc = VendorStatusError(
        404, response(404, {"error": {"message": "No Record found", "detail": "ACL restricts"}})
    )
    err = translate_http("servicenow", exc)
    assert isinstance(err, NotFound)
    assert "No Record found" in err.message


def test_translate_http_does_not_guess() -> None:
    assert translate_http("jira", KeyError("x")) is None
    assert translate_http("jira", RuntimeError("x")) is None


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("-3") == 0
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (parse_retry_after(later) or 0) <= 60


def test_field_error_wording() -> None:
    assert describe_field_errors("jira", {"summary": "is required"}) == (
        "Jira says the field 'summary' is required."
    )
    assert describe_field_errors("servicenow", {"Caller": "", "Urgency": "must be 1..3."}) == (
        "ServiceNow says: the field 'Caller' is not valid; the field 'Urgency' must be 1..3."
    )


def test_connector_error_str_is_the_human_message() -> None:
    err = InvalidRequest("jira", "Jira says no.", {"summary": "required"})
    assert str(err) == "Jira says no."
    assert err.field_errors == {"summary": "required"}
    assert isinstance(CircuitOpen("jira", "x"), Unavailable)
