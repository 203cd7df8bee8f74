"""The one small async interface every records store implements, and how a URL picks one."""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

from consent.records.locations import sqlite_path
from consent.records.model import (
    EARLIEST,
    LATEST,
    ConsentRecord,
    RecordDataError,
    canonical_texts,
    texts_hash,
)

__all__ = [
    "EARLIEST",
    "LATEST",
    "SCHEMA_VERSION",
    "CategoryStats",
    "RecordDataError",
    "RecordStats",
    "RecordStore",
    "SchemaError",
    "StoreError",
    "open_store",
    "redact_url",
]

#: The schema this release writes. Each store has a numbered migration step per version;
#: ``consent_schema`` in the database says which steps ran. 2: ``services`` (granted one by
#: one) on every record; a version-1 database gains it on the next start, old rows empty.
#: 3: ``jurisdiction``, ``policy`` and ``variant``, added the same way (old rows: ``""``).
SCHEMA_VERSION = 3

# EARLIEST and LATEST (from the model) replace "no limit", so the time-range queries
# stay constant, indexable SQL.


class StoreError(Exception):
    """The store could not do what was asked (unreachable, refused, misconfigured)."""


class SchemaError(StoreError):
    """The database holds a schema this release cannot use (e.g. written by a newer one)."""


@dataclass(frozen=True, slots=True)
class CategoryStats:
    """How often one category was granted among the decisions that covered it."""

    key: str
    granted: int
    denied: int

    @property
    def decisions(self) -> int:
        return self.granted + self.denied

    @property
    def rate(self) -> float | None:
        """Acceptance rate, granted / decisions (None without decisions)."""
        return self.granted / self.decisions if self.decisions else None


@dataclass(frozen=True, slots=True)
class RecordStats:
    """Decisions in a period: how many, by which method and policy, and per category.

    ``policies`` counts by policy name; ``""`` holds the decisions recorded without one
    (before schema version 3), so the counts always add up to ``decisions``.
    """

    since: datetime | None
    until: datetime | None
    decisions: int
    methods: dict[str, int] = field(default_factory=dict)
    categories: tuple[CategoryStats, ...] = ()
    policies: dict[str, int] = field(default_factory=dict)


def build_stats(
    since: datetime | None,
    until: datetime | None,
    methods: Mapping[str, int],
    granted: Mapping[str, int],
    denied: Mapping[str, int],
    policies: Mapping[str, int] | None = None,
) -> RecordStats:
    """Assemble a `RecordStats` from the grouped counts every store can compute."""
    keys = sorted(set(granted) | set(denied))
    return RecordStats(
        since=since,
        until=until,
        decisions=sum(methods.values()),
        methods=dict(sorted(methods.items())),
        categories=tuple(CategoryStats(k, granted.get(k, 0), denied.get(k, 0)) for k in keys),
        policies=dict(sorted((policies or {}).items())),
    )


def jurisdiction_terms(codes: Sequence[str]) -> tuple[list[str], list[str]]:
    """(codes matched exactly, countries also matched with any subdivision) for a filter.

    ``US`` matches ``US`` and ``US-CA``; ``US-CA`` matches only itself. Stores compare the
    stored code, and the part of it before the first ``-``, with these two lists in SQL.
    """
    exact = sorted(set(codes))
    return exact, [code for code in exact if "-" not in code]


def checked_canonical(digest: str, texts: Mapping[str, str]) -> str:
    """The canonical JSON of ``texts``; `RecordDataError` if it cannot be stored as the
    text that hashes to ``digest``."""
    canonical = canonical_texts(texts)
    try:
        matches = texts_hash(canonical) == digest
    except UnicodeEncodeError:
        raise RecordDataError("texts: a lone surrogate, not valid UTF-8") from None
    if not matches:
        raise RecordDataError("texts do not match their hash")
    return canonical


def time_bounds(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """``[since, until)`` with open ends replaced by far-away dates (always timezone-aware)."""
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("since/until must be timezone-aware")
    return since or EARLIEST, until or LATEST


class RecordStore(abc.ABC):
    """Where records live. Every method may raise `StoreError`.

    Stores open lazily and idempotently: `open` may be called before every use
    and retried after a failure. `write` ignores records whose id is already
    stored, which makes redelivery from the spool safe. `write` and `put_texts`
    raise `RecordDataError`, not `StoreError`, when the data itself is refused:
    the caller must not retry those (a retry fails the same way, for ever).
    """

    #: Printable location without credentials (for logs and the CLI).
    display_url: str = ""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create or migrate the schema (no-op when already open)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads; `open` may be called again later."""

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The schema version the database is at."""

    @abc.abstractmethod
    async def write(self, records: Sequence[ConsentRecord]) -> None:
        """Store ``records`` in one transaction, skipping ids already present.

        Implementations run `check_storable` on each record first.
        """

    @abc.abstractmethod
    async def put_texts(self, digest: str, texts: Mapping[str, str]) -> None:
        """Keep one text version under its hash (once; later calls change nothing).

        Implementations store `checked_canonical` of the texts, so the hash can be
        recomputed from what is stored.
        """

    @abc.abstractmethod
    async def texts(self, digest: str) -> dict[str, str] | None:
        """The texts stored under ``digest``, or None."""

    @abc.abstractmethod
    def iter_records(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        batch_size: int = 1000,
        jurisdictions: Sequence[str] = (),
        policies: Sequence[str] = (),
    ) -> AsyncGenerator[list[ConsentRecord], None]:
        """Records with ``since <= recorded_at < until`` in time order, in batches.

        Streams (a server-side cursor or ``fetchmany``): memory stays bounded by
        ``batch_size``. Close it with `contextlib.aclosing` when stopping early.
        ``jurisdictions`` and ``policies``, when given, keep only records with one of
        them, in the query itself (see `jurisdiction_terms`; codes as stored: upper case).
        """

    @abc.abstractmethod
    async def history(self, consent_id: str) -> list[ConsentRecord]:
        """Every record of one visitor, oldest first."""

    @abc.abstractmethod
    async def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """How many records lie in ``[since, until)``."""

    @abc.abstractmethod
    async def prune(self, before: datetime) -> int:
        """Delete records made before ``before``; return how many went.

        Texts stay: they hold no personal data and older records elsewhere
        (exports, backups) may still refer to them.
        """

    @abc.abstractmethod
    async def stats(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> RecordStats:
        """Decisions per method, per policy and per category in ``[since, until)``."""

    async def __aenter__(self) -> RecordStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def redact_url(url: str) -> str:
    """``url`` without its password (safe to print and log)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return url.split("://", 1)[0] + "://***"


def open_store(url: str, *, make_directory: bool = False) -> RecordStore:
    """The store for a settings URL (nothing is connected until `RecordStore.open`).

    ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``,
    or ``postgresql://user:password@host:port/database`` (needs ``asgi-consent[postgres]``).
    ``make_directory``: create a SQLite file's directory (owner-only) when it is missing,
    as for the default location; otherwise a missing directory is a `StoreError`.
    """
    path = sqlite_path(url)
    if path is not None:
        from consent.records.sqlite import SQLiteStore

        if not path:
            raise ValueError("sqlite URL needs a file path: sqlite:///consent.db")
        return SQLiteStore(path, make_directory=make_directory)
    if url.startswith(("postgresql://", "postgres://")):
        from consent.records.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(
        f"unsupported records URL {redact_url(url)!r}: use sqlite:/// or postgresql://"
    )
