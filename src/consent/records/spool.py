"""The durable local spool: records the store has not confirmed yet.

A small SQLite file in ``spool_dir`` (WAL, ``synchronous=FULL``: every append is
fsync'd before the visitor gets an answer). Entries come out in the order they
went in and leave only after the store confirmed them, so a crash at any point
means redelivery (harmless: stores ignore known record ids), never loss.
Several processes may share one spool directory; SQLite's locking keeps it
consistent and any of them may deliver what another spooled.

An entry that can never be delivered (the store refuses its data, or it cannot
be read back) is moved aside into the ``rejected`` table of the same file, with
the reason, instead of blocking every entry behind it for ever. It is kept, not
dropped: it is the only proof of a decision that has already taken effect, and
an operator can still read it there (``sqlite3 records-spool.db 'SELECT * FROM
rejected'``), fix it and store it by hand.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from consent.records._sqlite_conn import SQLiteConnection, write_transaction
from consent.records.locations import make_private_dirs
from consent.records.model import ConsentRecord, format_time

__all__ = ["LOG_UNREADABLE", "SPOOL_FILE", "Spool", "SpoolEntry"]

logger = logging.getLogger("consent.records")

LOG_UNREADABLE = "spooled entry %d cannot be read (%s): moved aside to the rejected table of %s"

SPOOL_FILE = "records-spool.db"

_CREATE = """
    CREATE TABLE IF NOT EXISTS spool (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL,
        texts TEXT
    )"""
_CREATE_REJECTED = """
    CREATE TABLE IF NOT EXISTS rejected (
        seq INTEGER PRIMARY KEY,
        record_id TEXT,
        record TEXT,
        texts TEXT,
        reason TEXT NOT NULL,
        rejected_at TEXT NOT NULL
    )"""
_APPEND = "INSERT INTO spool (record_id, record, texts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
# The row is copied as stored, not re-encoded: the exact bytes that could not be delivered.
_REJECT = """
    INSERT INTO rejected (seq, record_id, record, texts, reason, rejected_at)
    SELECT seq, record_id, record, texts, ?, ? FROM spool WHERE seq = ?
    ON CONFLICT DO NOTHING"""
_COUNT_REJECTED = "SELECT count(*) FROM rejected"
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
            setup=_create_tables,
            journal_mode="WAL",
            synchronous="FULL",  # every append is fsync'd before the visitor gets an answer
        )

    async def open(self) -> None:
        """Create the directory (owner-only: records are personal data) and the file."""
        await self._sqlite.open()

    def _make_directory(self) -> None:
        make_private_dirs(self.directory)

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
        """The oldest ``limit`` entries, oldest first (they stay in the spool).

        Rows that cannot be read back as a record are moved aside on the way, so one
        damaged row never hides the entries behind it.
        """
        return await self._sqlite.run(self._peek_sync, limit)

    def _peek_sync(self, limit: int) -> list[SpoolEntry]:
        while True:
            entries: list[SpoolEntry] = []
            unreadable = False
            for seq, record, texts in self._sqlite.fetchall(_PEEK, (limit,)):
                try:
                    entry = SpoolEntry(ConsentRecord.from_dict(json.loads(record)), texts, seq)
                except Exception as exc:  # whatever the damage, set the row aside
                    reason = f"unreadable: {type(exc).__name__}"
                    self._reject_sync(seq, reason)
                    logger.error(LOG_UNREADABLE, seq, reason, self.path)
                    unreadable = True
                    continue
                entries.append(entry)
            if entries or not unreadable:
                return entries

    async def reject(self, entry: SpoolEntry, reason: str) -> None:
        """Move an entry that can never be delivered into the ``rejected`` table."""
        if entry.seq is not None:
            await self._sqlite.run(self._reject_sync, entry.seq, reason)

    def _reject_sync(self, seq: int, reason: str) -> None:
        now = format_time(datetime.now(timezone.utc))
        with write_transaction(self._sqlite.db()) as db:
            db.execute(_REJECT, (reason, now, seq))
            db.execute(_REMOVE, (seq,))

    async def count_rejected(self) -> int:
        """How many entries were moved aside as undeliverable."""
        row = await self._sqlite.run(self._sqlite.fetchone, _COUNT_REJECTED)
        return int(row[0])

    async def remove(self, entries: Sequence[SpoolEntry]) -> None:
        """Forget entries the store has confirmed."""
        seqs = [(e.seq,) for e in entries if e.seq is not None]
        if seqs:
            await self._sqlite.run(self._sqlite.executemany, _REMOVE, seqs)

    async def count(self) -> int:
        """How many entries wait for delivery."""
        row = await self._sqlite.run(self._sqlite.fetchone, _COUNT)
        return int(row[0])


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute(_CREATE)
    conn.execute(_CREATE_REJECTED)
