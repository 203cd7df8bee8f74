"""The embedded store: one SQLite file in WAL mode, driven from a dedicated thread.

No server to run. Every sqlite3 call happens on the store's own worker thread
(connections are thread-bound), so the event loop never waits on disk I/O.
Several processes may share the file: SQLite's locking serialises their writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from consent.records._sqlite_conn import SQLiteConnection, write_transaction
from consent.records.base import (
    SCHEMA_VERSION,
    RecordDataError,
    RecordStats,
    RecordStore,
    SchemaError,
    StoreError,
    build_stats,
    checked_canonical,
    jurisdiction_terms,
    time_bounds,
)
from consent.records.locations import make_private_dirs
from consent.records.model import ConsentRecord, check_storable, format_time, parse_time

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS consent_schema ("
    " version INTEGER PRIMARY KEY,"
    " applied_at TEXT NOT NULL)"
)

#: Numbered migration steps. Never edit a released step: add the next one.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # seq: delivery order (AUTOINCREMENT never reuses a number, even after pruning).
        # Times are UTC text in one fixed-width format, so text order is time order.
        # granted/denied: JSON arrays of category keys.
        """CREATE TABLE consent_records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            record_id TEXT NOT NULL UNIQUE,
            consent_id TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            revision INTEGER NOT NULL,
            granted TEXT NOT NULL,
            denied TEXT NOT NULL,
            method TEXT NOT NULL,
            locale TEXT NOT NULL,
            texts_hash TEXT NOT NULL,
            path TEXT NOT NULL,
            user_agent TEXT,
            ip_prefix TEXT,
            gpc INTEGER NOT NULL
        )""",
        "CREATE INDEX consent_records_time ON consent_records (recorded_at, record_id)",
        "CREATE INDEX consent_records_consent ON consent_records (consent_id, recorded_at)",
        """CREATE TABLE consent_texts (
            hash TEXT PRIMARY KEY,
            texts TEXT NOT NULL,
            first_seen TEXT NOT NULL
        )""",
    ),
    # services: a JSON array of the service keys granted one by one (old rows: none).
    2: ("ALTER TABLE consent_records ADD COLUMN services TEXT NOT NULL DEFAULT '[]'",),
    # Where the visitor was, the policy applied, what they answered (old rows: unknown).
    3: (
        "ALTER TABLE consent_records ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE consent_records ADD COLUMN policy TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE consent_records ADD COLUMN variant TEXT NOT NULL DEFAULT ''",
    ),
}

# Spelled out in full (no string building): every statement is a constant.
_INSERT = """
    INSERT INTO consent_records (record_id, consent_id, recorded_at, revision, granted, denied,
        method, locale, texts_hash, path, user_agent, ip_prefix, gpc, services, jurisdiction,
        policy, variant)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (record_id) DO NOTHING"""
# ?3 to ?5 are JSON arrays, an empty one meaning "any": one constant statement whatever is
# asked. ?4 are countries, also matching their subdivisions (the code before its first "-").
_SELECT_RANGE = """
    SELECT record_id, consent_id, recorded_at, revision, granted, denied, method, locale,
        texts_hash, path, user_agent, ip_prefix, gpc, services, jurisdiction, policy, variant
    FROM consent_records WHERE recorded_at >= ?1 AND recorded_at < ?2
        AND (?3 = '[]'
            OR jurisdiction IN (SELECT value FROM json_each(?3))
            OR substr(jurisdiction, 1, instr(jurisdiction || '-', '-') - 1)
                IN (SELECT value FROM json_each(?4)))
        AND (?5 = '[]' OR policy IN (SELECT value FROM json_each(?5)))
    ORDER BY recorded_at, record_id"""
_SELECT_HISTORY = """
    SELECT record_id, consent_id, recorded_at, revision, granted, denied, method, locale,
        texts_hash, path, user_agent, ip_prefix, gpc, services, jurisdiction, policy, variant
    FROM consent_records WHERE consent_id = ?
    ORDER BY recorded_at, seq"""
_COUNT = "SELECT count(*) FROM consent_records WHERE recorded_at >= ? AND recorded_at < ?"
_DELETE = "DELETE FROM consent_records WHERE recorded_at >= ? AND recorded_at < ?"
_STATS_METHODS = """
    SELECT method, count(*) FROM consent_records
    WHERE recorded_at >= ? AND recorded_at < ? GROUP BY method"""
_STATS_POLICIES = """
    SELECT policy, count(*) FROM consent_records
    WHERE recorded_at >= ? AND recorded_at < ? GROUP BY policy"""
_STATS_GRANTED = """
    SELECT j.value, count(*) FROM consent_records AS r, json_each(r.granted) AS j
    WHERE r.recorded_at >= ? AND r.recorded_at < ? GROUP BY j.value"""
_STATS_DENIED = """
    SELECT j.value, count(*) FROM consent_records AS r, json_each(r.denied) AS j
    WHERE r.recorded_at >= ? AND r.recorded_at < ? GROUP BY j.value"""
_INSERT_TEXTS = "INSERT INTO consent_texts VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING"
_SELECT_TEXTS = "SELECT texts FROM consent_texts WHERE hash = ?"

#: What sqlite3 raises for the values themselves (a constraint, a value it cannot bind:
#: UnicodeEncodeError is a ValueError, a too large int an OverflowError), not the database.
_DATA_ERRORS = (sqlite3.IntegrityError, sqlite3.DataError, ValueError, TypeError, OverflowError)


def _row(record: ConsentRecord) -> tuple[Any, ...]:
    return (
        record.record_id,
        record.consent_id,
        format_time(record.recorded_at),
        record.revision,
        json.dumps(list(record.granted)),
        json.dumps(list(record.denied)),
        record.method,
        record.locale,
        record.texts_hash,
        record.path,
        record.user_agent,
        record.ip_prefix,
        int(record.gpc),
        json.dumps(list(record.services)),
        record.jurisdiction,
        record.policy,
        record.variant,
    )


def _record(row: Sequence[Any]) -> ConsentRecord:
    return ConsentRecord(
        record_id=row[0],
        consent_id=row[1],
        recorded_at=parse_time(row[2]),
        revision=row[3],
        granted=tuple(json.loads(row[4])),
        denied=tuple(json.loads(row[5])),
        method=row[6],
        locale=row[7],
        texts_hash=row[8],
        path=row[9],
        user_agent=row[10],
        ip_prefix=row[11],
        gpc=bool(row[12]),
        services=tuple(json.loads(row[13])),
        jurisdiction=row[14],
        policy=row[15],
        variant=row[16],
    )


class SQLiteStore(RecordStore):
    """Records in a local SQLite file (WAL, ``synchronous=FULL``: a confirmed write survives
    a power cut, because the spool copy is deleted once the store confirms)."""

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 5.0, make_directory: bool = False
    ) -> None:
        self.path = str(path)
        self.display_url = f"sqlite:///{self.path}"
        self._make_directory = make_directory
        self._sqlite = SQLiteConnection(
            self.path,
            thread_name="consent-sqlite",
            timeout=busy_timeout,
            prepare=self._check_directory,
            setup=self._migrate,
            journal_mode="WAL",
            synchronous="FULL",
        )

    # -- lifecycle (_check_directory and _migrate run on the worker thread) ------------

    async def open(self) -> None:
        if not self._sqlite.is_open:
            await self._call(self._sqlite.db)

    def _check_directory(self) -> None:
        if self.path == ":memory:":
            return
        directory = Path(self.path).parent
        if self._make_directory:
            try:
                make_private_dirs(directory)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise StoreError(
                    f"cannot create the directory {str(directory)!r} for {self.display_url}: "
                    f"{reason}"
                ) from exc
        elif not directory.is_dir():
            raise StoreError(
                f"cannot open {self.display_url}: the directory {str(directory)!r} does not exist"
            )

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        with write_transaction(conn):  # one process migrates, the others wait
            conn.execute(_SCHEMA_TABLE)
            current = conn.execute("SELECT coalesce(max(version), 0) FROM consent_schema")
            version = int(current.fetchone()[0])
            if version > SCHEMA_VERSION:
                raise SchemaError(
                    f"records schema version {version} is newer than this release "
                    f"supports ({SCHEMA_VERSION}): upgrade asgi-consent"
                )
            now = format_time(datetime.now(timezone.utc))
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute("INSERT INTO consent_schema VALUES (?, ?)", (step, now))

    async def close(self) -> None:
        await self._sqlite.close()

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        try:
            return await self._sqlite.run(fn, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.display_url}: {exc}") from exc

    async def _write(self, fn: Callable[..., T], *args: object) -> T:
        """`_call` for writes: a refusal caused by the data is a `RecordDataError`."""
        try:
            return await self._sqlite.run(fn, *args)
        except _DATA_ERRORS as exc:
            # The driver's message may quote the value (personal data): name the kind only.
            raise RecordDataError(
                f"{self.display_url} refused the data ({type(exc).__name__})"
            ) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self.display_url}: {exc}") from exc

    # -- operations -------------------------------------------------------------------------

    async def schema_version(self) -> int:
        row = await self._call(self._sqlite.fetchone, "SELECT max(version) FROM consent_schema")
        return int(row[0])

    async def write(self, records: Sequence[ConsentRecord]) -> None:
        if records:
            for record in records:
                check_storable(record)
            await self._write(self._sqlite.executemany, _INSERT, [_row(r) for r in records])

    async def put_texts(self, digest: str, texts: Mapping[str, str]) -> None:
        canonical = checked_canonical(digest, texts)
        now = format_time(datetime.now(timezone.utc))
        await self._write(self._rowcount, _INSERT_TEXTS, (digest, canonical, now))

    def _rowcount(self, sql: str, params: Sequence[Any]) -> int:
        return self._sqlite.execute(sql, params).rowcount

    async def texts(self, digest: str) -> dict[str, str] | None:
        row = await self._call(self._sqlite.fetchone, _SELECT_TEXTS, (digest,))
        if row is None:
            return None
        loaded: dict[str, str] = json.loads(row[0])
        return loaded

    async def iter_records(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        batch_size: int = 1000,
        jurisdictions: Sequence[str] = (),
        policies: Sequence[str] = (),
    ) -> AsyncGenerator[list[ConsentRecord], None]:
        low, high = time_bounds(since, until)
        exact, countries = jurisdiction_terms(jurisdictions)
        params = (
            format_time(low),
            format_time(high),
            json.dumps(exact),
            json.dumps(countries),
            json.dumps(sorted(set(policies))),
        )
        cursor = await self._call(self._sqlite.execute, _SELECT_RANGE, params)
        try:
            while True:
                rows = await self._call(cursor.fetchmany, batch_size)
                if not rows:
                    return
                yield [_record(row) for row in rows]
        finally:
            # Closing ends the read snapshot, so WAL checkpoints can proceed.
            await self._sqlite.run(cursor.close)

    async def history(self, consent_id: str) -> list[ConsentRecord]:
        rows = await self._call(self._sqlite.fetchall, _SELECT_HISTORY, (consent_id,))
        return [_record(row) for row in rows]

    async def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        low, high = time_bounds(since, until)
        params = (format_time(low), format_time(high))
        row = await self._call(self._sqlite.fetchone, _COUNT, params)
        return int(row[0])

    async def prune(self, before: datetime) -> int:
        low, high = time_bounds(None, before)
        params = (format_time(low), format_time(high))
        return int(await self._call(self._rowcount, _DELETE, params))

    async def stats(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> RecordStats:
        low, high = time_bounds(since, until)
        counts = await self._call(self._stats_sync, (format_time(low), format_time(high)))
        methods, granted, denied, policies = counts
        return build_stats(since, until, methods, granted, denied, policies)

    def _stats_sync(self, params: tuple[str, str]) -> tuple[dict[str, int], ...]:
        db = self._sqlite.db()
        db.execute("BEGIN")  # one snapshot for the four counts
        try:
            return tuple(
                dict(db.execute(sql, params).fetchall())
                for sql in (_STATS_METHODS, _STATS_GRANTED, _STATS_DENIED, _STATS_POLICIES)
            )
        finally:
            db.execute("COMMIT")
