"""Files people share in Slack, fetched for commands such as `sp upload`."""

from __future__ import annotations

import logging

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from policies.types import Request

log = logging.getLogger(__name__)


class SharedFiles:
    def __init__(self, client: AsyncWebClient, token: str) -> None:
        self._client = client
        self._token = token

    async def latest(self, request: Request) -> tuple[str, bytes] | None:
        """The newest file the asker shared in the request's channel, or None."""
        try:
            listed = await self._client.files_list(channel=request.channel,
                                                   user=request.principal.user_id, count=1)
        except SlackApiError as e:
            log.warning("files.list failed: %s", e.response.get("error"))
            return None
        files = listed.get("files") or []
        if not files:
            return None
        f = files[0]
        url = f.get("url_private_download") or f.get("url_private")
        if not url:
            return None
        async with httpx.AsyncClient(timeout=60, follow_redirects=True) as http:
            response = await http.get(url, headers={"Authorization": f"Bearer {self._token}"})
            response.raise_for_status()
        return str(f.get("name") or "upload"), response.content
