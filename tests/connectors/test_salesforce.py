"""Contract tests: the real simple-salesforce, over TLS, against tests/fakes/salesforce.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date, timedelta

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
from connectors.salesforce import Crm, SalesforceConfig, SalesforceConnector
from tests.fakes.salesforce import DATA, FakeSalesforce, sf_error
from tests.fakes.server import Response
from tests.fakes.tls import ConnectTunnel, TestPki

FAST = ResiliencePolicy(
    timeout=0.5,
    attempts=3,
    backoff_initial=0.01,
    backoff_max=0.05,
    breaker_fail_max=3,
    breaker_reset_timeout=0.3,
)
SOBJECT = rf"{DATA}/sobjects/\w+/\w*"
CREATE = rf"{DATA}/sobjects/\w+/?"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    hosts = ("127.0.0.1", "login.salesforce.com", "acme.my.salesforce.com")
    return TestPki(tmp_path_factory.mktemp("pki"), hosts)


@pytest.fixture
def fake(pki: TestPki) -> Iterator[FakeSalesforce]:
    with FakeSalesforce(pki.server_context()) as sf:
        yield sf


def connect(
    fake: FakeSalesforce, pki: TestPki, policy: ResiliencePolicy = FAST, **config: str
) -> SalesforceConnector:
    settings = {"url": fake.url, "session_id": fake.session_id, "ca_bundle": pki.ca_bundle}
    return SalesforceConnector(SalesforceConfig(**(settings | config)), policy)


@pytest.fixture
def sf(fake: FakeSalesforce, pki: TestPki) -> SalesforceConnector:
    return connect(fake, pki)


# -- happy paths ------------------------------------------------------------------------


async def test_opportunity_round_trip(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    account = await sf.create_account("Acme Corp")
    created = await sf.create_opportunity(
        "Acme renewal", stage="Qualification", close_date=date(2025, 6, 30),
        amount=125000.0, account_id=account.id,
    )  # fmt: skip
    sent = fake.calls("POST", CREATE)[-1]
    assert sent.path.endswith("/sobjects/Opportunity/")
    assert sent.json() == {"Name": "Acme renewal", "StageName": "Qualification",
                           "CloseDate": "2025-06-30", "Amount": 125000.0,
                           "AccountId": account.id}  # fmt: skip
    assert sent.headers["authorization"] == f"Bearer {fake.session_id}"

    got = await sf.get_opportunity(created.id)
    assert got == created
    assert got.url == f"{fake.url}/lightning/r/Opportunity/{created.id}/view"
    assert isinstance(sf, Crm)


async def test_create_opportunity_defaults_to_prospecting_closing_in_30_days(
    fake: FakeSalesforce, sf: SalesforceConnector
) -> None:
    created = await sf.create_opportunity("Quick win")
    stored = fake.records["Opportunity"][created.id]
    assert stored["StageName"] == created.stage == "Prospecting"
    assert stored["CloseDate"] == (date.today() + timedelta(days=30)).isoformat()
    assert "Amount" not in stored and "AccountId" not in stored
    assert (created.amount, created.account_id) == (None, None)


async def test_update_opportunity_sends_only_the_changes(
    fake: FakeSalesforce, sf: SalesforceConnector
) -> None:
    opp_id = fake.seed("Opportunity", Name="Deal", StageName="Prospecting", CloseDate="2025-01-31")
    await sf.update_opportunity(opp_id, {"stage": "Closed Won", "amount": 5000.0,
                                         "close_date": date(2025, 2, 1)})  # fmt: skip
    assert fake.calls("PATCH", SOBJECT)[-1].json() == {
        "StageName": "Closed Won", "Amount": 5000.0, "CloseDate": "2025-02-01"
    }  # fmt: skip
    got = await sf.get_opportunity(opp_id)
    assert (got.name, got.stage, got.amount, got.close_date) == (
        "Deal", "Closed Won", 5000.0, date(2025, 2, 1)
    )  # fmt: skip


async def test_delete_opportunity_then_get_is_not_found(
    fake: FakeSalesforce, sf: SalesforceConnector
) -> None:
    opp_id = fake.seed("Opportunity", Name="Gone", StageName="Prospecting", CloseDate="2025-01-31")
    await sf.delete_opportunity(opp_id)
    assert opp_id not in fake.records["Opportunity"]
    with pytest.raises(NotFound) as err:
        await sf.get_opportunity(opp_id)
    assert str(err.value) == f"Salesforce has no Opportunity with id '{opp_id}'."


async def test_account_create_get_update_delete(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    account = await sf.create_account("Initech")
    assert (await sf.get_account(account.id)) == account
    await sf.update_account(account.id, {"name": "Initech LLC"})
    assert (await sf.get_account(account.id)).name == "Initech LLC"
    await sf.delete_account(account.id)
    with pytest.raises(NotFound):
        await sf.delete_account(account.id)


async def test_query_returns_records_total_and_done(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    for name in ("A", "B", "C"):
        fake.seed("Opportunity", Name=name, StageName="Prospecting", CloseDate="2025-01-31")
    fake.seed("Opportunity", Name="D", StageName="Closed Won", CloseDate="2025-01-31")

    result = await sf.query("SELECT Id, Name FROM Opportunity WHERE StageName = 'Prospecting'")
    assert [r["Name"] for r in result.records] == ["A", "B", "C"]
    assert all(set(r) == {"Id", "Name"} for r in result.records)  # no "attributes"
    assert (result.total_size, result.done) == (3, True)
    assert fake.calls("GET", rf"{DATA}/query/?")[-1].query["q"] == [
        "SELECT Id, Name FROM Opportunity WHERE StageName = 'Prospecting'"
    ]

    fake.batch_size = 2
    page = await sf.query("SELECT Name FROM Opportunity")
    assert (len(page.records), page.total_size, page.done) == (2, 4, False)


# -- configuration, TLS and login ---------------------------------------------------------


async def test_not_configured_names_the_variables() -> None:
    sf = SalesforceConnector(SalesforceConfig(), FAST)
    assert (sf.configured, sf.health()) == (False, "not configured")
    with pytest.raises(NotConfigured) as err:
        await sf.get_account("001000000000001")
    assert "SALESFORCE_URL" in str(err.value) and "SALESFORCE_USERNAME" in str(err.value)


def test_secrets_stay_out_of_repr() -> None:
    config = SalesforceConfig(url="https://x", session_id="00Dsecret", password="pw-secret",
                              security_token="tok-secret", username="u")  # fmt: skip
    assert "secret" not in repr(config)


async def test_ca_bundle_wins_over_requests_environment_variables(
    fake: FakeSalesforce, pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would let these override Session.verify; the connector must not.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    account_id = fake.seed("Account", Name="Trusted")
    assert (await connect(fake, pki).get_account(account_id)).name == "Trusted"


async def test_url_without_scheme_means_https(fake: FakeSalesforce, pki: TestPki) -> None:
    account_id = fake.seed("Account", Name="Bare host")
    sf = connect(fake, pki, url=fake.url.removeprefix("https://"))
    assert (await sf.get_account(account_id)).url.startswith(f"{fake.url}/lightning/r/Account/")


async def test_untrusted_certificate_is_unavailable(fake: FakeSalesforce, pki: TestPki) -> None:
    sf = SalesforceConnector(SalesforceConfig(url=fake.url, session_id=fake.session_id), FAST)
    with pytest.raises(Unavailable, match="Could not reach Salesforce"):
        await sf.get_account("001000000000001")


@pytest.fixture
def tunnel(fake: FakeSalesforce, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectTunnel]:
    """Route https://*.salesforce.com (and everything else) to the fake via HTTPS_PROXY."""
    with ConnectTunnel(fake.server.port) as t:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", t.url)
        yield t


