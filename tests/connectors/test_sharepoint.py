"""Contract tests: the real office365-rest-python-client against tests/fakes/sharepoint.py."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

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
from connectors.sharepoint import DocumentLibrary, SharePointConfig, SharePointConnector
from tests.fakes.server import Response
from tests.fakes.sharepoint import FakeAcs, FakeSharePoint, sp_error
from tests.fakes.tls import ConnectTunnel, TestPki

FAST = ResiliencePolicy(
    timeout=0.5,
    attempts=3,
    backoff_initial=0.01,
    backoff_max=0.05,
    breaker_fail_max=3,
    breaker_reset_timeout=0.3,
)
FOLDER = r"/sites/team/_api/web/getFolderByServerRelativeUrl\(.*\)"
UPLOAD = r"/sites/team/_api/web/getFolderByServerRelativeUrl\(.*\)/Files/add\(.*\)"
ITEMS = r"/sites/team/_api/web/lists/GetByTitle\('Tasks'\)/items"


@pytest.fixture
def fake() -> Iterator[FakeSharePoint]:
    with FakeSharePoint() as sp:
        yield sp


def connect(fake: FakeSharePoint, policy: ResiliencePolicy = FAST, **config: str) -> SharePointConnector:
    settings = {"site_url": fake.site_url, "access_token": fake.token} | config
    return SharePointConnector(SharePointConfig(**settings), policy)


@pytest.fixture
def sp(fake: FakeSharePoint) -> SharePointConnector:
    return connect(fake)


# -- happy paths ------------------------------------------------------------------------


async def test_list_folder(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    fake.add_folder("Shared Documents/Reports")
    fake.add_folder("Shared Documents/Reports/2024")
    fake.add_file("Shared Documents/Reports/q1 summary.pdf", b"%PDF-1.7 fake")

    listing = await sp.list_folder("Shared Documents/Reports")

    assert listing.folder.server_relative_url == "/sites/team/Shared Documents/Reports"
    assert listing.folder.item_count == 2
    assert [f.name for f in listing.folders] == ["2024"]
    (pdf,) = listing.files
    assert (pdf.name, pdf.size) == ("q1 summary.pdf", 13)
    assert pdf.server_relative_url == "/sites/team/Shared Documents/Reports/q1 summary.pdf"
    assert pdf.url == f"{fake.server.url}/sites/team/Shared%20Documents/Reports/q1%20summary.pdf"
    assert pdf.modified is not None and pdf.modified.tzinfo == UTC
    assert abs((datetime.now(UTC) - pdf.modified).total_seconds()) < 60
    (request,) = fake.calls("GET", FOLDER)
    assert request.headers["authorization"] == f"Bearer {fake.token}"
    assert isinstance(sp, DocumentLibrary)


async def test_paths_may_be_site_relative_server_relative_or_links(
    fake: FakeSharePoint, sp: SharePointConnector
) -> None:
    for path in (
        "Shared Documents",
        "/sites/team/Shared Documents/",
        f"{fake.site_url}/Shared%20Documents",
    ):
        listing = await sp.list_folder(path)
        assert listing.folder.server_relative_url == "/sites/team/Shared Documents"
    assert len({r.path for r in fake.calls("GET", FOLDER)}) == 1


async def test_create_nested_folder_creates_parents(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    created = await sp.create_folder("Shared Documents/Clients/O'Brien & Sons/2025")
    assert created.server_relative_url == "/sites/team/Shared Documents/Clients/O'Brien & Sons/2025"
    assert created.url.endswith("/sites/team/Shared%20Documents/Clients/O%27Brien%20%26%20Sons/2025")
    assert {
        "/sites/team/Shared Documents/Clients",
        "/sites/team/Shared Documents/Clients/O'Brien & Sons",
        "/sites/team/Shared Documents/Clients/O'Brien & Sons/2025",
    } <= set(fake.folders)
    again = await sp.create_folder("Shared Documents/Clients")  # existing: fine
    assert again.item_count == 1


async def test_upload_then_download_round_trip(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    content = bytes(range(256)) * 4  # binary, not UTF-8
    uploaded = await sp.upload_file("Shared Documents", "blob.bin", content)
    assert (uploaded.name, uploaded.size) == ("blob.bin", 1024)
    assert fake.files["/sites/team/Shared Documents/blob.bin"][0] == content
    (post,) = fake.calls("POST", UPLOAD)
    assert post.headers["x-requestdigest"].startswith("0xFAKEDIGEST")  # asked contextinfo first

    downloaded = await sp.download_file("Shared Documents/blob.bin")
    assert downloaded.content == content
    assert downloaded.name == "blob.bin"

    await sp.upload_file("Shared Documents", "blob.bin", b"v2")  # replaces
    assert (await sp.download_file("Shared Documents/blob.bin")).content == b"v2"


async def test_create_and_delete_list_item(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    item = await sp.create_list_item("Tasks", {"Title": "Renew certificate", "Status": "Open"})
    stored = fake.lists["Tasks"].items[item.id]
    assert stored == {"Title": "Renew certificate", "Status": "Open"}
    assert (item.fields["Title"], item.fields["Status"]) == ("Renew certificate", "Open")
    assert fake.calls("POST", ITEMS)[0].json()["__metadata"] == {"type": "SP.Data.TasksListItem"}
    assert "/_layouts/15/listform.aspx?PageType=4&ListId=%7B" in item.url
    assert item.url.endswith(f"&ID={item.id}")

    await sp.delete_list_item("Tasks", item.id)
    assert fake.lists["Tasks"].items == {}
    with pytest.raises(NotFound, match="Item does not exist"):
        await sp.delete_list_item("Tasks", item.id)


# -- configuration and sign-in --------------------------------------------------------------


async def test_not_configured_names_the_variables() -> None:
    sp = SharePointConnector(SharePointConfig(site_url="https://x.sharepoint.com/sites/a"), FAST)
    assert (sp.configured, sp.health()) == (False, "not configured")
    with pytest.raises(NotConfigured) as err:
        await sp.list_folder("Shared Documents")
    assert "SHAREPOINT_ACCESS_TOKEN" in str(err.value) and "SHAREPOINT_CLIENT_ID" in str(err.value)


def test_secrets_stay_out_of_repr() -> None:
    config = SharePointConfig(site_url="https://x", client_id="id", client_secret="s3cret",
                              access_token="t0ken")  # fmt: skip
    assert "s3cret" not in repr(config) and "t0ken" not in repr(config)


async def test_bad_token_is_auth_failed(fake: FakeSharePoint) -> None:
    sp = connect(fake, access_token="expired")
    with pytest.raises(AuthFailed) as err:
        await sp.list_folder("Shared Documents")
    assert "Invalid JWT token" in str(err.value) and "SHAREPOINT_ACCESS_TOKEN" in str(err.value)
    assert len(fake.calls("GET", FOLDER)) == 1  # not retried
    assert sp.health() == "healthy"  # and not counted by the breaker


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki(tmp_path_factory.mktemp("pki"), ("accounts.accesscontrol.windows.net",))


@pytest.fixture
def acs(fake: FakeSharePoint, pki: TestPki, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAcs]:
    """ACS at its real https host name, reached through an HTTPS_PROXY tunnel."""
    with (
        FakeAcs(pki.server_context(), fake, "app-id", "app-secret") as acs,
        ConnectTunnel(acs.server.port) as tunnel,
    ):
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.ca_bundle)  # office365 passes no verify
        yield acs


async def test_client_credentials_sign_in_through_acs(fake: FakeSharePoint, acs: FakeAcs) -> None:
    sp = connect(fake, access_token="", client_id="app-id", client_secret="app-secret")
    await sp.list_folder("Shared Documents")
    await sp.upload_file("Shared Documents", "a.txt", b"a")

    assert len(fake.calls("HEAD", r"/sites/team/?")) == 1  # realm discovery
    assert acs.issued == ["acs-token-1"]  # one token, shared by every call
    assert {r.headers["authorization"] for r in fake.calls("GET", FOLDER)} == {"Bearer acs-token-1"}

    fake.tokens.discard("acs-token-1")  # revoked: the next call fails, the one after signs in anew
    with pytest.raises(AuthFailed):
        await sp.list_folder("Shared Documents")
    await sp.list_folder("Shared Documents")
    assert acs.issued == ["acs-token-1", "acs-token-2"]


async def test_wrong_client_secret_is_auth_failed(fake: FakeSharePoint, acs: FakeAcs) -> None:
    sp = connect(fake, access_token="", client_id="app-id", client_secret="wrong")
    with pytest.raises(AuthFailed) as err:
        await sp.list_folder("Shared Documents")
    assert "AADSTS7000215: Invalid client secret provided" in str(err.value)
    assert "SHAREPOINT_CLIENT_SECRET" in str(err.value)
    assert fake.calls("GET", FOLDER) == []


async def test_unreachable_acs_is_unavailable_not_auth_failed(
    fake: FakeSharePoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with ConnectTunnel(closed_port) as tunnel:
        monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
        sp = connect(fake, ResiliencePolicy(timeout=2, attempts=1), access_token="",
                     client_id="app-id", client_secret="app-secret")  # fmt: skip
        with pytest.raises(Unavailable):
            await sp.list_folder("Shared Documents")


# -- not found, field errors, bad input ---------------------------------------------------


async def test_missing_things_are_not_found(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    with pytest.raises(NotFound) as err:
        await sp.list_folder("Shared Documents/Nope")
    assert str(err.value) == "SharePoint has no folder '/sites/team/Shared Documents/Nope'."
    with pytest.raises(NotFound) as err:
        await sp.download_file("Shared Documents/x.txt")
    assert str(err.value) == "SharePoint has no file '/sites/team/Shared Documents/x.txt'."
    with pytest.raises(NotFound, match="no folder '/sites/team/Nope' to upload into"):
        await sp.upload_file("Nope", "a.txt", b"a")
    with pytest.raises(NotFound, match="List 'Backlog' does not exist"):
        await sp.create_list_item("Backlog", {"Title": "x"})


async def test_unknown_list_field_is_named(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    with pytest.raises(InvalidRequest) as err:
        await sp.create_list_item("Tasks", {"Title": "x", "Priorty": "High"})
    assert str(err.value) == "SharePoint says the field 'Priorty' does not exist in this list."
    assert err.value.field_errors == {"Priorty": "does not exist in this list"}
    assert fake.lists["Tasks"].items == {}


@pytest.mark.parametrize(
    "path",
    [
        "Shared Documents/../../other",
        "Shared Documents/what?.txt",
        "/sites/other/Shared Documents",
        "https://evil.example.com/sites/team/Shared Documents",
        "  ",
    ],
)
async def test_bad_paths_are_refused_before_any_request(
    fake: FakeSharePoint, sp: SharePointConnector, path: str
) -> None:
    with pytest.raises(InvalidRequest):
        await sp.list_folder(path)
    with pytest.raises(InvalidRequest):
        await sp.upload_file("Shared Documents", path, b"x")
    assert fake.server.requests == []


# -- faults: retries, timeouts, rate limits, breaker ------------------------------------


async def test_reads_retry_server_errors(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    fake.fail_next("GET", FOLDER, Response(500, {"error": {"code": "x", "message": "boom"}}))
    await sp.list_folder("Shared Documents")
    assert len(fake.calls("GET", FOLDER)) == 2

    fake.fail_next("GET", FOLDER, *[Response(503, "Service Unavailable")] * 3)
    with pytest.raises(Unavailable, match=r"server error \(HTTP 503\)"):
        await sp.list_folder("Shared Documents")
    assert len(fake.calls("GET", FOLDER)) == 2 + 3


async def test_writes_are_never_retried(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    fake.fail_next("POST", UPLOAD, Response(500, {"error": {"code": "x", "message": "boom"}}))
    with pytest.raises(Unavailable):
        await sp.upload_file("Shared Documents", "once.txt", b"1")
    fake.fail_next("POST", ITEMS, Response(429, {}, {"Retry-After": "0"}))
    with pytest.raises(RateLimited):
        await sp.create_list_item("Tasks", {"Title": "once"})
    assert len(fake.calls("POST", UPLOAD)) == 1
    assert len(fake.calls("POST", ITEMS)) == 1
    assert fake.files == {} and fake.lists["Tasks"].items == {}


async def test_timeouts_are_unavailable(fake: FakeSharePoint) -> None:
    sp = connect(fake, ResiliencePolicy(timeout=0.2, attempts=2, backoff_initial=0.01, backoff_max=0.02))
    slow = Response(200, {"d": {}}, delay=0.6)
    fake.fail_next("GET", FOLDER, slow, slow)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer"):
        await sp.list_folder("Shared Documents")
    assert time.monotonic() - started < 1.0
    assert len(fake.calls("GET", FOLDER)) == 2

    fake.fail_next("POST", UPLOAD, slow)
    with pytest.raises(Unavailable, match="did not answer"):
        await sp.upload_file("Shared Documents", "slow.txt", b"x")
    assert len(fake.calls("POST", UPLOAD)) == 1


async def test_429_with_retry_after(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    throttled = sp_error(429, "-2147024860, Microsoft.SharePoint.SPQueryThrottledException", "busy")
    fake.fail_next("GET", FOLDER, Response(429, throttled.body, {"Retry-After": "0"}))
    await sp.list_folder("Shared Documents")  # waited, retried

    fake.fail_next("GET", FOLDER, Response(429, throttled.body, {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as err:
        await sp.list_folder("Shared Documents")
    assert err.value.retry_after == 120.0
    assert len(fake.calls("GET", FOLDER)) == 3


async def test_malformed_json_is_unavailable(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    garbage = Response(200, '{"d": {"Name"', {"Content-Type": "application/json"})
    fake.fail_next("GET", FOLDER, garbage, garbage, garbage)
    with pytest.raises(Unavailable, match="malformed"):
        await sp.list_folder("Shared Documents")


async def test_malformed_error_body_keeps_its_status(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    fake.fail_next("GET", FOLDER, Response(401, "{oops", {"Content-Type": "application/json"}))
    with pytest.raises(AuthFailed):
        await sp.list_folder("Shared Documents")
    assert len(fake.calls("GET", FOLDER)) == 1


async def test_unexpected_answer_shape_is_unavailable(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    fake.fail_next("POST", ITEMS, Response(201, {"d": {"Title": "no id"}}))
    with pytest.raises(Unavailable, match="could not read"):
        await sp.create_list_item("Tasks", {"Title": "x"})


async def test_breaker_opens_then_closes_after_recovery(fake: FakeSharePoint) -> None:
    policy = ResiliencePolicy(timeout=0.5, attempts=1, breaker_fail_max=2, breaker_reset_timeout=0.2)
    outcomes: list[str] = []
    sp = SharePointConnector(
        SharePointConfig(site_url=fake.site_url, access_token=fake.token),
        policy,
        observer=lambda system, op, outcome, secs: outcomes.append(f"{system} {op} {outcome}"),
    )
    fake.fail_next("GET", FOLDER, Response(502), Response(502))
    for _ in range(2):
        with pytest.raises(Unavailable):
            await sp.list_folder("Shared Documents")
    with pytest.raises(CircuitOpen):
        await sp.download_file("Shared Documents/a.txt")
    assert len(fake.server.requests) == 2  # the open breaker did not call
    assert sp.health() == "circuit open"

    await asyncio.sleep(0.25)
    await sp.list_folder("Shared Documents")
    assert sp.health() == "healthy"
    assert outcomes == [
        "sharepoint list_folder Unavailable",
        "sharepoint list_folder Unavailable",
        "sharepoint download_file CircuitOpen",
        "sharepoint list_folder ok",
    ]


async def test_delete_folder_sends_it_to_the_recycle_bin(
    fake: FakeSharePoint, sp: SharePointConnector
) -> None:
    fake.add_folder("Shared Documents/Projects")
    fake.add_folder("Shared Documents/Projects/Apollo")
    fake.add_file("Shared Documents/Projects/Apollo/brief.md", b"# Apollo")

    await sp.delete_folder("Shared Documents/Projects/Apollo")

    assert fake.recycled == ["/sites/team/Shared Documents/Projects/Apollo"]
    assert "/sites/team/Shared Documents/Projects" in fake.folders
    assert not any("Apollo" in p for p in [*fake.folders, *fake.files])
    with pytest.raises(NotFound, match="Apollo"):
        await sp.delete_folder("Shared Documents/Projects/Apollo")


async def test_delete_folder_refuses_a_whole_library(fake: FakeSharePoint, sp: SharePointConnector) -> None:
    with pytest.raises(InvalidRequest, match="whole library"):
        await sp.delete_folder("Shared Documents")
    assert "/sites/team/Shared Documents" in fake.folders
