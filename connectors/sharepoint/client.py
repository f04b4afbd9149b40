"""Tokens and ``ClientContext``s for office365-rest-python-client, and translating its errors.

Why the context is built per call: a ``ClientContext`` queues queries on itself
and keeps every object it has touched (``web.root_folder.folders`` grows with
each folder added), so sharing one between worker threads would mix queries and
keeping one forever would leak. Building one costs no I/O; what is worth sharing
is the token, so ``TokenSource`` caches it (thread-safe) for all contexts. The
price is one ``contextinfo`` POST (the form digest) per write.

The library sends requests with module-level ``requests`` calls and no timeout:
the Guard's ``asyncio.wait_for`` bounds the caller, but a hung request keeps its
worker thread until the socket gives up.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from connectors.errors import (
    AuthFailed,
    ConnectorError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
)
from connectors.resilience import translate_http, translate_other
from connectors.sharepoint.types import SharePointConfig

if TYPE_CHECKING:  # the vendor library loads on first use, not at hub start-up
    from office365.runtime.auth.providers.acs_token_provider import ACSTokenProvider
    from office365.runtime.auth.token_response import TokenResponse
    from office365.sharepoint.client_context import ClientContext

SYSTEM = "sharepoint"
CREDENTIAL_VARS = (
    "SHAREPOINT_SITE_URL and either SHAREPOINT_ACCESS_TOKEN or "
    "SHAREPOINT_CLIENT_ID and SHAREPOINT_CLIENT_SECRET"
)
STATIC_TOKEN_LIFETIME = 3600.0  # seconds; a static token is simply handed out again
REFRESH_MARGIN = 300.0  # fetch a new app-only token this long before it expires
_NO_PROPERTY = re.compile(r"The property '(?P<field>[^']+)' does not exist")

log = logging.getLogger(__name__)


class TokenSource:
    """A thread-safe token cache; calling it gives the ``TokenResponse`` the library wants."""

    def __init__(self, fetch: Callable[[], tuple[str, float]]) -> None:
        self._fetch = fetch  # -> (access token, lifetime in seconds)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __call__(self) -> TokenResponse:
        with self._lock:
            now = time.monotonic()
            if self._token is None or now >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = now + max(lifetime - REFRESH_MARGIN, lifetime / 2)
            remaining = self._expires_at - now
            token = self._token
        from office365.runtime.auth.token_response import TokenResponse

        # expiresIn is required in practice: without it the library compares an aware
        # datetime with a naive datetime.max on the second request and raises TypeError.
        return TokenResponse(access_token=token, token_type="Bearer", expiresIn=remaining)  # noqa: S106

    def invalidate(self) -> None:
        """Forget the token (after a 401) so the next call fetches a fresh one."""
        with self._lock:
            self._token = None


def token_source(config: SharePointConfig) -> TokenSource:
    if config.access_token:
        token = config.access_token
        return TokenSource(lambda: (token, STATIC_TOKEN_LIFETIME))
    from office365.runtime.auth.providers.acs_token_provider import ACSTokenProvider

    provider = ACSTokenProvider(config.site_url, config.client_id, config.client_secret)
    return TokenSource(lambda: _acs_token(provider))


def new_context(site_url: str, tokens: TokenSource) -> ClientContext:
    from office365.sharepoint.client_context import ClientContext

    return ClientContext(site_url).with_access_token(tokens)


def _acs_token(provider: ACSTokenProvider) -> tuple[str, float]:
    """SharePoint app-only: realm discovery on the site, then a token from ACS."""
    try:
        token = provider.get_app_only_access_token()
    except ValueError as e:
        # The provider turns every requests failure into ValueError(response text);
        # the original is its __context__: a network failure or 5xx is not bad credentials.
        cause = e.__context__
        if isinstance(cause, requests.RequestException):
            err = translate_http(SYSTEM, cause)
            if isinstance(err, Unavailable | RateLimited):
                raise err from cause
        raise AuthFailed(
            SYSTEM,
            f"SharePoint app-only sign-in failed{_said(_token_error(str(e)))} "
            "Check SHAREPOINT_CLIENT_ID and SHAREPOINT_CLIENT_SECRET.",
        ) from e
    return str(token.accessToken), float(getattr(token, "expiresIn", STATIC_TOKEN_LIFETIME))


def _token_error(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or "")
    return ""


def translate(exc: BaseException) -> ConnectorError:
    """Any failure from office365 or requests -> our error tree."""
    if isinstance(exc, ValueError):
        exc = _http_error_behind(exc) or exc
    response = getattr(exc, "response", None)
    if isinstance(exc, requests.RequestException) and isinstance(response, requests.Response):
        translated = _from_response(response)
        if translated is not None:
            return translated
    return translate_other(SYSTEM, exc)


def _http_error_behind(exc: BaseException) -> requests.HTTPError | None:
    """The HTTP error whose JSON error body failed to parse, if that is what happened.

    office365 parses the body while wrapping an HTTPError; a body that says it is
    JSON but is not raises JSONDecodeError there, with the HTTPError up its chain.
    """
    seen: BaseException | None = exc.__context__
    for _ in range(4):
        if seen is None or isinstance(seen, requests.HTTPError):
            return seen
        seen = seen.__context__
    return None


def _from_response(response: requests.Response) -> ConnectorError | None:
    status, message = response.status_code, sharepoint_message(response)
    if status == 401:
        return AuthFailed(
            SYSTEM,
            f"SharePoint rejected Switchboard's access token{_said(message)} Set {CREDENTIAL_VARS}.",
        )
    if status in (400, 422) and (m := _NO_PROPERTY.search(message)):
        name = m["field"]
        return InvalidRequest(
            SYSTEM,
            f"SharePoint says the field '{name}' does not exist in this list.",
            {name: "does not exist in this list"},
        )
    if status == 404 and message:
        return NotFound(SYSTEM, f"SharePoint could not find it: {message}")
    return None


def sharepoint_message(response: requests.Response) -> str:
    """The human part of ``{"error": {"message": {"value": ...}}}`` or an OAuth error."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        return str(message.get("value", "") if isinstance(message, dict) else message or "")
    return str(body.get("error_description") or "")


def _said(message: str) -> str:
    return f": {message.rstrip('.')}." if message else "."
