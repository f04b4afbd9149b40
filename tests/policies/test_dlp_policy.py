"""The DLP step of the chain, in and out, and the log scrubber."""

from __future__ import annotations

import logging

import pytest

from bot.logs import restore_log_records, scrub_log_records
from policies.dlp import DlpConfig, DlpScanner
from policies.dlp_policy import DlpPolicy
from policies.types import Decision, Principal, Reply, Request, Route, RouteKind, Source

CARD = "4111 1111 1111 1111"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def request(text: str) -> Request:
    return Request(
        id="r1",
        source=Source.SLASH,
        principal=Principal("U1"),
        text=f"ask {text}",
        channel="C1",
        route=Route(RouteKind.AGENT, "ask", "agent:ask", text),
    )


@pytest.fixture
def decisions() -> list[Decision]:
    return []


@pytest.fixture
def policy(decisions: list[Decision]) -> DlpPolicy:
    scanner = DlpScanner(DlpConfig())
    return DlpPolicy(lambda: scanner, lambda _, d: decisions.append(d))


async def test_blocked_input_never_reaches_the_handler(policy, decisions) -> None:
    seen: list[Request] = []

    async def handler(r: Request) -> Reply:
        seen.append(r)
        return Reply("ok")

    reply = await policy(request(f"charge {CARD} please"), handler)
    assert seen == []
    assert not reply.ok and "payment card" in reply.text and CARD not in reply.text
    [d] = decisions
    assert (d.policy, d.kind, d.rule) == ("dlp", "deny", "in:payment_card")
    assert CARD not in d.reason


async def test_redacted_input_reaches_the_handler_redacted_in_text_and_args(policy, decisions):
    seen: list[Request] = []

    async def handler(r: Request) -> Reply:
        seen.append(r)
        return Reply("done")

    await policy(request("call me on +44 20 7946 0958"), handler)
    [r] = seen
    assert "7946" not in r.text and "7946" not in r.route.args
    assert "[REDACTED:phone]" in r.route.args
    assert decisions[0].kind == "redact"


async def test_outbound_secret_is_withheld(policy, decisions) -> None:
    async def leaky(_: Request) -> Reply:
        return Reply(f"the key is {AWS_KEY}")

    reply = await policy(request("what is the key?"), leaky)
    assert AWS_KEY not in reply.text and not reply.ok and "withheld" in reply.text
    assert decisions[-1].rule == "out:secret"


async def test_outbound_redaction_covers_blocks_too(policy) -> None:
    async def chatty(_: Request) -> Reply:
        block = {"type": "section", "text": {"type": "mrkdwn", "text": "mail ops@corp.test"}}
        return Reply("mail ops@corp.test", blocks=(block,))

    reply = await policy(request("who?"), chatty)
    assert reply.ok and "ops@corp.test" not in reply.text
    assert "ops@corp.test" not in str(reply.blocks) and "[REDACTED:email]" in str(reply.blocks)


def test_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    scanner = DlpScanner(DlpConfig())
    scrub_log_records(lambda t: scanner.scan(t).text)
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("switchboard.test").info("user pasted %s", CARD)
    finally:
        restore_log_records()
    assert CARD not in caplog.text
    assert "[REDACTED:payment_card]" in caplog.text


def test_fingerprints_name_the_kind_and_a_stable_keyed_digest() -> None:
    keyed = DlpScanner(DlpConfig(), digest_key=b"deployment-key")
    first = keyed.fingerprint(f"card {CARD}")
    again = keyed.fingerprint(f"same card {CARD.replace(' ', '-')}")
    assert CARD not in first and first.startswith("card [REDACTED:payment_card:")
    assert first.split("card ", 1)[1] == again.split("card ", 1)[1]  # same value, same digest
    other_key = DlpScanner(DlpConfig(), digest_key=b"another").fingerprint(f"card {CARD}")
    assert other_key != first
    assert keyed.fingerprint("nothing to see") == "nothing to see"
