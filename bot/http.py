"""The HTTP surface: Slack events, health, readiness, metrics. Thin: convert and hand over."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from bot import messages
from bot.errors import NotConfigured, PayloadTooLarge, SwitchboardError

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20


def add_routes(app: FastAPI, rt: Runtime) -> None:
    @app.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        if rt.slack is None:
            raise NotConfigured(messages.SLACK_NOT_CONFIGURED)
        body = await _body(request)
        h = request.headers
        rt.slack.verifier.verify(body, h.get("x-slack-request-timestamp"),
                                 h.get("x-slack-signature"))
        from bot.slack.ingress import parse  # the Slack layer owns Slack parsing

        content_type = h.get("content-type", "")
        inbound = parse(body, content_type)
        if inbound.challenge is not None:
            return JSONResponse({"challenge": inbound.challenge})
        stored = await rt.inbox.store(inbound.key, "slack", body, content_type)
        if stored:
            rt.worker.submit(inbound.key)
        rt.metrics.inbound_total.labels("slack", "stored" if stored else "duplicate").inc()
        rt.metrics.ack_seconds.labels("slack").observe(time.perf_counter() - started)
        return Response(status_code=200)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await rt.readiness()
        ready = all(c["ok"] for c in checks.values() if c.get("required", True))
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SwitchboardError)
    async def known(_: Request, exc: SwitchboardError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"},
                            status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> PlainTextResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return PlainTextResponse("internal error", status_code=500)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    return body
