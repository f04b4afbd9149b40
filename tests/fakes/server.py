"""A tiny threaded HTTP(S) server that the vendor fakes are built on.

Each fake registers routes (method + path regex) and returns plain data; the
server records every request so tests can assert on what the real client
libraries actually sent over the wire.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (timeout tests)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain")
        if self.body is None:
            return b"", self.headers.get("Content-Type", "application/json")
        return json.dumps(self.body).encode(), "application/json"


Handler = Callable[[Recorded, re.Match[str]], Response]


class FakeServer:
    """Start with ``with FakeServer() as srv:``; ``srv.url`` is its base URL."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._overrides: list[tuple[str, re.Pattern[str], list[Response]]] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._tls = tls
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing -------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(pattern + r"$"), fn))
            return fn

        return register

    def fail_next(self, method: str, pattern: str, *responses: Response) -> None:
        """Answer the next matching requests with ``responses`` (fault injection)."""
        with self._lock:
            self._overrides.append((method.upper(), re.compile(pattern + r"$"), list(responses)))

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        rx = re.compile(pattern + r"$")
        return [r for r in self.requests if r.method == method.upper() and rx.match(r.path)]

    def _dispatch(self, rec: Recorded) -> Response:
        with self._lock:
            self.requests.append(rec)
            for method, rx, queue in self._overrides:
                if method == rec.method and rx.match(rec.path) and queue:
                    return queue.pop(0)
        for method, rx, fn in self._routes:
            m = rx.match(rec.path)
            if method == rec.method and m:
                return fn(rec, m)
        return Response(404, {"error": f"no fake route for {rec.method} {rec.path}"})

    # -- lifecycle -----------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small responses otherwise wait ~40 ms for an ACK

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                resp = fake._dispatch(rec)
                if resp.delay:
                    threading.Event().wait(resp.delay)
                payload, ctype = resp.encode()
                try:
                    self.send_response(resp.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in resp.headers.items():
                        if k.lower() != "content-type":
                            self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        if self._tls:
            httpd.socket = self._tls.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
