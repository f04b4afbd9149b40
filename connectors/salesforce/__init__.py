"""Salesforce through simple-salesforce: opportunities, accounts and SOQL (the ``Crm``).

types.py      SalesforceConfig, Opportunity, Account, QueryResult, the Crm protocol
client.py     building the vendor client (session, TLS, timeout) and translating errors
connector.py  SalesforceConnector: each operation through one resilience Guard
"""

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.types import Account, Crm, Opportunity, QueryResult, SalesforceConfig

__all__ = [
    "Account",
    "Crm",
    "Opportunity",
    "QueryResult",
    "SalesforceConfig",
    "SalesforceConnector",
]
