"""The ack path for webhooks: known source -> authentic -> valid -> stored in the inbox -> 202.

Nothing else happens before the answer; `WebhookProcessor` does the work after.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.inbox import Inbox
from bot.webhooks import schemas
from bot.webhooks.auth import SourceAuth, UnknownSource, WebhooksDisabled, parse_sources, verify

MAX_BODY = 256 * 1024  # webhook payloads are small; anything bigger is a mistake or an attack


@dataclass(frozen=True)
class Accepted:
    key: str  # the inbox dedupe key: webhook:<source>:<delivery id>
    stored: bool  # False: a replay of a stored delivery (nothing new starts)


class WebhookIngress:
    def __init__(self, secrets: Mapping[str, str], inbox: Inbox,
                 clock: Callable[[], float] = time.time) -> None:
        self._sources = parse_sources(secrets)  # a malformed secret fails at start-up
        self._inbox = inbox
        self._clock = clock

    def source(self, source: str) -> SourceAuth:
        """Refuse before reading the body: no webhooks at all (403), unknown source (404)."""
        if not self._sources:
            raise WebhooksDisabled("webhooks are disabled: set SWITCHBOARD_WEBHOOK_SECRETS "
                                   "(source=secret,…)")
        auth = self._sources.get(source)
        if auth is None or source not in schemas.SCHEMAS:
            raise UnknownSource(f"unknown webhook source {source!r}")
        return auth

    async def accept(self, source: str, headers: Mapping[str, str], body: bytes) -> Accepted:
        auth = self.source(source)
        delivery = verify(auth, headers, body, self._clock())
        schemas.parse(source, body)  # 400 now, rather than a failure nobody sees later
        key = f"webhook:{source}:{delivery}"
        stored = await self._inbox.store(key, f"webhook:{source}", body, "application/json")
        return Accepted(key, stored)
