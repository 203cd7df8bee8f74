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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from consent.records._sqlite_conn import SQLiteConnection
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
        self._sqlite = SQLiteConnection(
            self.path,
            thread_name="consent-spool",
            timeout=10.0,
            prepare=self._make_directory,
            setup=lambda conn: conn.execute(_CREATE),
            journal_mode="WAL",
            synchronous="FULL",  # every append is fsync'd before the visitor gets an answer
        )

    async def open(self) -> None:
        """Create the directory (owner-only: records are personal data) and the file."""
        await self._sqlite.open()

    def _make_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    async def close(self) -> None:
        await self._sqlite.close()

    async def append(self, entries: Sequence[SpoolEntry]) -> None:
        """Add entries at the end; returns once they are on disk."""
        rows = [
            (e.record.record_id, json.dumps(e.record.to_dict(), ensure_ascii=False), e.texts)
            for e in entries
        ]
        await self._sqlite.run(self._sqlite.executemany, _APPEND, rows)

    async def peek(self, limit: int = 100) -> list[SpoolEntry]:
        """The oldest ``limit`` entries, oldest first (they stay in the spool)."""
        rows = await self._sqlite.run(self._sqlite.fetchall, _PEEK, (limit,))
        return [
            SpoolEntry(ConsentRecord.from_dict(json.loads(record)), texts, seq)
            for seq, record, texts in rows
        ]

    async def remove(self, entries: Sequence[SpoolEntry]) -> None:
        """Forget entries the store has confirmed."""
        seqs = [(e.seq,) for e in entries if e.seq is not None]
        if seqs:
            await self._sqlite.run(self._sqlite.executemany, _REMOVE, seqs)

    async def count(self) -> int:
        """How many entries wait for delivery."""
        row = await self._sqlite.run(self._sqlite.fetchone, _COUNT)
        return int(row[0])
