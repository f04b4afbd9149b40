"""Project kickoff: a ServiceNow request item becomes a project everywhere.

read the item -> the analyst's requirements analysis -> a Jira epic with its
stories -> a Salesforce opportunity -> a SharePoint project folder holding a
project brief -> an announcement in Slack -> a work note with every link and a
state change on the item. Every object made carries the step's idempotency key
(`sbk…`), which is how a resumed step finds what it made before it died, and
how an undo finds an object whose creation it never heard back from.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import partial
from typing import Any

from agents.analysis import RequirementsAnalysis
from bot.workflows import brief
from bot.workflows.jira_items import delete_marked, find_marked
from bot.workflows.saga import (
    Step,
    StepContext,
    StepError,
    Undo,
    UndoReport,
    Workflow,
    describe,
)
from connectors.errors import ConnectorError, NotFound
from connectors.sharepoint import FolderEntry
from policies.policy_file import KickoffConfig

NAME = "kickoff"
RITM = re.compile(r"^RITM\d{4,12}$")
_SP_FORBIDDEN = re.compile(r'["*:<>?/\\|#%]')


def kickoff_input(number: str, config: KickoffConfig) -> dict[str, Any]:
    """The run's input: the item and a snapshot of the config, so a resumed run is the same run."""
    unknown = sorted(set(config.approval_steps) - {s.name for s in WORKFLOW.steps})
    if unknown:
        steps = ", ".join(s.name for s in WORKFLOW.steps)
        raise StepError(f"the policy file's workflows.kickoff.approval_steps names unknown "
                        f"step(s) {', '.join(unknown)} (steps: {steps})")
    if not config.announce_channel:
        raise StepError("there is no channel to announce kickoffs in: set workflows.kickoff."
                        "announce_channel in the policy file")
    return {"number": number, "jira_project": config.jira_project,
            "announce_channel": config.announce_channel or "",
            "sharepoint_folder": config.sharepoint_folder.strip("/"),
            "stage": config.opportunity_stage, "done_state": config.done_state,
            "approval_steps": list(config.approval_steps)}


def _analysis(ctx: StepContext) -> RequirementsAnalysis:
    return RequirementsAnalysis.model_validate(ctx.results["analysis"]["analysis"])


# -- read and analyse -----------------------------------------------------------------------
async def read_request(ctx: StepContext) -> dict[str, Any]:
    item = await ctx.deps.connectors.servicenow.get_request_item(ctx.input["number"])
    return {"number": item.number, "title": item.short_description,
            "description": item.description, "url": item.url, "state_code": item.state_code,
            "requested_for": item.requested_for}


async def analyse(ctx: StepContext) -> dict[str, Any]:
    item = ctx.results["read_request"]
    analysis = await ctx.deps.analyze(item["description"] or item["title"], ctx.run.requested_by,
                                      item["title"])
    return {"analysis": analysis.model_dump()}


# -- Jira -------------------------------------------------------------------------------------
async def jira(ctx: StepContext) -> dict[str, Any]:
    analysis, project = _analysis(ctx), ctx.input["jira_project"]
    tracker = ctx.deps.connectors.jira
    issues: dict[str, dict[str, str]] = dict(ctx.result.get("issues", {}))
    found = await find_marked(tracker, project, ctx.key) if len(issues) < 1 + len(
        analysis.stories) else {}
    planned = [(analysis.epic, "Epic", analysis.summary)] + [
        (s.title, "Story", f"{s.description}\n\nEstimate: {s.estimate_points} points")
        for s in analysis.stories]
    for index, (summary, kind, text) in enumerate(planned):
        if str(index) in issues:
            continue
        issue = found.get(index) or await tracker.create_issue(
            project, summary, kind, text + _jira_tag(ctx, index),
            epic=issues["0"]["key"] if index else None)
        issues[str(index)] = {"key": issue.key, "url": issue.url}
        await ctx.remember(issues=issues)
    return {"project": project, "issues": issues, "epic": issues["0"],
            "stories": [issues[str(i)] for i in range(1, len(planned))]}


