"""The policy chain's cost per message, next to a same-run baseline; DLP throughput.

Run from the repository root:

    .venv/bin/python bench/bench_policies.py [--messages 4000 --rounds 4 --max-seconds 25]

The chain is built as bot/app.py builds it: RbacPolicy -> RateLimitPolicy (in-memory
counters) -> DlpPolicy, reading the live PolicyStore, with the hub's real decision sink
(AuditLog.decision, which DLP-scrubs each row and queues it for the background writer, and
Metrics.decision, a Prometheus counter). The endpoint is a no-op that returns a fixed
200-character reply, so DLP's outbound scan is counted too. The budget policy is left out:
for commands it is a pass-through, for agent requests it reads the cost ledger (a database).

Every message is 200 characters. Cases: clean; with findings DLP redacts (an email and a
phone number: the chain runs to the end); with a finding DLP blocks (a payment card: the
chain stops at DLP). Baselines in the same run and loop: the bare endpoint call, and the
chain with zero policies. Each person sends at most 25 commands, under the 30/minute limit,
so every message takes the allow path of the rate limit. Cases are interleaved in rounds so
a noisy machine slows all of them alike. Read the overhead lines (chain minus zero-policy
chain); absolute figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.audit import AuditLog  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from policies.chain import Next, Policy, build_chain  # noqa: E402
from policies.dlp_policy import DlpPolicy  # noqa: E402
from policies.rate_limit import RateLimitPolicy  # noqa: E402
from policies.rbac_policy import RbacPolicy  # noqa: E402
from policies.store import PolicyStore  # noqa: E402
from policies.types import Decision, Principal, Reply, Request, Route, RouteKind, Source  # noqa: E402

SIZE = 200
PER_PERSON = 25  # commands per person per case: under the 30/minute person limit

CLEAN = [
    "jira create OPS checkout returns 502 for EU customers since the 14:05 deploy; rollback is "
    "started and the on-call is watching the error budget, see the runbook section on canaries",
    "incident note INC0010042 database failover finished, replication lag back under one second, "
    "keeping the incident open until the nightly batch completes without timeouts or retries",
    "can someone check why the build on main is red again? the flaky integration test for the "
    "payments service failed twice this morning and the release train leaves at four o'clock",
    "sf opportunity create Acme renewal amount=120000 close=2025-09-30 account=Acme Corporation "
    "with the expansion into two more regions and the premium support tier as discussed on Monday",
]
REDACT = [  # email (not our domain) and phone: redacted, the request goes on
    "please email the vendor contact jane.doe@supplier-corp.test and call her on +1 415 555 0132 "
    "to confirm the maintenance window for the core switches in the Frankfurt data centre tonight",
    "customer asked us to reply to ops-team@partner.test or phone 020 7946 0958 once the ticket "
    "about the failed SSO login is resolved; they are blocked on onboarding forty new employees",
]
BLOCK = [  # a payment card number: blocked, the chain stops at DLP
    "customer pasted their card 4111 1111 1111 1111 exp 09/27 into the support ticket by mistake, "
    "please scrub it from the case history and tell them we never store card numbers in tickets",
]
REPLY = ("Done. OPS-1234 was created in project OPS with priority High and assigned to the on-call "
         "engineer; the incident channel has been notified and the change calendar updated.")

POLICY = """
roles:
  staff:
    members: ["*@example.com"]
    allow: ["servicenow:*", "jira:issue:*", "salesforce:*:read", "agent:ask"]
{filler}
limits:
  person: {{commands: "30/minute", agent: "10/minute"}}
  channel: {{agent: "60/hour"}}
  department: {{agent: "1000/hour"}}
  global: {{agent: "10000/hour"}}
dlp:
  allow: ["*@example.com"]
