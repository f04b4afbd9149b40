"""Webhook deliveries after the acknowledgement: from the inbox to a workflow or the bridge."""

from __future__ import annotations

import logging

from bot.audit import AuditLog
from bot.inbox import Item
from bot.webhooks import schemas
from bot.workflows import Workflows
from bot.workflows.saga import StepError
from policies.types import Principal, Request, Source

log = logging.getLogger(__name__)


class WebhookProcessor:
    def __init__(self, workflows: Workflows, audit: AuditLog) -> None:
        self._workflows = workflows
        self._audit = audit

    async def process(self, item: Item) -> None:
        source = item.kind.removeprefix("webhook:")
        event = schemas.parse(source, item.body)  # validated at ingress: this does not fail
        request = Request(id=item.key, source=Source.WEBHOOK, principal=Principal.system(source),
                          text=event.type)
        self._audit.event(request, "received", f"{event.type} {event.data.number}")
        if isinstance(event, schemas.KickoffEvent):
            outcome = await self._kickoff(item.key, source, event.data.number)
        else:
            data = event.data
            outcome = await self._workflows.incidents.on_event(data.number, data.priority,
                                                               data.state, data.update)
        self._audit.event(request, "outcome", outcome, "ok")

    async def _kickoff(self, key: str, source: str, number: str) -> str:
        try:
            run_id, created = await self._workflows.service.kickoff(
                number, trigger_key=key, requested_by=f"system:{source}")
        except StepError as e:  # a configuration problem: retrying will not help
            log.warning("kickoff for %s refused: %s", number, e)
            return f"kickoff refused: {e}"
        return f"kickoff run {run_id}" + ("" if created else " (started before)")
