"""The one error tree every connector raises.

Vendor libraries raise their own exceptions (``JIRAError``, pysnow's
``ResponseError``, ``requests.Timeout`` ...); each connector translates them in
one place into these, so the hub can decide what to tell a person, whether to
retry and whether to count a failure against the circuit breaker, without
knowing which system answered.

    ConnectorError                 .system, .message (human wording, safe for Slack)
    ├── NotConfigured              settings missing: the operator must set env vars
    ├── AuthFailed                 401/403, bad or expired credentials
    ├── NotFound                   404 / no such record
    ├── InvalidRequest             400/422; .field_errors {field: reason}
    ├── RateLimited                429; .retry_after seconds (or None)
    └── Unavailable                timeouts, connection errors, 5xx, malformed answers
        └── CircuitOpen            the breaker is open: failing fast without calling

Retried (idempotent calls only): ``RateLimited`` and ``Unavailable`` but not
``CircuitOpen``. Counted by the breaker: ``RateLimited`` and ``Unavailable``.
"""

from __future__ import annotations

from collections.abc import Mapping

# How each system's name is written for people; ids are what code passes around.
_LABELS = {
    "servicenow": "ServiceNow",
    "jira": "Jira",
    "salesforce": "Salesforce",
    "sharepoint": "SharePoint",
}


def system_label(system: str) -> str:
    """``"servicenow"`` -> ``"ServiceNow"``: the name to show a person."""
    return _LABELS.get(system, system)


def describe_field_errors(system: str, field_errors: Mapping[str, str]) -> str:
    """One sentence naming every rejected field, for a Slack reply.

    ``{"summary": "is required"}`` -> "Jira says the field 'summary' is required."
    ``{"summary": "You must specify a summary."}`` ->
    "Jira says the field 'summary' is not valid: You must specify a summary."
    """
    label = system_label(system)
    phrases = [_field_phrase(name, reason) for name, reason in field_errors.items()]
    if len(phrases) == 1:
        return f"{label} says the field {phrases[0]}."
    return f"{label} says: " + "; ".join(f"the field {p}" for p in phrases) + "."


# Reasons that already read as a predicate ("is required") go straight after the name.
_PREDICATES = ("is ", "are ", "must ", "should ", "cannot ", "can't ", "has ", "needs ")


def _field_phrase(name: str, reason: str) -> str:
    reason = reason.strip().rstrip(".")
    if not reason:
        return f"'{name}' is not valid"
    if reason.lower().startswith(_PREDICATES):
        return f"'{name}' {reason}"
    return f"'{name}' is not valid: {reason}"


class ConnectorError(Exception):
    """Root of every connector error; ``str(err)`` is the human message."""

    def __init__(self, system: str, message: str) -> None:
        super().__init__(message)
        self.system = system
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.system!r}, {self.message!r})"


class NotConfigured(ConnectorError):
    """The connector has no settings; the message names the env vars to set."""


class AuthFailed(ConnectorError):
    """The system refused our credentials (401) or our permissions (403)."""


class NotFound(ConnectorError):
    """The record asked for does not exist (or is not visible to us)."""


class InvalidRequest(ConnectorError):
    """The system rejected what we sent; ``field_errors`` maps field -> reason."""

    def __init__(self, system: str, message: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(system, message)
        self.field_errors: dict[str, str] = dict(field_errors or {})


class RateLimited(ConnectorError):
    """The system asked us to slow down; ``retry_after`` is in seconds when it said."""

    def __init__(self, system: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(system, message)
        self.retry_after = retry_after


class Unavailable(ConnectorError):
    """The system could not be reached or answered with something unusable."""


class CircuitOpen(Unavailable):
    """Recent calls failed so often that we stopped calling for a while."""


__all__ = [
    "AuthFailed",
    "CircuitOpen",
    "ConnectorError",
    "InvalidRequest",
    "NotConfigured",
    "NotFound",
    "RateLimited",
    "Unavailable",
    "describe_field_errors",
    "system_label",
]
