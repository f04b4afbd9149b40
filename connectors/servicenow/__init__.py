"""ServiceNow: incidents, requested items and users (pysnow over the Table API)."""

from connectors.servicenow.client import ServiceNowConnector, host_and_ssl
from connectors.servicenow.types import (
    SYSTEM,
    Incident,
    IncidentDesk,
    RequestItem,
    ServiceNowConfig,
    User,
)

__all__ = [
    "SYSTEM",
    "Incident",
    "IncidentDesk",
    "RequestItem",
    "ServiceNowConfig",
    "ServiceNowConnector",
    "User",
    "host_and_ssl",
]
