"""Timeouts, retries and a circuit breaker around the synchronous vendor libraries.

Every connector owns one ``Guard`` and sends each vendor call through
``Guard.call``. One attempt runs the blocking call in a worker thread under
``asyncio.wait_for``; a failure is translated into our error tree
(``connectors.errors``) at once, so retry and breaker decisions are made on
*our* types, never on a vendor's:

    call ─► retry loop (tenacity; idempotent calls only; RateLimited/Unavailable)
              └─► attempt: breaker admits? ─► to_thread(fn) under timeout ─► translate
                           └─ no: CircuitOpen            └─► breaker records outcome

``translate_http`` turns ``requests``-level failures (the four vendor libraries
all sit on requests) into the tree; each connector's ``_translate`` handles its
own vendor exceptions and falls back on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import pybreaker
import requests
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from connectors.errors import (
    AuthFailed,
    CircuitOpen,
    ConnectorError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
    describe_field_errors,
    system_label,
)

T = TypeVar("T")

CallObserver = Callable[[str, str, str, float], None]
"""(system, operation, outcome, seconds); outcome is "ok" or the error class name."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResiliencePolicy:
    timeout: float = 10.0  # seconds per attempt
    attempts: int = 3  # total attempts for idempotent calls
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    breaker_fail_max: int = 5
    breaker_reset_timeout: float = 30.0


class _Failed(Exception):
    """Carries "this attempt failed" into pybreaker's bookkeeping."""


def _fail() -> None:
    raise _Failed


def _succeed() -> None:
    return None


def _retryable(exc: BaseException) -> bool:
    # CircuitOpen is an Unavailable, but retrying it would only spin until the reset.
    return isinstance(exc, RateLimited | Unavailable) and not isinstance(exc, CircuitOpen)


def _counts_against_breaker(exc: BaseException) -> bool:
    # A 404 or a 400 is the system working correctly; only its absence trips the breaker.
    return isinstance(exc, RateLimited | Unavailable) and not isinstance(exc, CircuitOpen)


