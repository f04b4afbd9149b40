"""The budget policy, pure: a dict of spend, a list of alerts, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from policies.budget import BudgetPolicy, alert_levels
from policies.errors import PolicyFileError
from policies.policy_file import Budget, load_policy_file
from policies.store import PolicyStore
from policies.types import Decision, Principal, Reply, Request, Route, RouteKind, Source

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
POLICY = """
people:
  U0ALICE: {department: engineering, project: apollo}
  U0BOB: {department: sales}
  U0NOBODY: {}
budgets:
  engineering: {monthly_usd: 500, channel: C0ENG}
  sales: {monthly_usd: 100, on_exceed: downgrade, downgrade_model: "openai:gpt-4o-mini",
          channel: C0SALES}
  "project:apollo": {monthly_usd: 50, warn_at: 0.5, on_exceed: warn}
"""


class Spend:
    def __init__(self, **usd: float) -> None:
        self.usd = dict(usd)
        self.asked: list[tuple[str, str]] = []
        self.broken = False

    async def month_spend(self, scope: str, name: str) -> float:
        if self.broken:
            raise ConnectionError("database down")
        self.asked.append((scope, name))
        return self.usd.get(f"{scope}:{name}", 0.0)


class Harness:
    def __init__(self, tmp_path: Path, policy: str = POLICY, **spend: float) -> None:
        path = tmp_path / "policy.yaml"
        path.write_text(policy)
        self.store = PolicyStore(str(path))
        self.store.load()
        self.spend = Spend(**spend)
        self.alerts: list[tuple[str, str]] = []
        self.decisions: list[Decision] = []
        self.passed: list[Request] = []
        self.policy = self.make()

    def make(self, claim: Any = None) -> BudgetPolicy:
        async def alert(channel: str, text: str) -> None:
            self.alerts.append((channel, text))

        return BudgetPolicy(self.store, self.spend, alert,
                            lambda _r, d: self.decisions.append(d), claim=claim,
                            clock=lambda: NOW)

    async def ask(self, user: str = "U0ALICE", kind: RouteKind = RouteKind.AGENT,
                  policy: BudgetPolicy | None = None) -> Reply:
        async def endpoint(request: Request) -> Reply:
            self.passed.append(request)
            return Reply("answered")

        route = Route(kind, "agent" if kind is RouteKind.AGENT else "whoami",
                      "agent:ask" if kind is RouteKind.AGENT else "whoami", "hi")
        request = Request(id=f"r{len(self.decisions)}", source=Source.MENTION,
                          principal=Principal(user), text="hi", channel="C0OPS", route=route)
        return await (policy or self.policy)(request, endpoint)


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., Harness]:
    return lambda **spend: Harness(tmp_path, **spend)


async def test_commands_are_not_checked_and_spend_nothing(make) -> None:
    h = make(**{"department:engineering": 10_000.0})
    reply = await h.ask(kind=RouteKind.COMMAND)
    assert reply.text == "answered"
    assert h.spend.asked == [] and h.decisions == [] and h.alerts == []


async def test_a_person_without_a_budget_is_allowed_and_the_decision_says_so(make) -> None:
    h = make()
    assert (await h.ask("U0NOBODY")).text == "answered"
    assert h.decisions == [Decision("budget", "allow", "none", "no budget applies")]


async def test_under_the_warning_level_nothing_is_posted(make) -> None:
    h = make(**{"department:engineering": 399.99})
    assert (await h.ask()).ok
    assert h.alerts == []
    assert h.decisions[-1].rule == "engineering 79%"
    assert set(h.spend.asked) == {("department", "engineering"), ("project", "apollo")}


async def test_80_then_95_percent_alerts_are_posted_once_each(make) -> None:
    h = make(**{"department:engineering": 410.0})
    await h.ask()
    await h.ask()
    assert h.alerts == [("C0ENG", ":warning: *engineering* has used 82% of its monthly LLM "
                                  "budget ($410.00 of $500, November 2026). At 100% agent "
                                  "requests are refused.")]
    h.spend.usd["department:engineering"] = 480.0
    await h.ask()
    await h.ask()
    assert len(h.alerts) == 2 and "used 96%" in h.alerts[1][1]
    assert all(r.text == "hi" for r in h.passed) and len(h.passed) == 4


async def test_a_jump_past_both_levels_posts_one_alert_for_the_higher(make) -> None:
    h = make(**{"department:engineering": 490.0})
    await h.ask()
    h.spend.usd["department:engineering"] = 495.0
    await h.ask()
    assert [t for _, t in h.alerts] == [
        ":warning: *engineering* has used 98% of its monthly LLM budget ($490.00 of $500, "
        "November 2026). At 100% agent requests are refused."]


async def test_over_budget_blocks_before_the_endpoint_with_a_clear_denial(make) -> None:
    h = make(**{"department:engineering": 512.4})
    reply = await h.ask()
    assert not reply.ok and h.passed == []
    assert reply.text == (":no_entry: engineering has spent $512.40 of its $500 monthly LLM "
                          "budget; ask <#C0ENG> or wait until Dec 1. Commands that need no "
                          "model still work.")
    assert h.decisions[-1] == Decision("budget", "deny", "engineering 102%",
                                       "monthly LLM budget spent")
    [(channel, text)] = h.alerts
    assert channel == "C0ENG" and "whole monthly LLM budget" in text and "until Dec 1" in text
    assert (await h.ask()).ok is False and len(h.alerts) == 1  # still blocked, told once


async def test_over_budget_downgrade_passes_the_cheaper_model_on(make) -> None:
    h = make(**{"department:sales": 100.0})
    assert (await h.ask("U0BOB")).ok
    [passed] = h.passed
    assert passed.payload["model"] == "openai:gpt-4o-mini"
    assert h.decisions[-1].reason == "downgraded to openai:gpt-4o-mini"
    assert "run on the cheaper openai:gpt-4o-mini" in h.alerts[0][1]


async def test_over_budget_warn_only_lets_the_run_through_unchanged(make) -> None:
    h = make(**{"project:apollo": 60.0})
    assert (await h.ask()).ok
    assert "model" not in h.passed[0].payload
    assert h.decisions[-1] == Decision("budget", "allow", "project:apollo 120%",
                                       "over budget; warn only")
    assert h.alerts == []  # apollo has no owner channel: nobody to tell


async def test_the_strictest_exceeded_budget_wins(make) -> None:
    h = make(**{"project:apollo": 60.0, "department:engineering": 600.0})
    reply = await h.ask()
    assert not reply.ok and "engineering has spent $600.00" in reply.text


async def test_unreadable_spend_fails_open_and_says_why(make) -> None:
    h = make()
    h.spend.broken = True
    assert (await h.ask()).ok
    assert h.decisions[-1].rule == "spend-unavailable"


async def test_a_failing_alert_does_not_fail_the_request(make) -> None:
    h = make(**{"department:engineering": 450.0})

    async def broken(channel: str, text: str) -> None:
        raise ConnectionError("slack down")

    policy = BudgetPolicy(h.store, h.spend, broken, lambda *_: None, clock=lambda: NOW)
    assert (await h.ask(policy=policy)).ok


async def test_replicas_sharing_a_claim_post_once(make) -> None:
    h = make(**{"department:engineering": 420.0})
    claimed: set[tuple[str, str, str, int]] = set()

    async def claim(scope: str, name: str, period: str, level: int) -> bool:
        new = (scope, name, period, level) not in claimed
        claimed.add((scope, name, period, level))
        return new

    first, second = h.make(claim), h.make(claim)
    await h.ask(policy=first)
    await h.ask(policy=second)
    assert len(h.alerts) == 1
    assert claimed == {("department", "engineering", "2026-11", 80)}


@pytest.mark.parametrize(("warn_at", "levels"), [(0.8, (80, 95, 100)), (0.5, (50, 95, 100)),
                                                 (0.97, (97, 100)), (1.0, (100,))])
def test_alert_levels(warn_at: float, levels: tuple[int, ...]) -> None:
    assert alert_levels(Budget(monthly_usd=1, warn_at=warn_at)) == levels


def test_downgrade_without_a_model_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("budgets:\n  eng:\n    monthly_usd: 5\n    on_exceed: downgrade\n")
    with pytest.raises(PolicyFileError, match=r"budgets\.eng \(line 2\).*downgrade_model"):
        load_policy_file(path)


async def test_the_run_that_crosses_a_level_is_reported_right_after_it(make) -> None:
    h = make(**{"department:engineering": 390.0})

    async def expensive_run(request: Request) -> Reply:
        h.spend.usd["department:engineering"] = 405.0  # the ledger row of this very run
        return Reply("answered")

    route = Route(RouteKind.AGENT, "agent", "agent:ask", "hi")
    request = Request(id="r1", source=Source.MENTION, principal=Principal("U0ALICE"),
                      text="hi", channel="C0OPS", route=route)
    assert (await h.policy(request, expensive_run)).ok
    [(channel, text)] = h.alerts
    assert channel == "C0ENG" and "has used 81%" in text
