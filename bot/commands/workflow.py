"""`kickoff`, `workflow status`, and the buttons of approvals and the incident bridge."""

from __future__ import annotations

from bot.commands.args import Args, UsageError, matching
from bot.commands.registry import Command, CommandContext
from bot.workflows import Workflows
from bot.workflows.report import headline, step_lines
from bot.workflows.saga import StepError
from policies.rbac import APPROVAL
from policies.types import Reply

RITM = r"RITM\d{4,12}"
INC = r"INC\d{4,12}"


def _workflows(ctx: CommandContext) -> Workflows:
    if ctx.services.workflows is None:
        raise UsageError("Workflows are not available on this hub.")
    return ctx.services.workflows


async def _kickoff(ctx: CommandContext) -> Reply:
    usage = f"{ctx.command_name} kickoff RITM0010001"
    number = matching(Args.parse(ctx.args).word(0, "request item number", usage), RITM,
                      "a request item number", "RITM0010001")
    try:
        run_id, created = await _workflows(ctx).service.kickoff(
            number, trigger_key=ctx.request.id, requested_by=ctx.request.principal.user_id,
            channel=ctx.request.channel)
    except StepError as e:
        return Reply.error(f":warning: The kickoff cannot start: {e}.")
    if not created:
        return Reply(f"That kickoff already started as run {run_id}.")
    return Reply(f":gear: Kickoff run {run_id} for {number} started; I'll post its progress "
                 f"here. `{ctx.command_name} workflow status {run_id}` shows the steps.")


async def _status(ctx: CommandContext) -> Reply:
    usage = f"{ctx.command_name} workflow status 12"
    raw = Args.parse(ctx.args).word(0, "run id", usage).lstrip("#")
    if not raw.isdigit():
        raise UsageError(f"`{raw}` is not a run id (a number, like `12`).")
    workflows = _workflows(ctx)
    run = await workflows.service.store.load(int(raw))
    if run is None:
        return Reply.error(f"There is no workflow run {raw}.")
    workflow = workflows.service.engine.workflow(run.workflow)
    lines = [headline(run, workflow), *step_lines(run, workflow)]
    for step in run.steps:
        if step.attempts > 1:
            lines.append(f"_{step.name} took {step.attempts} attempts (resumed)_")
    if run.left_behind:
        lines.append(":warning: Left behind: " + "; ".join(run.left_behind))
    text = "\n".join(lines)
    return Reply(text, blocks=({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},))


def _run_and_step(value: str) -> tuple[int, str]:
    run, _, step = value.partition(":")
    if not run.isdigit() or not step:
        raise UsageError("This button is no longer active.")
    return int(run), step


async def _approve(ctx: CommandContext) -> Reply:
    return await _decide(ctx, approve=True)


async def _reject(ctx: CommandContext) -> Reply:
    return await _decide(ctx, approve=False)


async def _decide(ctx: CommandContext, *, approve: bool) -> Reply:
    run_id, step = _run_and_step(ctx.args)
    ok, message = await _workflows(ctx).service.decide(run_id, step, approve,
                                                      ctx.request.principal)
    return Reply(message) if ok else Reply.error(f":no_entry: {message}")


def _incident(ctx: CommandContext) -> str:
    return matching(ctx.args.strip() or "-", INC, "an incident number", "INC0010001")


async def _acknowledge(ctx: CommandContext) -> Reply:
    return await _click(ctx, "acknowledge")


async def _open_bug(ctx: CommandContext) -> Reply:
    return await _click(ctx, "open_bug")


async def _escalate(ctx: CommandContext) -> Reply:
    return await _click(ctx, "escalate")


async def _click(ctx: CommandContext, what: str) -> Reply:
    incidents = _workflows(ctx).incidents
    try:
        message = await getattr(incidents, what)(_incident(ctx), ctx.request.principal)
    except LookupError as e:
        return Reply.error(f":warning: {e.args[0]}.")
    return Reply(message)


# Approval buttons pass the chain with an always-allowed action: approvers may hold only
# `approve:` grants, so the real check is `can_approve` (or "is the requester", to reject).
COMMANDS = [
    Command("kickoff", "workflow:kickoff:run", "RITM0010001",
            "Kick off a project from a ServiceNow request item", _kickoff, "Workflows"),
    Command("workflow status", "workflow:read", "<run id>",
            "Show a workflow run and its steps", _status, "Workflows"),
    Command("button:wfapprove", APPROVAL, "", "", _approve, group="hidden"),
    Command("button:wfreject", APPROVAL, "", "", _reject, group="hidden"),
    Command("button:incack", "servicenow:incident:update", "", "", _acknowledge, group="hidden"),
    Command("button:incbug", "jira:issue:create", "", "", _open_bug, group="hidden"),
    Command("button:incesc", "servicenow:incident:escalate", "", "", _escalate, group="hidden"),
]
