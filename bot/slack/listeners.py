"""bolt listeners: convert a Slack payload to a Request, hand it to the hub, deliver the Reply.

They run after the acknowledgement (see bot/slack/ingress.py), from the inbox,
so they may take as long as the work needs.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.hub import Hub
from bot.slack.delivery import Respond, to_conversation, to_response_url
from bot.slack.directory import Directory
from policies.types import Reply, Request, Source

log = logging.getLogger(__name__)
PROGRESS_REACTION = "hourglass_flowing_sand"


def register(app: AsyncApp, hub: Hub, directory: Directory, command: str) -> None:
    async def on_command(ack: Any, body: dict[str, Any], respond: Respond,
                         context: dict[str, Any]) -> None:
        await ack()
        request = Request(
            id=context["inbox_key"], source=Source.SLASH,
            principal=await directory.principal(body["user_id"], body.get("team_id", "")),
            text=body.get("text", ""), channel=body["channel_id"],
            payload={"response_url": body.get("response_url", "")})

        async def progress() -> None:
            await respond(text=messages.WORKING, response_type="ephemeral")

        reply = await hub.handle(request, progress)
        await to_response_url(respond, reply)

    async def on_mention(ack: Any, event: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        await ack()
        await _converse(hub, directory, client, event, Source.MENTION, context["inbox_key"])

    async def on_dm(ack: Any, event: dict[str, Any], client: AsyncWebClient,
                    context: dict[str, Any]) -> None:
        await ack()
        if event.get("subtype") or event.get("bot_id"):
            return  # edits, joins, our own messages: nothing to answer
        await _converse(hub, directory, client, event, Source.DM, context["inbox_key"])

    async def on_other_message(ack: Any) -> None:
        await ack()  # channel chatter we are subscribed to but do not answer

    async def on_action(ack: Any, body: dict[str, Any], respond: Respond,
                        context: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        user = body.get("user") or {}
        request = Request(
            id=context["inbox_key"], source=Source.ACTION,
            principal=await directory.principal(user.get("id", ""), user.get("team_id", "")),
            text=action.get("action_id", ""), channel=channel,
            thread_ts=message.get("thread_ts") or message.get("ts"),
            payload={"value": action.get("value", ""), "message_ts": message.get("ts"),
                     "response_url": body.get("response_url", "")})
        reply = await hub.handle(request)
        await to_response_url(respond, reply)

    app.command(command)(on_command)
    app.event("app_mention")(on_mention)
    app.event({"type": "message", "channel_type": "im"})(on_dm)
    app.event("message")(on_other_message)
    app.action(re.compile(".*"))(on_action)


async def _converse(hub: Hub, directory: Directory, client: AsyncWebClient,
                    event: dict[str, Any], source: Source, key: str) -> None:
    channel, ts = event["channel"], event["ts"]
    # Mentions answer in a thread (a new one under the mention if need be); DMs stay flat.
    thread_ts = event.get("thread_ts") or (ts if source is Source.MENTION else None)
    request = Request(
        id=key, source=source,
        principal=await directory.principal(event.get("user", ""), event.get("team", "")),
        text=event.get("text", ""), channel=channel, thread_ts=thread_ts,
        payload={"ts": ts})
    reacted = False

    async def progress() -> None:
        nonlocal reacted
        await client.reactions_add(channel=channel, timestamp=ts, name=PROGRESS_REACTION)
        reacted = True

    reply = await hub.handle(request, progress)
    if reply.visibility == "ephemeral" and reply.ok:
        reply = Reply(reply.text, reply.blocks, "thread", reply.ok)  # answers to a mention are public
    await to_conversation(client, reply, channel=channel, user=request.principal.user_id,
                          thread_ts=thread_ts)
    if reacted:
        try:
            await client.reactions_remove(channel=channel, timestamp=ts, name=PROGRESS_REACTION)
        except Exception:
            log.debug("could not remove the progress reaction", exc_info=True)