class Guard:
    """One per connector: timeout + retries (tenacity, exponential backoff with jitter,
    honouring ``RateLimited.retry_after``) + circuit breaker (pybreaker) + translation
    of vendor exceptions."""

    def __init__(
        self,
        system: str,
        policy: ResiliencePolicy,
        translate: Callable[[BaseException], ConnectorError],
        observer: CallObserver | None = None,
    ) -> None:
        self.system = system
        self.policy = policy
        self._translate = translate
        self._observer = observer
        self._label = system_label(system)
        # We keep the storage to read ``opened_at``: admission happens before the
        # (async) attempt, while pybreaker's own call() would hold its lock around it.
        self._storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=policy.breaker_fail_max,
            reset_timeout=policy.breaker_reset_timeout,
            state_storage=self._storage,
            name=system,
            throw_new_error_on_trip=False,
        )
        self._backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial, max=policy.backoff_max, jitter=policy.backoff_initial
        )

    @property
    def circuit_state(self) -> str:
        """ "closed" | "open" | "half-open" (open past its reset time counts as half-open)."""
        state = self._storage.state
        if state == pybreaker.STATE_OPEN and self._reset_elapsed():
            return pybreaker.STATE_HALF_OPEN
        return state

    async def call(self, operation: str, fn: Callable[[], T], *, idempotent: bool) -> T:
        """Run the blocking ``fn`` with timeout, retries (if ``idempotent``) and the breaker.

        Raises only ``ConnectorError`` subclasses (or cancellation)."""
        started = time.monotonic()
        retrying = AsyncRetrying(
            stop=self._stop_after(self.policy.attempts if idempotent else 1),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            before_sleep=lambda state: self._log_retry(operation, state),
            sleep=asyncio.sleep,
            reraise=True,
        )
        try:
            result: T = await retrying(self._attempt, fn)
        except Exception as exc:
            self._observe(operation, type(exc).__name__, started)
            raise
        self._observe(operation, "ok", started)
        return result

    # -- one attempt ------------------------------------------------------------
    async def _attempt(self, fn: Callable[[], T]) -> T:
        self._admit()
        try:
            result = await asyncio.wait_for(asyncio.to_thread(fn), self.policy.timeout)
        except Exception as exc:
            err = self._to_error(exc)
            self._record(failed=_counts_against_breaker(err))
            if err is exc:
                raise
            raise err from exc
        self._record(failed=False)
        return result

    def _to_error(self, exc: Exception) -> ConnectorError:
        if isinstance(exc, ConnectorError):
            return exc  # the connector already said what went wrong
        if isinstance(exc, TimeoutError):
            return Unavailable(
                self.system,
                f"{self._label} did not answer within {self.policy.timeout:g} s.",
            )
        return self._translate(exc)

    # -- breaker ------------------------------------------------------------------
    def _admit(self) -> None:
        if self._storage.state != pybreaker.STATE_OPEN:
            return
        if self._reset_elapsed():
            self._breaker.half_open()  # let this call through as the trial
            return
        raise CircuitOpen(
            self.system,
            f"{self._label} has been failing, so Switchboard paused calls to it for "
            f"{self.policy.breaker_reset_timeout:g} s. Please try again shortly.",
        )

    def _reset_elapsed(self) -> bool:
        opened_at = self._storage.opened_at
        if opened_at is None:
            return True
        reset = timedelta(seconds=self.policy.breaker_reset_timeout)
        return datetime.now(UTC) >= opened_at + reset

    def _record(self, *, failed: bool) -> None:
        # _Failed: the breaker has counted it; CircuitBreakerError: another call opened it.
        with contextlib.suppress(_Failed, pybreaker.CircuitBreakerError):
            self._breaker.call(_fail if failed else _succeed)

    # -- retry policy -------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))

    def _stop_after(self, attempts: int) -> Callable[[RetryCallState], bool]:
        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= attempts:
                return True
            exc = state.outcome.exception() if state.outcome else None
            # Holding a person in Slack for a long Retry-After is worse than telling them.
            return (
                isinstance(exc, RateLimited)
                and exc.retry_after is not None
                and exc.retry_after > self.policy.backoff_max
            )

        return stop

    def _log_retry(self, operation: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "%s %s: attempt %d failed (%s), retrying in %.2f s",
            self.system,
            operation,
            state.attempt_number,
            type(exc).__name__,
            wait,
        )

    def _observe(self, operation: str, outcome: str, started: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer(self.system, operation, outcome, time.monotonic() - started)
        except Exception:  # metrics must never break a call
            log.exception("call observer failed for %s %s", self.system, operation)


# -- requests-level translation ---------------------------------------------------


def translate_http(system: str, exc: BaseException) -> ConnectorError | None:
    """Map a requests/HTTP failure to the error tree; None when ``exc`` is not one."""
    label = system_label(system)
    if isinstance(exc, requests.Timeout):
        return Unavailable(system, f"{label} did not answer in time.")
    if isinstance(exc, requests.ConnectionError):
        return Unavailable(system, f"Could not reach {label}; is it up and is the URL right?")
    status, response = _status_of(exc)
    if status is not None:
        return from_status(system, status, response)
    if isinstance(exc, ValueError):  # includes JSONDecodeError
        return Unavailable(system, f"{label} sent a malformed response.")
    if isinstance(exc, requests.RequestException):
        return Unavailable(system, f"The connection to {label} failed.")
    return None


def from_status(system: str, status: int, response: requests.Response | None = None) -> ConnectorError:
    """The error for an HTTP status, using the vendor's message from the body if any."""
    label = system_label(system)
    detail, fields = response_details(response)
    said = f": {detail}" if detail else "."
    if status == 401:
        return AuthFailed(system, f"{label} rejected Switchboard's credentials (HTTP 401).")
    if status == 403:
        return AuthFailed(system, f"{label} refused: Switchboard's account lacks permission{said}")
    if status == 404:
        return NotFound(system, f"{label} could not find that{said}")
    if status == 429:
        # Not ``if response``: a requests.Response is falsy whenever its status is an error.
        header = response.headers.get("Retry-After") if response is not None else None
        retry_after = parse_retry_after(header)
        wait = f" Try again in {retry_after:g} s." if retry_after is not None else ""
        return RateLimited(system, f"{label} is rate limiting Switchboard.{wait}", retry_after)
    if status >= 500:
        return Unavailable(system, f"{label} had a server error (HTTP {status}){said}")
    if fields:
        return InvalidRequest(system, describe_field_errors(system, fields), fields)
    return InvalidRequest(system, f"{label} rejected the request (HTTP {status}){said}")


def _status_of(exc: BaseException) -> tuple[int | None, requests.Response | None]:
    response = getattr(exc, "response", None)
    if not isinstance(response, requests.Response):
        response = None
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status, response
    if response is not None:
        return response.status_code, response
    return None, None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def response_details(response: requests.Response | None) -> tuple[str, dict[str, str]]:
    """Best-effort (message, field errors) from the common vendor error bodies."""
    if response is None:
        return "", {}
    try:
        body = response.json()
    except ValueError:
        return "", {}
    return _details(body)


def _details(body: Any) -> tuple[str, dict[str, str]]:
    if isinstance(body, list):  # Salesforce: [{"message", "errorCode", "fields"}]
        items = [b for b in body if isinstance(b, Mapping)]
        fields = {f: str(b.get("message", "")) for b in items for f in b.get("fields") or []}
        return "; ".join(str(b.get("message", "")) for b in items if b.get("message")), fields
    if not isinstance(body, Mapping):
        return "", {}
    errors = body.get("errors")
    fields = {str(k): str(v) for k, v in errors.items()} if isinstance(errors, Mapping) else {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    error = body.get("error")
    if isinstance(error, Mapping):  # ServiceNow, SharePoint/OData
        message = error.get("message")
        if isinstance(message, Mapping):
            message = message.get("value")
        messages += [str(m) for m in (message, error.get("detail")) if m]
    elif isinstance(body.get("message"), str):
        messages.append(body["message"])
    return "; ".join(messages), fields


def translate_other(system: str, exc: BaseException) -> ConnectorError:
    """The last word of a connector's `translate`: HTTP-level failures, else answers not shaped
    as documented, else something unexpected (logged with its traceback)."""
    translated = translate_http(system, exc)
    if translated is not None:
        return translated
    label = system_label(system)
    if isinstance(exc, KeyError | TypeError | IndexError):
        log.warning("unreadable answer from %s", label, exc_info=exc)
        return Unavailable(system, f"{label} sent a response Switchboard could not read.")
    log.error("unexpected error from the %s client library", label, exc_info=exc)
    return Unavailable(system, f"The {label} call failed unexpectedly ({type(exc).__name__}).")


class Configurable(Protocol):
    @property
    def configured(self) -> bool: ...


class GuardedConnector:
    """What every connector shares: its config, one Guard, and a health line for /readyz."""

    system: str

    def __init__(self, config: Configurable, policy: ResiliencePolicy,
                 translate: Callable[[BaseException], ConnectorError],
                 observer: CallObserver | None) -> None:
        self.config = config
        self.policy = policy
        self._guard = Guard(self.system, policy, translate, observer)

    @property
    def configured(self) -> bool:
        return self.config.configured

    def health(self) -> str:
        """"not configured" | "circuit open" | "healthy", without I/O."""
        if not self.configured:
            return "not configured"
        return "circuit open" if self._guard.circuit_state == "open" else "healthy"
