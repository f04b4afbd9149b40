"""A bounded HTTP/1.1 load generator: exactly N requests over C keep-alive connections.

The client is a few lines of asyncio streams rather than httpx or aiohttp on purpose:
it shares the machine's cores with the server under test, and a general-purpose client
spends several times more CPU per request than the server endpoints we compare, which
would blur the very ratio we want. It speaks just enough HTTP/1.1 for servers that
answer with a Content-Length (uvicorn always does for plain responses).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

# (path, extra headers, body) for request number i; called outside the timed region.
MakeRequest = Callable[[int], tuple[str, dict[str, str], bytes]]


@dataclass(frozen=True)
class LoadResult:
    latencies: tuple[float, ...]  # seconds, one per completed request
    statuses: dict[int, int]  # status code -> count
    errors: int  # transport errors (connection reset, bad response)
    not_sent: int  # requests left when the time cap hit
    elapsed: float  # wall time of the whole run, seconds

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


@dataclass(frozen=True)
class Summary:
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    rate: float  # completed requests per second

    @classmethod
    def of(cls, latencies: Sequence[float], elapsed: float) -> Summary:
        ordered = sorted(latencies)
        return cls(len(ordered), percentile(ordered, 50) * 1e3, percentile(ordered, 90) * 1e3,
                   percentile(ordered, 99) * 1e3, (ordered[-1] if ordered else math.nan) * 1e3,
                   len(ordered) / elapsed if elapsed else 0.0)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (NaN when empty)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors = 0


async def run_load(host: str, port: int, make: MakeRequest, *, requests: int,
                   connections: int, time_cap: float) -> LoadResult:
    """Send exactly `requests` requests (fewer only if `time_cap` seconds run out)."""
    tally = _Tally()
    numbers = iter(range(requests))
    started = time.perf_counter()
    tasks = [asyncio.create_task(_connection(host, port, make, numbers, tally))
             for _ in range(min(connections, requests))]
    _, pending = await asyncio.wait(tasks, timeout=time_cap)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    done = len(tally.latencies) + tally.errors
    return LoadResult(tuple(tally.latencies), dict(tally.statuses), tally.errors,
                      requests - done, elapsed)


async def _connection(host: str, port: int, make: MakeRequest, numbers: Iterator[int],
                      tally: _Tally) -> None:
    """One keep-alive connection taking the next request number until none are left."""
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        for i in numbers:
            raw = _encode(host, port, *make(i))
            t0 = time.perf_counter()
            try:
                if stream is None:  # (re)connecting is part of that request's latency
                    stream = await asyncio.open_connection(host, port)
                stream[1].write(raw)
                status, keep_alive = await _read_response(stream[0])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                tally.errors += 1
                _close(stream)
                stream = None
                continue
            tally.latencies.append(time.perf_counter() - t0)
            tally.statuses[status] += 1
            if not keep_alive:
                _close(stream)
                stream = None
    finally:
        _close(stream)


def _encode(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = dict(_split_header(h) for h in header_lines if h)
    if "content-length" not in headers:
        raise ValueError("response without Content-Length (chunked is not supported)")
    await reader.readexactly(int(headers["content-length"]))
    return status, headers.get("connection", "").lower() != "close"


def _split_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


def _close(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if stream is not None:
        stream[1].close()


def chunks(total: int, parts: int) -> list[int]:
    """Split `total` into `parts` near-equal positive sizes (for interleaved rounds)."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]

