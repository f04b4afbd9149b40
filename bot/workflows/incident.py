"""Incident bridge: P1/P2 incidents from ServiceNow webhooks become a Slack thread with buttons.

A `incident.created`/`incident.updated` webhook for a P1/P2 incident posts it
to the incident channel with Acknowledge, Open Jira bug and Escalate buttons;
later updates of the same incident land in that message's thread. Each click
is a hidden command that passed RBAC for the clicker before it reaches here.
"Open Jira bug" runs the `incident_bug` saga: the bug, a work note linking it
back on the incident, and the bridge's record of it — undone if a step fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.workflows.bridges import Bridge, BridgeStore
from bot.workflows.deps import WorkflowDeps
from bot.workflows.jira_items import delete_marked, find_marked
from bot.workflows.saga import Step, StepContext, Undo, UndoReport, Workflow
from bot.workflows.service import WorkflowService
from connectors.servicenow import Incident
from policies.store import ActivePolicy
from policies.types import Principal

BUG = "incident_bug"


def _who(p: Principal) -> str:
    return p.name or p.email or p.user_id


class IncidentBridge:
    def __init__(self, bridges: BridgeStore, deps: WorkflowDeps,
                 policy: Callable[[], ActivePolicy], workflows: WorkflowService) -> None:
        self.bridges = bridges
        self._deps = deps
        self._policy = policy
        self._workflows = workflows

    # -- webhooks ---------------------------------------------------------------------------
    async def on_event(self, number: str, priority: int, state: str = "", update: str = "") -> str:
        """Post a new P1/P2 incident, or an update in its thread; returns what was done."""
        config = self._policy().file.workflows.incident
        bridge = await self.bridges.get(number)
        if bridge is None or bridge.ts is None:
            if priority not in config.priorities:
                return f"ignored: P{priority} incidents are not bridged"
            if not config.channel:
                return "ignored: set workflows.incident.channel in the policy file"
            return await self._open(number, bridge.channel if bridge else config.channel)
        lines = [f":arrows_counterclockwise: *{number}* updated"
                 + (f" — state *{state}*" if state else "") + f", P{priority}"]
        if update:
            lines.append(f"> {update[:1500]}")
        await self._deps.notifier.post(bridge.channel, "\n".join(lines), thread_ts=bridge.ts)
        if priority != bridge.priority:
            await self.bridges.set(number, priority=priority)
            await self.refresh(number)
        return f"update posted in the thread of {number}"

    async def _open(self, number: str, channel: str) -> str:
        incident = await self._deps.connectors.servicenow.get_incident(number)
        priority = incident.priority or 5
        await self.bridges.claim(number, channel, priority, incident.short_description)
        bridge = await self.bridges.get(number)
        assert bridge is not None
        text, blocks = bridge_message(bridge, incident.url)
        ts = await self._deps.notifier.post(channel, text, blocks)
        await self.bridges.set(number, ts=ts, priority=priority)
        return f"posted {number} to {channel}"

    async def refresh(self, number: str) -> None:
        bridge = await self.bridges.get(number)
        if bridge is None or bridge.ts is None:
            return
        incident = await self._deps.connectors.servicenow.get_incident(number)
        text, blocks = bridge_message(bridge, incident.url)
        await self._deps.notifier.update(bridge.channel, bridge.ts, text, blocks)

    # -- buttons ----------------------------------------------------------------------------
    async def acknowledge(self, number: str, who: Principal) -> str:
        bridge = await self._bridge(number)
        if not await self.bridges.set(number, only_if_unset="acknowledged_by",
                                      acknowledged_by=who.user_id):
            return f"{number} was already acknowledged by <@{bridge.acknowledged_by}>."
        desk = self._deps.connectors.servicenow
        try:
            user = await desk.find_user_by_email(who.email) if who.email else None
            fields = {"state": "2", **({"assigned_to": user.sys_id} if user else {})}
            await desk.update_incident(number, fields)
            await desk.add_work_note(number, f"Acknowledged in Slack by {_who(who)}.")
        except Exception:
            await self.bridges.set(number, acknowledged_by=None)  # let someone try again
            raise
        await self._deps.notifier.post(bridge.channel, f":eyes: <@{who.user_id}> acknowledged "
                                       f"{number} and is on it.", thread_ts=bridge.ts)
        await self.refresh(number)
        return f"You acknowledged {number}."

    async def escalate(self, number: str, who: Principal) -> str:
        bridge = await self._bridge(number)
        if not await self.bridges.set(number, only_if_unset="escalated_by",
                                      escalated_by=who.user_id):
            return f"{number} was already escalated by <@{bridge.escalated_by}>."
        desk = self._deps.connectors.servicenow
        try:
            await desk.update_incident(number, {"impact": "1", "urgency": "1"})
            await desk.add_work_note(number, f"Escalated to P1 from Slack by {_who(who)}.")
        except Exception:
            await self.bridges.set(number, escalated_by=None)
            raise
        await self.bridges.set(number, priority=1)
        await self._deps.notifier.post(bridge.channel, f":rotating_light: <@{who.user_id}> "
                                       f"escalated {number} to P1.", thread_ts=bridge.ts)
        await self.refresh(number)
        return f"You escalated {number} to P1."

    async def open_bug(self, number: str, who: Principal) -> str:
        bridge = await self._bridge(number)
        if bridge.jira_key:
            return f"{number} already has a Jira bug: {bridge.jira_key}."
        latest = await self._workflows.store.latest(BUG, number)
        if latest is not None and latest.status not in ("compensated", "cancelled",
                                                         "compensation_failed"):
            return f"A Jira bug for {number} is already being filed (workflow run {latest.id})."
        attempt = int(latest.trigger_key.rsplit(":", 1)[-1]) + 1 if latest else 1
        project = self._policy().file.workflows.incident.jira_project
        run_id, created = await self._workflows.launch(
            BUG, trigger_key=f"incident-bug:{number}:{attempt}", subject=number,
            input={"number": number, "jira_project": project, "report": "thread",
                   "title": bridge.short_description, "requested_by": who.user_id},
            requested_by=who.user_id, channel=bridge.channel, thread_ts=bridge.ts)
        if not created:
            return f"A Jira bug for {number} is already being filed (workflow run {run_id})."
        return f"Filing a Jira bug for {number} (workflow run {run_id}); it will show in the thread."

    async def _bridge(self, number: str) -> Bridge:
        bridge = await self.bridges.get(number)
        if bridge is None:
            raise LookupError(f"{number} is not bridged to Slack")
        return bridge


def bridge_message(bridge: Bridge, url: str) -> tuple[str, list[dict[str, Any]]]:
    title = (f":rotating_light: *P{bridge.priority} incident <{url}|{bridge.number}>*: "
             f"{bridge.short_description}")
    status = [f"Acknowledged by <@{bridge.acknowledged_by}>" if bridge.acknowledged_by
              else "Not acknowledged yet"]
    if bridge.escalated_by:
        status.append(f"escalated by <@{bridge.escalated_by}>")
    if bridge.jira_key:
        status.append(f"Jira bug {bridge.jira_key}")
    text = f"{title}\n{' · '.join(status)}"
    n = bridge.number

    def button(prefix: str, label: str, style: str | None = None) -> dict[str, Any]:
        b = {"type": "button", "action_id": f"{prefix}:{n}", "value": n,
             "text": {"type": "plain_text", "text": label}}
        return {**b, "style": style} if style else b

    blocks: list[dict[str, Any]] = [
              {"type": "section", "text": {"type": "mrkdwn", "text": text}},
              {"type": "actions", "elements": [
                  button("incack", "Acknowledge", "primary"), button("incbug", "Open Jira bug"),
                  button("incesc", "Escalate", "danger")]}]
    return text, blocks


# -- the incident_bug saga ---------------------------------------------------------------------
def bug_workflow(bridges: BridgeStore) -> Workflow:
    async def jira_bug(ctx: StepContext) -> dict[str, Any]:
        if ctx.result.get("key"):
            return dict(ctx.result)
        tracker, number = ctx.deps.connectors.jira, ctx.input["number"]
        found = (await find_marked(tracker, ctx.input["jira_project"], ctx.key)).get(0)
        incident: Incident = await ctx.deps.connectors.servicenow.get_incident(number)
        issue = found or await tracker.create_issue(
            ctx.input["jira_project"], f"[{number}] {incident.short_description}"[:250], "Bug",
            f"From ServiceNow incident {number}: {incident.url}\n\n{incident.description}"
            f"\n\n----\nCreated by Switchboard ({BUG} run {ctx.run.id}). Key {ctx.key} item 0.")
        await ctx.remember(key=issue.key, url=issue.url, incident_url=incident.url)
        return {"key": issue.key, "url": issue.url, "incident_url": incident.url}

    async def undo_bug(ctx: StepContext) -> UndoReport:
        known = {0: ctx.result["key"]} if ctx.result.get("key") else {}
        return await delete_marked(ctx.deps.connectors.jira, ctx.input["jira_project"], ctx.key,
                                   known)

    async def link_back(ctx: StepContext) -> dict[str, Any]:
        desk, number, bug = ctx.deps.connectors.servicenow, ctx.input["number"], ctx.results["jira_bug"]
        if not await desk.find_work_notes(number, ctx.key):
            await desk.add_work_note(number, f"Jira bug {bug['key']}: {bug['url']} [{ctx.key}]")
        return {"noted": bug["key"]}

    async def undo_link(ctx: StepContext) -> UndoReport:
        desk, number = ctx.deps.connectors.servicenow, ctx.input["number"]
        undo = Undo()
        if await desk.find_work_notes(number, ctx.key):
            key = ctx.results["jira_bug"].get("key", "")
            await undo.attempt(f"noted on {number} that Jira bug {key} was withdrawn",
                               lambda: desk.add_work_note(
                                   number, f"Jira bug {key} was withdrawn ({ctx.key}-undo)."))
        return undo.report()

    async def record(ctx: StepContext) -> dict[str, Any]:
        bug, number = ctx.results["jira_bug"], ctx.input["number"]
        await bridges.set(number, jira_key=bug["key"])
        bridge = await bridges.get(number)
        if bridge is not None and bridge.ts:  # show the bug on the incident's message
            text, blocks = bridge_message(bridge, bug["incident_url"])
            await ctx.deps.notifier.update(bridge.channel, bridge.ts, text, blocks)
        return {"jira_key": bug["key"]}

    async def undo_record(ctx: StepContext) -> UndoReport:
        await bridges.set(ctx.input["number"], jira_key=None)
        return UndoReport(undone=("forgot the bug on the Slack bridge",))

    def summary(results: dict[str, dict[str, Any]]) -> list[str]:
        bug = results["jira_bug"]
        return [f"Jira bug <{bug['url']}|{bug['key']}>, linked in the incident's work notes"]

    return Workflow(BUG, "Jira bug for an incident", (
        Step("jira_bug", "Jira bug", jira_bug, undo_bug),
        Step("link_back", "Work note linking the bug", link_back, undo_link),
        Step("record", "Bridge record", record, undo_record),
    ), summary)
