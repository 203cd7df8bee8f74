"""A SQLite connection owned by one worker thread (shared by the spool and the SQLite store).

sqlite3 objects belong to the thread that created them, so the connection is
opened, used and closed only on its own `ThreadWorker`; the event loop never
waits on disk I/O or fsync.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from consent.records._thread import ThreadWorker

__all__ = ["SQLiteConnection", "write_transaction"]

T = TypeVar("T")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error.

    IMMEDIATE takes the write lock up front, so concurrent processes queue on the
    busy timeout instead of failing halfway through.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SQLiteConnection:
    """One lazily opened ``sqlite3.Connection`` plus the single thread allowed to use it.

    Async methods are for the event loop; the others run on the worker thread only
    (pass them to `run`). ``prepare`` runs before connecting (e.g. create or check
    the directory), ``setup`` right after the pragmas (schema); if either fails the
    connection is closed again and the next call retries.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        thread_name: str,
        timeout: float,
        setup: Callable[[sqlite3.Connection], object],
        prepare: Callable[[], object] | None = None,
        journal_mode: Literal["WAL", "DELETE"] = "WAL",
        synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "FULL",
    ) -> None:
        self._path = path
        self._timeout = timeout
        self._setup = setup
        self._prepare = prepare
        # Literal-typed values only, so the pragma text is one of a few known statements.
        self._pragmas = (f"PRAGMA journal_mode={journal_mode}", f"PRAGMA synchronous={synchronous}")
        self._worker = ThreadWorker(thread_name)
        self._conn: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    # -- event loop side ----------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the connection's thread."""
        return await self._worker.run(fn, *args)

    async def open(self) -> None:
        if self._conn is None:
            await self.run(self.db)

    async def close(self) -> None:
        """Close the connection on its thread, then let the thread end."""
        if self._conn is not None:
            await self.run(self._close_sync)
        self._worker.shutdown()

    # -- worker thread side ---------------------------------------------------------------

    def db(self) -> sqlite3.Connection:
        """The connection, opened on first use."""
        return self._conn if self._conn is not None else self._open_sync()

    def _open_sync(self) -> sqlite3.Connection:
        if self._prepare is not None:
            self._prepare()
        # isolation_level=None: callers issue BEGIN/COMMIT themselves. check_same_thread
        # stays on as a tripwire: only the worker thread may ever touch this connection.
        conn = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
        try:
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._setup(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _close_sync(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db().execute(sql, params)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.db().execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.db().execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """All rows in one write transaction: every row or none."""
        with write_transaction(self.db()) as db:
            db.executemany(sql, rows)
