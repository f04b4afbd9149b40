"""The pipeline after the acknowledgement: route -> policy chain -> command | agent -> reply.

Every source (Slack, webhook, schedule) ends up in `Hub.handle`; the
transport layer only converts to a Request and delivers the Reply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar

from bot import messages
from bot.audit import AuditLog
from bot.commands.registry import CommandContext, CommandTable
from bot.errors import SwitchboardError
from bot.metrics import Metrics
from bot.router import Router
from bot.services import Services
from connectors.errors import ConnectorError
from policies.chain import Policy, build_chain
from policies.store import PolicyStore
from policies.types import Reply, Request, RouteKind

log = logging.getLogger(__name__)

Progress = Callable[[], Awaitable[None]]
_progress: ContextVar[Progress | None] = ContextVar("progress", default=None)


class Hub:
    def __init__(self, *, commands: CommandTable, policies: Sequence[Policy],
                 store: PolicyStore, services: Services, audit: AuditLog, metrics: Metrics,
                 command_name: str = "/sb") -> None:
        self._commands = commands
        self._router = Router(commands.routes())
        self._store = store
        self._services = services
        self._audit = audit
        self._metrics = metrics
        self._command_name = command_name
        self._chain = build_chain(policies, self._execute)

    async def handle(self, request: Request, progress: Progress | None = None) -> Reply:
        request = request.with_route(self._router.match(request))
        self._audit.received(request)
        started = time.perf_counter()
        token = _progress.set(progress)  # the transport's "working on it" hook, for long work
        try:
            reply = await self._chain(request)
        finally:
            _progress.reset(token)
        route = request.route.verb if request.route else "?"
        self._metrics.requests_total.labels(request.source, route, "ok" if reply.ok else "error").inc()
        self._metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
        self._audit.outcome(request, reply)
        return reply

    async def _execute(self, request: Request) -> Reply:
        assert request.route is not None
        try:
            if request.route.kind is RouteKind.AGENT:
                await _show_progress()
                return await self._services.ask_agent(request)
            command = self._commands.get(request.route.verb)
            if command is None or command.handler is None:
                raise LookupError(f"no handler for {request.route.verb!r}")
            ctx = CommandContext(request, self._store.current, self._services, self._command_name)
            return await command.handler(ctx)
        except SwitchboardError as e:  # the person typed something wrong: say what
            return Reply.error(f":warning: {e.message}")
        except ConnectorError as e:
            return Reply.error(f":warning: {e.message}")
        except Exception:
            log.exception("request %s failed", request.id)
            return Reply.error(messages.internal_error(request.id))


async def _show_progress() -> None:
    callback = _progress.get()
    if callback is not None:
        try:
            await callback()
        except Exception:  # progress is cosmetic: never fail the request for it
            log.warning("progress update failed", exc_info=True)
