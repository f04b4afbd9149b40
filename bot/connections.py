"""The four connectors, built from settings (no I/O until first use)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from connectors.jira import IssueTracker, JiraConfig, JiraConnector
from connectors.resilience import CallObserver
from connectors.salesforce import Crm, SalesforceConfig, SalesforceConnector
from connectors.servicenow import IncidentDesk, ServiceNowConfig, ServiceNowConnector
from connectors.sharepoint import DocumentLibrary, SharePointConfig, SharePointConnector


@dataclass(frozen=True)
class Connectors:
    servicenow: IncidentDesk
    jira: IssueTracker
    salesforce: Crm
    sharepoint: DocumentLibrary

    def health(self) -> dict[str, str]:
        """"not configured" | "healthy" | "circuit open", per system, without I/O."""
        return {c.system: c.health() for c in (self.servicenow, self.jira, self.salesforce,
                                               self.sharepoint)}


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def build_connectors(settings: Settings, observer: CallObserver | None = None) -> Connectors:
    ca = settings.tls.requests_ca_bundle
    sn, jira, sf, sp = (settings.servicenow, settings.jira, settings.salesforce,
                        settings.sharepoint)
    return Connectors(
        servicenow=ServiceNowConnector(
            ServiceNowConfig(sn.url, sn.user, _secret(sn.password), ca_bundle=ca),
            observer=observer),
        jira=JiraConnector(JiraConfig(jira.url, jira.user, _secret(jira.token), ca_bundle=ca),
                           observer=observer),
        salesforce=SalesforceConnector(
            SalesforceConfig(url=sf.url, session_id=_secret(sf.session_id), username=sf.username,
                             password=_secret(sf.password),
                             security_token=_secret(sf.security_token), domain=sf.domain,
                             ca_bundle=ca),
            observer=observer),
        sharepoint=SharePointConnector(
            SharePointConfig(site_url=sp.site_url, client_id=sp.client_id,
                             client_secret=_secret(sp.client_secret),
                             access_token=_secret(sp.access_token), tenant=sp.tenant),
            observer=observer),
    )
