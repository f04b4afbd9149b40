"""`sf opportunity show|create`, `sf query` (read-only SOQL)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.commands.args import Args, UsageError, iso_date, money
from bot.commands.registry import Command, CommandContext
from bot.commands.render import card, listing
from connectors.salesforce import Opportunity
from policies.types import Reply

RECORD_ID = r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?"
QUERY_ROWS = 20


def opportunity_card(opp: Opportunity, *, created: bool = False) -> Reply:
    amount = f"${opp.amount:,.0f}" if opp.amount is not None else None
    return card(opp.name, opp.url,
                [("Stage", opp.stage), ("Amount", amount), ("Close date", opp.close_date),
                 ("Account", opp.account_id), ("Id", opp.id)],
                visibility="channel" if created else "ephemeral",
                note="Created from Slack" if created else None)


async def _show(ctx: CommandContext) -> Reply:
    usage = f"{ctx.command_name} sf opportunity show 006XXXXXXXXXXXXXXX"
    rid = Args.parse(ctx.args).word(0, "opportunity id", usage)
    if not re.fullmatch(RECORD_ID, rid):
        raise UsageError(f"`{rid}` is not a Salesforce record id (15 or 18 letters and digits).")
    return opportunity_card(await ctx.services.connectors.salesforce.get_opportunity(rid))


async def _create(ctx: CommandContext) -> Reply:
    a = Args.parse(ctx.args, frozenset({"amount", "close", "account", "stage"}))
    usage = (f"{ctx.command_name} sf opportunity create Acme renewal amount=25000 "
             "close=2026-12-31")
    name = a.rest(0, "opportunity name", usage)
    close = iso_date(a.options.get("close"), "close") or date.today() + timedelta(days=30)
    account = a.options.get("account")
    if account is not None and not re.fullmatch(RECORD_ID, account):
        raise UsageError(f"`account` must be a Salesforce account id, not `{account}`.")
    opp = await ctx.services.connectors.salesforce.create_opportunity(
        name, stage=a.options.get("stage", "Prospecting"), close_date=close,
        amount=money(a.options.get("amount"), "amount"), account_id=account)
    return opportunity_card(opp, created=True)


async def _query(ctx: CommandContext) -> Reply:
    soql = ctx.args.strip()
    if not re.match(r"(?is)^\s*select\s", soql):
        example = "SELECT Name, StageName FROM Opportunity LIMIT 5"
        raise UsageError(f"Only SOQL `SELECT` queries are allowed, e.g. "
                         f"`{ctx.command_name} sf query {example}`")
    result = await ctx.services.connectors.salesforce.query(soql)
    rows = [", ".join(f"{k}: {v}" for k, v in r.items()) for r in result.records[:QUERY_ROWS]]
    return listing(f"{result.total_size} row(s)", rows, empty="No rows.",
                   more=result.total_size - len(rows))


COMMANDS = [
    Command("sf opportunity show", "salesforce:opportunity:read", "<record id>",
            "Show a Salesforce opportunity", _show, "Salesforce"),
    Command("sf opportunity create", "salesforce:opportunity:create",
            "<name> [amount=] [close=YYYY-MM-DD] [account=]", "Create an opportunity", _create,
            "Salesforce"),
    Command("sf query", "salesforce:query:read", "<SOQL SELECT>", "Run a read-only SOQL query",
            _query, "Salesforce"),
]
