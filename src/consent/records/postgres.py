"""The shared store for deployments with several processes or hosts: PostgreSQL via asyncpg.

asyncpg is an optional extra (``pip install 'asgi-consent[postgres]'``) and is
imported only when the store opens, so the base install works without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

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
    redact_url,
    time_bounds,
)
from consent.records.model import ConsentRecord, check_storable

__all__ = ["MISSING_ASYNCPG", "PostgresStore"]

MISSING_ASYNCPG = (
    "records.url points to PostgreSQL but asyncpg is not installed: "
    "pip install 'asgi-consent[postgres]'"
)

#: Any number works as long as it is fixed: it serialises migrations across processes.
_MIGRATION_LOCK = 0x636F6E73656E74  # "consent"

_SCHEMA_TABLE = """
    CREATE TABLE IF NOT EXISTS consent_schema (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now())"""

#: Numbered migration steps. Never edit a released step: add the next one.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # seq: delivery order; record_id: the idempotency key.
        """CREATE TABLE consent_records (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            record_id text PRIMARY KEY,
            consent_id text NOT NULL,
            recorded_at timestamptz NOT NULL,
            revision integer NOT NULL,
            granted text[] NOT NULL,
            denied text[] NOT NULL,
            method text NOT NULL,
            locale text NOT NULL,
            texts_hash text NOT NULL,
            path text NOT NULL,
            user_agent text,
            ip_prefix text,
            gpc boolean NOT NULL
        )""",
        "CREATE INDEX consent_records_time ON consent_records (recorded_at, record_id)",
        "CREATE INDEX consent_records_consent ON consent_records (consent_id, recorded_at)",
        """CREATE TABLE consent_texts (
            hash text PRIMARY KEY,
            texts text NOT NULL,
            first_seen timestamptz NOT NULL DEFAULT now()
        )""",
    ),
    # services: the service keys granted one by one (old rows: none).
    2: ("ALTER TABLE consent_records ADD COLUMN services text[] NOT NULL DEFAULT '{}'",),
    # Where the visitor was, the policy applied, what they answered (old rows: unknown).
    # A constant default: PostgreSQL 11+ adds such a column without rewriting the table.
    3: (
        "ALTER TABLE consent_records ADD COLUMN jurisdiction text NOT NULL DEFAULT ''",
        "ALTER TABLE consent_records ADD COLUMN policy text NOT NULL DEFAULT ''",
        "ALTER TABLE consent_records ADD COLUMN variant text NOT NULL DEFAULT ''",
    ),
}

_INSERT = """
    INSERT INTO consent_records (record_id, consent_id, recorded_at, revision, granted, denied,
        method, locale, texts_hash, path, user_agent, ip_prefix, gpc, services, jurisdiction,
        policy, variant)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT (record_id) DO NOTHING"""
# $3 to $5 are arrays, an empty one meaning "any": one constant statement whatever is
# asked. $4 are countries, also matching their subdivisions (the code before its first "-").
_SELECT_RANGE = """
    SELECT record_id, consent_id, recorded_at, revision, granted, denied, method, locale,
        texts_hash, path, user_agent, ip_prefix, gpc, services, jurisdiction, policy, variant
    FROM consent_records WHERE recorded_at >= $1 AND recorded_at < $2
        AND (cardinality($3::text[]) = 0
            OR jurisdiction = ANY ($3::text[])
            OR split_part(jurisdiction, '-', 1) = ANY ($4::text[]))
        AND (cardinality($5::text[]) = 0 OR policy = ANY ($5::text[]))
    ORDER BY recorded_at, record_id"""
_SELECT_HISTORY = """
    SELECT record_id, consent_id, recorded_at, revision, granted, denied, method, locale,
        texts_hash, path, user_agent, ip_prefix, gpc, services, jurisdiction, policy, variant
    FROM consent_records WHERE consent_id = $1
    ORDER BY recorded_at, seq"""
_COUNT = "SELECT count(*) FROM consent_records WHERE recorded_at >= $1 AND recorded_at < $2"
_DELETE = "DELETE FROM consent_records WHERE recorded_at >= $1 AND recorded_at < $2"
_STATS_METHODS = """
    SELECT method, count(*) FROM consent_records
    WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY method"""
_STATS_POLICIES = """
    SELECT policy, count(*) FROM consent_records
    WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY policy"""
_STATS_GRANTED = """
    SELECT key, count(*) FROM consent_records, unnest(granted) AS key
    WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY key"""
_STATS_DENIED = """
    SELECT key, count(*) FROM consent_records, unnest(denied) AS key
    WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY key"""
_INSERT_TEXTS = """
    INSERT INTO consent_texts (hash, texts) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING"""
_SELECT_TEXTS = "SELECT texts FROM consent_texts WHERE hash = $1"


def _row(record: ConsentRecord) -> tuple[Any, ...]:
    return (
        record.record_id,
        record.consent_id,
        record.recorded_at,
        record.revision,
        list(record.granted),
        list(record.denied),
        record.method,
        record.locale,
        record.texts_hash,
        record.path,
        record.user_agent,
        record.ip_prefix,
        record.gpc,
        list(record.services),
        record.jurisdiction,
        record.policy,
        record.variant,
    )


def _record(row: Any) -> ConsentRecord:
    return ConsentRecord(
        record_id=row[0],
        consent_id=row[1],
        recorded_at=row[2],
        revision=row[3],
        granted=tuple(row[4]),
        denied=tuple(row[5]),
        method=row[6],
        locale=row[7],
        texts_hash=row[8],
        path=row[9],
        user_agent=row[10],
        ip_prefix=row[11],
        gpc=row[12],
        services=tuple(row[13]),
        jurisdiction=row[14],
        policy=row[15],
        variant=row[16],
    )


def _pairs(rows: Sequence[Any]) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in rows}


class PostgresStore(RecordStore):
    """Records in PostgreSQL through a small asyncpg pool.

    The pool reconnects by itself after a server restart: a broken connection is
    dropped when released and a fresh one made on the next acquire. ``min_size=0``:
    decisions are rare, so idle processes hold no connection, and asyncpg does not
    keep reconnecting (and logging) in the background while the server is down.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 0,
        max_size: int = 4,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
    ) -> None:
        if importlib.util.find_spec("asyncpg") is None:
            # Fail at start-up, not on the first decision.
            raise StoreError(MISSING_ASYNCPG)
        self.url = url
        self.display_url = redact_url(url)
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver and network failures surface as `StoreError` naming the store."""
        import asyncpg

        try:
            yield
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncio.TimeoutError,
            TimeoutError,
        ) as exc:
            detail = str(exc) or type(exc).__name__
            raise StoreError(f"{self.display_url}: {detail}") from exc

    @contextmanager
    def _refused_data(self) -> Iterator[None]:
        """A refusal caused by the values written becomes `RecordDataError` (no retry helps).

        SQLSTATE classes 22 (data exception: a NUL, an integer out of range) and 23
        (integrity), and arguments asyncpg cannot encode (a lone surrogate). Nest it
        inside `_errors`, which turns every other driver failure into a `StoreError`.
        """
        import asyncpg

        try:
            yield
        except (
            asyncpg.DataError,
            asyncpg.IntegrityConstraintViolationError,
            ValueError,
            TypeError,
            OverflowError,
        ) as exc:
            # asyncpg's message may quote the value (personal data): name the kind only.
            state = getattr(exc, "sqlstate", None)
            kind = f"{type(exc).__name__}, SQLSTATE {state}" if state else type(exc).__name__
            raise RecordDataError(f"{self.display_url} refused the data ({kind})") from exc

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        if self._pool is not None:
            if self._loop is loop:
                return
            # A pool belongs to the loop that made it; that loop has gone (tests, reloads).
            self._discard_pool()
        import asyncpg

        with self._errors():
            pool = await asyncpg.create_pool(
                self.url,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
            )
            try:
                async with pool.acquire() as conn:
                    await self._migrate(conn)
            except BaseException:
                pool.terminate()
                raise
        if self._pool is not None:  # a concurrent open() won the race
            pool.terminate()
            return
        self._pool, self._loop = pool, loop

    @staticmethod
    async def _migrate(conn: Any) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_SCHEMA_TABLE)
            version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM consent_schema")
            if version > SCHEMA_VERSION:
                raise SchemaError(
                    f"records schema version {version} is newer than this release "
                    f"supports ({SCHEMA_VERSION}): upgrade asgi-consent"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO consent_schema (version) VALUES ($1)", step)

    def _discard_pool(self) -> None:
        pool, self._pool, self._loop = self._pool, None, None
        with contextlib.suppress(Exception):  # its loop may be closed already; nothing to save
            pool.terminate()

    async def close(self) -> None:
        pool = self._pool
        if pool is None:
            return
        if self._loop is not asyncio.get_running_loop():
            self._discard_pool()
            return
        self._pool, self._loop = None, None
        try:
            await asyncio.wait_for(pool.close(), timeout=self._connect_timeout)
        except Exception:  # a dead server cannot be closed politely
            pool.terminate()

    async def _pool_ready(self) -> Any:
        await self.open()
        return self._pool

    async def schema_version(self) -> int:
        pool = await self._pool_ready()
        with self._errors():
            return int(await pool.fetchval("SELECT max(version) FROM consent_schema"))

    async def write(self, records: Sequence[ConsentRecord]) -> None:
        if not records:
            return
        for record in records:
            check_storable(record)
        pool = await self._pool_ready()
        with self._errors(), self._refused_data():
            async with pool.acquire() as conn, conn.transaction():
                await conn.executemany(_INSERT, [_row(r) for r in records])

    async def put_texts(self, digest: str, texts: Mapping[str, str]) -> None:
        canonical = checked_canonical(digest, texts)
        pool = await self._pool_ready()
        with self._errors(), self._refused_data():
            await pool.execute(_INSERT_TEXTS, digest, canonical)

    async def texts(self, digest: str) -> dict[str, str] | None:
        pool = await self._pool_ready()
        with self._errors():
            stored = await pool.fetchval(_SELECT_TEXTS, digest)
        if stored is None:
            return None
        loaded: dict[str, str] = json.loads(stored)
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
        wanted = sorted(set(policies))
        pool = await self._pool_ready()
        with self._errors():
            async with pool.acquire() as conn, conn.transaction(readonly=True):
                # A server-side cursor: rows cross the wire one batch at a time.
                cursor = await conn.cursor(_SELECT_RANGE, low, high, exact, countries, wanted)
                while True:
                    rows = await cursor.fetch(batch_size)
                    if not rows:
                        return
                    yield [_record(row) for row in rows]

    async def history(self, consent_id: str) -> list[ConsentRecord]:
        pool = await self._pool_ready()
        with self._errors():
            rows = await pool.fetch(_SELECT_HISTORY, consent_id)
        return [_record(row) for row in rows]

    async def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        low, high = time_bounds(since, until)
        pool = await self._pool_ready()
        with self._errors():
            return int(await pool.fetchval(_COUNT, low, high))

    async def prune(self, before: datetime) -> int:
        low, high = time_bounds(None, before)
        pool = await self._pool_ready()
        with self._errors():
            status = await pool.execute(_DELETE, low, high)
        return int(str(status).rsplit(" ", 1)[-1])

    async def stats(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> RecordStats:
        low, high = time_bounds(since, until)
        pool = await self._pool_ready()
        with self._errors():
            async with (
                pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                methods = _pairs(await conn.fetch(_STATS_METHODS, low, high))
                granted = _pairs(await conn.fetch(_STATS_GRANTED, low, high))
                denied = _pairs(await conn.fetch(_STATS_DENIED, low, high))
                policies = _pairs(await conn.fetch(_STATS_POLICIES, low, high))
        return build_stats(since, until, methods, granted, denied, policies)
