"""Getting a Reply back to Slack: threads kept, long text split, ephemeral where it should be."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from policies.types import Reply

SECTION_LIMIT = 3000  # Slack's limit for one section block; also keeps messages readable


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split on paragraph, then line, then word boundaries; never lose a character."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit))
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _messages(reply: Reply) -> list[dict[str, Any]]:
    return messages_for(reply.text, reply.blocks)


def messages_for(text: str, blocks: Any = ()) -> list[dict[str, Any]]:
    """One dict of chat arguments per message; blocks ride on the first one."""
    parts = split_text(text)
    out: list[dict[str, Any]] = [{"text": p} for p in parts]
    if blocks:
        out[0]["blocks"] = list(blocks)
    elif len(parts) > 1:
        for msg in out:
            msg["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": msg["text"]}}]
    return out


Respond = Callable[..., Awaitable[Any]]


async def to_response_url(respond: Respond, reply: Reply, *, replace: bool = False) -> None:
    """Slash commands and buttons answer through their response_url."""
    response_type = "in_channel" if reply.visibility == "channel" else "ephemeral"
    for i, msg in enumerate(_messages(reply)):
        await respond(**msg, response_type=response_type, replace_original=replace and i == 0)


async def to_conversation(client: AsyncWebClient, reply: Reply, *, channel: str, user: str,
                          thread_ts: str | None) -> None:
    """Mentions and DMs answer in their thread; ephemeral replies only the asker sees."""
    for msg in _messages(reply):
        if reply.visibility == "ephemeral":
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **msg)
        else:
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **msg)
