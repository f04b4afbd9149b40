"""Finding and deleting the Jira issues a step made, by the key written in their description.

Each issue a workflow creates ends its description with `Key <idempotency key>
item <n>`. The key is one word (`sbk…`), so JQL's text search finds it on
Jira Cloud and Server alike. Jira's search index can lag a write by a moment,
which is why the step also records each key it made as soon as it has it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial

from bot.workflows.saga import Undo, UndoReport, describe
from connectors.errors import ConnectorError
from connectors.jira import IssueTracker, JiraIssue

_TAG = re.compile(r"Key (sbk[0-9a-f]+) item (\d+)")


async def find_marked(tracker: IssueTracker, project: str, key: str) -> dict[int, JiraIssue]:
    """Issues in `project` carrying `key`, by item number (0 is the first one made)."""
    found = await tracker.search(f'project = {project} AND text ~ "{key}"', limit=100)
    out: dict[int, JiraIssue] = {}
    for issue in found:
        match = _TAG.search(issue.description or "")
        if match and match[1] == key:
            out[int(match[2])] = issue
    return out


async def delete_marked(tracker: IssueTracker, project: str, key: str,
                        known: Mapping[int, str]) -> UndoReport:
    """Delete what the step recorded and whatever else carries its key, last made first."""
    keys = dict(known)
    searched = UndoReport()
    try:
        for index, issue in (await find_marked(tracker, project, key)).items():
            keys.setdefault(index, issue.key)
    except ConnectorError as e:
        searched = UndoReport(left=(f"could not search Jira for issues marked {key}: "
                                    f"{describe(e)}",))
    undo = Undo()
    for index in sorted(keys, reverse=True):  # stories before their epic
        issue_key = keys[index]
        await undo.attempt(f"deleted Jira {issue_key}",
                           partial(tracker.delete_issue, issue_key, delete_subtasks=True))
    return undo.report() + searched
