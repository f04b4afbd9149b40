"""Agent writes wait for a person: Approve / Deny buttons in the thread, then the write runs.

Only the person who asked or someone whose role may approve that action can
decide; the decision is audited; a double click cannot run the write twice
(the row is claimed atomically). The held arguments passed DLP when the
model produced them; the result passes DLP again before it is posted.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from agents.guard import Asker
from agents.present import humanize
from agents.tools import ToolSpec
from bot.audit import AuditLog
from bot.commands.registry import Command, CommandContext
from bot.notify import Notifier
from bot.storage.db import Database
from bot.storage.models import Base
from connectors.errors import ConnectorError
from policies.chain import DecisionSink
from policies.rbac import APPROVAL
from policies.types import Decision, Principal, Reply

log = logging.getLogger(__name__)
EXPIRES = timedelta(days=1)


class PendingAction(Base):
    __tablename__ = "pending_actions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    args: Mapped[str] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(Text)  # the asking Principal, as JSON
    channel: Mapped[str] = mapped_column(String(100))
    thread_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # pending|approved|denied|done|failed
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Approvals:
    def __init__(self, db: Database, tools: Mapping[str, ToolSpec], notifier: Notifier,
                 audit: AuditLog, record: DecisionSink) -> None:
        self._db = db
        self._tools = tools
        self._notifier = notifier
        self._audit = audit
        self._record = record

    async def request(self, spec: ToolSpec, args: Mapping[str, Any], asker: Asker) -> str:
        """Hold `spec(**args)` for a decision in Slack; tell the model what happened."""
        pending_id = uuid.uuid4().hex[:12]
        who = asker.principal
        async with self._db.write() as conn:
            await conn.execute(insert(PendingAction).values(
                id=pending_id, tool=spec.name, action=spec.action, args=json.dumps(args),
                requester=json.dumps({"user_id": who.user_id, "team_id": who.team_id,
                                      "email": who.email, "groups": sorted(who.groups)}),
                channel=asker.channel, thread_ts=asker.thread_ts, request_id=asker.request_id,
                status="pending", created_at=datetime.now(UTC)))
        text, blocks = _approval_message(pending_id, spec, args, who.user_id)
        ts = await self._notifier.post(asker.channel, text, blocks, thread_ts=asker.thread_ts)
        async with self._db.write() as conn:
            await conn.execute(update(PendingAction).where(PendingAction.id == pending_id)
                               .values(message_ts=ts))
        return (f":hourglass: Waiting for approval: `{spec.name}` runs once <@{who.user_id}> or an "
                f"approver clicks Approve on the request above (ref {pending_id}).")

    def commands(self) -> list[Command]:
        return [Command("button:approve", APPROVAL, "", "", self._approve, group="hidden"),
                Command("button:deny", APPROVAL, "", "", self._deny, group="hidden")]

    async def _approve(self, ctx: CommandContext) -> Reply:
        row = await self._decidable(ctx)
        if isinstance(row, Reply):
            return row
        if not await self._claim(row.id, "approved", ctx.request.principal.user_id):
            return Reply.error("Someone already decided this one.")
        spec = self._tools[row.tool]
        requester = _principal(row.requester)
        still = ctx.policy.rbac.check(requester, spec.action, row.channel)
        if not still.allowed:  # their role may have changed since they asked
            return await self._finish(row, "failed", f"<@{requester.user_id}> may no longer "
                                      f"run `{spec.name}` ({still.reason}).", ctx)
        try:
            result = humanize(await spec.fn(**json.loads(row.args)))
        except ConnectorError as e:
            return await self._finish(row, "failed", f":warning: {e.message}", ctx)
        return await self._finish(row, "done", f":white_check_mark: Done: {result}", ctx)

    async def _deny(self, ctx: CommandContext) -> Reply:
        row = await self._decidable(ctx)
        if isinstance(row, Reply):
            return row
        if not await self._claim(row.id, "denied", ctx.request.principal.user_id):
            return Reply.error("Someone already decided this one.")
        return await self._finish(row, "denied", ":no_entry_sign: Denied; nothing was run.", ctx)

    async def _decidable(self, ctx: CommandContext) -> PendingAction | Reply:
        async with self._db.engine.connect() as conn:
            found = (await conn.execute(select(PendingAction).where(
                PendingAction.id == ctx.args))).first()
        if found is None:
            return Reply.error("I have no record of that request.")
        row = PendingAction(**found._mapping)
        if row.status != "pending":
            return Reply.error(f"This request was already {row.status}.")
        if datetime.now(UTC) - _aware(row.created_at) > EXPIRES:
            return Reply.error("This request expired; ask again.")
        clicker = ctx.request.principal
        is_requester = clicker.user_id == _principal(row.requester).user_id
        verdict = ctx.policy.rbac.can_approve(clicker, row.action)
        allowed = is_requester or verdict.allowed
        rule = "requester" if is_requester else verdict.rule
        self._record(ctx.request, Decision("approval", "allow" if allowed else "deny", rule,
                                           f"{row.tool} ({row.action})"))
        if not allowed:
            return Reply.error(f"Only <@{_principal(row.requester).user_id}> or someone allowed "
                               f"to approve `{row.action}` can decide this.")
        return row

    async def _claim(self, pending_id: str, status: str, by: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(PendingAction)
                .where(PendingAction.id == pending_id, PendingAction.status == "pending")
                .values(status=status, decided_by=by, decided_at=datetime.now(UTC)))
        return result.rowcount == 1

    async def _finish(self, row: PendingAction, status: str, text: str,
                      ctx: CommandContext) -> Reply:
        async with self._db.write() as conn:
            await conn.execute(update(PendingAction).where(PendingAction.id == row.id)
                               .values(status=status, result=text[:2000]))
        self._audit.event(ctx.request, "approval", f"{row.tool}: {status}", decision=status)
        who = ctx.request.principal.user_id
        verb = "Denied" if status == "denied" else "Approved"
        try:  # the decision is stored and the write done: a Slack hiccup must not undo that
            if row.message_ts:
                await self._notifier.update(row.channel, row.message_ts,
                                            f"{verb} by <@{who}>: `{row.tool}`")
            await self._notifier.post(row.channel, text, thread_ts=row.thread_ts)
        except Exception:
            log.warning("could not post the outcome of approval %s", row.id, exc_info=True)
            return Reply(f"{verb}. {text}", visibility="ephemeral")
        return Reply(f"{verb}.", visibility="ephemeral")


def _approval_message(pending_id: str, spec: ToolSpec, args: Mapping[str, Any],
                      requester: str) -> tuple[str, list[dict[str, Any]]]:
    shown = "\n".join(f"• *{k}*: {str(v)[:300]}" for k, v in args.items() if v not in (None, ""))
    text = f"<@{requester}> asked me to run `{spec.name}`. Approve?"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{shown}"}},
        {"type": "actions", "elements": [
            {"type": "button", "style": "primary", "action_id": f"approve:{pending_id}",
             "value": pending_id, "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "style": "danger", "action_id": f"deny:{pending_id}",
             "value": pending_id, "text": {"type": "plain_text", "text": "Deny"}}]},
    ]
    return text, blocks


def _principal(raw: str) -> Principal:
    d = json.loads(raw)
    return Principal(user_id=d["user_id"], team_id=d.get("team_id", ""), email=d.get("email"),
                     groups=frozenset(d.get("groups", ())))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


