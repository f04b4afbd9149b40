"""Test helpers for digests: a Jira fake that knows `created`/`resolved`, and seeded data.

`DigestJira` extends the shared Jira fake (tests/fakes/jira.py) with the two JQL clauses
a digest sends, `created >= -90m` and `resolved >= -90m` (relative minutes, as Jira
reads them), plus parentheses around an operator's filter; the rest is the shared fake.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.cost.ledger import Ledger, UsageRow
from bot.storage.db import Database
from bot.storage.models import AuditEvent
from bot.workflows.store import RunStore
from tests.fakes.jira import FakeJira
from tests.fakes.server import Response
from tests.fakes.servicenow import FakeServiceNow

_SINCE = re.compile(r"\b(created|resolved)\s*>=\s*-(\d+)m\b", re.IGNORECASE)


class DigestJira(FakeJira):
    def _jql(self, jql: str) -> tuple[list[str], Response | None]:
        where = re.split(r"\border\s+by\b", jql, flags=re.IGNORECASE)[0]
        since = [(m[1].lower(), int(m[2])) for m in _SINCE.finditer(where)]
        rest = _SINCE.sub("", where).replace("(", " ").replace(")", " ")
        rest = re.sub(r"^\s*and\s+|\s+and\s*$", "", rest.strip(), flags=re.IGNORECASE)
        keys, error = super()._jql(rest)
        now = datetime.now(UTC)
        for field, minutes in since:
            keys = [k for k in keys
                    if (at := self.issues[k].get(field)) and at >= now - timedelta(minutes=minutes)]
        if since:  # newest first, as ORDER BY … DESC asks
            keys.sort(key=lambda k: self.issues[k][since[0][0]], reverse=True)
        return keys, error


def seed_servicenow(snow: FakeServiceNow) -> None:
    """Open: P1 x2, P2 x1, P4 x3; not open: a resolved P1 and a closed P2."""
    for impact, urgency, n in (("1", "1", 2), ("1", "2", 1), ("2", "3", 3)):
        for i in range(n):
            snow.insert("incident", short_description=f"open P{impact}{urgency} {i}",
                        impact=impact, urgency=urgency)
    snow.insert("incident", short_description="fixed", impact="1", urgency="1", state="6",
                close_code="Solved", close_notes="done")
    snow.insert("incident", short_description="closed", impact="1", urgency="2", state="7")


def seed_jira(jira: DigestJira, now: datetime) -> None:
    """Created in the last hour: OPS-1..3 (OPS-2 also resolved); WEB-1 two days ago."""
    recent = now - timedelta(minutes=30)
    jira.add_issue("OPS", "Pager storm", created=recent)
    jira.add_issue("OPS", "Disk <full> & slow", created=recent + timedelta(minutes=1),
                   resolved=now - timedelta(minutes=5), status="Done")
    jira.add_issue("OPS", "Rotate keys", created=recent + timedelta(minutes=2))
    jira.add_issue("WEB", "Old bug", created=now - timedelta(days=2))


async def seed_ledger(db: Database, now: datetime) -> None:
    """This period (last hour): engineering $3 (gpt-4o $2, claude $1), sales $0.50 (gpt-4o);
    earlier this month: engineering $400 more (so 80.6% of a $500 budget)."""
    def row(dept: str, model: str, usd: float, at: datetime, project: str | None = None) -> UsageRow:
        return UsageRow(request_id=f"r-{dept}-{model}-{at:%s}", user_id="U0ALICE", department=dept,
                        project=project, channel="C0OPS", model=model, input_tokens=1000,
                        output_tokens=500, cost_nanos=int(usd * 1e9), at=at)

    recent = now - timedelta(minutes=20)
    earlier = max(now - timedelta(days=2), datetime(now.year, now.month, 1, tzinfo=UTC))
    await Ledger(db).record([
        row("engineering", "gpt-4o", 2.0, recent), row("engineering", "claude-sonnet", 1.0, recent),
        row("sales", "gpt-4o", 0.5, recent, project="apollo"),
        row("engineering", "gpt-4o", 400.0, earlier),
    ])


async def seed_workflows(db: Database, now: datetime) -> None:
    store = RunStore(db)
    for i, (status, error) in enumerate((("succeeded", None), ("succeeded", None),
                                         ("compensated", "Jira said no: project OPS is archived"))):
        run_id, _ = await store.create(workflow="kickoff", trigger_key=f"t{i}", subject=f"RITM{i}",
                                       input={}, requested_by="U0ALICE", channel="C0OPS",
                                       steps=["jira"])
        await store.set_run(run_id, status=status, error=error, finished_at=now)


async def seed_denials(db: Database, now: datetime) -> None:
    def denial(policy: str, action: str, at: datetime) -> dict[str, Any]:
        return {"at": at, "request_id": f"q-{policy}-{action}-{at:%s}", "source": "slash",
                "actor": "U0MALLORY", "channel": "C0OPS", "action": action, "stage": "policy",
                "policy": policy, "decision": "deny", "rule": "no-role", "detail": ""}

    recent = now - timedelta(minutes=10)
    rows = [denial("rbac", "jira:issue:create", recent - timedelta(seconds=i)) for i in range(3)]
    rows += [denial("rate_limit", "agent:ask", recent), denial("dlp", "agent:ask", recent)]
    rows.append(denial("rbac", "jira:issue:create", now - timedelta(days=3)))  # before the period
    allowed = {**denial("rbac", "help", recent), "decision": "allow", "request_id": "q-ok"}
    async with db.write() as conn:
        await conn.execute(AuditEvent.__table__.insert(), [*rows, allowed])


def today() -> date:
    return datetime.now(UTC).date()