def _jira_tag(ctx: StepContext, index: int) -> str:
    return (f"\n\n----\nCreated by Switchboard ({NAME} run {ctx.run.id}, {ctx.input['number']}). "
            f"Key {ctx.key} item {index}.")


async def undo_jira(ctx: StepContext) -> UndoReport:
    known = {int(i): v["key"] for i, v in ctx.result.get("issues", {}).items()}
    return await delete_marked(ctx.deps.connectors.jira, ctx.input["jira_project"], ctx.key,
                               known)


# -- Salesforce ---------------------------------------------------------------------------------
def _opportunity_name(ctx: StepContext) -> str:
    # No quotes or backslashes: the name is matched in a SOQL string literal.
    base = re.sub(r"['\"\\]", "", f"{ctx.input['number']} {_analysis(ctx).epic}")[:90]
    return f"{base} [{ctx.key}]"


async def _find_opportunity(ctx: StepContext) -> str | None:
    soql = f"SELECT Id, Name FROM Opportunity WHERE Name = '{_opportunity_name(ctx)}'"  # noqa: S608
    found = await ctx.deps.connectors.salesforce.query(soql)  # the name has no quotes in it
    return str(found.records[0]["Id"]) if found.records else None


async def opportunity(ctx: StepContext) -> dict[str, Any]:
    crm, name = ctx.deps.connectors.salesforce, _opportunity_name(ctx)
    opp_id = ctx.result.get("id") or await _find_opportunity(ctx)
    if opp_id is None:
        days = max(30, 2 * _analysis(ctx).estimate_days)
        made = await crm.create_opportunity(name, ctx.input["stage"],
                                            close_date=date.today() + timedelta(days=days))
        await ctx.remember(id=made.id)
        return {"id": made.id, "name": name, "url": made.url}
    return {"id": opp_id, "name": name, "url": (await crm.get_opportunity(opp_id)).url}


async def undo_opportunity(ctx: StepContext) -> UndoReport:
    undo, ids = Undo(), {ctx.result["id"]} if ctx.result.get("id") else set()
    try:
        found = await _find_opportunity(ctx)
    except ConnectorError as e:
        found = None
        if not ids:
            return UndoReport(left=(f"could not look for a Salesforce opportunity marked "
                                    f"{ctx.key}: {describe(e)}",))
    ids |= {found} if found else set()
    for opp_id in sorted(ids):
        await undo.attempt(f"deleted Salesforce opportunity {opp_id}",
                           partial(ctx.deps.connectors.salesforce.delete_opportunity, opp_id))
    return undo.report()


# -- SharePoint ---------------------------------------------------------------------------------
def _folder(ctx: StepContext) -> tuple[str, str]:
    name = _SP_FORBIDDEN.sub("", f"{ctx.input['number']} {_analysis(ctx).epic}")[:80].strip(" .")
    name = f"{name} ({ctx.key})"
    return f"{ctx.input['sharepoint_folder']}/{name}", name


async def _existing_folder(ctx: StepContext) -> FolderEntry | None:
    path, name = _folder(ctx)
    try:
        listing = await ctx.deps.connectors.sharepoint.list_folder(path.rsplit("/", 1)[0])
    except NotFound:
        return None
    return next((f for f in listing.folders if f.name == name), None)


async def sharepoint(ctx: StepContext) -> dict[str, Any]:
    library, (path, _) = ctx.deps.connectors.sharepoint, _folder(ctx)
    if not ctx.result.get("folder_url"):
        await ctx.remember(folder=path)  # the name carries our key: a folder there is ours
        made = await _existing_folder(ctx) or await library.create_folder(path)
        await ctx.remember(folder_url=made.url)
    text = brief.project_brief(ctx.results, _analysis(ctx), ctx.key)
    uploaded = await library.upload_file(path, brief.FILE_NAME, text.encode())  # overwrites
    return {"folder": path, "folder_url": ctx.result["folder_url"], "brief_url": uploaded.url}


