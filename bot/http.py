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
from bot.webhooks.ingress import MAX_BODY as WEBHOOK_MAX_BODY

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
        challenge = await rt.slack.accept(body, h.get("content-type", ""))
        if challenge is not None:
            return JSONResponse({"challenge": challenge})
        rt.metrics.ack_seconds.labels("slack").observe(time.perf_counter() - started)
        return Response(status_code=200)

    @app.post("/webhooks/{source}")
    async def webhook(source: str, request: Request) -> Response:
        """Known source -> body within limits -> authentic -> valid -> stored -> 202."""
        started = time.perf_counter()
        if rt.webhooks is None:
            raise NotConfigured("webhooks are not available on this hub")
        try:
            rt.webhooks.source(source)
            body = await _body(request, WEBHOOK_MAX_BODY)
            accepted = await rt.webhooks.accept(source, request.headers, body)
        except SwitchboardError:
            rt.metrics.inbound_total.labels("webhook", "rejected").inc()
            raise
        if accepted.stored:
            rt.worker.submit(accepted.key)
        result = "stored" if accepted.stored else "duplicate"
        rt.metrics.inbound_total.labels("webhook", result).inc()
        rt.metrics.ack_seconds.labels("webhook").observe(time.perf_counter() - started)
        return JSONResponse({"status": "accepted" if accepted.stored else "duplicate",
                             "id": accepted.key}, status_code=202)

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


async def _body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    return body
