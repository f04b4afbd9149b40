"""What crosses the wire: input checks, reading Table API records, translating errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.errors import (
    ConnectorError,
    InvalidRequest,
    NotFound,
    Unavailable,
    describe_field_errors,
)
from connectors.resilience import translate_http
from connectors.servicenow.types import SYSTEM

STATE_RESOLVED = "6"  # incident.state choice value for "Resolved"
NUMBER = re.compile(r"^[A-Z]{2,8}[0-9]{4,12}$")
EMAIL = re.compile(r"^[^@\s^=]+@[^@\s^=]+\.[^@\s^=]+$")
FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,79}$")
JOURNAL_TEXT = re.compile(r"^[A-Za-z0-9_-]{4,80}$")  # safe inside an encoded query (no ^ or =)
_MANDATORY = re.compile(r"mandatory:\s*(?P<fields>[^\n]+)", re.IGNORECASE)


# -- input checks (no I/O) ----------------------------------------------------------------


def check_number(number: str) -> str:
    # Also keeps ServiceNow's query operators (^, =, ...) out of our encoded queries.
    cleaned = number.strip().upper()
    if not NUMBER.match(cleaned):
        raise InvalidRequest(
            SYSTEM, f"{number!r} does not look like a ServiceNow number such as INC0010001.",
            {"number": number},
        )  # fmt: skip
    return cleaned


def new_incident(short_description: str, urgency: int, description: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not short_description.strip():
        errors["short_description"] = "is required"
    elif len(short_description) > 160:
        errors["short_description"] = "must be at most 160 characters"
    if urgency not in (1, 2, 3):
        errors["urgency"] = "must be 1 (high), 2 (medium) or 3 (low)"
    if errors:
        raise InvalidRequest(SYSTEM, describe_field_errors(SYSTEM, errors), errors)
    payload = {"short_description": short_description.strip(), "urgency": str(urgency)}
    if description:
        payload["description"] = description
    return payload


# -- reading records --------------------------------------------------------------------


def _field(record: Mapping[str, Any], name: str) -> tuple[str, str]:
    raw = record.get(name)
    if isinstance(raw, Mapping):  # sysparm_display_value=all
        return str(raw.get("value") or ""), str(raw.get("display_value") or "")
    text = "" if raw is None else str(raw)
    return text, text


def value(record: Mapping[str, Any], name: str) -> str:
    return _field(record, name)[0]


def display(record: Mapping[str, Any], name: str) -> str:
    value, display = _field(record, name)
    return display or value


def to_int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def count_by(groups: list[Any], field: str) -> dict[int, int]:
    """Aggregate API groups ``{"stats": {"count": "3"}, "groupby_fields": [{"field", "value"}]}``
    -> ``{value: count}``; a group with no (numeric) value counts under 0."""
    counts: dict[int, int] = {}
    for group in groups:
        fields = {str(f.get("field")): str(f.get("value") or "") for f in group.get("groupby_fields") or []}
        key = to_int(fields.get(field, "")) or 0
        counts[key] = counts.get(key, 0) + int((group.get("stats") or {}).get("count") or 0)
    return counts


def utc(text: str) -> datetime | None:
    try:  # Table API values are UTC "YYYY-MM-DD HH:MM:SS"
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


# -- errors -------------------------------------------------------------------------------


def translate(exc: BaseException) -> ConnectorError:
    """pysnow/requests exception -> our tree (the one place that knows pysnow's errors)."""
    import pysnow.exceptions as snow_errors  # loaded already: pysnow raised ``exc``

    response = getattr(exc, "response", None)
    if isinstance(response, requests.Response):
        fields = _data_policy_fields(response)
        if fields:  # ServiceNow answers data-policy violations with 400 or 403
            return InvalidRequest(SYSTEM, describe_field_errors(SYSTEM, fields), fields)
    translated = translate_http(SYSTEM, exc)
    if translated is not None:
        return translated
    if isinstance(exc, snow_errors.NoResults):
        return NotFound(SYSTEM, "ServiceNow has no such record.")
    if isinstance(exc, snow_errors.InvalidUsage):
        return InvalidRequest(SYSTEM, "Switchboard asked ServiceNow something it cannot answer.")
    if isinstance(exc, snow_errors.PysnowException):
        return Unavailable(SYSTEM, "ServiceNow sent a response Switchboard could not read.")
    return Unavailable(SYSTEM, f"Talking to ServiceNow failed unexpectedly ({type(exc).__name__}).")


def _data_policy_fields(response: requests.Response) -> dict[str, str]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return {}
    text = f"{error.get('message') or ''}\n{error.get('detail') or ''}"
    match = _MANDATORY.search(text)
    if not match:
        return {}
    return {name.strip(): "is mandatory" for name in match["fields"].split(",") if name.strip()}
