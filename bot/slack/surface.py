"""The Slack surface: the bolt app, its Web API client, and the inbox processor for Slack items."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.hub import Hub
from bot.inbox import Item
from bot.settings import SlackSettings
from bot.slack import listeners
from bot.slack.delivery import messages_for
from bot.slack.directory import Directory
from bot.slack.files import SharedFiles
from bot.slack.ingress import SlackVerifier, parse
from bot.slack.socket_mode import SocketModeIngress

Accept = Callable[[str, bytes, str], Awaitable[None]]  # (dedupe key, body, content type)

log = logging.getLogger(__name__)


class SlackDeliveryFailed(Exception):
    """bolt could not finish an item (a listener raised): the inbox will try again."""


class SlackSurface:
    """Everything Slack: the bolt app and client, and `accept`, the one way items come in."""

    def __init__(self, settings: SlackSettings, hub: Hub, command: str, accept: Accept,
                 wants_groups: Callable[[], bool] = lambda: False) -> None:
        assert settings.bot_token and settings.signing_secret
        self.verifier = SlackVerifier(settings.signing_secret.get_secret_value())
        self.client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(), base_url=settings.api_url, timeout=15,
            retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                            AsyncServerErrorRetryHandler(max_retry_count=2)])
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.signing_secret.get_secret_value(),
            process_before_response=True,  # we acked already; run listeners to completion
            request_verification_enabled=False,  # verified at ingress, before storing
            url_verification_enabled=False,
            ssl_check_enabled=False,
        )
        listeners.register(self.app, hub, Directory(self.client, wants_groups), command)
        self.files = SharedFiles(self.client, settings.bot_token.get_secret_value())
        self._auth_checked: tuple[float, str | None] | None = None
        self._store = accept
        self.socket_mode: SocketModeIngress | None = None
        if settings.app_token is not None:
            self.socket_mode = SocketModeIngress(settings.app_token.get_secret_value(),
                                                 self.client, self.accept)

    async def accept(self, body: bytes, content_type: str) -> str | None:
        """After verification (HTTP) or from the websocket (Socket Mode): store, then work.

        Returns the url_verification challenge to echo, if that is what this was.
        """
        inbound = parse(body, content_type)
        if inbound.challenge is not None:
            return inbound.challenge
        await self._store(inbound.key, body, content_type)
        return None

    async def process(self, item: Item) -> None:
        request = AsyncBoltRequest(body=item.body.decode("utf-8"), mode="http",
                                   headers={"content-type": [item.content_type]},
                                   context={"inbox_key": item.key})
        response = await self.app.async_dispatch(request)
        if response.status >= 500:
            raise SlackDeliveryFailed(f"bolt answered {response.status} for {item.key}")

    async def auth_problem(self) -> str | None:
        """None when auth.test passes; cached for 30 s so /readyz stays cheap."""
        now = time.monotonic()
        if self._auth_checked and self._auth_checked[0] > now:
            return self._auth_checked[1]
        try:
            await self.client.auth_test()
            problem = None
        except SlackApiError as e:
            problem = f"auth.test failed: {e.response.get('error', 'error')}"
        except Exception as e:
            problem = f"auth.test failed: {type(e).__name__}"
        self._auth_checked = (now + 30.0, problem)
        return problem


class SlackTransport:
    """The Notifier's transport over the Web API (thread-aware, split like replies)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post_message(self, channel: str, text: str, blocks: Any,
                           thread_ts: str | None) -> str:
        first_ts = ""
        for msg in messages_for(text, blocks):
            response = await self._client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                                           **msg)
            first_ts = first_ts or str(response.get("ts", ""))
        return first_ts

    async def update_message(self, channel: str, ts: str, text: str, blocks: Any) -> None:
        await self._client.chat_update(channel=channel, ts=ts, text=text[:3000],
                                       blocks=list(blocks) or None)

    async def upload_file(self, channel: str, filename: str, content: bytes, title: str,
                          thread_ts: str | None) -> None:
        await self._client.files_upload_v2(channel=channel, filename=filename, content=content,
                                           title=title, thread_ts=thread_ts)
