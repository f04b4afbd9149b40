"""What crosses the wire: input checks, reading Jira's JSON, translating errors.

Never put ``str(JIRAError)`` in a message: it includes the request headers,
Authorization among them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from connectors.errors import ConnectorError, InvalidRequest, Unavailable, describe_field_errors
from connectors.jira.types import SYSTEM, JiraComment, JiraIssue
from connectors.resilience import translate_http

ISSUE_FIELDS = ["summary", "status", "issuetype", "assignee", "description", "parent", "project"]
EPIC_NAME = "com.pyxis.greenhopper.jira:gh-epic-label"  # Server/DC: required on Epics
EPIC_LINK = "com.pyxis.greenhopper.jira:gh-epic-link"  # Server/DC: a story's epic
_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}-[0-9]{1,12}$")
_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


# -- input checks (no I/O) ----------------------------------------------------------------


def check_key(key: str, field: str = "key") -> str:
    cleaned = key.strip().upper()
    if not _KEY.match(cleaned):
        raise InvalidRequest(
            SYSTEM, f"{key!r} does not look like a Jira issue key such as OPS-12.", {field: key}
        )
    return cleaned


def check_new_issue(project: str, summary: str, issue_type: str) -> str:
    errors: dict[str, str] = {}
    if not _PROJECT.match(project.strip().upper()):
        errors["project"] = "must be a project key such as OPS"
    if not summary.strip():
        errors["summary"] = "is required"
    elif len(summary) > 255 or "\n" in summary:
        errors["summary"] = "must be one line of at most 255 characters"
    if not issue_type.strip():
        errors["issuetype"] = "is required"
    if errors:
        raise InvalidRequest(SYSTEM, describe_field_errors(SYSTEM, errors), errors)
    return project.strip().upper()


# -- reading Jira's JSON -------------------------------------------------------------------


def issue_from_raw(raw: Mapping[str, Any], server: str, epic_link: str | None = None) -> JiraIssue:
    fields = raw.get("fields") or {}
    parent = (fields.get("parent") or {}).get("key") or (fields.get(epic_link) if epic_link else None)
    return JiraIssue(
        key=str(raw["key"]),
        id=str(raw["id"]),
        summary=str(fields.get("summary") or ""),
        status=_name(fields.get("status")),
        issue_type=_name(fields.get("issuetype")),
        assignee=_person(fields.get("assignee")),
        url=f"{server}/browse/{raw['key']}",
        description=_text(fields.get("description")),
        parent=str(parent) if parent else None,
    )


def comment_from_raw(raw: Mapping[str, Any], key: str, server: str) -> JiraComment:
    comment_id = str(raw["id"])
    return JiraComment(
        id=comment_id,
        issue_key=key,
        body=_text(raw.get("body")) or "",
        author=_person(raw.get("author")),
        created=str(raw.get("created") or ""),
        url=f"{server}/browse/{key}?focusedCommentId={comment_id}",
    )


def custom_field_ids(fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``GET /field`` -> {schema.custom: field id} for the Agile fields we use."""
    wanted = {EPIC_NAME, EPIC_LINK}
    found: dict[str, str] = {}
    for field in fields:
        custom = (field.get("schema") or {}).get("custom")
        if custom in wanted:
            found[custom] = str(field["id"])
    return found


def _name(value: Any) -> str:
    return str(value.get("name") or "") if isinstance(value, Mapping) else ""


def _person(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    return str(value.get("displayName") or value.get("name") or value.get("accountId") or "") or None


def _text(value: Any) -> str | None:
    """Plain text from a v2 string or a v3 Atlassian Document Format tree."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if value.get("type") == "text":
            return str(value.get("text") or "")
        parts = [_text(child) or "" for child in value.get("content") or []]
        joiner = "\n" if value.get("type") == "doc" else ""
        return joiner.join(parts)
    return str(value)


# -- errors ----------------------------------------------------------------------------------


def translate(exc: BaseException) -> ConnectorError:
    """jira/requests exception -> our tree (the one place that knows JIRAError)."""
    from jira.exceptions import JIRAError  # loaded already: the library raised ``exc``

    if isinstance(exc, JIRAError) and (exc.status_code is None or exc.status_code < 400):
        # e.g. "Empty Response!", or a 2xx whose body lacked what the library expected
        return Unavailable(SYSTEM, "Jira sent a response Switchboard could not read.")
    translated = translate_http(SYSTEM, exc)
    if translated is not None:
        return translated
    if isinstance(exc, KeyError | TypeError | AttributeError):
        return Unavailable(SYSTEM, "Jira sent a response Switchboard could not read.")
    return Unavailable(SYSTEM, f"Talking to Jira failed unexpectedly ({type(exc).__name__}).")