async def undo_sharepoint(ctx: StepContext) -> UndoReport:
    path = ctx.result.get("folder")
    if not path:
        try:
            path = _folder(ctx)[0] if await _existing_folder(ctx) else None
        except ConnectorError as e:
            return UndoReport(left=(f"could not look for the SharePoint folder marked "
                                    f"{ctx.key}: {describe(e)}",))
    if not path:
        return UndoReport()
    undo = Undo()
    await undo.attempt(f"moved SharePoint folder '{path.rsplit('/', 1)[-1]}' to the Recycle Bin",
                       lambda: ctx.deps.connectors.sharepoint.delete_folder(path))
    return undo.report()


# -- Slack --------------------------------------------------------------------------------------
async def announce(ctx: StepContext) -> dict[str, Any]:
    channel = ctx.input["announce_channel"]
    if ctx.result.get("ts"):
        return dict(ctx.result)
    if not channel:
        raise StepError("there is no channel to announce in: set workflows.kickoff."
                        "announce_channel in the policy file")
    text, blocks = brief.announcement(ctx.results, _analysis(ctx))
    ts = await ctx.deps.notifier.post(channel, text, blocks)
    if not ts:
        raise StepError("Slack is not configured, so the kickoff could not be announced")
    await ctx.remember(channel=channel, ts=ts)
    return {"channel": channel, "ts": ts}


async def undo_announce(ctx: StepContext) -> UndoReport:
    channel, ts = ctx.result.get("channel"), ctx.result.get("ts")
    if not ts or not channel:
        return UndoReport()
    undo = Undo()
    text = (f":leftwards_arrow_with_hook: ~Project kickoff for {ctx.input['number']}~ was rolled "
            "back; the links in this message no longer work.")
    await undo.attempt(f"withdrew the announcement in <#{channel}>",
                       lambda: ctx.deps.notifier.update(channel, ts, text))
    return undo.report()


# -- ServiceNow ---------------------------------------------------------------------------------
async def servicenow(ctx: StepContext) -> dict[str, Any]:
    desk, number = ctx.deps.connectors.servicenow, ctx.input["number"]
    state = ctx.input["done_state"]
    if not await desk.find_work_notes(number, ctx.key):  # note and state go in one PATCH
        await desk.update_request_item(number, {"state": state},
                                       brief.work_note(ctx.results, ctx.run.id, ctx.key))
    return {"state": state}


async def undo_servicenow(ctx: StepContext) -> UndoReport:
    desk, number = ctx.deps.connectors.servicenow, ctx.input["number"]
    undo = Undo()
    if await desk.find_work_notes(number, ctx.key):
        before = ctx.results["read_request"]["state_code"]
        note = f"Project kickoff rolled back by Switchboard: ignore the links above ({ctx.key})."
        await undo.attempt(f"put {number} back to its state and noted the rollback",
                           lambda: desk.update_request_item(number, {"state": before}, note))
    return undo.report()


def summary(results: dict[str, dict[str, Any]]) -> list[str]:
    j, o, s = results["jira"], results["opportunity"], results["sharepoint"]
    a, r = results["announce"], results["read_request"]
    return [f"Jira: <{j['epic']['url']}|{j['epic']['key']}> with {len(j['stories'])} stories",
            f"Salesforce: <{o['url']}|{o['name']}>",
            f"SharePoint: <{s['folder_url']}|project folder> with <{s['brief_url']}|the brief>",
            f"Announced in <#{a['channel']}>",
            f"ServiceNow: work note and state on <{r['url']}|{r['number']}>"]


WORKFLOW = Workflow(NAME, "Project kickoff", (
    Step("read_request", "Read the request item", read_request),
    Step("analysis", "Requirements analysis", analyse),
    Step("jira", "Jira epic and stories", jira, undo_jira),
    Step("opportunity", "Salesforce opportunity", opportunity, undo_opportunity),
    Step("sharepoint", "SharePoint folder and brief", sharepoint, undo_sharepoint),
    Step("announce", "Slack announcement", announce, undo_announce),
    Step("servicenow", "ServiceNow work note and state", servicenow, undo_servicenow),
), summary)