def password_config(pki: TestPki, **overrides: str) -> SalesforceConfig:
    values = {"username": "ops@example.com", "password": "hunter2",
              "security_token": "TOKEN42", "ca_bundle": pki.ca_bundle} | overrides  # fmt: skip
    return SalesforceConfig(**values)


async def test_password_login_uses_soap_at_login_salesforce_com(
    fake: FakeSalesforce, pki: TestPki, tunnel: ConnectTunnel
) -> None:
    account_id = fake.seed("Account", Name="Via login")
    sf = SalesforceConnector(password_config(pki), FAST)
    assert (await sf.get_account(account_id)).name == "Via login"

    assert tunnel.targets[0] == "login.salesforce.com:443"
    (login,) = fake.calls("POST", r"/services/Soap/u/59\.0")
    assert login.headers["soapaction"] == "login"
    assert b"<n1:username>ops@example.com</n1:username>" in login.body
    assert b"<n1:password>hunter2TOKEN42</n1:password>" in login.body
    rest = fake.calls("GET", SOBJECT)[-1]
    assert rest.headers["authorization"].startswith("Bearer 00Dfake!login-")


async def test_password_login_honours_domain(
    fake: FakeSalesforce, pki: TestPki, tunnel: ConnectTunnel
) -> None:
    account_id = fake.seed("Account", Name="My Domain")
    sf = SalesforceConnector(password_config(pki, domain="acme.my"), FAST)
    await sf.get_account(account_id)
    assert tunnel.targets[0] == "acme.my.salesforce.com:443"


