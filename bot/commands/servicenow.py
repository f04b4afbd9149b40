"""`incident show|create|note`: ServiceNow incidents from Slack."""

from __future__ import annotations

from bot.commands.args import Args, int_in, matching
from bot.commands.registry import Command, CommandContext
from bot.commands.render import card
from connectors.servicenow import Incident
from policies.types import Reply

NUMBER = r"INC\d{5,10}"
_URGENCY = {1: "1 - High", 2: "2 - Medium", 3: "3 - Low"}


def incident_card(inc: Incident, *, created: bool = False) -> Reply:
    opened = f"{inc.opened_at:%Y-%m-%d %H:%M} UTC" if inc.opened_at else None
    return card(
        f"{inc.number}: {inc.short_description}", inc.url,
        [("State", inc.state), ("Priority", inc.priority), ("Urgency", inc.urgency),
         ("Assigned to", inc.assigned_to or "unassigned"), ("Opened", opened)],
        body=(inc.description or None) if not created else None,
        visibility="channel" if created else "ephemeral",
        note="Created from Slack" if created else None)


async def _show(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args)
    number = matching(a.word(0, "incident number", f"{ctx.command_name} incident show INC0010001"),
                      NUMBER, "an incident number", "INC0010001")
    return incident_card(await ctx.services.connectors.servicenow.get_incident(number))


async def _create(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args, frozenset({"urgency"}))
    usage = f"{ctx.command_name} incident create Checkout is down urgency=1"
    summary = a.rest(0, "short description", usage)
    urgency = int_in(a.options.get("urgency"), "urgency", 1, 3, default=3)
    desk = ctx.services.connectors.servicenow
    email = ctx.request.principal.email
    # The caller is who asked, when ServiceNow knows them; an unknown email is not an error.
    user = await desk.find_user_by_email(email) if email else None
    inc = await desk.create_incident(summary, urgency, caller=user.sys_id if user else None)
    return incident_card(inc, created=True)


async def _note(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args)
    usage = f"{ctx.command_name} incident note INC0010001 Restarted the pods"
    number = matching(a.word(0, "incident number", usage), NUMBER, "an incident number",
                      "INC0010001")
    text = a.rest(1, "note text", usage)
    who = ctx.request.principal
    note = f"{text}\n— {who.name or who.user_id} via Slack"
    inc = await ctx.services.connectors.servicenow.add_work_note(number, note)
    return Reply(f":memo: Added a work note to <{inc.url}|{inc.number}>.", visibility="ephemeral")


COMMANDS = [
    Command("incident show", "servicenow:incident:read", "INC0010001",
            "Show a ServiceNow incident", _show, "ServiceNow"),
    Command("incident create", "servicenow:incident:create", "<short description> [urgency=1..3]",
            "Open a ServiceNow incident", _create, "ServiceNow"),
    Command("incident note", "servicenow:incident:update", "INC0010001 <text>",
            "Add a work note to an incident", _note, "ServiceNow"),
]
