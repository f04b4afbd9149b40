"""Contract tests: the real pysnow client, over HTTP(S), against the Table API fake."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from connectors.errors import (
    AuthFailed,
    CircuitOpen,
    InvalidRequest,
    NotConfigured,
    NotFound,
    RateLimited,
    Unavailable,
)
from connectors.resilience import ResiliencePolicy
from connectors.servicenow import (
    Incident,
    IncidentDesk,
    ServiceNowConfig,
    ServiceNowConnector,
    host_and_ssl,
)
from tests.fakes.server import Response
from tests.fakes.servicenow import PASSWORD, TABLE, USER, FakeServiceNow, snow_error
from tests.fakes.tls import TestPki

FAST = ResiliencePolicy(
    timeout=2.0, attempts=3, backoff_initial=0.001, backoff_max=0.5,
    breaker_fail_max=50, breaker_reset_timeout=0.2,
)  # fmt: skip
INCIDENTS = TABLE.replace(r"(?P<table>\w+)", "incident")
INCIDENT = INCIDENTS + r"/[0-9a-f]{32}"
Observed = list[tuple[str, str, str, float]]


@pytest.fixture(scope="module")
def snow_server() -> Iterator[FakeServiceNow]:
    with FakeServiceNow() as fake:
        yield fake


@pytest.fixture
def snow(snow_server: FakeServiceNow) -> FakeServiceNow:
    snow_server.reset()
    seed(snow_server)
    return snow_server


def seed(fake: FakeServiceNow) -> None:
    dept = fake.insert("cmn_department", name="Site Reliability")
    fake.insert("sys_user", user_name="alice", name="Alice Adams", email="alice@example.com",
                title="SRE", department=dept["sys_id"], active="true")  # fmt: skip
    bob = fake.insert("sys_user", user_name="bob", name="Bob Brown", email="bob@example.com",
                      title="Engineer", active="true")  # fmt: skip
    fake.insert("incident", short_description="Email is down", description="No mail since 9am",
                assigned_to=bob["sys_id"], urgency="2",
                opened_at="2024-05-01 09:30:00")  # fmt: skip
    laptop = fake.insert("sc_cat_item", name="Standard Laptop")
    fake.insert("sc_req_item", short_description="Laptop for new hire", state="1",
                stage="request_approved", cat_item=laptop["sys_id"],
                requested_for=bob["sys_id"], opened_at="2024-05-02 08:00:00")  # fmt: skip


def make(url: str, policy: ResiliencePolicy = FAST, **config: str) -> tuple[ServiceNowConnector, Observed]:
    seen: Observed = []
    settings = {"url": url, "user": USER, "password": PASSWORD, **config}
    connector = ServiceNowConnector(ServiceNowConfig(**settings), policy, lambda *a: seen.append(a))
    return connector, seen


@pytest.fixture
def desk(snow: FakeServiceNow) -> ServiceNowConnector:
    return make(snow.url)[0]


# -- happy paths ---------------------------------------------------------------------------


async def test_get_incident(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    incident = await desk.get_incident("inc0010001")
    stored = snow.record("incident", number="INC0010001")
    assert stored is not None
    assert incident == Incident(
        number="INC0010001",
        sys_id=stored["sys_id"],
        short_description="Email is down",
        description="No mail since 9am",
        state="New",
        priority=4,
        urgency=2,
        assigned_to="Bob Brown",
        opened_at=datetime.fromisoformat("2024-05-01T09:30:00+00:00"),
        url=f"{snow.url}/incident.do?sys_id={stored['sys_id']}",
    )
    (call,) = snow.calls("GET", INCIDENTS)
    assert call.query["sysparm_query"] == ["number=INC0010001"]
    assert call.query["sysparm_display_value"] == ["all"]
    assert call.headers["authorization"].startswith("Basic ")


async def test_connector_satisfies_the_protocol(desk: ServiceNowConnector) -> None:
    assert isinstance(desk, IncidentDesk)
    assert desk.system == "servicenow"
    assert desk.configured
    assert desk.health() == "healthy"


async def test_create_incident_resolves_caller_email(snow: FakeServiceNow) -> None:
    desk, seen = make(snow.url)
    incident = await desk.create_incident(
        "VPN drops every hour",
        urgency=1,
        description="Since the upgrade",
        caller="alice@example.com",
    )
    assert incident.number == "INC0010003"  # the fake numbers all tables from one counter
    assert (incident.state, incident.urgency, incident.priority) == ("New", 1, 3)
    stored = snow.record("incident", number=incident.number)
    alice = snow.record("sys_user", email="alice@example.com")
    assert stored is not None and alice is not None
    assert stored["caller_id"] == alice["sys_id"]
    assert stored["description"] == "Since the upgrade"
    (post,) = snow.calls("POST", INCIDENTS)
    assert post.json() == {
        "short_description": "VPN drops every hour", "urgency": "1",
        "description": "Since the upgrade", "caller_id": alice["sys_id"],
    }  # fmt: skip
    assert [(op, out) for _, op, out, _ in seen] == [
        ("find_user_by_email", "ok"), ("create_incident", "ok"),
    ]  # fmt: skip


async def test_create_incident_with_unknown_caller_is_refused_before_writing(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    with pytest.raises(InvalidRequest, match=r"no user with the email nobody@example\.com") as err:
        await desk.create_incident("Printer on fire", caller="nobody@example.com")
    assert err.value.field_errors == {"caller": "nobody@example.com"}
    assert snow.calls("POST", INCIDENTS) == []


@pytest.mark.parametrize(
    ("short_description", "urgency", "fields"),
    [
        ("", 3, {"short_description"}),
        ("ok", 4, {"urgency"}),
        ("x" * 161, 0, {"short_description", "urgency"}),
    ],
)
async def test_create_incident_checks_input_without_calling(
    snow: FakeServiceNow, desk: ServiceNowConnector, short_description: str, urgency: int,
    fields: set[str],
) -> None:  # fmt: skip
    with pytest.raises(InvalidRequest) as caught:
        await desk.create_incident(short_description, urgency=urgency)
    assert set(caught.value.field_errors) == fields
    assert caught.value.message.startswith("ServiceNow says")
    assert snow.server.requests == []


async def test_update_incident(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    alice = snow.record("sys_user", user_name="alice")
    assert alice is not None
    incident = await desk.update_incident(
        "INC0010001", {"assigned_to": alice["sys_id"], "urgency": "1", "state": "2"}
    )
    assert (incident.assigned_to, incident.urgency, incident.state) == (
        "Alice Adams",
        1,
        "In Progress",
    )
    assert incident.priority == 3
    (patch,) = snow.calls("PATCH", INCIDENT)
    assert patch.path.endswith(incident.sys_id)
    assert patch.json() == {"assigned_to": alice["sys_id"], "urgency": "1", "state": "2"}


async def test_update_incident_rejects_odd_field_names(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    with pytest.raises(InvalidRequest, match=r"'state\^ORactive' is not a ServiceNow field name"):
        await desk.update_incident("INC0010001", {"state^ORactive": "1"})
    assert snow.server.requests == []


async def test_add_work_note(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    incident = await desk.add_work_note("INC0010001", "Restarted the mail relay")
    assert snow.work_notes[incident.sys_id] == ["Restarted the mail relay"]


async def test_resolve_incident(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    incident = await desk.resolve_incident("INC0010001", "Relay restarted", close_code="Workaround")
    assert incident.state == "Resolved"
    stored = snow.record("incident", number="INC0010001")
    assert stored is not None
    assert (stored["close_code"], stored["close_notes"]) == ("Workaround", "Relay restarted")


async def test_resolve_needs_close_notes(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    with pytest.raises(InvalidRequest, match="close notes") as caught:
        await desk.resolve_incident("INC0010001", "  ")
    assert caught.value.field_errors == {"close_notes": "is required"}
    assert snow.server.requests == []


async def test_open_incidents_by_priority_is_one_aggregate_call(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    # the seeded incident is P4 (impact 3, urgency 2); add P1 x2, a P3, and some not open
    for impact, urgency in (("1", "1"), ("1", "1"), ("2", "2")):
        snow.insert("incident", short_description="open", impact=impact, urgency=urgency)
    snow.insert("incident", short_description="resolved", impact="1", urgency="1", state="6",
                close_code="Solved", close_notes="done")  # fmt: skip
    snow.insert("incident", short_description="closed", impact="1", urgency="1", state="7")
    assert await desk.open_incidents_by_priority() == {1: 2, 3: 1, 4: 1}
    (call,) = snow.calls("GET", r"/api/now/stats/incident")
    assert call.query["sysparm_query"] == ["active=true^state!=6"]
    assert call.query["sysparm_count"] == ["true"]
    assert call.query["sysparm_group_by"] == ["priority"]
    assert snow.calls("GET", INCIDENTS) == []  # no record is listed, however many there are


async def test_open_incidents_by_priority_when_none_are_open(snow: FakeServiceNow) -> None:
    snow.reset()
    assert await make(snow.url)[0].open_incidents_by_priority() == {}


async def test_open_incidents_by_priority_retries_and_reports(snow: FakeServiceNow) -> None:
    desk, seen = make(snow.url)
    snow.fail_next("GET", r"/api/now/stats/incident", snow_error(503, "Busy"))
    assert await desk.open_incidents_by_priority() == {4: 1}
    for _ in range(3):
        snow.fail_next("GET", r"/api/now/stats/incident", snow_error(500, "Internal error"))
    with pytest.raises(Unavailable):
        await desk.open_incidents_by_priority()
    assert [s[:3] for s in seen][-1] == ("servicenow", "open_incidents_by_priority", "Unavailable")


async def test_get_request_item(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    ritm = await desk.get_request_item("RITM0010002")
    assert (ritm.number, ritm.short_description) == ("RITM0010002", "Laptop for new hire")
    assert (ritm.state, ritm.stage, ritm.item) == ("Open", "Request Approved", "Standard Laptop")
    assert ritm.requested_for == "Bob Brown"
    assert ritm.url == f"{snow.url}/sc_req_item.do?sys_id={ritm.sys_id}"
    assert snow.calls("GET", TABLE.replace(r"(?P<table>\w+)", "sc_req_item"))


async def test_find_user_by_email(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    alice = await desk.find_user_by_email("alice@example.com")
    assert alice is not None
    assert (alice.user_name, alice.name, alice.title) == ("alice", "Alice Adams", "SRE")
    assert (alice.department, alice.active) == ("Site Reliability", True)
    assert await desk.find_user_by_email("nobody@example.com") is None


async def test_find_user_rejects_query_injection(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    with pytest.raises(InvalidRequest, match="not an email address"):
        await desk.find_user_by_email("x@example.com^ORactive=true")
    assert snow.server.requests == []


async def test_unknown_incident_is_not_found(desk: ServiceNowConnector) -> None:
    with pytest.raises(NotFound, match=r"^ServiceNow has no incident INC0099999\.$"):
        await desk.get_incident("INC0099999")


async def test_malformed_number_is_refused(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    with pytest.raises(InvalidRequest, match="does not look like a ServiceNow number"):
        await desk.get_incident("INC001^ORnumber!=x")
    assert snow.server.requests == []


# -- configuration, URLs, TLS ------------------------------------------------------------------


async def test_not_configured_names_the_variables() -> None:
    desk = ServiceNowConnector(ServiceNowConfig(url="https://dev1.service-now.com"))
    assert not desk.configured
    assert desk.health() == "not configured"
    with pytest.raises(NotConfigured, match="SERVICENOW_URL, SERVICENOW_USER and SERVICENOW_PASSWORD"):
        await desk.get_incident("INC0010001")


def test_constructor_does_no_io(snow: FakeServiceNow) -> None:
    make(snow.url)
    make("https://does-not-resolve.invalid")
    assert snow.server.requests == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.service-now.com", ("acme.service-now.com", True)),
        ("https://acme.service-now.com/", ("acme.service-now.com", True)),
        ("http://127.0.0.1:8080", ("127.0.0.1:8080", False)),
        ("https://snow.corp:8443/proxy/snow/", ("snow.corp:8443/proxy/snow", True)),
        ("http://[::1]:9000", ("[::1]:9000", False)),
        ("https://user:pw@acme.service-now.com", ("acme.service-now.com", True)),
        ("dev12345", ("dev12345.service-now.com", True)),
        ("snow.corp:8443", ("snow.corp:8443", True)),
    ],
)
def test_host_and_ssl(url: str, expected: tuple[str, bool]) -> None:
    assert host_and_ssl(url) == expected


def test_host_and_ssl_refuses_other_schemes() -> None:
    with pytest.raises(NotConfigured, match="not a usable URL"):
        host_and_ssl("ftp://acme")


async def test_https_with_a_private_ca(tmp_path: Path) -> None:
    pki = TestPki(tmp_path)
    with FakeServiceNow(pki.server_context()) as fake:
        seed(fake)
        desk, _ = make(fake.url, ca_bundle=pki.ca_bundle)
        assert fake.url.startswith("https://")
        incident = await desk.get_incident("INC0010001")
        assert incident.url.startswith(f"{fake.url}/incident.do")


async def test_https_with_an_untrusted_certificate_is_unavailable(tmp_path: Path) -> None:
    pki = TestPki(tmp_path)
    with FakeServiceNow(pki.server_context()) as fake:
        desk, _ = make(fake.url, ResiliencePolicy(attempts=1))
        with pytest.raises(Unavailable, match="Could not reach ServiceNow"):
            await desk.get_incident("INC0010001")


# -- faults ----------------------------------------------------------------------------------


async def test_server_errors_on_reads_are_retried(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("GET", INCIDENTS, snow_error(500, "Internal error"), snow_error(503, "Busy"))
    incident = await desk.get_incident("INC0010001")
    assert incident.number == "INC0010001"
    assert len(snow.calls("GET", INCIDENTS)) == 3


async def test_persistent_server_error_is_unavailable(snow: FakeServiceNow) -> None:
    desk, seen = make(snow.url)
    snow.fail_next("GET", INCIDENTS, *[snow_error(500, "Transaction cancelled")] * 3)
    with pytest.raises(Unavailable, match=r"server error \(HTTP 500\): Transaction cancelled"):
        await desk.get_incident("INC0010001")
    assert len(snow.calls("GET", INCIDENTS)) == FAST.attempts
    assert seen[-1][1:3] == ("get_incident", "Unavailable")


async def test_writes_are_never_retried(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("POST", INCIDENTS, snow_error(503, "Busy"))
    with pytest.raises(Unavailable):
        await desk.create_incident("Disk full on db1")
    assert len(snow.calls("POST", INCIDENTS)) == 1
    assert snow.record("incident", short_description="Disk full on db1") is None

    snow.fail_next("PATCH", INCIDENT, snow_error(502, "Bad gateway"))
    with pytest.raises(Unavailable):
        await desk.add_work_note("INC0010001", "note")
    assert len(snow.calls("PATCH", INCIDENT)) == 1


async def test_timeout_is_unavailable_and_a_write_is_sent_once(snow: FakeServiceNow) -> None:
    desk, _ = make(snow.url, ResiliencePolicy(timeout=0.5, attempts=2, backoff_initial=0.001))
    snow.fail_next("GET", INCIDENTS, Response(200, {"result": []}, delay=1.5))
    assert (await desk.get_incident("INC0010001")).number == "INC0010001"  # second attempt
    snow.fail_next("POST", INCIDENTS, Response(201, {"result": {}}, delay=1.5))
    with pytest.raises(Unavailable, match="did not answer"):
        await desk.create_incident("Slow")
    assert len(snow.calls("POST", INCIDENTS)) == 1


async def test_rate_limit_honours_retry_after(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("GET", INCIDENTS, Response(429, {"error": {"message": "Too many"}},
                                              {"Retry-After": "0.3"}))  # fmt: skip
    started = asyncio.get_running_loop().time()
    await desk.get_incident("INC0010001")
    assert asyncio.get_running_loop().time() - started >= 0.3
    assert len(snow.calls("GET", INCIDENTS)) == 2


async def test_long_rate_limit_is_reported(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("GET", INCIDENTS, Response(429, None, {"Retry-After": "60"}))
    with pytest.raises(RateLimited, match="Try again in 60 s") as caught:
        await desk.get_incident("INC0010001")
    assert caught.value.retry_after == 60
    assert len(snow.calls("GET", INCIDENTS)) == 1


async def test_malformed_json_is_unavailable(snow: FakeServiceNow) -> None:
    desk, _ = make(snow.url, ResiliencePolicy(attempts=1))
    snow.fail_next("GET", INCIDENTS, Response(200, "<html>Instance hibernating</html>"))
    with pytest.raises(Unavailable, match="malformed"):
        await desk.get_incident("INC0010001")


async def test_missing_result_key_is_unavailable(snow: FakeServiceNow) -> None:
    desk, _ = make(snow.url, ResiliencePolicy(attempts=1))
    snow.fail_next("GET", INCIDENTS, Response(200, {"records": []}))
    with pytest.raises(Unavailable, match="could not read"):
        await desk.get_incident("INC0010001")


async def test_bad_credentials(snow: FakeServiceNow) -> None:
    desk, seen = make(snow.url, password="wrong")
    with pytest.raises(AuthFailed, match="rejected Switchboard's credentials"):
        await desk.get_incident("INC0010001")
    assert len(snow.calls("GET", INCIDENTS)) == 1  # not retried
    assert seen[-1][2] == "AuthFailed"


async def test_forbidden_is_auth_failed(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("GET", INCIDENTS, snow_error(403, "Insufficient rights", "ACL on incident"))
    with pytest.raises(AuthFailed, match="lacks permission: Insufficient rights; ACL on incident"):
        await desk.get_incident("INC0010001")


async def test_http_404_is_not_found(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("GET", INCIDENTS, snow_error(404, "No Record found", "ACL restricts retrieval"))
    with pytest.raises(NotFound, match="No Record found"):
        await desk.get_incident("INC0010001")


async def test_bad_request_with_field_errors(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    detail = "Data Policy Exception: \n\tThe following fields are mandatory: Caller, Category\n"
    snow.fail_next("POST", INCIDENTS, snow_error(400, "Operation Failed", detail))
    with pytest.raises(InvalidRequest) as caught:
        await desk.create_incident("Keyboard broken")
    assert caught.value.field_errors == {"Caller": "is mandatory", "Category": "is mandatory"}
    assert caught.value.message == (
        "ServiceNow says: the field 'Caller' is mandatory; the field 'Category' is mandatory."
    )


async def test_bad_request_without_field_errors(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    snow.fail_next("POST", INCIDENTS, snow_error(400, "Invalid JSON payload"))
    with pytest.raises(InvalidRequest, match=r"rejected the request \(HTTP 400\): Invalid JSON"):
        await desk.create_incident("Keyboard broken")


async def test_data_policy_on_resolve_names_the_fields(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    with pytest.raises(InvalidRequest) as caught:  # 403 from the platform, yet not AuthFailed
        await desk.update_incident("INC0010001", {"state": "6"})
    assert set(caught.value.field_errors) == {"Resolution code", "Resolution notes"}


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    desk, _ = make(f"http://127.0.0.1:{port}", ResiliencePolicy(attempts=1))
    with pytest.raises(Unavailable, match="Could not reach ServiceNow"):
        await desk.get_incident("INC0010001")


async def test_breaker_opens_and_recovers(snow: FakeServiceNow) -> None:
    policy = ResiliencePolicy(attempts=1, breaker_fail_max=2, breaker_reset_timeout=0.5)
    desk, seen = make(snow.url, policy)
    snow.fail_next("GET", INCIDENTS, snow_error(500, "down"), snow_error(500, "down"))
    for _ in range(2):
        with pytest.raises(Unavailable):
            await desk.get_incident("INC0010001")
    assert desk.health() == "circuit open"

    with pytest.raises(CircuitOpen, match="paused calls"):
        await desk.get_incident("INC0010001")
    assert len(snow.calls("GET", INCIDENTS)) == 2  # failing fast: nothing sent
    assert seen[-1][2] == "CircuitOpen"

    await asyncio.sleep(0.55)
    assert (await desk.get_incident("INC0010001")).number == "INC0010001"
    assert desk.health() == "healthy"


# -- requested items and work notes (the kickoff workflow's operations) ----------------------


async def test_update_request_item_changes_state_and_adds_a_note_in_one_patch(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    ritm = snow.record("sc_req_item", short_description="Laptop for new hire")
    assert ritm is not None
    before = await desk.get_request_item(ritm["number"])
    assert before.state_code == "1"

    updated = await desk.update_request_item(ritm["number"], {"state": "2"}, "Kicked off sbk0001")

    assert (updated.state, updated.state_code) == ("Work in Progress", "2")
    (patch,) = snow.calls("PATCH", TABLE.replace(r"(?P<table>\w+)", "sc_req_item") + r"/[0-9a-f]{32}")
    assert patch.json() == {"state": "2", "work_notes": "Kicked off sbk0001"}
    assert snow.work_notes[ritm["sys_id"]] == ["Kicked off sbk0001"]


async def test_update_request_item_refuses_odd_fields_and_empty_updates(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    with pytest.raises(InvalidRequest, match="Nothing to update"):
        await desk.update_request_item("RITM0010001", {})
    with pytest.raises(InvalidRequest, match="state=1"):
        await desk.update_request_item("RITM0010001", {"state=1^x": "2"})
    assert not snow.calls("PATCH")


async def test_find_work_notes_reads_the_journal(snow: FakeServiceNow, desk: ServiceNowConnector) -> None:
    inc = snow.record("incident", short_description="Email is down")
    assert inc is not None
    await desk.add_work_note(inc["number"], "Linked OPS-7 (sbkabc123)")
    await desk.add_work_note(inc["number"], "Unrelated")

    assert await desk.find_work_notes(inc["number"], "sbkabc123") == ["Linked OPS-7 (sbkabc123)"]
    assert await desk.find_work_notes(inc["number"], "sbkzzz999") == []
    query = snow.calls("GET", TABLE.replace(r"(?P<table>\w+)", "sys_journal_field"))[-1].query
    assert query["sysparm_query"][0].startswith(f"element_id={inc['sys_id']}^element=work_notes^")


async def test_find_work_notes_refuses_query_operators(
    snow: FakeServiceNow, desk: ServiceNowConnector
) -> None:
    with pytest.raises(InvalidRequest):
        await desk.find_work_notes("INC0010001", "x^ORactive=true")
    assert not snow.calls("GET")