async def test_expired_session_logs_in_again(
    fake: FakeSalesforce, pki: TestPki, tunnel: ConnectTunnel
) -> None:
    account_id = fake.seed("Account", Name="Again")
    sf = SalesforceConnector(password_config(pki), FAST)
    await sf.get_account(account_id)
    fake.expire_sessions()
    assert (await sf.get_account(account_id)).name == "Again"
    assert len(fake.calls("POST", r"/services/Soap/u/59\.0")) == 2


async def test_security_token_is_optional(fake: FakeSalesforce, pki: TestPki, tunnel: ConnectTunnel) -> None:
    # Orgs that trust Switchboard's IP range issue no token; the password goes alone.
    config = SalesforceConfig(username="ops@example.com", password="hunter2TOKEN42", ca_bundle=pki.ca_bundle)
    assert config.configured
    account_id = fake.seed("Account", Name="No token")
    assert (await SalesforceConnector(config, FAST).get_account(account_id)).name == "No token"


async def test_wrong_password_is_auth_failed_and_not_retried(
    fake: FakeSalesforce, pki: TestPki, tunnel: ConnectTunnel
) -> None:
    sf = SalesforceConnector(password_config(pki, password="wrong"), FAST)
    with pytest.raises(AuthFailed) as err:
        await sf.get_account("001000000000001")
    assert str(err.value).startswith(
        "Salesforce login failed (INVALID_LOGIN): Invalid username, password, security token"
    )
    assert len(fake.calls("POST", r"/services/Soap/u/59\.0")) == 1
    assert sf.health() == "healthy"  # bad credentials do not trip the breaker


async def test_bad_session_id_is_auth_failed(fake: FakeSalesforce, pki: TestPki) -> None:
    sf = connect(fake, pki, session_id="00Dexpired")
    with pytest.raises(AuthFailed) as err:
        await sf.get_account("001000000000001")
    assert "Session expired or invalid" in str(err.value)
    assert "SALESFORCE_SESSION_ID" in str(err.value)
    assert len(fake.calls("GET", SOBJECT)) == 1


# -- field errors -----------------------------------------------------------------------


