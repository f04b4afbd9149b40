"""`cost` and `budget`: what the LLM work cost, and where each budget stands. No tokens spent."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.commands.args import UsageError
from bot.commands.registry import Command, CommandContext
from bot.cost.ledger import GROUPS, Ledger, spend_by
from bot.cost.periods import PERIODS, window
from policies.budget import BudgetState, dollars, on_exceed_text, scope_of
from policies.types import Reply

COST_USAGE = "[today|week|month] [by department|model|user|project]"
BAR_CELLS = 10


def _ledger(ctx: CommandContext) -> Ledger:
    if ctx.services.ledger is None:
        raise UsageError("The cost ledger is not available on this hub.")
    return ctx.services.ledger


def parse_cost_args(text: str, command_name: str = "/sb") -> tuple[str, str]:
    """`week by model` -> ("week", "model"); defaults: month, by department."""
    usage = f"Usage: `{command_name} cost {COST_USAGE}`"
    words = text.lower().split()
    period, group = "month", "department"
    if "by" in words:
        at = words.index("by")
        rest = words[at + 1:]
        if len(rest) != 1 or rest[0] not in GROUPS:
            shown = " ".join(rest) or "(nothing)"
            raise UsageError(f"`by {shown}`: group by {', '.join(GROUPS[:-1])} or "
                             f"{GROUPS[-1]}. {usage}")
        group, words = rest[0], words[:at]
    if len(words) > 1 or (words and words[0] not in PERIODS):
        raise UsageError(f"`{' '.join(words)}` is not a period: use {', '.join(PERIODS[:-1])} or "
                         f"{PERIODS[-1]}. {usage}")
    return (words[0] if words else period), group


async def _cost(ctx: CommandContext) -> Reply:
    period, group = parse_cost_args(ctx.args, ctx.command_name)
    ledger = _ledger(ctx)
    span = window(period, ledger.now())
    rows = await spend_by(ledger.db, span.start, span.end, group)
    title = f"LLM spend — {span.label}, by {group}"
    if not rows:
        return Reply(f"*{title}*\nNothing spent yet.")
    text = f"*{title}*\n```{spend_table(group, rows)}```"
    return Reply(text, blocks=({"type": "section", "text": {"type": "mrkdwn", "text": text}},))


def spend_table(group: str, rows: Sequence[tuple[str, Decimal, int, int]]) -> str:
    """A fixed-width table with a total line; cents, or 1/100 cent when the total is small."""
    total = (sum((r[1] for r in rows), Decimal(0)), sum(r[2] for r in rows),
             sum(r[3] for r in rows))
    places = 2 if total[0] >= 1 else 4
    lines = [(k, f"${u:,.{places}f}", f"{i:,}", f"{o:,}") for k, u, i, o in rows]
    lines.append(("total", f"${total[0]:,.{places}f}", f"{total[1]:,}", f"{total[2]:,}"))
    header = (group, "USD", "input tok", "output tok")
    widths = [max(len(line[c]) for line in [header, *lines]) for c in range(4)]

    def fmt(line: tuple[str, str, str, str]) -> str:
        return "  ".join([line[0].ljust(widths[0]),
                          *(cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True))])

    return "\n".join([fmt(header), *(fmt(line) for line in lines)])


async def _budget(ctx: CommandContext) -> Reply:
    budgets = ctx.policy.file.budgets
    if not budgets:
        return Reply("No LLM budgets are set. Add them under `budgets:` in the policy file.")
    ledger = _ledger(ctx)
    states = []
    for key, budget in sorted(budgets.items()):
        scope, name = scope_of(key)
        states.append(BudgetState(scope, name, budget, await ledger.month_spend(scope, name)))
    text = f"*LLM budgets — {ledger.now():%B %Y}*\n" + "\n".join(budget_line(s) for s in states)
    return Reply(text, blocks=({"type": "section", "text": {"type": "mrkdwn", "text": text}},))


def progress_bar(ratio: float, cells: int = BAR_CELLS) -> str:
    filled = min(cells, max(0, int(ratio * cells)))
    return "▓" * filled + "░" * (cells - filled) + f" {int(ratio * 100)}%"


def budget_line(state: BudgetState) -> str:
    status = {"ok": ":white_check_mark: ok", "warning": ":warning: nearly spent",
              "exceeded": f":no_entry: spent: {on_exceed_text(state.budget)}"}[state.status]
    return (f"• *{state.label}* `{progress_bar(state.ratio)}` ${state.spent:,.2f} of "
            f"{dollars(state.budget.monthly_usd)} — {status}")


COMMANDS: list[Command] = [
    Command("cost", "cost:read", COST_USAGE,
            "LLM spend with tokens (default: this month by department)", _cost, group="Cost"),
    Command("budget", "budget:read", "", "Every LLM budget: spent, limit, status", _budget,
            group="Cost"),
]
