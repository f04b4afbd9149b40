"""Jira: issues, epics and stories through the ``jira`` library (Cloud and Server/DC)."""

from connectors.jira.client import JiraConnector
from connectors.jira.types import SYSTEM, IssueTracker, JiraComment, JiraConfig, JiraIssue

__all__ = ["SYSTEM", "IssueTracker", "JiraComment", "JiraConfig", "JiraConnector", "JiraIssue"]
