"""The durable local spool: records the store has not confirmed yet.

A small SQLite file in ``spool_dir`` (WAL, ``synchronous=FULL``: every append is
fsync'd before the visitor gets an answer). Entries come out in the order they
went in and leave only after the store confirmed them, so a crash at any point
means redelivery (harmless: stores ignore known record ids), never loss.
Several processes may share one spool directory; SQLite's locking keeps it
consistent and any of them may deliver what another spooled.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consent.records._thread import ThreadWorker
from consent.records.model import ConsentRecord

__all__ = ["SPOOL_FILE", "Spool", "SpoolEntry"]

SPOOL_FILE = "records-spool.db"

_CREATE = """
    CREATE TABLE IF NOT EXISTS spool (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL,
        texts TEXT
    )"""
_APPEND = "INSERT INTO spool (record_id, record, texts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_PEEK = "SELECT seq, record, texts FROM spool ORDER BY seq LIMIT ?"
_REMOVE = "DELETE FROM spool WHERE seq = ?"
_COUNT = "SELECT count(*) FROM spool"


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """A spooled record, with the canonical JSON of its texts when the store may lack them."""

    record: ConsentRecord
    texts: str | None = None
    seq: int | None = None  # assigned by the spool


class Spool:
    """A FIFO of `SpoolEntry` on disk; every call runs on the spool's own thread."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / SPOOL_FILE
        self._worker = ThreadWorker("consent-spool")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the directory (owner-only: records are personal data) and the file."""
        if self._conn is None:
            await self._worker.run(self._open_sync)

    def _open_sync(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_CREATE)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._worker.run(self._close_sync)
        self._worker.shutdown()

    def _close_sync(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _db(self) -> sqlite3.Connection:
        return self._conn if self._conn is not None else self._open_sync()

    async def append(self, entries: Sequence[SpoolEntry]) -> None:
        """Add entries at the end; returns once they are on disk."""
        rows = [
            (e.record.record_id, json.dumps(e.record.to_dict(), ensure_ascii=False), e.texts)
            for e in entries
        ]
        await self._worker.run(self._append_sync, rows)

    def _append_sync(self, rows: list[tuple[str, str, str | None]]) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_APPEND, rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def peek(self, limit: int = 100) -> list[SpoolEntry]:
        """The oldest ``limit`` entries, oldest first (they stay in the spool)."""
        rows: list[Any] = await self._worker.run(self._peek_sync, limit)
        return [
            SpoolEntry(ConsentRecord.from_dict(json.loads(record)), texts, seq)
            for seq, record, texts in rows
        ]

    def _peek_sync(self, limit: int) -> list[Any]:
        return self._db().execute(_PEEK, (limit,)).fetchall()

    async def remove(self, entries: Sequence[SpoolEntry]) -> None:
        """Forget entries the store has confirmed."""
        seqs = [(e.seq,) for e in entries if e.seq is not None]
        if seqs:
            await self._worker.run(self._remove_sync, seqs)

    def _remove_sync(self, seqs: list[tuple[int]]) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_REMOVE, seqs)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def count(self) -> int:
        """How many entries wait for delivery."""
        return int(await self._worker.run(self._count_sync))

    def _count_sync(self) -> int:
        return int(self._db().execute(_COUNT).fetchone()[0])
