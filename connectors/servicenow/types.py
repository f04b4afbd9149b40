"""ServiceNow result types, settings and the ``IncidentDesk`` capability."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

SYSTEM = "servicenow"


@dataclass(frozen=True)
class ServiceNowConfig:
    url: str | None = None
    user: str | None = None
    password: str | None = None
    ca_bundle: str | None = None  # PEM of extra CAs to trust (private CA, tests)

    @property
    def configured(self) -> bool:
        return bool(self.url and self.user and self.password)


@dataclass(frozen=True)
class Incident:
    number: str
    sys_id: str
    short_description: str
    description: str
    state: str  # as people read it, e.g. "In Progress"
    priority: int | None  # 1 (critical) .. 5 (planning)
    urgency: int | None  # 1 (high) .. 3 (low)
    assigned_to: str | None  # display name
    opened_at: datetime | None  # UTC
    url: str


@dataclass(frozen=True)
class RequestItem:
    number: str
    sys_id: str
    short_description: str
    description: str
    state: str
    stage: str
    item: str  # catalog item name
    requested_for: str | None
    opened_at: datetime | None
    url: str
    state_code: str = ""  # the choice value behind ``state`` ("1"), to put it back later


@dataclass(frozen=True)
class User:
    sys_id: str
    user_name: str
    name: str
    email: str
    title: str
    department: str | None
    active: bool
    url: str


@runtime_checkable
class IncidentDesk(Protocol):
    """Incidents, requested items and people in an IT service desk."""

    system: str

    @property
    def configured(self) -> bool: ...
    def health(self) -> str: ...
    async def get_incident(self, number: str) -> Incident: ...
    async def create_incident(
        self,
        short_description: str,
        urgency: int = 3,
        description: str | None = None,
        caller: str | None = None,
    ) -> Incident: ...
    async def update_incident(self, number: str, fields: Mapping[str, str]) -> Incident: ...
    async def add_work_note(self, number: str, text: str) -> Incident: ...
    async def resolve_incident(
        self, number: str, close_notes: str, close_code: str = "Solved (Permanently)"
    ) -> Incident: ...
    async def get_request_item(self, number: str) -> RequestItem: ...
    async def open_incidents_by_priority(self) -> dict[int, int]: ...
    async def update_request_item(
        self, number: str, fields: Mapping[str, str], work_note: str | None = None
    ) -> RequestItem: ...
    async def find_work_notes(self, number: str, containing: str) -> list[str]: ...
    async def find_user_by_email(self, email: str) -> User | None: ...
