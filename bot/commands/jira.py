"""`jira show|create|search|comment`."""

from __future__ import annotations

from bot.commands.args import Args, UsageError, matching
from bot.commands.registry import Command, CommandContext
from bot.commands.render import card, link, listing
from connectors.jira import JiraIssue
from policies.types import Reply

KEY = r"[A-Z][A-Z0-9_]+-\d+"
PROJECT = r"[A-Z][A-Z0-9_]+"
SEARCH_LIMIT = 10


def issue_card(issue: JiraIssue, *, created: bool = False) -> Reply:
    return card(
        f"{issue.key}: {issue.summary}", issue.url,
        [("Type", issue.issue_type), ("Status", issue.status),
         ("Assignee", issue.assignee or "unassigned"), ("Parent", issue.parent)],
        body=None if created or not issue.description else issue.description[:1500],
        visibility="channel" if created else "ephemeral",
        note="Created from Slack" if created else None)


async def _show(ctx: CommandContext) -> Reply:
    key = matching(Args.parse(ctx.args).word(0, "issue key", f"{ctx.command_name} jira show OPS-12"),
                   KEY, "a Jira issue key", "OPS-12")
    return issue_card(await ctx.services.connectors.jira.get_issue(key))


async def _create(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args, frozenset({"type", "epic", "parent"}))
    usage = f"{ctx.command_name} jira create OPS Checkout times out type=Bug"
    project = matching(a.word(0, "project key", usage), PROJECT, "a project key", "OPS")
    summary = a.rest(1, "summary", usage)
    issue = await ctx.services.connectors.jira.create_issue(
        project, summary, a.options.get("type", "Task"), epic=a.options.get("epic"),
        parent=a.options.get("parent"),
        description=f"Created from Slack by {ctx.request.principal.name or ctx.request.principal.user_id}.")
    return issue_card(issue, created=True)


async def _search(ctx: CommandContext) -> Reply:
    jql = ctx.args.strip()
    if not jql:
        raise UsageError(f"Missing the JQL. Usage: `{ctx.command_name} jira search "
                         "project = OPS AND status = \"In Progress\"`")
    issues = await ctx.services.connectors.jira.search(jql, limit=SEARCH_LIMIT + 1)
    rows = [f"{link(i.key, i.url)} {i.summary} — _{i.status}_" for i in issues[:SEARCH_LIMIT]]
    return listing(f"Jira: {jql}", rows, empty="No issues match.",
                   more=len(issues) - SEARCH_LIMIT)


async def _comment(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args)
    usage = f"{ctx.command_name} jira comment OPS-12 Deployed the fix"
    key = matching(a.word(0, "issue key", usage), KEY, "a Jira issue key", "OPS-12")
    body = a.rest(1, "comment text", usage)
    who = ctx.request.principal
    comment = await ctx.services.connectors.jira.add_comment(
        key, f"{body}\n\n— {who.name or who.user_id} via Slack")
    return Reply(f":speech_balloon: Commented on {link(key, comment.url)}.")


COMMANDS = [
    Command("jira show", "jira:issue:read", "OPS-12", "Show a Jira issue", _show, "Jira"),
    Command("jira create", "jira:issue:create", "<project> <summary> [type=Bug]",
            "Create a Jira issue", _create, "Jira"),
    Command("jira search", "jira:issue:read", "<JQL>", "Search Jira with JQL", _search, "Jira"),
    Command("jira comment", "jira:issue:comment", "OPS-12 <text>", "Comment on a Jira issue",
            _comment, "Jira"),
]
