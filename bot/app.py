"""The composition root: settings in, the running hub out. Nothing else wires objects together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from agents.analysis import RequirementsAnalysis, analyze_requirements
from agents.models import ModelConfig
from agents.service import AgentService
from agents.tools import all_tools
from bot.agent_gateway import AgentGateway
from bot.approvals import Approvals
from bot.audit import AuditLog
from bot.commands import cost, jira, salesforce, servicenow, sharepoint
from bot.commands import digest as digest_verbs
from bot.commands import workflow as workflow_verbs
from bot.commands.core import core_commands
from bot.commands.registry import Command, CommandTable
from bot.connections import Connectors, build_connectors
from bot.cost.ledger import Ledger
from bot.cost.recorder import UsageRecorder
from bot.digest.wiring import build_digests
from bot.http import add_error_handlers, add_routes
from bot.hub import Hub
from bot.inbox import Inbox, Item
from bot.logs import scrub_log_records
from bot.metrics import Metrics
from bot.notify import GuardedNotifier
from bot.services import Services
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.webhooks.ingress import WebhookIngress
from bot.webhooks.processor import WebhookProcessor
from bot.worker import Worker
from bot.workflows import Workflows, build_workflows
from bot.workflows.deps import Analyze, WorkflowDeps
from policies.budget import BudgetPolicy
from policies.chain import Policy
from policies.dlp_policy import DlpPolicy
from policies.rate_limit import RateLimitPolicy
from policies.rbac_policy import RbacPolicy
from policies.store import PolicyStore
from policies.types import Decision, Principal, Request, Source

log = logging.getLogger(__name__)

POLICY_RELOAD_SECONDS = 2.0
INBOX_SWEEP_SECONDS = 30.0


@dataclass
class Runtime:
    settings: Settings
    db: Database
    inbox: Inbox
    worker: Worker
    audit: AuditLog
    metrics: Metrics
    store: PolicyStore
    hub: Hub
    connectors: Connectors
    services: Services
    rate_limits: RateLimitPolicy | None = None
    slack: Any = None  # bot.slack.surface.SlackSurface when Slack is configured
    workflows: Workflows | None = None
    webhooks: WebhookIngress | None = None
    webhook_processor: WebhookProcessor | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    async def process(self, item: Item) -> None:
        if item.kind == "slack" and self.slack is not None:
            await self.slack.process(item)
        elif item.kind.startswith("webhook:") and self.webhook_processor is not None:
            await self.webhook_processor.process(item)
        else:
            raise RuntimeError(f"no processor for inbox items of kind {item.kind!r}")

    async def store_slack(self, key: str, body: bytes, content_type: str) -> None:
        """Durable before acknowledged; a retry of a stored item changes nothing."""
        stored = await self.inbox.store(key, "slack", body, content_type)
        if stored:
            self.worker.submit(key)
        self.metrics.inbound_total.labels("slack", "stored" if stored else "duplicate").inc()

    async def start(self, *, process: bool = True, migrate: bool = True) -> None:
        if migrate:
            await asyncio.to_thread(upgrade, self.settings.hub.database_url)
        self.audit.start()
        if process:
            await self.worker.resume()
            self._every(INBOX_SWEEP_SECONDS, self.worker.resume)
            if self.workflows is not None:  # runs a dead hub left behind, approval timeouts
                await self.workflows.service.sweep()
                self._every(self.workflows.service.sweep_interval, self.workflows.service.sweep)
            if self.services.digests is not None:  # the scheduler: only hubs that do work
                await self.services.digests.start()
            if self.slack is not None and self.slack.socket_mode is not None:
                await self.slack.socket_mode.start()
        else:  # store-and-ack only (tests, maintenance)
            self.worker.accepting = False
            if self.workflows is not None:
                self.workflows.service.accepting = False
        self._every(POLICY_RELOAD_SECONDS, self._reload_policy)

    async def stop(self) -> None:
        if self.slack is not None and self.slack.socket_mode is not None:
            await self.slack.socket_mode.stop()
        for task in self._background:
            task.cancel()
        if self.services.digests is not None:
            await self.services.digests.stop()
        await self.worker.drain()
        if self.workflows is not None:
            await self.workflows.service.stop()
        await self.audit.stop()
        if self.rate_limits is not None:
            await self.rate_limits.close()
        await self.db.dispose()

    async def readiness(self) -> dict[str, dict[str, Any]]:
        checks: dict[str, dict[str, Any]] = {}
        try:
            async with self.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = {"ok": True}
        except Exception as e:
            checks["database"] = {"ok": False, "detail": f"unreachable: {type(e).__name__}"}
        if self.slack is None:
            checks["slack"] = {"ok": False, "detail": "not configured"}
        else:
            problem = await self.slack.auth_problem()
            checks["slack"] = {"ok": problem is None, "detail": problem or "auth.test ok"}
            if self.slack.socket_mode is not None:
                up = await self.slack.socket_mode.connected()
                checks["socket_mode"] = {"ok": up, "detail": "connected" if up else "disconnected"}
        checks["connectors"] = {"ok": True, "required": False, **self.connectors.health()}
        checks["policy"] = {"ok": True, "required": False, "detail": self.store.current.source,
                            **({"last_error": self.store.last_error} if self.store.last_error else {})}
        return checks

    async def _reload_policy(self) -> None:
        self.store.refresh()

    def _every(self, seconds: float, fn: Any) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await fn()
                except Exception:
                    log.exception("background job %s failed", getattr(fn, "__name__", fn))

        self._background.append(asyncio.get_running_loop().create_task(loop()))


def build_runtime(settings: Settings) -> Runtime:
    """Build the object graph; no I/O happens until `Runtime.start`."""
    hub_settings = settings.hub
    db = Database(hub_settings.database_url)
    metrics = Metrics()
    digest_key = hub_settings.dlp_digest_key
    store = PolicyStore(hub_settings.policy_file,
                        digest_key.get_secret_value().encode() if digest_key else None)
    store.load()
    audit = AuditLog(db, scrub=lambda text: store.current.dlp.fingerprint(text))

    def record(request: Request, decision: Decision) -> None:
        audit.decision(request, decision)
        metrics.decision(request, decision)

    connectors = build_connectors(settings, observer=metrics.connector_call)
    agents = AgentService(_model_config(settings), run_timeout=hub_settings.agent_timeout,
                          memory=db.engine,
                          fallbacks=hub_settings.fallback_model_specs())
    tools = all_tools(connectors.servicenow, connectors.jira, connectors.salesforce,
                      connectors.sharepoint)
    rate_limits = RateLimitPolicy(store, hub_settings.redis_url, record)
    notifier = GuardedNotifier(None, lambda: store.current.dlp)
    ledger = Ledger(db)

    async def budget_alert(channel: str, text: str) -> None:
        await notifier.post(channel, text)

    policies: list[Policy] = [
        RbacPolicy(lambda: store.current.rbac, record),
        rate_limits,
        BudgetPolicy(store, ledger, budget_alert, record, claim=ledger.claim_alert),
        DlpPolicy(lambda: store.current.dlp, record),
    ]
    approvals = Approvals(db, tools, notifier, audit, record)
    usage_recorder = UsageRecorder(ledger, store, metrics, hub_settings.model)
    gateway = AgentGateway(agents, tools, store, record, approvals.request,
                           on_usage=usage_recorder)
    workflows = build_workflows(
        db, WorkflowDeps(connectors, notifier, _analyst(_model_config(settings), usage_recorder)), metrics,
        lambda: store.current, lease_seconds=hub_settings.workflow_lease)
    digests = build_digests(settings, db, connectors, notifier, store, metrics, audit)
    services = Services(ask_agent=gateway, connectors=connectors, notifier=notifier,
                        workflows=workflows, digests=digests,
                        limits_for=rate_limits.remaining,
                        fetch_shared_file=lambda request: _shared_file(rt, request),
                        ledger=ledger)
    hub = Hub(commands=command_table(*approvals.commands()), policies=policies, store=store,
              services=services, audit=audit, metrics=metrics,
              command_name=hub_settings.slash_command)
    inbox = Inbox(db)
    worker = Worker(inbox, lambda item: rt.process(item), hub_settings.workers)
    rt = Runtime(settings, db, inbox, worker, audit, metrics, store, hub, connectors, services,
                 rate_limits)
    rt.workflows = workflows
    rt.webhooks = WebhookIngress(settings.webhook_secrets(), inbox)
    rt.webhook_processor = WebhookProcessor(workflows, audit)
    if settings.slack.configured:
        from bot.slack.surface import SlackSurface, SlackTransport

        rt.slack = SlackSurface(settings.slack, hub, hub_settings.slash_command, rt.store_slack,
                                wants_groups=lambda: _policy_names_groups(store))
        notifier.attach(SlackTransport(rt.slack.client))
    return rt


def command_table(*extra: Command) -> CommandTable:
    table = CommandTable()
    table.add(*core_commands(table), *servicenow.COMMANDS, *jira.COMMANDS, *salesforce.COMMANDS,
              *sharepoint.COMMANDS, *cost.COMMANDS, *workflow_verbs.COMMANDS, *digest_verbs.COMMANDS,
              *extra)
    return table


async def _shared_file(rt: Runtime, request: Request) -> tuple[str, bytes] | None:
    return await rt.slack.files.latest(request) if rt.slack is not None else None


def _policy_names_groups(store: PolicyStore) -> bool:
    return any(m.startswith("@") for r in store.current.file.roles.values() for m in r.members)


def _analyst(config: ModelConfig, charge: UsageRecorder) -> Analyze:
    """The analyst agent's requirements analysis, as the kickoff workflow consumes it;
    its tokens are charged to the person who started the workflow."""
    async def analyze(text: str, user_id: str, title: str) -> RequirementsAnalysis:
        analysis, usage = await analyze_requirements(config, text, user_id=user_id, title=title)
        if usage:
            on_behalf = Request(id=f"analysis:{uuid.uuid4().hex[:12]}", source=Source.WORKFLOW,
                                principal=Principal(user_id), text=title)
            await charge(on_behalf, usage)
        return analysis

    return analyze


def _model_config(settings: Settings) -> ModelConfig:
    key = settings.openai.api_key
    return ModelConfig(spec=settings.hub.model, openai_base_url=settings.openai.base_url,
                       openai_api_key=key.get_secret_value() if key else None,
                       timeout=settings.hub.agent_timeout)


def create_app(settings: Settings | None = None, *, process: bool = True,
               scrub_logs: bool = False) -> FastAPI:
    """The ASGI app. `process=False` stores and acknowledges but processes nothing;
    `scrub_logs` passes every log record in the process through DLP (`switchboard serve`)."""
    rt = build_runtime(settings or Settings.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await rt.start(process=process)
        try:
            yield
        finally:
            await rt.stop()

    if scrub_logs:
        scrub_log_records(lambda text: rt.store.current.dlp.fingerprint(text))
    app = FastAPI(title="Switchboard", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = rt
    add_routes(app, rt)
    add_error_handlers(app)
    return app
