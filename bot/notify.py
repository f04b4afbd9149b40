"""Messages the hub starts itself (digests, alerts, workflow updates), DLP-checked like replies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from policies.dlp import DlpScanner

log = logging.getLogger(__name__)
Blocks = Sequence[Mapping[str, Any]]


class Notifier(Protocol):
    async def post(self, channel: str, text: str, blocks: Blocks = (),
                   thread_ts: str | None = None) -> str | None:
        """Post to a channel (or a thread in it); returns the message ts, None if not sent."""
        ...

    async def update(self, channel: str, ts: str, text: str, blocks: Blocks = ()) -> None: ...

    async def upload(self, channel: str, filename: str, content: bytes, title: str,
                     thread_ts: str | None = None) -> None: ...


class Transport(Protocol):
    """What a Notifier needs from Slack (the Slack surface implements it)."""

    async def post_message(self, channel: str, text: str, blocks: Blocks,
                           thread_ts: str | None) -> str: ...

    async def update_message(self, channel: str, ts: str, text: str, blocks: Blocks) -> None: ...

    async def upload_file(self, channel: str, filename: str, content: bytes, title: str,
                          thread_ts: str | None) -> None: ...


class GuardedNotifier:
    """Every outgoing message passes DLP: a blocked one is replaced by a notice, never sent."""

    def __init__(self, transport: Transport | None, scanner: Callable[[], DlpScanner]) -> None:
        self._transport = transport
        self._scanner = scanner

    def attach(self, transport: Transport) -> None:
        """The Slack surface is built after the services that use the notifier."""
        self._transport = transport

    def _clean(self, channel: str, text: str, blocks: Blocks) -> tuple[str, list[Any]]:
        scanner = self._scanner()
        found = scanner.scan(text, channel)
        clean_blocks, in_blocks = scanner.scan_value(list(blocks), channel)
        if found.blocked or in_blocks.blocked:
            log.warning("DLP withheld a message to %s (%s)", channel,
                        found.summary() or in_blocks.summary())
            return (":lock: A message was withheld here because it contained data that may not "
                    "be posted (see the audit log).", [])
        return found.text, clean_blocks if isinstance(clean_blocks, list) else []

    async def post(self, channel: str, text: str, blocks: Blocks = (),
                   thread_ts: str | None = None) -> str | None:
        if self._transport is None:
            log.info("Slack not configured; not posting to %s: %s", channel, text[:80])
            return None
        text, clean = self._clean(channel, text, blocks)
        return await self._transport.post_message(channel, text, clean, thread_ts)

    async def update(self, channel: str, ts: str, text: str, blocks: Blocks = ()) -> None:
        if self._transport is not None:
            text, clean = self._clean(channel, text, blocks)
            await self._transport.update_message(channel, ts, text, clean)

    async def upload(self, channel: str, filename: str, content: bytes, title: str,
                     thread_ts: str | None = None) -> None:
        if self._transport is not None:
            await self._transport.upload_file(channel, filename, content, title, thread_ts)
