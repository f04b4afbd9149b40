"""``SalesforceConnector``: opportunities, accounts and SOQL over simple-salesforce."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from connectors.errors import InvalidRequest, NotConfigured
from connectors.resilience import CallObserver, GuardedConnector, ResiliencePolicy
from connectors.salesforce.client import CREDENTIAL_VARS, SYSTEM, build_client, translate
from connectors.salesforce.types import Account, Opportunity, QueryResult, SalesforceConfig

if TYPE_CHECKING:  # the vendor library loads on first use, not at hub start-up
    from simple_salesforce.api import Salesforce, SFType

T = TypeVar("T")

DEFAULT_STAGE = "Prospecting"
DEFAULT_CLOSE_IN = timedelta(days=30)
# Record ids are 15 (case-sensitive) or 18 (case-safe) letters and digits. Checking
# keeps ids from agents or Slack from reshaping the REST path ("../query", "?q=").
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
# Our names for the fields an update may change -> Salesforce API names.
_OPPORTUNITY_FIELDS = {
    "name": "Name",
    "stage": "StageName",
    "amount": "Amount",
    "close_date": "CloseDate",
    "account_id": "AccountId",
}
_ACCOUNT_FIELDS = {"name": "Name"}


class SalesforceConnector(GuardedConnector):
    """Satisfies ``Crm``. Reads are retried; writes are attempted once."""

    system = SYSTEM

    def __init__(
        self,
        config: SalesforceConfig,
        policy: ResiliencePolicy = ResiliencePolicy(),
        observer: CallObserver | None = None,
    ) -> None:
        super().__init__(config, policy, translate, observer)
        self.config: SalesforceConfig = config
        self._client: Salesforce | None = None
        self._client_lock = threading.Lock()

    # -- opportunities -------------------------------------------------------------
    async def get_opportunity(self, opportunity_id: str) -> Opportunity:
        _check_id(opportunity_id)
        return await self._read(
            "get_opportunity", lambda sf: self._opportunity(_table(sf, "Opportunity").get(opportunity_id))
        )

    async def create_opportunity(
        self,
        name: str,
        stage: str = DEFAULT_STAGE,
        close_date: date | None = None,
        amount: float | None = None,
        account_id: str | None = None,
    ) -> Opportunity:
        if account_id is not None:
            _check_id(account_id)
        close = close_date or date.today() + DEFAULT_CLOSE_IN
        data: dict[str, Any] = {"Name": name, "StageName": stage, "CloseDate": close.isoformat()}
        if amount is not None:
            data["Amount"] = amount
        if account_id is not None:
            data["AccountId"] = account_id
        new_id = await self._write("create_opportunity", lambda sf: _created(sf, "Opportunity", data))
        # Built from what Salesforce accepted, not read back: a failed read after a
        # successful create would invite a retry that creates a duplicate.
        return Opportunity(
            id=new_id, name=name, stage=stage, amount=amount, close_date=close,
            account_id=account_id, url=self._record_url("Opportunity", new_id),
        )  # fmt: skip

    async def update_opportunity(self, opportunity_id: str, changes: Mapping[str, Any]) -> None:
        """Change only the given fields (``name``, ``stage``, ``amount``, ``close_date``,
        ``account_id``); ``None`` clears a field. Salesforce answers 204: nothing to return."""
        _check_id(opportunity_id)
        data = _api_fields(changes, _OPPORTUNITY_FIELDS)
        await self._write(
            "update_opportunity", lambda sf: _table(sf, "Opportunity").update(opportunity_id, data)
        )

    async def delete_opportunity(self, opportunity_id: str) -> None:
        _check_id(opportunity_id)
        await self._write("delete_opportunity", lambda sf: _table(sf, "Opportunity").delete(opportunity_id))

    # -- accounts --------------------------------------------------------------------
    async def get_account(self, account_id: str) -> Account:
        _check_id(account_id)
        return await self._read(
            "get_account", lambda sf: self._account(_table(sf, "Account").get(account_id))
        )

    async def create_account(self, name: str) -> Account:
        new_id = await self._write("create_account", lambda sf: _created(sf, "Account", {"Name": name}))
        return Account(new_id, name, self._record_url("Account", new_id))

    async def update_account(self, account_id: str, changes: Mapping[str, Any]) -> None:
        """Change only the given fields (``name``)."""
        _check_id(account_id)
        data = _api_fields(changes, _ACCOUNT_FIELDS)
        await self._write("update_account", lambda sf: _table(sf, "Account").update(account_id, data))

    async def delete_account(self, account_id: str) -> None:
        _check_id(account_id)
        await self._write("delete_account", lambda sf: _table(sf, "Account").delete(account_id))

    # -- SOQL ------------------------------------------------------------------------
    async def query(self, soql: str) -> QueryResult:
        """The first page of ``soql`` (up to 2,000 rows); ``done`` says whether that is all."""
        if not soql.strip():
            raise InvalidRequest(SYSTEM, "The SOQL query is empty.")
        return await self._read("query", lambda sf: _query_result(sf.query(soql)))

    # -- plumbing --------------------------------------------------------------------
    # Each fn maps the answer to our types inside the guarded call, so an answer we
    # cannot read becomes Unavailable ("malformed response") like any other.
    async def _read(self, operation: str, fn: Callable[[Salesforce], T]) -> T:
        return await self._call(operation, fn, idempotent=True)

    async def _write(self, operation: str, fn: Callable[[Salesforce], T]) -> T:
        return await self._call(operation, fn, idempotent=False)

    async def _call(self, operation: str, fn: Callable[[Salesforce], T], *, idempotent: bool) -> T:
        if not self.configured:
            raise NotConfigured(SYSTEM, f"Salesforce is not configured: set {CREDENTIAL_VARS}.")
        return await self._guard.call(operation, lambda: fn(self._sf()), idempotent=idempotent)

    def _sf(self) -> Salesforce:
        """The shared client, built on first use (in a worker thread: logging in is I/O)."""
        with self._client_lock:
            if self._client is None:
                self._client = build_client(self.config, self.policy.timeout)
            return self._client

    def _record_url(self, sobject: str, record_id: str) -> str:
        instance = self._client.sf_instance if self._client else ""
        return f"https://{instance}/lightning/r/{sobject}/{record_id}/view"

    def _account(self, record: Mapping[str, Any]) -> Account:
        return Account(record["Id"], record["Name"], self._record_url("Account", record["Id"]))

    def _opportunity(self, record: Mapping[str, Any]) -> Opportunity:
        amount, close = record.get("Amount"), record.get("CloseDate")
        return Opportunity(
            id=record["Id"],
            name=record.get("Name") or "",
            stage=record.get("StageName") or "",
            amount=float(amount) if amount is not None else None,
            close_date=date.fromisoformat(close) if close else None,
            account_id=record.get("AccountId"),
            url=self._record_url("Opportunity", record["Id"]),
        )


def _table(sf: Salesforce, sobject: str) -> SFType:
    # ``sf.Opportunity`` is typed as bulk handler | SFType; for sObject names it is an SFType.
    return cast("SFType", getattr(sf, sobject))


def _created(sf: Salesforce, sobject: str, data: dict[str, Any]) -> str:
    """POST the record; Salesforce answers ``{"id", "success", "errors"}``."""
    return str(_table(sf, sobject).create(data)["id"])


def _query_result(page: Mapping[str, Any]) -> QueryResult:
    records = tuple(_plain(row) for row in page["records"])
    return QueryResult(records, int(page["totalSize"]), bool(page["done"]))


def _check_id(record_id: str) -> None:
    if not _RECORD_ID.match(record_id):
        raise InvalidRequest(
            SYSTEM,
            f"'{record_id}' is not a Salesforce record id (15 or 18 letters and digits, "
            "like 0065g00000AbCdEAAZ).",
        )


def _api_fields(changes: Mapping[str, Any], allowed: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidRequest(
            SYSTEM,
            f"Cannot change {', '.join(unknown)}: only {', '.join(allowed)} can be changed.",
            dict.fromkeys(unknown, "cannot be changed here"),
        )
    if not changes:
        raise InvalidRequest(SYSTEM, "Nothing to change: no fields were given.")
    data = {allowed[k]: v for k, v in changes.items()}
    if isinstance(data.get("CloseDate"), date):
        data["CloseDate"] = data["CloseDate"].isoformat()
    return data


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A query row without Salesforce's ``attributes``, nested relationships included."""
    return {k: _plain(v) if isinstance(v, Mapping) else v for k, v in row.items() if k != "attributes"}
