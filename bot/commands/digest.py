"""`digest now|schedule|list|cancel`: a channel's picture of what happened and what it cost."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.commands.args import Args, UsageError
from bot.commands.registry import Command, CommandContext
from bot.commands.render import listing
from bot.digest.model import SECTIONS
from bot.digest.service import DigestService, Planned
from bot.scheduler.cron import parse_timezone
from policies.types import Reply

# Slack escapes a picked channel as <#C024BE7LR|general> (or <#C024BE7LR>); ids also work bare.
_CHANNEL = re.compile(r"^(?:<#(?P<escaped>[CGD][A-Z0-9]{2,})(?:\|[^>]*)?>|#?(?P<bare>[CGD][A-Z0-9]{8,}))$")
_ALIASES = {"incident": "incidents", "servicenow": "incidents", "issues": "jira",
            "workflow": "workflows", "denial": "denials", "policy": "denials", "cost": "spend",
            "costs": "spend", "budget": "spend", "budgets": "spend", "llm": "spend"}
# macOS "smart" quotes, as Slack passes them on
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_CRONISH = re.compile(r"^[0-9*/,\-?A-Za-z]+$")
SCHEDULE_USAGE = 'digest schedule "0 9 * * 1-5" [#channel] [sections…] [tz=Europe/Berlin]'


def _service(ctx: CommandContext) -> DigestService:
    if ctx.services.digests is None:
        raise UsageError("Digests are not available in this hub.")
    return ctx.services.digests


def channel_of(word: str) -> str | None:
    """`<#C123ABC|ops>`, `<#C123ABC>`, `#C0123ABCD`, `C0123ABCD` -> the id; else None."""
    m = _CHANNEL.match(word.strip())
    return (m["escaped"] or m["bare"]) if m else None


def split_target(words: Sequence[str], ctx: CommandContext) -> tuple[str, tuple[str, ...]]:
    """[#channel] [sections…] -> (channel id, section names), checked."""
    channel, sections = ctx.request.channel, []
    for word in words:
        found = channel_of(word)
        if found:
            channel = found
        elif word.startswith(("#", "<#")):
            raise UsageError(f"I can't tell which channel `{word}` is: pick it from Slack's "
                             "channel list so it arrives as a link, or give its id (C0…).")
        else:
            sections.append(_section(word))
    return channel, tuple(dict.fromkeys(sections))


def _section(word: str) -> str:
    name = _ALIASES.get(word.lower(), word.lower())
    if name not in SECTIONS:
        raise UsageError(f"`{word}` is not a digest section. Sections: {', '.join(SECTIONS)}.")
    return name


def _allowed_in(ctx: CommandContext, channel: str) -> None:
    """The chain checked the channel the command was typed in; the target may differ."""
    if channel == ctx.request.channel:
        return
    verdict = ctx.policy.rbac.check(ctx.request.principal, ctx.request.action, channel)
    if not verdict.allowed:
        raise UsageError(f"You may not do that for <#{channel}>: {verdict.reason}.")


def _cron_and_rest(words: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """A quoted cron is one word; an unquoted one is the first five cron-looking words."""
    if not words:
        raise UsageError(f"Missing the cron expression. Usage: `{SCHEDULE_USAGE}`")
    if " " in words[0].strip() or len(words) < 5:
        return words[0], words[1:]
    head = words[:5]
    if all(_CRONISH.match(w) and w.lower() not in SECTIONS and w.lower() not in _ALIASES
           for w in head):
        return " ".join(head), words[5:]
    return words[0], words[1:]


async def _now(ctx: CommandContext) -> Reply:
    channel, sections = split_target(Args.parse(ctx.args).words, ctx)
    _allowed_in(ctx, channel)
    composed = await _service(ctx).now(channel, sections)
    problems = composed.digest.problems
    note = f" Could not show: {'; '.join(problems)}." if problems else ""
    return Reply(f":newspaper: Posted the digest in <#{channel}>.{note}")


async def _schedule(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args.translate(_QUOTES), frozenset({"tz"}))
    cron, rest = _cron_and_rest(a.words)
    channel, sections = split_target(rest, ctx)
    _allowed_in(ctx, channel)
    zone = a.options.get("tz")
    if zone is not None:
        parse_timezone(zone)  # a clear error before anything is stored
    who = ctx.request.principal.user_id
    planned = await _service(ctx).schedule(cron, channel, sections, who, zone)
    s = planned.schedule
    return Reply(f":calendar: Scheduled digest `{s.id}` for <#{s.channel}>: `{s.cron}` "
                 f"({s.timezone}), {_sections(s.sections)}. Next: {_when(planned.next_run, s.timezone)}. "
                 f"Cancel with `{ctx.command_name} digest cancel {s.id}`.")


async def _list(ctx: CommandContext) -> Reply:
    planned = await _service(ctx).schedules()
    rows = [_row(p) for p in planned]
    return listing("Digest schedules", rows,
                   empty=f"No digests are scheduled. Try `{ctx.command_name} {SCHEDULE_USAGE}`.")


async def _cancel(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args)
    schedule_id = a.word(0, "schedule id", f"{ctx.command_name} digest cancel d3f9a1")
    schedule = await _service(ctx).cancel(schedule_id)
    if schedule is None:
        raise UsageError(f"There is no digest schedule `{schedule_id}`. "
                         f"See `{ctx.command_name} digest list`.")
    if schedule.source != "slack":
        raise UsageError(f"`{schedule_id}` comes from the policy file; remove it there "
                         "(`digests.schedules`).")
    return Reply(f":wastebasket: Cancelled digest `{schedule.id}` for <#{schedule.channel}> "
                 f"(`{schedule.cron}`).")


def _row(p: Planned) -> str:
    s = p.schedule
    state = f":warning: {p.problem}" if p.problem else f"next {_when(p.next_run, s.timezone)}"
    last = f", last {_when(s.last_run_at, s.timezone)}" if s.last_run_at else ""
    origin = " (policy file)" if s.source == "policy" else f" by <@{s.created_by}>"
    return (f"`{s.id}` <#{s.channel}> `{s.cron}` ({s.timezone}), {_sections(s.sections)}; "
            f"{state}{last}{origin}")


def _sections(sections: Sequence[str]) -> str:
    return ", ".join(sections) if sections and set(sections) != set(SECTIONS) else "all sections"


def _when(at: datetime | None, zone: str) -> str:
    if at is None:
        return "not scheduled in this hub process"
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


COMMANDS = [
    Command("digest now", "digest:run", "[#channel] [sections…]",
            "Post a digest now (since the channel's last one)", _now, "Digests"),
    Command("digest schedule", "digest:manage", '"0 9 * * 1-5" [#channel] [sections…] [tz=…]',
            "Post a digest on a cron schedule", _schedule, "Digests"),
    Command("digest list", "digest:read", "", "Scheduled digests", _list, "Digests"),
    Command("digest cancel", "digest:manage", "<id>", "Cancel a scheduled digest", _cancel,
            "Digests"),
]
