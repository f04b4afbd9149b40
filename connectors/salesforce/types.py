"""What the Salesforce connector is configured with, returns, and promises (``Crm``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class SalesforceConfig:
    """Either ``url`` + ``session_id`` (an OAuth access token works too), or a password login.

    ``domain`` is where a password login goes: ``login`` (default), ``test`` for a
    sandbox, or a My Domain prefix such as ``acme.my`` (``https://{domain}.salesforce.com``).
    ``ca_bundle`` is a PEM file of CAs to trust instead of the system ones. simple-salesforce
    always speaks https: an ``http://`` URL is used as https, a bare host gets ``https://``.
    """

    url: str | None = None
    session_id: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: str | None = None
    ca_bundle: str | None = None

    @property
    def uses_session(self) -> bool:
        return bool(self.url and self.session_id)

    @property
    def uses_password(self) -> bool:
        # The security token may be absent: orgs that trust our IP range do not issue one.
        return bool(self.username and self.password)

    @property
    def configured(self) -> bool:
        return self.uses_session or self.uses_password


@dataclass(frozen=True)
class Opportunity:
    id: str
    name: str
    stage: str
    amount: float | None
    close_date: date | None
    account_id: str | None
    url: str  # Lightning record page


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    url: str


@dataclass(frozen=True)
class QueryResult:
    """One page of a SOQL query; ``done`` is False when Salesforce holds more rows."""

    records: tuple[Mapping[str, Any], ...]  # fields as Salesforce named them, minus "attributes"
    total_size: int  # rows matching the query, even those not in this page
    done: bool


@runtime_checkable
class Crm(Protocol):
    """Opportunities and accounts in a CRM, plus read-only SOQL."""

    system: str

    @property
    def configured(self) -> bool: ...
    def health(self) -> str: ...
    async def get_opportunity(self, opportunity_id: str) -> Opportunity: ...
    async def create_opportunity(
        self,
        name: str,
        stage: str = "Prospecting",
        close_date: date | None = None,
        amount: float | None = None,
        account_id: str | None = None,
    ) -> Opportunity: ...
    async def update_opportunity(self, opportunity_id: str, changes: Mapping[str, Any]) -> None: ...
    async def delete_opportunity(self, opportunity_id: str) -> None: ...
    async def get_account(self, account_id: str) -> Account: ...
    async def create_account(self, name: str) -> Account: ...
    async def update_account(self, account_id: str, changes: Mapping[str, Any]) -> None: ...
    async def delete_account(self, account_id: str) -> None: ...
    async def query(self, soql: str) -> QueryResult: ...
