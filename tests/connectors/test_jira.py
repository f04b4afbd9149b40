"""Contract tests: the real ``jira`` library, over HTTP(S), against a Cloud or Server fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
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
from connectors.jira import IssueTracker, JiraConfig, JiraConnector, JiraIssue
from connectors.resilience import ResiliencePolicy
from tests.fakes.jira import API, EPIC_LINK, EPIC_NAME, TOKEN, USER, FakeJira, jira_error
from tests.fakes.server import Response
from tests.fakes.tls import TestPki

FAST = ResiliencePolicy(
    timeout=2.0, attempts=3, backoff_initial=0.001, backoff_max=0.5,
    breaker_fail_max=50, breaker_reset_timeout=0.2,
)  # fmt: skip
ISSUE = API + r"/issue/[^/]+"
CREATE = API + r"/issue"
SERVER_INFO = API + r"/serverInfo"
Observed = list[tuple[str, str, str, float]]


@pytest.fixture(scope="module")
def jira_server() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


@pytest.fixture(params=["server", "cloud"])
def jira(request: pytest.FixtureRequest, jira_server: FakeJira) -> FakeJira:
    """The fake in both deployments: every test using this runs against each."""
    jira_server.reset(cloud=request.param == "cloud")
    seed(jira_server)
    return jira_server


@pytest.fixture
def server_jira(jira_server: FakeJira) -> FakeJira:
    jira_server.reset(cloud=False)
    seed(jira_server)
    return jira_server


def seed(fake: FakeJira) -> None:
    fake.add_issue("OPS", "Checkout page returns 500", "Bug", assignee="Dana Diaz",
                   description="Since the 14:00 deploy")  # fmt: skip
    epic = fake.add_issue("OPS", "Payments revamp", "Epic", **({} if fake.cloud else {EPIC_NAME: "Payments"}))
    story = {"parent": epic} if fake.cloud else {EPIC_LINK: epic}
    fake.add_issue("OPS", "Add Apple Pay", "Story", **story)
    fake.add_issue("WEB", "Update footer links", "Task")


def make(url: str, policy: ResiliencePolicy = FAST, **config: str) -> tuple[JiraConnector, Observed]:
    seen: Observed = []
    settings = {"url": url, "user": USER, "token": TOKEN, **config}
    return JiraConnector(JiraConfig(**settings), policy, lambda *a: seen.append(a)), seen


@pytest.fixture
def tracker(jira: FakeJira) -> JiraConnector:
    return make(jira.url)[0]


@pytest.fixture
def server_tracker(server_jira: FakeJira) -> JiraConnector:
    return make(server_jira.url)[0]


# -- reads -------------------------------------------------------------------------------------


async def test_get_issue(jira: FakeJira, tracker: JiraConnector) -> None:
    issue = await tracker.get_issue("ops-1")
    assert issue == JiraIssue(
        key="OPS-1", id=jira.issues["OPS-1"]["id"], summary="Checkout page returns 500",
        status="To Do", issue_type="Bug", assignee="Dana Diaz", url=f"{jira.url}/browse/OPS-1",
        description="Since the 14:00 deploy", parent=None,
    )  # fmt: skip
    assert jira.calls("GET", SERVER_INFO), "the client learns the deployment type first"
    (get,) = jira.calls("GET", ISSUE)
    assert "summary" in get.query["fields"][0]
    assert get.headers["authorization"].startswith("Basic ")


async def test_a_storys_epic_is_its_parent_on_both_deployments(tracker: JiraConnector) -> None:
    story = await tracker.get_issue("OPS-3")
    assert (story.issue_type, story.parent) == ("Story", "OPS-2")


async def test_search_uses_the_deployments_api(jira: FakeJira, tracker: JiraConnector) -> None:
    found = await tracker.search("project = OPS AND issuetype in (Bug, Story) ORDER BY key", limit=10)
    assert [i.key for i in found] == ["OPS-1", "OPS-3"]
    assert found[0].url == f"{jira.url}/browse/OPS-1"
    enhanced, legacy = jira.calls("GET", API + r"/search/jql"), jira.calls("GET", API + r"/search")
    if jira.cloud:
        assert (len(enhanced), legacy) == (1, [])
        assert enhanced[0].query["jql"] == ["project = OPS AND issuetype in (Bug, Story) ORDER BY key"]
        assert enhanced[0].query["maxResults"] == ["10"]
    else:
        assert (enhanced, len(legacy)) == ([], 1)
        assert legacy[0].query["maxResults"] == ["10"]


async def test_search_by_text_and_empty_results(tracker: JiraConnector) -> None:
    assert [i.key for i in await tracker.search('text ~ "apple pay"')] == ["OPS-3"]
    assert await tracker.search("project = WEB AND status = Done") == []


async def test_search_needs_jql(jira: FakeJira, tracker: JiraConnector) -> None:
    with pytest.raises(InvalidRequest, match="needs a JQL query"):
        await tracker.search("  ")
    assert jira.server.requests == []


async def test_bad_jql_is_invalid_request(tracker: JiraConnector) -> None:
    with pytest.raises(InvalidRequest, match=r"HTTP 400\): Field 'colour' does not exist"):
        await tracker.search("colour = red")


# -- writes ------------------------------------------------------------------------------------


async def test_create_issue(jira: FakeJira, tracker: JiraConnector) -> None:
    issue = await tracker.create_issue("ops", "Rotate TLS certificates", "Task", "Expires Friday")
    assert (issue.key, issue.status, issue.issue_type) == ("OPS-4", "To Do", "Task")
    assert issue.description == "Expires Friday"
    assert jira.issues["OPS-4"]["summary"] == "Rotate TLS certificates"
    (post,) = jira.calls("POST", CREATE)
    assert post.json() == {"fields": {
        "project": {"key": "OPS"}, "summary": "Rotate TLS certificates",
        "issuetype": {"name": "Task"}, "description": "Expires Friday",
    }}  # fmt: skip


async def test_create_epic(jira: FakeJira, tracker: JiraConnector) -> None:
    epic = await tracker.create_issue("OPS", "Observability overhaul", "Epic")
    assert epic.issue_type == "Epic"
    fields = jira.calls("POST", CREATE)[0].json()["fields"]
    if jira.cloud:
        assert EPIC_NAME not in fields
    else:  # Server/DC refuses an epic without its Epic Name
        assert fields[EPIC_NAME] == "Observability overhaul"


async def test_create_story_in_an_epic(jira: FakeJira, tracker: JiraConnector) -> None:
    story = await tracker.create_issue("OPS", "Add Google Pay", "Story", epic="OPS-2")
    assert (story.issue_type, story.parent) == ("Story", "OPS-2")
    fields = jira.calls("POST", CREATE)[0].json()["fields"]
    if jira.cloud:
        assert fields["parent"] == {"key": "OPS-2"}
    else:
        assert fields[EPIC_LINK] == "OPS-2"
        assert "parent" not in fields


async def test_create_sub_task(jira: FakeJira, tracker: JiraConnector) -> None:
    sub = await tracker.create_issue("OPS", "Write the post-mortem", "Sub-task", parent="OPS-1")
    assert sub.parent == "OPS-1"
    assert jira.issues[sub.key]["parent"] == "OPS-1"


@pytest.mark.parametrize(
    ("project", "summary", "fields"),
    [("OPS", "", {"summary"}), ("not a key", "x", {"project"}), ("OPS", "a\nb", {"summary"})],
)
async def test_create_checks_input_without_calling(
    jira: FakeJira, tracker: JiraConnector, project: str, summary: str, fields: set[str]
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await tracker.create_issue(project, summary)
    assert set(caught.value.field_errors) == fields
    assert jira.server.requests == []


async def test_create_with_an_unknown_issue_type_names_the_field(tracker: JiraConnector) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await tracker.create_issue("OPS", "Thing", "Epik")
    assert caught.value.field_errors == {"issuetype": "valid issue type is required"}
    assert caught.value.message == (
        "Jira says the field 'issuetype' is not valid: valid issue type is required."
    )


async def test_create_answers_even_if_the_read_back_fails(jira: FakeJira, tracker: JiraConnector) -> None:
    await tracker.get_issue("OPS-1")  # warm up: client built, custom fields known
    jira.fail_next("GET", ISSUE, *[jira_error(503, "Busy")] * FAST.attempts)
    issue = await tracker.create_issue("OPS", "Rotate keys")
    assert (issue.key, issue.summary, issue.url) == ("OPS-4", "Rotate keys", f"{jira.url}/browse/OPS-4")
    assert len(jira.calls("POST", CREATE)) == 1  # created once, and we said so


async def test_add_comment(jira: FakeJira, tracker: JiraConnector) -> None:
    comment = await tracker.add_comment("OPS-1", "Rolled back the deploy.")
    assert (comment.issue_key, comment.body, comment.author) == (
        "OPS-1", "Rolled back the deploy.", "Switchboard Bot",
    )  # fmt: skip
    assert comment.url == f"{jira.url}/browse/OPS-1?focusedCommentId={comment.id}"
    assert jira.comments["OPS-1"][0]["body"] == "Rolled back the deploy."


async def test_transition_by_name_or_target_status(jira: FakeJira, tracker: JiraConnector) -> None:
    moved = await tracker.transition("OPS-1", "start progress")
    assert moved.status == "In Progress"
    done = await tracker.transition("OPS-1", "Done")
    assert done.status == "Done"
    assert jira.issues["OPS-1"]["status"] == "Done"
    posts = jira.calls("POST", ISSUE + r"/transitions")
    assert [p.json()["transition"]["id"] for p in posts] == [11, 21]  # the library sends ints


async def test_unknown_transition_lists_the_choices(jira: FakeJira, tracker: JiraConnector) -> None:
    with pytest.raises(
        InvalidRequest, match=r"cannot move OPS-1 with 'Teleport'\. Available: Start Progress, Done"
    ):
        await tracker.transition("OPS-1", "Teleport")
    assert jira.calls("POST", ISSUE + r"/transitions") == []


async def test_link_by_name_and_by_verb(jira: FakeJira, tracker: JiraConnector) -> None:
    await tracker.link("Blocks", "OPS-1", "OPS-3")
    await tracker.link("is blocked by", "OPS-1", "WEB-1")  # the inward verb swaps the ends
    assert jira.links == [("Blocks", "OPS-1", "OPS-3"), ("Blocks", "WEB-1", "OPS-1")]


async def test_unknown_link_type(jira: FakeJira, tracker: JiraConnector) -> None:
    with pytest.raises(
        InvalidRequest, match=r"no link type 'Causes'\. Available: Blocks, Relates, Duplicate"
    ):
        await tracker.link("Causes", "OPS-1", "OPS-3")
    assert jira.calls("POST", API + r"/issueLink") == []


async def test_delete_issue(jira: FakeJira, tracker: JiraConnector) -> None:
    await tracker.delete_issue("WEB-1")
    assert "WEB-1" not in jira.issues
    with pytest.raises(NotFound, match=r"^Jira has no issue WEB-1 that Switchboard can see\.$"):
        await tracker.get_issue("WEB-1")


async def test_delete_with_subtasks_needs_consent(jira: FakeJira, tracker: JiraConnector) -> None:
    jira.add_issue("OPS", "Child", "Sub-task", parent="OPS-1")
    with pytest.raises(InvalidRequest, match="has subtasks"):
        await tracker.delete_issue("OPS-1")
    await tracker.delete_issue("OPS-1", delete_subtasks=True)
    assert "OPS-1" not in jira.issues and "OPS-5" not in jira.issues


# -- configuration, construction, TLS ---------------------------------------------------------------


async def test_protocol_health_and_lazy_client(server_jira: FakeJira) -> None:
    tracker, seen = make(server_jira.url)
    assert isinstance(tracker, IssueTracker)
    assert (tracker.system, tracker.configured, tracker.health()) == ("jira", True, "healthy")
    assert server_jira.server.requests == []  # constructing talked to nobody
    await tracker.get_issue("OPS-1")
    await tracker.get_issue("OPS-2")
    assert len(server_jira.calls("GET", SERVER_INFO)) == 1  # built once, then reused
    assert ("jira", "get_issue", "ok") in [s[:3] for s in seen]


async def test_not_configured_names_the_variables() -> None:
    tracker = JiraConnector(JiraConfig(url="https://acme.atlassian.net", user="me@example.com"))
    assert tracker.health() == "not configured"
    with pytest.raises(NotConfigured, match="set JIRA_URL, JIRA_USER and JIRA_TOKEN"):
        await tracker.get_issue("OPS-1")


async def test_malformed_key_is_refused(jira: FakeJira, tracker: JiraConnector) -> None:
    with pytest.raises(InvalidRequest, match="does not look like a Jira issue key"):
        await tracker.get_issue("OPS-1 OR project = HR")
    assert jira.server.requests == []


async def test_https_with_a_private_ca(tmp_path: Path) -> None:
    pki = TestPki(tmp_path)
    with FakeJira(cloud=True, tls=pki.server_context()) as fake:
        seed(fake)
        tracker, _ = make(fake.url, ca_bundle=pki.ca_bundle)
        assert (await tracker.get_issue("OPS-1")).url == f"{fake.url}/browse/OPS-1"


# -- faults ------------------------------------------------------------------------------------------


async def test_server_errors_on_reads_are_retried(
    server_jira: FakeJira, server_tracker: JiraConnector
) -> None:
    server_jira.fail_next("GET", ISSUE, jira_error(500, "Internal"), jira_error(503, "Busy"))
    assert (await server_tracker.get_issue("OPS-1")).key == "OPS-1"
    assert len(server_jira.calls("GET", ISSUE)) == 3


async def test_a_failing_server_info_is_retried_and_the_client_built_later(server_jira: FakeJira) -> None:
    tracker, _ = make(server_jira.url)
    server_jira.fail_next("GET", SERVER_INFO, jira_error(503, "Starting up"))
    assert (await tracker.get_issue("OPS-1")).key == "OPS-1"
    assert len(server_jira.calls("GET", SERVER_INFO)) == 2


async def test_persistent_server_error(server_jira: FakeJira) -> None:
    tracker, seen = make(server_jira.url)
    await tracker.get_issue("OPS-2")
    server_jira.fail_next("GET", ISSUE, *[jira_error(500, "Database gone")] * 3)
    with pytest.raises(Unavailable, match=r"^Jira had a server error \(HTTP 500\): Database gone$"):
        await tracker.get_issue("OPS-1")
    assert seen[-1][1:3] == ("get_issue", "Unavailable")


async def test_writes_are_never_retried(server_jira: FakeJira, server_tracker: JiraConnector) -> None:
    server_jira.fail_next("POST", CREATE, jira_error(503, "Busy"))
    with pytest.raises(Unavailable):
        await server_tracker.create_issue("OPS", "Once only")
    assert len(server_jira.calls("POST", CREATE)) == 1
    assert all(i["summary"] != "Once only" for i in server_jira.issues.values())

    server_jira.fail_next("POST", ISSUE + r"/comment", jira_error(502, "Bad gateway"))
    with pytest.raises(Unavailable):
        await server_tracker.add_comment("OPS-1", "hello")
    assert len(server_jira.calls("POST", ISSUE + r"/comment")) == 1

    server_jira.fail_next("POST", ISSUE + r"/transitions", jira_error(500, "Oops"))
    with pytest.raises(Unavailable):
        await server_tracker.transition("OPS-1", "Done")
    assert len(server_jira.calls("POST", ISSUE + r"/transitions")) == 1


async def test_timeouts(server_jira: FakeJira) -> None:
    tracker, _ = make(server_jira.url, ResiliencePolicy(timeout=0.5, attempts=2, backoff_initial=0.001))
    await tracker.get_issue("OPS-2")  # warm up the client outside the slow path
    server_jira.fail_next("GET", ISSUE, Response(200, {}, delay=1.5))
    assert (await tracker.get_issue("OPS-1")).key == "OPS-1"  # the second attempt
    server_jira.fail_next("POST", CREATE, Response(201, {}, delay=1.5))
    with pytest.raises(Unavailable, match="did not answer"):
        await tracker.create_issue("OPS", "Slow")
    assert len(server_jira.calls("POST", CREATE)) == 1


async def test_rate_limit_honours_retry_after(server_jira: FakeJira, server_tracker: JiraConnector) -> None:
    await server_tracker.get_issue("OPS-2")
    server_jira.fail_next("GET", ISSUE, Response(429, {"errorMessages": ["Rate limit exceeded"]},
                                                 {"Retry-After": "0.3"}))  # fmt: skip
    started = asyncio.get_running_loop().time()
    await server_tracker.get_issue("OPS-1")
    assert asyncio.get_running_loop().time() - started >= 0.3


async def test_long_rate_limit_is_reported(server_jira: FakeJira, server_tracker: JiraConnector) -> None:
    await server_tracker.get_issue("OPS-2")
    server_jira.fail_next("GET", ISSUE, Response(429, None, {"Retry-After": "120"}))
    with pytest.raises(RateLimited, match="Try again in 120 s") as caught:
        await server_tracker.get_issue("OPS-1")
    assert caught.value.retry_after == 120


async def test_malformed_json(server_jira: FakeJira) -> None:
    tracker, _ = make(server_jira.url, ResiliencePolicy(attempts=1))
    await tracker.get_issue("OPS-2")
    server_jira.fail_next("GET", ISSUE, Response(200, "<html>Maintenance</html>"))
    with pytest.raises(Unavailable, match="malformed"):
        await tracker.get_issue("OPS-1")


async def test_bad_credentials(jira: FakeJira) -> None:
    tracker, seen = make(jira.url, token="wrong")
    with pytest.raises(AuthFailed, match="rejected Switchboard's credentials"):
        await tracker.get_issue("OPS-1")
    assert len(jira.calls("GET", SERVER_INFO)) == 1  # not retried
    assert seen[-1][2] == "AuthFailed"


async def test_missing_issue_is_not_found(tracker: JiraConnector) -> None:
    with pytest.raises(NotFound, match="Jira has no issue OPS-99"):
        await tracker.get_issue("OPS-99")
    with pytest.raises(NotFound, match="Jira has no issue OPS-99"):
        await tracker.delete_issue("OPS-99")


async def test_field_errors_from_jira(server_jira: FakeJira, server_tracker: JiraConnector) -> None:
    server_jira.fail_next("POST", CREATE, jira_error(400, summary="Field 'summary' is required"))
    with pytest.raises(InvalidRequest) as caught:
        await server_tracker.create_issue("OPS", "Looks fine to us")
    assert caught.value.field_errors == {"summary": "Field 'summary' is required"}
    assert "'summary'" in caught.value.message and caught.value.message.startswith("Jira says")


async def test_breaker_opens_and_recovers(server_jira: FakeJira) -> None:
    tracker, seen = make(server_jira.url, ResiliencePolicy(attempts=1, breaker_fail_max=2,
                                                           breaker_reset_timeout=0.5))  # fmt: skip
    await tracker.get_issue("OPS-2")
    server_jira.fail_next("GET", ISSUE, jira_error(500, "down"), jira_error(500, "down"))
    for _ in range(2):
        with pytest.raises(Unavailable):
            await tracker.get_issue("OPS-1")
    assert tracker.health() == "circuit open"
    sent = len(server_jira.server.requests)
    with pytest.raises(CircuitOpen):
        await tracker.get_issue("OPS-1")
    assert len(server_jira.server.requests) == sent
    await asyncio.sleep(0.55)
    assert (await tracker.get_issue("OPS-1")).key == "OPS-1"
    assert tracker.health() == "healthy"
    assert [s[2] for s in seen[-2:]] == ["CircuitOpen", "ok"]
