"""`POST /webhooks/{source}` over real HTTP: status codes, replay, and nothing ever a 500."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.app import build_runtime
from bot.webhooks.auth import WebhooksDisabled
from tests.fakes.slack import FakeSlack
from tests.hub import hub_settings
from tests.systems import running_systems
from tests.workflows.kit import Kit, kickoff_event, kit_hub, signed_headers


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    tmp = tmp_path_factory.mktemp("webhooks")
    policy = str(Path(__file__).parents[1] / "data" / "policy.yaml")
    with running_systems(tmp) as systems, FakeSlack() as slack, \
            kit_hub(systems, slack, f"sqlite:///{tmp / 'hub.db'}", policy) as k:
        yield k


def _runs(kit: Kit) -> int:
    from sqlalchemy import func, select

    from bot.workflows.models import WorkflowRun

    async def count() -> int:
        async with kit.hub.runtime.db.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(WorkflowRun))).scalar_one())

    return kit.hub.run(count())  # type: ignore[no-any-return]


def test_a_good_delivery_is_202_and_a_replay_starts_nothing_new(kit: Kit) -> None:
    body = kickoff_event(kit.ritm())
    headers = signed_headers(body, msg_id="msg_replay_1")
    first = kit.webhook(body, headers)
    assert first.status_code == 202 and first.json() == {"status": "accepted",
                                                         "id": "webhook:servicenow:msg_replay_1"}
    kit.finished("webhook:servicenow:msg_replay_1")
    runs = _runs(kit)
    epics = len(kit.systems.jira.issues)

    again = kit.webhook(body, signed_headers(body, msg_id="msg_replay_1"))  # re-signed, same id
    assert again.status_code == 202 and again.json()["status"] == "duplicate"
    kit.settle()
    assert _runs(kit) == runs and len(kit.systems.jira.issues) == epics
    metrics = kit.hub.http.get("/metrics").text
    assert 'switchboard_inbound_total{ingress="webhook",result="duplicate"} 1.0' in metrics


def test_bad_signature_and_stale_timestamp_are_401(kit: Kit) -> None:
    body = kickoff_event("RITM0010001")
    bad = signed_headers(body)
    bad["webhook-signature"] = "v1,AAAA"
    assert kit.webhook(body, bad).status_code == 401
    stale = signed_headers(body, timestamp=int(time.time()) - 600)
    response = kit.webhook(body, stale)
    assert response.status_code == 401 and "stale" in response.json()["error"]
    unsigned = {"content-type": "application/json"}
    assert kit.webhook(body, unsigned).status_code == 401
    metrics = kit.hub.http.get("/metrics").text
    assert 'switchboard_inbound_total{ingress="webhook",result="rejected"}' in metrics


def test_a_malformed_body_is_400_saying_what_is_wrong(kit: Kit) -> None:
    body = json.dumps({"type": "request_item.kickoff", "data": {"number": "42"}}).encode()
    response = kit.webhook(body)
    assert response.status_code == 400
    assert "data.number" in response.json()["error"]
    assert kit.webhook(b"not json").status_code == 400


def test_an_oversized_body_is_413(kit: Kit) -> None:
    body = b'{"type": "request_item.kickoff", "pad": "' + b"x" * (300 * 1024) + b'"}'
    assert kit.webhook(body).status_code == 413


def test_an_unknown_source_is_404(kit: Kit) -> None:
    body = kickoff_event("RITM0010001")
    assert kit.webhook(body, source="github").status_code == 404
    assert kit.webhook(body, source="../etc").status_code == 404


def test_a_bearer_source_without_a_schema_is_404_not_500(kit: Kit) -> None:
    body = kickoff_event("RITM0010001")
    response = kit.webhook(body, {"authorization": "Bearer tok-123"}, source="legacy")
    assert response.status_code == 404


@pytest.mark.parametrize("body", [b"", b"\xff\xfe\xfd", b"[]", b'{"type": null}', b"{" * 5000])
def test_junk_never_gets_a_500(kit: Kit, body: bytes) -> None:
    response = kit.webhook(body)
    assert 400 <= response.status_code < 500, response.text


def test_without_any_secret_webhooks_are_refused(sqlite_url: str, slack: FakeSlack) -> None:
    rt = build_runtime(hub_settings(sqlite_url, slack))
    assert rt.webhooks is not None
    with pytest.raises(WebhooksDisabled, match="SWITCHBOARD_WEBHOOK_SECRETS") as e:
        rt.webhooks.source("servicenow")
    assert e.value.status == 403


def test_without_any_secret_the_route_answers_403(tmp_path: Path, slack: FakeSlack) -> None:
    from tests.hub import running_hub

    settings = hub_settings(f"sqlite:///{tmp_path / 'x.db'}", slack)
    with running_hub(settings, process=False) as hub:
        response = httpx.post(f"{hub.url}/webhooks/servicenow", content=b"{}")
    assert response.status_code == 403 and "SWITCHBOARD_WEBHOOK_SECRETS" in response.json()["error"]
