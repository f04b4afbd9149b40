"""Digest content against the fakes and a real database (SQLite and PostgreSQL): the real
ServiceNow and Jira clients over HTTP, the real ledger, workflow store and audit table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.connections import Connectors
from bot.digest.fetch import Sources
from bot.digest.model import Denials, Incidents, JiraActivity, Problem, Spend, Workflows
from bot.digest.schedules import ScheduleStore
from bot.digest.service import DigestService
from bot.metrics import Metrics
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from connectors.jira import JiraConfig, JiraConnector
from connectors.resilience import ResiliencePolicy
from connectors.salesforce import SalesforceConfig, SalesforceConnector
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector
from connectors.sharepoint import SharePointConfig, SharePointConnector
from policies.policy_file import Budget, PolicyFile
from tests.digest import fakes
from tests.fakes import jira as fake_jira
from tests.fakes import servicenow as fake_snow
from tests.fakes.server import Response
from tests.fakes.servicenow import FakeServiceNow

FAST = ResiliencePolicy(timeout=2.0, attempts=2, backoff_initial=0.001, backoff_max=0.01)
BUDGETS = {"engineering": Budget(monthly_usd=500), "sales": Budget(monthly_usd=100),
           "project:apollo": Budget(monthly_usd=1)}


@pytest.fixture(scope="module")
def snow() -> Iterator[FakeServiceNow]:
    with FakeServiceNow() as fake:
        yield fake


@pytest.fixture(scope="module")
def jira() -> Iterator[fakes.DigestJira]:
    with fakes.DigestJira() as fake:
        yield fake


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    upgrade(database_url)
    yield Database(database_url)


def connectors(snow_url: str | None, jira_url: str | None) -> Connectors:
    return Connectors(
        servicenow=ServiceNowConnector(
            ServiceNowConfig(snow_url, fake_snow.USER, fake_snow.PASSWORD), FAST),
        jira=JiraConnector(JiraConfig(jira_url, fake_jira.USER, fake_jira.TOKEN), FAST),
        salesforce=SalesforceConnector(SalesforceConfig()),
        sharepoint=SharePointConnector(SharePointConfig()))


def service(db: Database, conns: Connectors, timeout: float = 10.0) -> DigestService:
    policy = PolicyFile(budgets=BUDGETS)
    return DigestService(Sources(db, conns, lambda: policy.budgets, timeout=timeout),
                         ScheduleStore(db), _NoSlack(), lambda: policy, Metrics())


class _NoSlack:
    async def post(self, *a: Any, **k: Any) -> str | None:
        raise AssertionError("compose never posts")

    async def update(self, *a: Any, **k: Any) -> None: ...

    async def upload(self, *a: Any, **k: Any) -> None: ...


async def seed_all(db: Database, snow: FakeServiceNow, jira: fakes.DigestJira,
                   now: datetime) -> None:
    snow.reset()
    jira.reset()
    fakes.seed_servicenow(snow)
    fakes.seed_jira(jira, now)
    await fakes.seed_ledger(db, now)
    await fakes.seed_workflows(db, now)
    await fakes.seed_denials(db, now)


async def test_every_section_is_right_for_seeded_data(db: Database, snow: FakeServiceNow,
                                                      jira: fakes.DigestJira) -> None:
    now = datetime.now(UTC)
    await seed_all(db, snow, jira, now)
    composed = await service(db, connectors(snow.url, jira.url)).compose(
        [], now - timedelta(hours=1), now + timedelta(seconds=1), timezone="Europe/Berlin")
    s = composed.data.sections
    assert list(s) == ["incidents", "jira", "workflows", "denials", "spend"]

    assert isinstance(s["incidents"], Incidents) and s["incidents"].by_priority == {1: 2, 2: 1, 4: 3}
    assert isinstance(s["jira"], JiraActivity)
    assert [t.key for t in s["jira"].created] == ["OPS-3", "OPS-2", "OPS-1"]
    assert [t.key for t in s["jira"].resolved] == ["OPS-2"]
    assert isinstance(s["workflows"], Workflows)
    assert sorted(r.status for r in s["workflows"].runs) == ["compensated", "succeeded", "succeeded"]
    assert isinstance(s["denials"], Denials)
    assert s["denials"].by_policy == {"rbac": 3, "rate_limit": 1, "dlp": 1}
    assert s["denials"].by_action == {"jira:issue:create": 3, "agent:ask": 2}
    spend = s["spend"]
    assert isinstance(spend, Spend)
    assert spend.by_department == {"engineering": 3.0, "sales": 0.5}
    assert spend.by_model == {"gpt-4o": 2.5, "claude-sonnet": 1.0}
    month = {b.name: (round(b.spent_usd, 2), b.limit_usd) for b in spend.budgets}
    assert month == {"engineering": (403.0, 500), "sales": (0.5, 100), "project:apollo": (0.5, 1)}
    assert spend.daily[-1] == (now.date(), pytest.approx(3.5 + (400 if now.day == 1 else 0)))

    text = composed.digest.text
    assert "Open incidents — 6" in text and "P1 Critical: *2*" in text and "P4 Low: *3*" in text
    assert "3 created, 1 resolved" in text and "Disk &lt;full&gt; &amp; slow" in text
    assert "3 run(s): 2 succeeded, 1 compensated" in text and "project OPS is archived" in text
    assert "Policy denials — 5" in text and "`jira:issue:create` 3" in text
    assert "$3.50 in this period" in text and "engineering $3.00" in text
    assert "*engineering* 81% · $403.00 of $500.00" in text  # 403/500, rounded
    assert composed.digest.problems == ()
    assert composed.chart is not None and composed.chart.startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_section_whose_connector_is_not_configured_says_so_in_one_line(
        db: Database) -> None:
    now = datetime.now(UTC)
    composed = await service(db, connectors(None, None)).compose(
        ["incidents", "jira", "denials"], now - timedelta(hours=1), now)
    s = composed.data.sections
    assert s["incidents"] == Problem("ServiceNow", "not configured")
    assert s["jira"] == Problem("Jira", "not configured")
    assert isinstance(s["denials"], Denials)
    assert composed.digest.problems == ("ServiceNow: not configured", "Jira: not configured")
    lines = composed.digest.text.splitlines()
    assert sum("ServiceNow: not configured" in line for line in lines) == 2  # in place + summary
    assert composed.chart is None  # no spend section asked for


async def test_when_every_connector_fails_the_rest_is_still_built_and_failures_named(
        db: Database, snow: FakeServiceNow, jira: fakes.DigestJira) -> None:
    now = datetime.now(UTC)
    await seed_all(db, snow, jira, now)
    for _ in range(2):  # both attempts of the read
        snow.fail_next("GET", r"/api/now/stats/incident", Response(503, "busy"))
    jira.fail_next("GET", r"/rest/api/2/serverInfo",
                   Response(401, {"errorMessages": ["no"], "errors": {}}))
    composed = await service(db, connectors(snow.url, jira.url)).compose(
        [], now - timedelta(hours=1), now + timedelta(seconds=1))
    s = composed.data.sections
    assert isinstance(s["incidents"], Problem) and s["incidents"].reason.startswith("could not load (")
    assert isinstance(s["jira"], Problem) and s["jira"].reason.startswith("could not load (")
    assert isinstance(s["spend"], Spend) and isinstance(s["workflows"], Workflows)
    assert [p.split(":")[0] for p in composed.digest.problems] == ["ServiceNow", "Jira"]
    assert "Could not show: ServiceNow: could not load" in composed.digest.text
    assert "$3.50 in this period" in composed.digest.text


async def test_a_slow_section_times_out_alone(db: Database, snow: FakeServiceNow) -> None:
    snow.reset()
    snow.fail_next("GET", r"/api/now/stats/incident", Response(200, {"result": []}, delay=1.5))
    now = datetime.now(UTC)
    composed = await service(db, connectors(snow.url, None), timeout=0.3).compose(
        ["incidents", "denials"], now - timedelta(hours=1), now)
    assert composed.data.sections["incidents"] == Problem(
        "ServiceNow", "could not load (no answer within 0.3 s)")
    assert isinstance(composed.data.sections["denials"], Denials)


async def test_jira_filter_and_cap(db: Database, jira: fakes.DigestJira) -> None:
    jira.reset()
    now = datetime.now(UTC)
    fakes.seed_jira(jira, now)
    jira.add_issue("WEB", "Fresh web bug", created=now - timedelta(minutes=3))
    svc = service(db, connectors(None, jira.url))
    composed = await svc.compose(["jira"], now - timedelta(hours=1), now, jira_filter="project = WEB")
    section = composed.data.sections["jira"]
    assert isinstance(section, JiraActivity) and [t.key for t in section.created] == ["WEB-2"]
    sent = sorted(c.query["jql"][0] for c in jira.calls("GET", r"/rest/api/2/search"))
    assert sent == ["(project = WEB) AND created >= -60m ORDER BY created DESC",
                    "(project = WEB) AND resolved >= -60m ORDER BY resolved DESC"]
