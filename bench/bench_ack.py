"""Ack latency of the hub's Slack ingress next to a bare FastAPI endpoint; time to a green /readyz.

Run from the repository root:

    .venv/bin/python bench/bench_ack.py [--requests 2000 --connections 20 --rounds 2]

It starts three processes: a fake Slack Web API (tests/fakes/slack.py), the real hub
(`python -m bot.cli serve`, the same code path as `switchboard serve`) and a bare FastAPI app
under the same uvicorn settings (uvloop + httptools). Each hub request is a freshly signed
slash command with its own trigger_id, so every one is a new inbox item; the bare endpoint
gets the same bytes. Loads alternate bare -> hub per round and the hub's backlog is drained
between rounds, so a noisy machine hits both sides alike and the bare side never competes
with the hub's post-ack work. The figure to read is the hub/bare ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import LoadResult, MakeRequest, Summary, chunks, run_load  # noqa: E402

HOST = "127.0.0.1"
POLL = 0.010  # seconds between /readyz polls
FORM = "application/x-www-form-urlencoded"
# Variables the hub reads; cleared so the caller's shell cannot change what is measured.
_HUB_PREFIXES = ("SLACK_", "SWITCHBOARD_", "OPENAI_", "SERVICENOW_", "JIRA_", "SALESFORCE_",
                 "SHAREPOINT_")


# -- the helper processes (this script re-runs itself with --role) ------------------------

def serve_fake_slack() -> None:
    """Fake Slack Web API plus GET /bench/answered: how many slash commands got an answer."""
    from tests.fakes.server import Recorded, Response
    from tests.fakes.slack import FakeSlack

    fake = FakeSlack(users={"U0ALICE": {"name": "Alice", "email": "alice@example.com"}})

    @fake.route("GET", r"/bench/answered")
    def answered(_: Recorded, __: Any) -> Response:
        posts = list(fake.posted)
        hooks = {p.channel for p in posts if p.via == "response_url"}
        return Response(200, {"answered": len(hooks), "posts": len(posts)})

    fake.start()
    print(fake.url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or terminates us)
    finally:
        fake.stop()


def serve_bare(port: int) -> None:
    """The baseline: one POST endpoint answering 200 with an empty body, same uvicorn setup."""
    import uvicorn
    from fastapi import FastAPI, Response

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/")
    async def ok() -> Response:
        return Response(status_code=200)

    uvicorn.run(app, host=HOST, port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


# -- process management ---------------------------------------------------------------

class Processes:
    """Every child we start, so `stop` can always end them (terminate, then kill)."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, cwd=ROOT, **kwargs)  # noqa: S603 (our own argv)
        self.children.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.children:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_fake_slack(procs: Processes) -> str:
    proc = procs.start([sys.executable, __file__, "--role", "fake-slack"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    if not url.startswith("http://"):
        raise SystemExit(f"fake Slack did not start (said {url!r})")
    return url


def hub_env(fake_url: str, workdir: Path) -> dict[str, str]:
    from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith(_HUB_PREFIXES)}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=f"{fake_url}/api/",
               SWITCHBOARD_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
               SWITCHBOARD_POLICY_FILE=str(ROOT / "tests/data/policy.yaml"),
               SWITCHBOARD_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return env


def hub_command(port: int, *, ack_only: bool) -> list[str]:
    """`switchboard serve`, or for --ack-only the same uvicorn setup around process=False."""
    if not ack_only:
        return [sys.executable, "-m", "bot.cli", "serve", "--host", HOST, "--port", str(port)]
    code = ("import uvicorn; from bot.app import create_app; "
            f"uvicorn.run(create_app(process=False), host={HOST!r}, port={port}, loop='uvloop', "
            "http='httptools', log_level='warning', access_log=False)")
    return [sys.executable, "-c", code]


@dataclass(frozen=True)
class Startup:
    port_open: float  # seconds from process start to the first HTTP answer
    ready: float  # seconds from process start to the first 200 (nan if it never came)


async def wait_ready(proc: subprocess.Popen[bytes], url: str, started: float,
                     within: float, *, any_answer: bool = False) -> Startup:
    """Poll `url` every POLL seconds; time the first answer and the first 200 (or any answer)."""
    import httpx

    first: float | None = None
    async with httpx.AsyncClient(timeout=2.0) as client:
        while (now := time.perf_counter()) - started < within:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: server exited with {proc.returncode}")
            try:
                status = (await client.get(url)).status_code
            except httpx.TransportError:
                status = 0
            if status and first is None:
                first = time.perf_counter() - started
            if status == 200 or (status and any_answer):
                return Startup(first or 0.0, time.perf_counter() - started)
            await asyncio.sleep(max(0.0, POLL - (time.perf_counter() - now)))
    raise RuntimeError(f"{url} was not 200 within {within:.1f} s")


# -- requests -------------------------------------------------------------------------

def slash_requests(fake_url: str, tag: str, n: int) -> MakeRequest:
    """`n` freshly signed `/sb help` commands, each with its own trigger_id and response_url.

    Built before the load starts (a few seconds before sending, well inside Slack's 5-minute
    replay window) so the load generator spends its CPU on I/O, not on urlencode and HMAC.
    """
    from tests.fakes.slack import sign, slash_command

    def build(i: int) -> tuple[str, dict[str, str], bytes]:
        body = slash_command("help", trigger_id=f"{tag}{i:07d}.738474920.8088930838d88f0",
                             response_url=f"{fake_url}/hooks/{tag}{i:07d}")
        return "/slack/events", {"Content-Type": FORM, **sign(body)}, body

    return [build(i) for i in range(n)].__getitem__


def same_bytes_to(path: str, make: MakeRequest) -> MakeRequest:
    def remade(i: int) -> tuple[str, dict[str, str], bytes]:
        _, headers, body = make(i)
        return path, headers, body

    return remade


async def fetch_json(url: str) -> Any:
    import httpx

    async with httpx.AsyncClient(timeout=5.0) as client:
        return (await client.get(url)).json()


async def ack_metric(hub_url: str) -> tuple[float, float]:
    """(sum, count) of the hub's own switchboard_ack_seconds for Slack, from /metrics."""
    import httpx

    async with httpx.AsyncClient(timeout=5.0) as client:
        text = (await client.get(f"{hub_url}/metrics")).text
    found = dict(re.findall(r'^switchboard_ack_seconds_(sum|count)\{ingress="slack"\} (\S+)$',
                            text, re.MULTILINE))
    return float(found.get("sum", 0.0)), float(found.get("count", 0.0))


async def wait_answered(fake_url: str, expected: int, within: float) -> tuple[int, float]:
    """Wait (bounded) until `expected` slash commands were answered; (answered, seconds)."""
    started = time.perf_counter()
    while True:  # at least one look, even with no time left
        answered = int((await fetch_json(f"{fake_url}/bench/answered"))["answered"])
        waited = time.perf_counter() - started
        if answered >= expected or waited >= within:
            return answered, waited
        await asyncio.sleep(0.1)


def inbox_statuses(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM inbox GROUP BY status").fetchall())


# -- the run --------------------------------------------------------------------------

class Budget:
    """The run's hard time cap: every wait gets the smaller of its own limit and what is left."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def cap(self, limit: float) -> float:
        return max(0.0, min(limit, self._end - time.monotonic()))


@dataclass
class Totals:
    bare: list[LoadResult]
    hub: list[LoadResult]
    drains: list[tuple[int, float]]  # per round: (answered so far, seconds waited)


async def measure(args: argparse.Namespace, fake_url: str, hub_port: int, bare_port: int,
                  budget: Budget) -> Totals:
    async def both(make: MakeRequest, n: int) -> tuple[LoadResult, LoadResult]:
        bare = await run_load(HOST, bare_port, same_bytes_to("/", make), requests=n,
                              connections=args.connections, time_cap=budget.cap(args.time_cap))
        hub = await run_load(HOST, hub_port, make, requests=n, connections=args.connections,
                             time_cap=budget.cap(args.time_cap))
        return bare, hub

    async def drain(sent: int) -> tuple[int, float]:
        expected = 0 if args.ack_only else sent  # ack-only: nothing will be answered
        return await wait_answered(fake_url, expected, budget.cap(args.backlog_wait))

    await both(slash_requests(fake_url, "w", args.warmup), args.warmup)
    sent = args.warmup
    await drain(sent)  # so round 1's bare load does not compete with the warm-up's work
    totals = Totals([], [], [])
    for k, n in enumerate(chunks(args.requests, args.rounds)):
        bare, hub = await both(slash_requests(fake_url, f"r{k}x", n), n)
        totals.bare.append(bare)
        totals.hub.append(hub)
        sent += n
        totals.drains.append(await drain(sent))
    return totals


def combined(results: list[LoadResult]) -> Summary:
    return Summary.of([x for r in results for x in r.latencies], sum(r.elapsed for r in results))


def non_200(results: list[LoadResult]) -> str:
    bad = sum(n for r in results for s, n in r.statuses.items() if s != 200)
    lost = sum(r.errors + r.not_sent for r in results)
    return f"{bad}" + (f" (+{lost} failed/unsent)" if lost else "")


def row(name: str, s: Summary, extra: str = "") -> str:
    return (f"{name:<20}{s.count:>7}{s.p50_ms:>9.2f}{s.p90_ms:>9.2f}{s.p99_ms:>9.2f}"
            f"{s.max_ms:>9.2f}{s.rate:>9.0f}  {extra}")


def report(args: argparse.Namespace, hub_start: Startup, bare_start: Startup, totals: Totals,
           ack: tuple[float, float], answered: tuple[int, float], statuses: dict[str, int]) -> None:
    bare, hub = combined(totals.bare), combined(totals.hub)
    print(f"\nSwitchboard ack benchmark: {args.requests} signed slash commands per endpoint, "
          f"{args.connections} keep-alive connections, {args.rounds} interleaved round(s), "
          f"{args.warmup} warm-up requests each")
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; the load generator"
          " (one process) shares these cores with the server under test")
    print(f"\nstartup  hub `serve` -> port answers {hub_start.port_open:.2f} s, "
          f"-> /readyz 200 {hub_start.ready:.2f} s   (bare FastAPI -> first 200 "
          f"{bare_start.ready:.2f} s)")
    print(f"\n{'':<20}{'n':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req/s':>9}"
          "  non-200")
    print(row("bare FastAPI  POST /", bare, non_200(totals.bare)))
    print(row("hub /slack/events", hub, non_200(totals.hub)))
    ratios = [h / b if b else float("nan") for h, b in zip(
        (hub.p50_ms, hub.p90_ms, hub.p99_ms, hub.max_ms, hub.rate),
        (bare.p50_ms, bare.p90_ms, bare.p99_ms, bare.max_ms, bare.rate), strict=True)]
    print(f"{'ratio hub / bare':<27}" + "".join(f"{r:>8.1f}x" for r in ratios[:4])
          + f"{ratios[4]:>8.2f}x")
    for k, (b, h) in enumerate(zip(totals.bare, totals.hub, strict=True)):
        sb, sh = Summary.of(b.latencies, b.elapsed), Summary.of(h.latencies, h.elapsed)
        print(f"  round {k + 1}: p50 {sb.p50_ms:.2f} / {sh.p50_ms:.2f} ms, p99 {sb.p99_ms:.2f} / "
              f"{sh.p99_ms:.2f} ms, {sb.rate:.0f} / {sh.rate:.0f} req/s (bare / hub); backlog "
              f"drained {totals.drains[k][1]:.1f} s after the last ack")
    ack_sum, ack_count = ack
    if ack_count:
        print(f"\nhub's own switchboard_ack_seconds (verify -> store -> 200, in the handler): "
              f"mean {ack_sum / ack_count * 1e3:.2f} ms over {ack_count:.0f} requests")
    expected = args.requests + args.warmup
    inbox = ", ".join(f"{s}={n}" for s, n in sorted(statuses.items()))
    if args.ack_only:
        print(f"work after the ack: none (--ack-only: create_app(process=False)); inbox: {inbox}")
        return
    print(f"work after the ack: {answered[0]}/{expected} slash commands answered at the fake "
          f"Slack (final wait {answered[1]:.1f} s); inbox: {inbox}")


async def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> int:
    budget = Budget(args.max_seconds)
    fake_url = start_fake_slack(procs)
    hub_port, bare_port = free_port(), free_port()
    hub_url, bare_url = f"http://{HOST}:{hub_port}", f"http://{HOST}:{bare_port}"
    started = time.perf_counter()
    hub = procs.start(hub_command(hub_port, ack_only=args.ack_only),
                      env=hub_env(fake_url, workdir), stderr=(workdir / "hub.log").open("wb"))
    hub_start = await wait_ready(hub, f"{hub_url}/readyz", started,
                                 budget.cap(args.startup_timeout))
    started = time.perf_counter()
    bare = procs.start([sys.executable, __file__, "--role", "bare", "--port", str(bare_port)])
    bare_start = await wait_ready(bare, bare_url, started, budget.cap(args.startup_timeout),
                                  any_answer=True)
    totals = await measure(args, fake_url, hub_port, bare_port, budget)
    ack = await ack_metric(hub_url)
    expected = 0 if args.ack_only else args.requests + args.warmup
    answered = await wait_answered(fake_url, expected, budget.cap(args.backlog_wait))
    report(args, hub_start, bare_start, totals, ack, answered, inbox_statuses(workdir / "bench.db"))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint")
    p.add_argument("--connections", type=int, default=20, help="concurrent keep-alive connections")
    p.add_argument("--rounds", type=int, default=2, help="interleaved bare/hub rounds")
    p.add_argument("--warmup", type=int, default=100, help="unmeasured requests per endpoint")
    p.add_argument("--time-cap", type=float, default=30.0, help="seconds per load run, at most")
    p.add_argument("--backlog-wait", type=float, default=30.0,
                   help="seconds to wait for the hub to answer what it acked")
    p.add_argument("--startup-timeout", type=float, default=30.0)
    p.add_argument("--max-seconds", type=float, default=110.0,
                   help="hard cap on the whole run; later stages get what is left")
    p.add_argument("--ack-only", action="store_true",
                   help="hub built with create_app(process=False): store and ack, no work after")
    p.add_argument("--role", choices=["fake-slack", "bare"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "fake-slack":
        serve_fake_slack()
        return 0
    if args.role == "bare":
        serve_bare(args.port)
        return 0
    import uvloop

    # SIGTERM unwinds like Ctrl-C, so the `finally` below still ends the children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        try:
            return uvloop.run(run(args, procs, Path(tmp)))
        except RuntimeError as e:
            log = Path(tmp, "hub.log")
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            print(f"bench_ack: {e}\n--- hub log (tail) ---\n{tail}", file=sys.stderr)
            return 1
        finally:
            procs.stop()


if __name__ == "__main__":
    raise SystemExit(main())
