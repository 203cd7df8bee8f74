"""One dedicated thread per SQLite connection (sqlite3 objects belong to their thread)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import anyio.to_thread

__all__ = ["ThreadWorker"]

T = TypeVar("T")


class ThreadWorker:
    """Runs blocking calls, one at a time and in submission order, on its own thread.

    Keeps blocking I/O (and fsync) off the event loop. A cancelled caller stops
    waiting; a call that already started still finishes on the thread.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the worker thread, awaited without blocking the loop."""
        if self._executor is None:
            # A single worker thread lives until shutdown, so the connection it opens
            # is only ever used from that thread.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        future = self._executor.submit(fn, *args)
        return await _wait(future)

    def shutdown(self) -> None:
        """Let the thread finish what was submitted, then end it (never blocks the caller)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)


async def _wait(future: Future[T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # Another anyio backend (trio): park a helper thread on the result instead.
        return await anyio.to_thread.run_sync(future.result, abandon_on_cancel=True)
    return await asyncio.wrap_future(future)
