"""End-to-end latency of a mention through the agent team, next to the model's own latency.

A mention is signed and posted to the real hub (uvicorn on loopback); the team
(real agno OpenAIChat) talks to a local OpenAI-compatible fake that answers at
once; the reply lands on a fake Slack. The same fake model, called directly
with the same client library, is the baseline: what remains is the hub's
overhead (ingress, inbox, policy chain, agno, tools, delivery).

    .venv/bin/python bench/bench_agent.py [--mentions 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openai import OpenAI  # noqa: E402

from bot.settings import OpenAISettings  # noqa: E402
from tests.fakes.openai import FakeOpenAI, Reply, offered_tools  # noqa: E402
from tests.fakes.slack import FakeSlack, app_mention, event_callback  # noqa: E402
from tests.hub import hub_settings, running_hub  # noqa: E402

LEADER = "delegate_task_to_member"
UNLIMITED = """
limits:
  person: {commands: "100000/minute", agent: "100000/minute"}
  channel: {agent: "100000/minute"}
  department: {agent: "100000/minute"}
  global: {agent: "100000/minute"}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def script(model: FakeOpenAI, n: int) -> None:
    for _ in range(n):
        model.script(Reply.tool_call(LEADER, {"member_id": "analyst", "task": "answer"},
                                     prompt_tokens=400, completion_tokens=20),
                     when=lambda body: LEADER in offered_tools(body))
        model.script(Reply.text("All green.", prompt_tokens=300, completion_tokens=10),
                     when=lambda body: LEADER not in offered_tools(body))


def model_alone(model: FakeOpenAI, n: int) -> list[float]:
    client = OpenAI(base_url=model.url, api_key="sk-bench")
    model.default = Reply.text("ok")
    out = []
    for _ in range(n):
        started = time.perf_counter()
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "status?"}])
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=60)
    args = parser.parse_args()
    users = {"U0ALICE": {"name": "Alice", "email": "alice@example.com"}}
    with FakeSlack(users) as slack, FakeOpenAI(default=None) as model, \
            tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"  # the test policy without its rate limits
        policy.write_text((ROOT / "tests" / "data" / "policy.yaml").read_text() + UNLIMITED)
        settings = hub_settings(f"sqlite:///{tmp}/bench.db", slack, str(policy),
                                model="openai:gpt-4o-mini")
        settings = settings.model_copy(update={"openai": OpenAISettings(
            base_url=model.url, api_key="sk-bench")})
        script(model, args.mentions + 5)
        e2e: list[float] = []
        with running_hub(settings) as hub:
            for i in range(args.mentions + 5):  # the first 5 warm up
                event = app_mention("is everything green?", ts=f"1700000300.{i:06d}")
                started = time.perf_counter()
                hub.post_slack(event_callback(event, event_id=f"EvB{i}"), "application/json")
                reply = slack.wait_for_posts(i + 1, timeout=30)[-1]
                assert reply.text == "All green.", reply.text  # a real answer, not a denial
                if i >= 5:
                    e2e.append(time.perf_counter() - started)
        calls_per_mention = len(model.requests) / (args.mentions + 5)
        alone = model_alone(model, args.mentions * 2)
    ms = 1000
    print(f"mentions: {args.mentions} sequential, {calls_per_mention:.1f} model calls each "
          "(leader routes, member answers)")
    print(f"end to end (signed mention -> reply posted):  p50 {pct(e2e, .5) * ms:7.1f} ms   "
          f"p99 {pct(e2e, .99) * ms:7.1f} ms")
    print(f"fake model alone (one chat completion):       p50 {pct(alone, .5) * ms:7.1f} ms   "
          f"p99 {pct(alone, .99) * ms:7.1f} ms")
    overhead = statistics.median(e2e) - calls_per_mention * statistics.median(alone)
    print(f"hub overhead per mention (p50 e2e - calls x p50 model): {overhead * ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
