"""Socket Mode (SLACK_APP_TOKEN): Slack over a websocket, for hubs behind a firewall.

Each envelope takes the same path as an HTTP request: it is turned into the
body Slack would have POSTed, stored in the inbox under the same dedupe key,
and only then acknowledged, so a redelivered envelope changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BadRequest

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"


def as_http_body(kind: str, payload: dict[str, Any]) -> tuple[bytes, str] | None:
    """The body and content type Slack would have sent over HTTP; None for other envelopes."""
    if kind == "events_api":
        return json.dumps(payload).encode(), "application/json"
    if kind == "slash_commands":
        return urlencode(payload).encode(), FORM
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}).encode(), FORM
    return None


class SocketModeIngress:
    def __init__(self, app_token: str, web_client: AsyncWebClient,
                 accept: Callable[[bytes, str], Awaitable[str | None]]) -> None:
        self._app_token = app_token
        self._web_client = web_client
        self._accept = accept
        self._client: AsyncBaseSocketModeClient | None = None

    async def start(self) -> None:
        from slack_sdk.socket_mode.aiohttp import SocketModeClient

        self._client = SocketModeClient(app_token=self._app_token, web_client=self._web_client)
        self._client.socket_mode_request_listeners.append(self._on_request)
        await self._client.connect()  # type: ignore[no-untyped-call]

    async def connected(self) -> bool:
        return self._client is not None and await self._client.is_connected()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]

    async def _on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        http = as_http_body(req.type, req.payload)
        if http is not None:
            try:
                await self._accept(*http)
            except BadRequest as e:  # malformed: acknowledge so Slack stops redelivering it
                log.warning("dropped a malformed Socket Mode %s envelope: %s", req.type, e)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
