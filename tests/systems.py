"""All four system fakes at once, and hub settings that point every connector at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.settings import (
    JiraSettings,
    SalesforceSettings,
    ServiceNowSettings,
    Settings,
    SharePointSettings,
    TlsSettings,
)
from tests.fakes import jira as fake_jira
from tests.fakes import servicenow as fake_snow
from tests.fakes.jira import FakeJira
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.servicenow import FakeServiceNow
from tests.fakes.sharepoint import FakeSharePoint
from tests.fakes.tls import TestPki


@dataclass
class Systems:
    servicenow: FakeServiceNow
    jira: FakeJira
    salesforce: FakeSalesforce
    sharepoint: FakeSharePoint
    pki: TestPki

    def configure(self, settings: Settings) -> Settings:
        return settings.model_copy(update={
            "servicenow": ServiceNowSettings(url=self.servicenow.url, user=fake_snow.USER,
                                             password=fake_snow.PASSWORD),
            "jira": JiraSettings(url=self.jira.url, user=fake_jira.USER, token=fake_jira.TOKEN),
            "salesforce": SalesforceSettings(url=self.salesforce.url,
                                             session_id=self.salesforce.session_id),
            "sharepoint": SharePointSettings(site_url=self.sharepoint.site_url,
                                             access_token=self.sharepoint.token),
            "tls": TlsSettings(requests_ca_bundle=self.pki.ca_bundle),
        })


@contextmanager
def running_systems(tmp: Path) -> Iterator[Systems]:
    pki = TestPki(tmp, ("127.0.0.1",))
    with ExitStack() as stack:
        yield Systems(
            servicenow=stack.enter_context(FakeServiceNow()),
            jira=stack.enter_context(FakeJira()),
            salesforce=stack.enter_context(FakeSalesforce(pki.server_context())),
            sharepoint=stack.enter_context(FakeSharePoint()),
            pki=pki,
        )
