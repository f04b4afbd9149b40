"""help, whoami, and the reply to an unknown verb."""

from __future__ import annotations

import difflib
from itertools import groupby

from bot.commands.registry import Command, CommandContext, CommandTable
from policies.types import Reply


def core_commands(table: CommandTable) -> list[Command]:
    async def help_(ctx: CommandContext) -> Reply:
        return _help(ctx, table)

    async def unknown(ctx: CommandContext) -> Reply:
        return _unknown(ctx, table)

    return [
        Command("help", "help", "", "What you can ask me, given your roles", help_),
        Command("whoami", "whoami", "", "Your roles, department and limits", _whoami),
        Command("ask", "agent:ask", "<question>",
                "Ask the ops team in plain words (same as @mentioning me)", None),
        Command("unknown", "help", "", "", unknown, group="hidden"),
        Command("button:unknown", "help", "", "", _stale_button, group="hidden"),
    ]


async def _stale_button(_: CommandContext) -> Reply:
    return Reply.error("This button is no longer active.")


def _help(ctx: CommandContext, table: CommandTable) -> Reply:
    who, channel = ctx.request.principal, ctx.request.channel
    rbac = ctx.policy.rbac
    visible = [c for c in table if c.group != "hidden" and rbac.check(who, c.action, channel).allowed]
    lines = [f"*Switchboard* — here is what you can run in this channel with `{ctx.command_name}`:"]
    for group, commands in groupby(sorted(visible, key=lambda c: c.group), key=lambda c: c.group):
        lines.append(f"\n*{group}*")
        lines += [f"• `{_usage(ctx.command_name, c)}` — {c.summary}" for c in commands]
    hidden = sum(1 for c in table if c.group != "hidden") - len(visible)
    if hidden:
        lines.append(f"\n_{hidden} more command(s) need a role you don't have here._")
    lines.append("\nYou can also @mention me or DM me in plain words.")
    return Reply("\n".join(lines))


def _usage(command_name: str, c: Command) -> str:
    return f"{command_name} {c.verb} {c.usage}".rstrip()


async def _whoami(ctx: CommandContext) -> Reply:
    who = ctx.request.principal
    policy = ctx.policy
    roles = policy.rbac.roles_of(who) or ["(none)"]
    person = policy.file.people.get(who.user_id)
    lines = [
        f"*You are* <@{who.user_id}> (`{who.user_id}`)" + (f", {who.email}" if who.email else ""),
        f"*Roles:* {', '.join(roles)}",
        f"*Department:* {person.department if person and person.department else '(none)'}",
    ]
    limits = await ctx.services.limits_for(ctx.request) if ctx.services.limits_for else []
    if limits:
        lines.append("*Limits left:*\n" + "\n".join(f"• {line}" for line in limits))
    lines.append(f"_Policy: {policy.source}_")
    return Reply("\n".join(lines))


def _unknown(ctx: CommandContext, table: CommandTable) -> Reply:
    first = " ".join(ctx.args.split()[:2]).lower()
    verbs = [c.verb for c in table if c.group != "hidden"]
    close = difflib.get_close_matches(first, verbs, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(f'`{v}`' for v in close)}?" if close else ""
    return Reply.error(f"I don't know `{ctx.args or '(nothing)'}`.{hint} "
                       f"Try `{ctx.command_name} help`.")