async def test_missing_required_field_names_it(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    fake.fail_next("POST", CREATE, sf_error(400, "REQUIRED_FIELD_MISSING",
                                            "Required fields are missing: [StageName]",
                                            ["StageName"]))  # fmt: skip
    with pytest.raises(InvalidRequest) as err:
        await sf.create_opportunity("No stage")
    assert str(err.value) == "Salesforce says the field 'StageName' is required."
    assert err.value.field_errors == {"StageName": "is required"}


async def test_empty_name_is_reported_by_salesforce(sf: SalesforceConnector) -> None:
    with pytest.raises(InvalidRequest) as err:
        await sf.create_opportunity("")
    assert err.value.field_errors == {"Name": "is required"}


async def test_bad_picklist_and_unknown_account_name_the_field(
    fake: FakeSalesforce, sf: SalesforceConnector
) -> None:
    with pytest.raises(InvalidRequest) as err:
        await sf.create_opportunity("Deal", stage="Maybe")
    assert err.value.field_errors == {"StageName": "Stage: bad value for restricted picklist field: Maybe"}
    assert str(err.value).startswith("Salesforce says the field 'StageName' is not valid")

    with pytest.raises(InvalidRequest) as err:
        await sf.create_opportunity("Deal", account_id="001000000000999AAA")
    assert list(err.value.field_errors) == ["AccountId"]


async def test_bad_soql_is_invalid_request(sf: SalesforceConnector) -> None:
    with pytest.raises(InvalidRequest) as err:
        await sf.query("SELECT Nope FROM Opportunity")
    assert err.value.field_errors == {"Nope": "no such field"}
    with pytest.raises(InvalidRequest, match="unexpected token"):
        await sf.query("SELEKT everything")


async def test_inputs_are_checked_before_any_request(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    with pytest.raises(InvalidRequest, match="not a Salesforce record id"):
        await sf.get_opportunity("../query?q=x")
    with pytest.raises(InvalidRequest) as err:
        await sf.update_opportunity("006000000000001", {"probability": 50})
    assert err.value.field_errors == {"probability": "cannot be changed here"}
    assert fake.server.requests == []


# -- faults: retries, timeouts, rate limits, breaker ------------------------------------


async def test_reads_retry_server_errors(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    account_id = fake.seed("Account", Name="Flaky")
    fake.fail_next("GET", SOBJECT, Response(500, [{"message": "boom", "errorCode": "UNKNOWN"}]))
    assert (await sf.get_account(account_id)).name == "Flaky"
    assert len(fake.calls("GET", SOBJECT)) == 2

    fake.fail_next("GET", SOBJECT, *[Response(503, "Service Unavailable")] * 3)
    with pytest.raises(Unavailable, match=r"server error \(HTTP 503\)"):
        await sf.get_account(account_id)
    assert len(fake.calls("GET", SOBJECT)) == 2 + 3


async def test_writes_are_never_retried(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    fake.fail_next("POST", CREATE, Response(500, [{"message": "boom", "errorCode": "UNKNOWN"}]))
    with pytest.raises(Unavailable):
        await sf.create_account("Once only")
    fake.fail_next("DELETE", SOBJECT, Response(429, [], {"Retry-After": "0"}))
    with pytest.raises(RateLimited):
        await sf.delete_account("001000000000001")
    assert len(fake.calls("POST", CREATE)) == 1
    assert len(fake.calls("DELETE", SOBJECT)) == 1
    assert fake.records["Account"] == {}


async def test_timeouts_are_unavailable(fake: FakeSalesforce, pki: TestPki) -> None:
    policy = ResiliencePolicy(timeout=0.2, attempts=2, backoff_initial=0.01, backoff_max=0.02)
    sf = connect(fake, pki, policy)
    slow = Response(200, {"Id": "x"}, delay=0.6)
    fake.fail_next("GET", SOBJECT, slow, slow)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer"):
        await sf.get_account("001000000000001")
    assert time.monotonic() - started < 1.0
    assert len(fake.calls("GET", SOBJECT)) == 2

    fake.fail_next("POST", CREATE, slow)
    with pytest.raises(Unavailable, match="did not answer"):
        await sf.create_account("Slow")
    assert len(fake.calls("POST", CREATE)) == 1


async def test_429_with_retry_after(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    account_id = fake.seed("Account", Name="Busy")
    fake.fail_next("GET", SOBJECT, Response(429, [], {"Retry-After": "0"}))
    assert (await sf.get_account(account_id)).name == "Busy"  # waited, retried

    fake.fail_next("GET", SOBJECT, Response(429, [], {"Retry-After": "30"}))
    with pytest.raises(RateLimited) as err:
        await sf.get_account(account_id)
    assert err.value.retry_after == 30.0  # too long to hold a person: not retried
    assert len(fake.calls("GET", SOBJECT)) == 3


async def test_api_limit_exceeded_is_rate_limited(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    fake.fail_next("GET", rf"{DATA}/query/?", *[sf_error(
        403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")] * 3)  # fmt: skip
    with pytest.raises(RateLimited, match="TotalRequests Limit exceeded"):
        await sf.query("SELECT Id FROM Account")


async def test_malformed_json_is_unavailable(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    garbage = Response(200, '{"Id": "001', {"Content-Type": "application/json"})
    fake.fail_next("GET", SOBJECT, garbage, garbage, garbage)
    with pytest.raises(Unavailable, match="malformed"):
        await sf.get_account("001000000000001")


async def test_unexpected_record_shape_is_unavailable(fake: FakeSalesforce, sf: SalesforceConnector) -> None:
    fake.fail_next("GET", SOBJECT, *[Response(200, {"attributes": {"type": "Account"}})] * 3)
    with pytest.raises(Unavailable, match="could not read"):
        await sf.get_account("001000000000001")


async def test_breaker_opens_then_closes_after_recovery(fake: FakeSalesforce, pki: TestPki) -> None:
    policy = ResiliencePolicy(timeout=0.5, attempts=1, breaker_fail_max=2,
                              breaker_reset_timeout=0.2)  # fmt: skip
    outcomes: list[tuple[str, str, str]] = []
    sf = SalesforceConnector(
        SalesforceConfig(url=fake.url, session_id=fake.session_id, ca_bundle=pki.ca_bundle),
        policy, observer=lambda system, op, outcome, secs: outcomes.append((system, op, outcome)),
    )  # fmt: skip
    account_id = fake.seed("Account", Name="Back")
    fake.fail_next("GET", SOBJECT, Response(500), Response(500))
    for _ in range(2):
        with pytest.raises(Unavailable):
            await sf.get_account(account_id)
    with pytest.raises(CircuitOpen):
        await sf.get_account(account_id)
    assert len(fake.calls("GET", SOBJECT)) == 2  # the open breaker did not call
    assert sf.health() == "circuit open"

    await asyncio.sleep(0.25)
    assert (await sf.get_account(account_id)).name == "Back"
    assert sf.health() == "healthy"
    assert outcomes == [
        ("salesforce", "get_account", "Unavailable"),
        ("salesforce", "get_account", "Unavailable"),
        ("salesforce", "get_account", "CircuitOpen"),
        ("salesforce", "get_account", "ok"),
    ]