"""


def _policy_text() -> str:
    # 49 more roles that do not match, so RBAC does the work of a real file (50 roles).
    filler = "\n".join(
        f"  team-{i}:\n    members: [U9{i:06d}, \"@group-{i}\", \"lead{i}@partner.test\"]\n"
        f"    allow: [\"jira:project-{i}:*\", \"sharepoint:*:read\"]\n    channels: [C9{i:06d}]"
        for i in range(49))
    return POLICY.format(filler=filler)


def fit(text: str) -> str:
    """Exactly SIZE characters: cut, or padded with ordinary words."""
    while len(text) < SIZE:
        text += " thanks"
    return text[:SIZE]


@dataclass(frozen=True)
class Case:
    name: str
    texts: list[str]
    policies: tuple[str, ...]  # which of rbac, rate_limit, dlp; () = zero-policy chain
    bare: bool = False  # call the endpoint directly, no chain at all


CASES = [
    Case("bare endpoint call", CLEAN, (), bare=True),
    Case("chain, zero policies", CLEAN, ()),
    Case("rbac only (clean)", CLEAN, ("rbac",)),
    Case("rate_limit only (clean)", CLEAN, ("rate_limit",)),
    Case("dlp only (clean)", CLEAN, ("dlp",)),
    Case("full chain, clean", CLEAN, ("rbac", "rate_limit", "dlp")),
    Case("full chain, findings: redact", REDACT, ("rbac", "rate_limit", "dlp")),
    Case("full chain, findings: block", BLOCK, ("rbac", "rate_limit", "dlp")),
]


class Bench:
    def __init__(self, store: PolicyStore) -> None:
        self.store = store
        self.metrics = Metrics()
        self.audit = AuditLog(Database("sqlite:///:memory:"),  # never opened: nothing starts it
                              scrub=lambda text: store.current.dlp.scan(text).text)
        self.decisions: dict[tuple[str, str], int] = {}

    def record(self, request: Request, decision: Decision) -> None:
        self.audit.decision(request, decision)  # what bot/app.py's sink does, in the same order
        self.metrics.decision(request, decision)
        key = (decision.policy, decision.kind)
        self.decisions[key] = self.decisions.get(key, 0) + 1

    def chain(self, names: Sequence[str], endpoint: Next) -> tuple[Next, RateLimitPolicy]:
        store = self.store
        limits = RateLimitPolicy(store, None, self.record)
        made: dict[str, Policy] = {"rbac": RbacPolicy(lambda: store.current.rbac, self.record),
                                   "rate_limit": limits,
                                   "dlp": DlpPolicy(lambda: store.current.dlp, self.record)}
        return build_chain([made[n] for n in names], endpoint), limits

    def drain_audit(self) -> None:
        # The background writer would take these; here they are only counted and dropped.
        queue = self.audit._queue
        while not queue.empty():
            queue.get_nowait()


async def endpoint(_: Request) -> Reply:
    return Reply(REPLY)


def requests(case: Case, n: int, offset: int) -> list[Request]:
    """n requests from distinct enough people that none reaches a rate limit."""
    texts = [fit(t) for t in case.texts]
    out = []
    for i in range(n):
        person = (offset + i) // PER_PERSON
        who = Principal(f"U{person:07d}", email=f"user{person}@example.com")
        text = texts[i % len(texts)]
        out.append(Request(id=f"{case.name}-{offset + i}", source=Source.SLASH, principal=who,
                           text=text, channel="C0OPS",
                           route=Route(RouteKind.COMMAND, "jira create", "jira:issue:create",
                                       args=text)))
    return out


async def run_case(bench: Bench, case: Case, n: int, offset: int, sink: list[float]) -> None:
    handler, limits = bench.chain(case.policies, endpoint)
    call = endpoint if case.bare else handler
    clock = time.perf_counter_ns
    batch = requests(case, n, offset)
    for request in batch:
        t0 = clock()
        reply = await call(request)
        sink.append((clock() - t0) / 1000)
        if not reply.ok and case.texts is not BLOCK:
            raise AssertionError(f"{case.name}: unexpected denial: {reply.text}")
    await limits.close()
    bench.drain_audit()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(bench: Bench, messages: int, rounds: int, deadline: float) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {c.name: [] for c in CASES}
    for case in CASES:  # warm-up: imports, regex caches, the limiter's storage
        await run_case(bench, case, 200, 10_000_000, [])
    per_round = max(1, messages // rounds)
    for r in range(rounds):
        for case in CASES:
            await run_case(bench, case, per_round, r * per_round, samples[case.name])
        if time.monotonic() > deadline:
            print(f"(stopped after round {r + 1} of {rounds}: --max-seconds reached)")
            break
    return samples


def dlp_throughput(scan: Callable[[str], object], texts: list[str], seconds: float) -> float:
    n, started = 0, time.perf_counter()
    end = started + seconds
    while time.perf_counter() < end:
        for t in texts:
            scan(t)
        n += len(texts)
    return n / (time.perf_counter() - started)


def report(samples: dict[str, list[float]], bench: Bench) -> None:
    print(f"\npolicy chain cost per message ({SIZE}-character messages, uvloop, one task)")
    print(f"{'':34}{'n':>7}{'p50 µs':>9}{'p99 µs':>9}{'mean µs':>9}")
    for name, values in samples.items():
        print(f"{name:34}{len(values):>7}{pct(values, 0.50):>9.1f}{pct(values, 0.99):>9.1f}"
              f"{statistics.fmean(values):>9.1f}")
    zero = samples["chain, zero policies"]
    print("\noverhead of rbac + rate_limit + dlp over the zero-policy chain:")
    for name in ("full chain, clean", "full chain, findings: redact", "full chain, findings: block"):
        v = samples[name]
        print(f"  {name:32} p50 +{pct(v, .5) - pct(zero, .5):.1f} µs, "
              f"p99 +{pct(v, .99) - pct(zero, .99):.1f} µs")
    shown = ", ".join(f"{p}/{k} {n}" for (p, k), n in sorted(bench.decisions.items()))
    print(f"decisions recorded (audit + metrics): {shown}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=4000, help="measured messages per case")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds over all cases")
    ap.add_argument("--dlp-seconds", type=float, default=2.0, help="time per DLP throughput run")
    ap.add_argument("--max-seconds", type=float, default=25.0, help="cap on the chain runs")
    args = ap.parse_args(argv)
    import uvloop

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(_policy_text(), encoding="utf-8")
        store = PolicyStore(str(path))
        store.load()
        bench = Bench(store)
        deadline = started + args.max_seconds
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            samples = runner.run(measure(bench, args.messages, args.rounds, deadline))
        report(samples, bench)

        scanner = store.current.dlp
        clean = [fit(t) for t in CLEAN]
        found = [fit(t) for t in REDACT + BLOCK]
        mixed = clean * 2 + found  # roughly what ops chat looks like: most messages clean
        print(f"\nDLP scan throughput ({SIZE}-character messages, one core)")
        for name, texts in (("clean", clean), ("with findings", found), ("mixed 8:3", mixed)):
            rate = dlp_throughput(scanner.scan, texts, args.dlp_seconds)
            print(f"  {name:15} {rate:>9,.0f} msg/s  ({1e6 / rate:.1f} µs per message)")
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
