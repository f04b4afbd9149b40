"""Building the simple-salesforce client, and translating what it raises.

simple-salesforce keeps only ``host[:port]`` of the instance URL and always
speaks https; a password login always POSTs the SOAP ``login`` call to
``https://{domain}.salesforce.com``. It accepts our own ``requests.Session``,
which is where the timeout, the CA bundle and the 429 handling live.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import requests

from connectors.errors import (
    AuthFailed,
    ConnectorError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
    describe_field_errors,
)
from connectors.resilience import translate_other
from connectors.salesforce.types import SalesforceConfig

if TYPE_CHECKING:  # the vendor library (and zeep under it) loads on first use
    from simple_salesforce.api import Salesforce
    from simple_salesforce.exceptions import SalesforceError

SYSTEM = "salesforce"
API_VERSION = "59.0"
CREDENTIAL_VARS = (
    "SALESFORCE_URL and SALESFORCE_SESSION_ID, or SALESFORCE_USERNAME, SALESFORCE_PASSWORD "
    "and SALESFORCE_SECURITY_TOKEN (plus SALESFORCE_DOMAIN for a sandbox or My Domain)"
)
_NO_SUCH_COLUMN = re.compile(r"No such column '(?P<field>[^']+)'")

log = logging.getLogger(__name__)


class ConnectorSession(requests.Session):
    """A ``requests.Session`` with our timeout and CA bundle on every request.

    The bundle is also passed per request because ``requests`` lets the
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE environment variables override
    ``Session.verify`` whenever a call does not name ``verify`` itself, and
    simple-salesforce never does.
    """

    def __init__(self, timeout: float, ca_bundle: str | None) -> None:
        super().__init__()
        self.timeout = timeout
        if ca_bundle:
            self.verify = ca_bundle

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if isinstance(self.verify, str):
            kwargs.setdefault("verify", self.verify)
        response = super().request(method, url, *args, **kwargs)
        if response.status_code == 429:
            # simple-salesforce's exceptions drop the headers; raise here to keep Retry-After.
            response.raise_for_status()
        return response


def build_client(config: SalesforceConfig, timeout: float) -> Salesforce:
    """The vendor client; a password login talks to Salesforce right here."""
    from simple_salesforce.api import Salesforce

    session = ConnectorSession(timeout, config.ca_bundle)
    if config.uses_session:
        url = str(config.url).strip()
        return Salesforce(
            instance_url=url if "://" in url else f"https://{url}",
            session_id=config.session_id,
            session=session,
            version=API_VERSION,
        )
    return Salesforce(
        username=config.username,
        password=config.password,
        security_token=config.security_token or "",  # appended to the password
        domain=config.domain or "login",
        session=session,
        version=API_VERSION,
    )


def translate(exc: BaseException) -> ConnectorError:
    """Any failure from simple-salesforce or requests -> our error tree."""
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthFailed(
            SYSTEM,
            f"Salesforce login failed ({exc.code}): {exc.auth_message.strip()} "
            f"Check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN.",
        )
    if isinstance(exc, SalesforceError):
        return _from_salesforce(exc)
    return translate_other(SYSTEM, exc)


def _errors(exc: SalesforceError) -> list[dict[str, Any]]:
    """The ``[{"message", "errorCode", "fields"}]`` body, if that is what came back."""
    content = exc.content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    return [e for e in content if isinstance(e, dict)]


def _from_salesforce(exc: SalesforceError) -> ConnectorError:
    errors = _errors(exc)
    codes = {str(e.get("errorCode", "")) for e in errors}
    said = "; ".join(str(e["message"]) for e in errors if e.get("message"))
    detail = f": {said}" if said else "."
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        return RateLimited(SYSTEM, f"Salesforce's API request limit is used up{detail}")
    if exc.status == 401 or "INVALID_SESSION_ID" in codes:
        return AuthFailed(
            SYSTEM,
            f"Salesforce rejected Switchboard's session{detail} Set {CREDENTIAL_VARS}.",
        )
    if exc.status == 403:
        return AuthFailed(SYSTEM, f"Salesforce refused: Switchboard's user lacks permission{detail}")
    if exc.status == 404 or codes & {"NOT_FOUND", "ENTITY_IS_DELETED"}:
        if exc.resource_name[:1].isupper():  # an sObject such as "Opportunity"
            record = exc.url.rstrip("/").rsplit("/", 1)[-1]
            return NotFound(SYSTEM, f"Salesforce has no {exc.resource_name} with id '{record}'.")
        return NotFound(SYSTEM, f"Salesforce could not find that{detail}")
    if exc.status >= 500:
        return Unavailable(SYSTEM, f"Salesforce had a server error (HTTP {exc.status}){detail}")
    return _invalid(errors, detail)


def _invalid(errors: list[dict[str, Any]], detail: str) -> InvalidRequest:
    required = [
        f for e in errors if e.get("errorCode") == "REQUIRED_FIELD_MISSING" for f in e.get("fields") or []
    ]
    if required:
        names = " and ".join(f"'{f}'" for f in required)
        noun = "field" if len(required) == 1 else "fields"
        verb = "is" if len(required) == 1 else "are"
        return InvalidRequest(
            SYSTEM,
            f"Salesforce says the {noun} {names} {verb} required.",
            dict.fromkeys(required, "is required"),
        )
    fields: dict[str, str] = {}
    for e in errors:
        message = str(e.get("message", ""))
        named = list(e.get("fields") or [])
        if not named and (m := _NO_SUCH_COLUMN.search(message)):
            named = [m["field"]]
            message = "no such field"
        fields.update(dict.fromkeys(named, message))
    if fields:
        return InvalidRequest(SYSTEM, describe_field_errors(SYSTEM, fields), fields)
    return InvalidRequest(SYSTEM, f"Salesforce rejected the request{detail}")
