"""What each webhook source may send, checked before the delivery is stored.

Payloads follow the Standard Webhooks shape: `{"type", "timestamp", "data"}`.
Unknown extra fields are ignored (senders add fields over time); missing or
malformed ones get a 400 naming the field.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.errors import BadRequest

_LENIENT = ConfigDict(extra="ignore", frozen=True)


class RequestItemData(BaseModel):
    model_config = _LENIENT
    number: str = Field(pattern=r"^RITM\d{4,12}$")


class KickoffEvent(BaseModel):
    """ServiceNow asks for a project kickoff from a request item (a business rule or flow)."""

    model_config = _LENIENT
    type: Literal["request_item.kickoff"]
    timestamp: datetime | None = None
    data: RequestItemData


class IncidentData(BaseModel):
    model_config = _LENIENT
    number: str = Field(pattern=r"^INC\d{4,12}$")
    priority: int = Field(ge=1, le=5)
    state: str = Field(default="", max_length=80)
    update: str = Field(default="", max_length=4000)  # the latest comment or work note


class IncidentEvent(BaseModel):
    model_config = _LENIENT
    type: Literal["incident.created", "incident.updated"]
    timestamp: datetime | None = None
    data: IncidentData


ServiceNowEvent = Annotated[KickoffEvent | IncidentEvent, Field(discriminator="type")]
Event = KickoffEvent | IncidentEvent
SCHEMAS: dict[str, TypeAdapter[Event]] = {"servicenow": TypeAdapter(ServiceNowEvent)}


def parse(source: str, body: bytes) -> Event:
    """The event in `body`; BadRequest saying what is wrong with it."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"body is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise BadRequest("body must be a JSON object with 'type' and 'data'")
    try:
        return SCHEMAS[source].validate_python(raw)
    except ValidationError as e:
        problems = [f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                    for err in e.errors()[:5]]
        raise BadRequest("invalid webhook payload: " + "; ".join(problems)) from None
