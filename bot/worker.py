"""Runs inbox items after they were acknowledged, a bounded number at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.inbox import Inbox, Item

log = logging.getLogger(__name__)

Processor = Callable[[Item], Awaitable[None]]


class Worker:
    def __init__(self, inbox: Inbox, process: Processor, concurrency: int = 8) -> None:
        self._inbox = inbox
        self._process = process
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    def submit(self, key: str) -> None:
        """Schedule `key`; if we are shutting down it stays pending for the next start."""
        if not self.accepting:
            return
        task = asyncio.get_running_loop().create_task(self._run(key), name=f"inbox:{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume(self) -> int:
        """Pick up what a previous hub stored but did not finish."""
        keys = await self._inbox.unfinished()
        for key in keys:
            self.submit(key)
        if keys:
            log.info("resuming %d unfinished inbox item(s)", len(keys))
        return len(keys)

    async def drain(self, grace: float = 30.0) -> None:
        """Stop taking new work and wait for what is in flight."""
        self.accepting = False
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def idle(self) -> None:
        """Wait until nothing is in flight (tests, the demo)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _run(self, key: str) -> None:
        async with self._slots:
            item = await self._inbox.claim(key)
            if item is None:
                return  # finished already, or another replica holds it
            try:
                await self._process(item)
            except Exception as e:
                log.exception("inbox item %s failed (attempt %d)", key, item.attempts)
                await self._inbox.finish(key, f"{type(e).__name__}: {e}"[:500],
                                         attempts=item.attempts)
            else:
                await self._inbox.finish(key)
