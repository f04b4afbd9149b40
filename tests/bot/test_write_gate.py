"""The SQLite write gate: one writer at a time, acknowledgements first."""

from __future__ import annotations

import asyncio

from bot.storage.db import WriteGate


async def test_one_holder_at_a_time_and_urgent_writers_jump_the_queue() -> None:
    gate, order, inside = WriteGate(), [], []

    async def writer(name: str, urgent: bool) -> None:
        async with gate.hold(urgent=urgent):
            inside.append(name)
            assert len(inside) == 1
            order.append(name)
            await asyncio.sleep(0.01)
            inside.remove(name)

    first = asyncio.create_task(writer("first", False))
    await asyncio.sleep(0)  # "first" holds the gate
    tasks = [asyncio.create_task(writer(f"normal{i}", False)) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(writer("ack", True)))
    await asyncio.gather(first, *tasks)
    assert order == ["first", "ack", "normal0", "normal1", "normal2"]


async def test_a_cancelled_waiter_does_not_wedge_the_gate() -> None:
    gate = WriteGate()
    async with gate.hold(urgent=False):
        waiter = asyncio.create_task(gate._acquire(False))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
    async with asyncio.timeout(1):
        async with gate.hold(urgent=True):
            pass
