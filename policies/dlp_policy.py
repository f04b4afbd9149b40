"""DLP as a step of the chain: scan what comes in before anything sees it, and what goes out.

Inbound, a block stops the request (nothing reaches a model, a connector or a
log) and a redact passes the redacted text on. Outbound, a blocked reply is
withheld and a redacted one is sent redacted. Decisions name the kinds found,
never the values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from policies.chain import DecisionSink, Next
from policies.dlp import DlpScanner, ScanResult
from policies.types import Decision, Reply, Request

_KIND_WORDS = {"payment_card": "a payment card number", "us_ssn": "a social security number",
               "iban": "a bank account number (IBAN)", "secret": "a secret (key, token or password)",
               "email": "an email address", "phone": "a phone number"}


class DlpPolicy:
    name = "dlp"

    def __init__(self, scanner: Callable[[], DlpScanner], record: DecisionSink) -> None:
        self._scanner = scanner  # a getter: the policy file may be reloaded under us
        self._record = record

    async def __call__(self, request: Request, call_next: Next) -> Reply:
        scanner = self._scanner()
        found = scanner.scan(request.text, request.channel)
        if found.blocked:
            self._record(request, Decision("dlp", "deny", f"in:{_kinds(found)}", found.summary()))
            return Reply.error(
                f":lock: I did not process that: it looks like it contains {_words(found)}. "
                "Nothing was sent anywhere. Remove it and try again.")
        if found.findings and found.action == "redact":
            self._record(request, Decision("dlp", "redact", f"in:{_kinds(found)}", found.summary()))
            request = _redacted(request, scanner, found)
        else:
            self._record(request, Decision("dlp", "allow", "in:clean"))
        reply = await call_next(request)
        return self._outbound(request, reply, scanner)

    def _outbound(self, request: Request, reply: Reply, scanner: DlpScanner) -> Reply:
        found = scanner.scan(reply.text, request.channel)
        blocks, in_blocks = scanner.scan_value(list(reply.blocks), request.channel)
        if not found.findings and not in_blocks.findings:
            return reply
        kinds = ",".join(sorted({f.kind for f in (*found.findings, *in_blocks.findings)}))
        if found.blocked or in_blocks.blocked:
            self._record(request, Decision("dlp", "deny", f"out:{kinds}", found.summary()))
            return Reply.error(":lock: I withheld my reply because it contained data that may not "
                               f"be posted here ({kinds}). An admin can see the audit log.")
        self._record(request, Decision("dlp", "redact", f"out:{kinds}", found.summary()))
        return reply.with_text(found.text, tuple(blocks))  # type: ignore[arg-type]


def _redacted(request: Request, scanner: DlpScanner, found: ScanResult) -> Request:
    route = request.route
    if route is not None:
        route = dataclasses.replace(route, args=scanner.scan(route.args, request.channel).text)
    return dataclasses.replace(request, text=found.text, route=route)


def _kinds(found: ScanResult) -> str:
    return ",".join(sorted({f.kind for f in found.findings}))


def _words(found: ScanResult) -> str:
    kinds = sorted({f.kind for f in found.findings if f.action == "block"})
    return " and ".join(_KIND_WORDS.get(k, k) for k in kinds)
