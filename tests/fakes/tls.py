"""Network helpers for the vendor fakes: a test CA, a CONNECT tunnel, a snappier FakeServer.

Some vendor libraries only speak https (simple-salesforce builds every URL as
``https://{host}``), so their fakes must serve TLS with a certificate the
client trusts. ``TestPki`` makes a trustme CA, issues a server certificate for
127.0.0.1 (plus any vendor host names asked for) and writes the CA to a PEM
file that a connector receives as its ``ca_bundle``.

Password logins in simple-salesforce always go to ``https://{domain}.salesforce.com``.
We cannot fake DNS, but ``requests`` honours ``HTTPS_PROXY``: ``ConnectTunnel``
is a tiny HTTP CONNECT proxy that pipes every tunnel to one local fake, so the
real library performs the real TLS handshake (for the vendor host name) against
the fake. It records each CONNECT target so tests can assert where the client
thought it was going.

``FakeServerPlus`` wraps the shared ``tests/fakes/server.py`` base (which we do
not edit) with four things our fakes need: it answers HEAD (SharePoint's ACS
realm discovery sends one), it answers without Nagle delays, it stops in milliseconds instead of waiting out
``serve_forever``'s 0.5 s poll, and it stays quiet when a client hangs up in the
middle of a TLS write (what every timeout test does on purpose).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import ssl
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.fakes.server import FakeServer, Recorded


@dataclass
class TestPki:
    """A CA plus one server certificate; ``ca_bundle`` is the PEM path clients trust."""

    directory: Path
    hosts: tuple[str, ...] = ("127.0.0.1",)
    ca: trustme.CA = field(default_factory=trustme.CA)

    __test__ = False  # not a pytest test class, despite the name

    def __post_init__(self) -> None:
        self._leaf = self.ca.issue_cert(*self.hosts)
        self.ca_bundle = str(self.directory / "test-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_bundle)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._leaf.configure_cert(ctx)
        return ctx


class ConnectTunnel:
    """An HTTP CONNECT proxy sending every tunnel to ``127.0.0.1:target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.targets: list[str] = []  # "login.salesforce.com:443", as the client asked
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "tunnel not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ConnectTunnel:
        tunnel = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                tunnel._serve(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ConnectTunnel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = request_line.split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.targets.append(target)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(client, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 5.0)
        if not readable:
            return
        for sock in readable:
            with contextlib.suppress(OSError):
                data = sock.recv(65536)
                if data:
                    peers[sock].sendall(data)
                    continue
            return


class FakeServerPlus(FakeServer):
    """``FakeServer`` that also answers HEAD, stops fast and ignores client hang-ups."""

    def start(self) -> FakeServerPlus:
        super().start()
        httpd = self._httpd
        assert httpd is not None
        handler: Any = httpd.RequestHandlerClass
        handler.do_HEAD = lambda h: _answer_head(self, h)
        # Headers and body leave in two writes: without this, Nagle plus the client's
        # delayed ACK add ~40 ms to every keep-alive request.
        handler.disable_nagle_algorithm = True

        def handle_error(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
                ThreadingHTTPServer.handle_error(httpd, request, client_address)

        httpd.handle_error = handle_error  # type: ignore[method-assign]
        httpd.block_on_close = False  # do not wait for handlers still sleeping out a delay
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        port = self.port
        stopper = threading.Thread(target=super().stop)
        stopper.start()
        # serve_forever checks for shutdown only when select() wakes: wake it now.
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
            stopper.join(0.01)
        self._httpd = None

    def __enter__(self) -> FakeServerPlus:
        return self.start()


def _answer_head(server: FakeServer, h: BaseHTTPRequestHandler) -> None:
    parts = urlsplit(h.path)
    headers = {k.lower(): v for k, v in h.headers.items()}
    resp = server._dispatch(Recorded("HEAD", parts.path, parse_qs(parts.query), headers, b""))
    h.send_response(resp.status)
    for k, v in resp.headers.items():
        h.send_header(k, v)
    h.send_header("Content-Length", "0")
    h.end_headers()
