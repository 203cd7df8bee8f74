"""One suite for every store: SQLite always, PostgreSQL when a server is available."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from consent.records import (
    SCHEMA_VERSION,
    RecordDataError,
    RecordStore,
    SchemaError,
    StoreError,
    open_store,
    texts_hash,
)
from consent.records import postgres as postgres_store
from consent.records import sqlite as sqlite_store
from consent.records.base import redact_url
from consent.records.postgres import PostgresStore
from consent.records.sqlite import SQLiteStore
from tests.records.helpers import T0, TEXTS, make_record

pytestmark = pytest.mark.anyio


async def raw_execute(url: str, sql: str) -> None:
    """Run SQL outside the store under test."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
        return
    import asyncpg

    pg = await asyncpg.connect(url)
    try:
        await pg.execute(sql)
    finally:
        await pg.close()


async def test_schema_is_created_on_first_use_and_versioned(store_url: str) -> None:
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.count() == 0
    # Opening again migrates nothing and keeps the data.
    async with open_store(store_url) as store:
        await store.write([make_record(1)])
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.count() == 1


async def test_a_newer_schema_is_refused(store_url: str) -> None:
    async with open_store(store_url):
        pass
    await raw_execute(
        store_url, "INSERT INTO consent_schema (version, applied_at) VALUES (99, '2030-01-01')"
    )
    store = open_store(store_url)
    with pytest.raises(SchemaError, match="newer"):
        await store.open()
    await store.close()


async def test_write_and_history(store_url: str) -> None:
    first = make_record(1, consent_id="alice")
    second = make_record(
        2,
        consent_id="alice",
        method="withdraw",
        granted=("necessary",),
        denied=("analytics", "marketing"),
        user_agent=None,
    )
    other = make_record(3, consent_id="bob")
    async with open_store(store_url) as store:
        await store.write([second, other])
        await store.write([first])
        assert await store.history("alice") == [first, second]
        assert await store.history("bob") == [other]
        assert await store.history("nobody") == []


async def test_services_granted_one_by_one_are_stored(store_url: str) -> None:
    youtube = make_record(1, method="allow_service", granted=("necessary",), services=("youtube",))
    both = make_record(2, method="custom", services=("vimeo", "youtube"))
    none = make_record(3)
    async with open_store(store_url) as store:
        await store.write([youtube, both, none])
        stored = [r async for batch in store.iter_records() for r in batch]
        assert stored == [youtube, both, none]
        assert [r.services for r in stored] == [("youtube",), ("vimeo", "youtube"), ()]
        assert (await store.stats()).methods == {"accept_all": 1, "allow_service": 1, "custom": 1}


async def create_old_database(url: str, version: int) -> None:
    """A database as an older release left it: steps 1 to ``version`` and one record."""
    backend: Any = postgres_store
    if url.startswith("sqlite:///"):
        backend = sqlite_store
        marked = "INSERT INTO consent_schema VALUES ({}, '2025-01-01T00:00:00.000000Z')"
        values = (
            "'01OLD', 'old-visitor', '2025-01-01T12:00:00.000000Z', 1, "
            "'[\"analytics\", \"necessary\"]', '[\"marketing\"]', 'custom', 'en', 'h', '/old', "
            "NULL, '203.0.113.0/24', 0"
        )
        services = "'[\"youtube\"]'"
    else:
        marked = "INSERT INTO consent_schema (version) VALUES ({})"
        values = (
            "'01OLD', 'old-visitor', '2025-01-01T12:00:00Z', 1, '{analytics,necessary}', "
            "'{marketing}', 'custom', 'en', 'h', '/old', NULL, '203.0.113.0/24', false"
        )
        services = "'{youtube}'"
    columns = (
        "record_id, consent_id, recorded_at, revision, granted, denied, method, locale, "
        "texts_hash, path, user_agent, ip_prefix, gpc"
    )
    if version >= 2:
        columns, values = f"{columns}, services", f"{values}, {services}"
    row = f"INSERT INTO consent_records ({columns}) VALUES ({values})"
    steps = [statement for step in range(1, version + 1) for statement in backend.MIGRATIONS[step]]
    marks = [marked.format(step) for step in range(1, version + 1)]
    for statement in (backend._SCHEMA_TABLE, *steps, *marks, row):
        await raw_execute(url, statement)


async def test_a_version_1_database_upgrades_on_start_keeping_its_records(
    store_url: str,
) -> None:
    await create_old_database(store_url, 1)
    new = make_record(1, consent_id="old-visitor", services=("youtube",))
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION == 3
        (old,) = await store.history("old-visitor")
        assert (old.record_id, old.method, old.services) == ("01OLD", "custom", ())
        assert (old.jurisdiction, old.policy, old.variant) == ("", "", "")
        assert old.granted == ("analytics", "necessary")
        await store.write([new])
        assert [r.services for r in await store.history("old-visitor")] == [(), ("youtube",)]
    async with open_store(store_url) as store:  # upgraded once: the next start migrates nothing
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.count() == 2


async def test_a_version_2_database_upgrades_on_start_keeping_its_records(
    store_url: str,
) -> None:
    await create_old_database(store_url, 2)
    new = make_record(1, consent_id="old-visitor", jurisdiction="DE", policy="opt_in")
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION == 3
        (old,) = await store.history("old-visitor")
        assert (old.record_id, old.method, old.services) == ("01OLD", "custom", ("youtube",))
        assert (old.jurisdiction, old.policy, old.variant) == ("", "", "")  # unknown
        await store.write([new])
        history = await store.history("old-visitor")
        assert [(r.jurisdiction, r.policy) for r in history] == [("", ""), ("DE", "opt_in")]
        only_de = [r async for b in store.iter_records(jurisdictions=["DE"]) for r in b]
        assert only_de == [new]
        assert (await store.stats()).policies == {"": 1, "opt_in": 1}
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.count() == 2


async def test_where_which_policy_and_what_was_answered_are_stored(store_url: str) -> None:
    banner = make_record(1, jurisdiction="DE", policy="opt_in", variant="banner")
    notice = make_record(
        2, method="acknowledge", jurisdiction="US-CA", policy="us", variant="notice"
    )
    gpc = make_record(3, method="gpc", jurisdiction="US-CA", policy="us", variant="gpc")
    unknown = make_record(4)
    async with open_store(store_url) as store:
        await store.write([banner, notice, gpc, unknown])
        stored = [r async for batch in store.iter_records() for r in batch]
        assert stored == [banner, notice, gpc, unknown]
        assert await store.history(notice.consent_id) == [notice]
        stats = await store.stats()
        assert stats.policies == {"": 1, "opt_in": 1, "us": 2}
        assert stats.methods == {"accept_all": 2, "acknowledge": 1, "gpc": 1}


async def test_export_filters_by_jurisdiction_and_policy_in_the_query(store_url: str) -> None:
    places = ["DE", "US-CA", "US", "US-NY", "USA", "FR", "", "US-CA", "GB-SCT"]
    policies = ["opt_in", "us", "us", "us", "us", "opt_in", "", "us_strict", "uk"]
    records = [
        make_record(i, jurisdiction=place, policy=policy)
        for i, (place, policy) in enumerate(zip(places, policies, strict=True))
    ]

    async def ids(**filters: Any) -> list[int]:
        async with open_store(store_url) as store:
            batches = store.iter_records(batch_size=2, **filters)
            return [records.index(r) async for b in batches for r in b]

    async with open_store(store_url) as store:
        await store.write(records)
    assert await ids() == list(range(9))
    assert await ids(jurisdictions=["US"]) == [1, 2, 3, 7]  # the country and its regions
    assert await ids(jurisdictions=["US-CA"]) == [1, 7]  # a region: exactly
    assert await ids(jurisdictions=["DE", "US-NY"]) == [0, 3]
    assert await ids(jurisdictions=["US", "US-CA"]) == [1, 2, 3, 7]  # no duplicates
    assert await ids(jurisdictions=["GB"]) == [8]
    assert await ids(jurisdictions=["ES"]) == []
    assert await ids(policies=["us"]) == [1, 2, 3, 4]
    assert await ids(policies=["opt_in", "uk"]) == [0, 5, 8]
    assert await ids(jurisdictions=["US"], policies=["us_strict"]) == [7]
    assert await ids(jurisdictions=["US-CA"], policies=["opt_in"]) == []
    # Filters combine with the time range; a code is compared as text, never as a pattern.
    since, until = T0 + timedelta(minutes=2), T0 + timedelta(minutes=8)
    async with open_store(store_url) as store:
        window = store.iter_records(since, until, jurisdictions=["US"])
        assert [records.index(r) async for b in window for r in b] == [2, 3, 7]
    assert await ids(jurisdictions=["U%"], policies=["us%"]) == []


async def test_redelivery_is_idempotent(store_url: str) -> None:
    records = [make_record(i) for i in range(5)]
    async with open_store(store_url) as store:
        await store.write(records[:3])
        await store.write(records[:3])
        await store.write(records[2:])  # overlaps by one
        await store.write([])
        assert await store.count() == 5
        stored = [r async for batch in store.iter_records() for r in batch]
        assert stored == records


async def test_texts_are_kept_once_per_hash(store_url: str) -> None:
    digest = texts_hash(TEXTS)
    async with open_store(store_url) as store:
        assert await store.texts(digest) is None
        await store.put_texts(digest, TEXTS)
        await store.put_texts(digest, dict(reversed(TEXTS.items())))
        assert await store.texts(digest) == TEXTS
        with pytest.raises(ValueError, match="hash"):
            await store.put_texts(digest, {**TEXTS, "extra": "x"})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"path": "/a\x00b"}, "path"),  # SQLite would take it; PostgreSQL never: refused by both
        ({"consent_id": "v\x00"}, "consent_id"),
        ({"user_agent": "UA \ud800"}, "user_agent"),
        ({"granted": ("necessary", "\udcff")}, "granted"),
        ({"revision": 2**31}, "revision"),
        ({"jurisdiction": "DE\x00"}, "jurisdiction"),
        ({"variant": "\udcff"}, "variant"),
    ],
)
async def test_a_record_no_store_can_keep_is_refused_for_its_data(
    store_url: str, changes: dict[str, Any], field: str
) -> None:
    bad = dataclasses.replace(make_record(1), **changes)
    async with open_store(store_url) as store:
        with pytest.raises(RecordDataError, match=f"^{field}: "):
            await store.write([make_record(0), bad])
        assert await store.count() == 0  # one transaction: none of the batch
        await store.write([make_record(2)])  # the store itself is fine
        assert await store.count() == 1


@pytest.mark.parametrize(
    "changes",
    [{"user_agent": "UA \ud800"}, {"path": "/\udcff"}, {"revision": 2**63}],
)
async def test_driver_refusals_of_the_data_are_data_errors(
    store_url: str, monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]
) -> None:
    # Past the shared check, what the driver or server refuses is still a data error.
    monkeypatch.setattr("consent.records.sqlite.check_storable", lambda record: None)
    monkeypatch.setattr("consent.records.postgres.check_storable", lambda record: None)
    bad = dataclasses.replace(make_record(1), **changes)
    async with open_store(store_url) as store:
        with pytest.raises(RecordDataError, match="refused the data") as info:
            await store.write([bad])
        assert not isinstance(info.value, StoreError)
        message = str(info.value)
        assert "UA" not in message  # the driver's message quotes the value; ours does not
        assert str(2**63) not in message
        await store.write([make_record(2)])
        assert await store.count() == 1


@pytest.mark.postgres
async def test_postgres_refusing_a_nul_is_a_data_error(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.records.conftest import reset_postgres

    await anyio.to_thread.run_sync(reset_postgres, postgres_url)
    monkeypatch.setattr("consent.records.postgres.check_storable", lambda record: None)
    async with open_store(postgres_url) as store:
        with pytest.raises(RecordDataError, match="SQLSTATE 22021"):
            await store.write([dataclasses.replace(make_record(1), path="/a\x00b")])


async def test_texts_no_store_can_keep_are_refused_for_their_data(store_url: str) -> None:
    async with open_store(store_url) as store:
        with pytest.raises(RecordDataError, match="surrogate"):
            await store.put_texts("0" * 64, {"banner.title": "Cookies\ud800"})
        with pytest.raises(RecordDataError, match="hash"):
            await store.put_texts(texts_hash(TEXTS), {**TEXTS, "extra": "x"})


async def test_iter_records_streams_a_time_range_in_batches(store_url: str) -> None:
    records = [make_record(i) for i in range(25)]
    async with open_store(store_url) as store:
        await store.write(list(reversed(records)))
        batches = [batch async for batch in store.iter_records(batch_size=10)]
        assert [len(b) for b in batches] == [10, 10, 5]
        assert [r for b in batches for r in b] == records
        since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=9)
        window = [r async for b in store.iter_records(since, until, batch_size=2) for r in b]
        assert window == records[5:9]  # since included, until excluded
        assert await store.count(since, until) == 4
        assert [b async for b in store.iter_records(until, until)] == []


async def test_iter_records_can_stop_early(store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.write([make_record(i) for i in range(10)])
        batches = store.iter_records(batch_size=3)
        async with contextlib.aclosing(batches):
            async for _batch in batches:
                break
        await store.write([make_record(11)])  # the store is still usable
        assert await store.count() == 11


async def test_prune_deletes_only_older_records(store_url: str) -> None:
    records = [make_record(i, when=T0 + timedelta(days=i)) for i in range(10)]
    async with open_store(store_url) as store:
        await store.write(records)
        await store.put_texts(texts_hash(TEXTS), TEXTS)
        assert await store.prune(T0 + timedelta(days=4)) == 4
        assert await store.prune(T0 + timedelta(days=4)) == 0
        remaining = [r async for b in store.iter_records() for r in b]
        assert remaining == records[4:]
        assert await store.texts(texts_hash(TEXTS)) == TEXTS  # wording stays provable


async def test_stats_per_method_and_category(store_url: str) -> None:
    records = [
        make_record(
            0, method="accept_all", granted=("analytics", "marketing", "necessary"), denied=()
        ),
        make_record(
            1, method="accept_all", granted=("analytics", "marketing", "necessary"), denied=()
        ),
        make_record(
            2, method="reject_all", granted=("necessary",), denied=("analytics", "marketing")
        ),
        make_record(3, method="custom", granted=("analytics", "necessary"), denied=("marketing",)),
        make_record(
            100, method="withdraw", granted=("necessary",), denied=("analytics", "marketing")
        ),
    ]
    async with open_store(store_url) as store:
        await store.write(records)
        stats = await store.stats(T0, T0 + timedelta(minutes=10))
        assert stats.decisions == 4
        assert stats.methods == {"accept_all": 2, "custom": 1, "reject_all": 1}
        by_key = {c.key: c for c in stats.categories}
        assert (by_key["analytics"].granted, by_key["analytics"].decisions) == (3, 4)
        assert by_key["analytics"].rate == 0.75
        assert by_key["marketing"].rate == 0.5
        assert by_key["necessary"].rate == 1.0
        everything = await store.stats()
        assert everything.decisions == 5
        assert everything.methods["withdraw"] == 1
        empty = await store.stats(T0 - timedelta(days=2), T0 - timedelta(days=1))
        assert empty.decisions == 0
        assert empty.categories == ()


async def test_close_and_reopen(store_url: str) -> None:
    store = open_store(store_url)
    await store.open()
    await store.open()  # idempotent
    await store.write([make_record(1)])
    await store.close()
    await store.close()
    await store.open()
    assert await store.count() == 1
    await store.close()


def test_open_store_picks_the_backend() -> None:
    assert isinstance(open_store("sqlite:///x.db"), SQLiteStore)
    assert open_store("sqlite:////var/lib/consent/r.db").path == "/var/lib/consent/r.db"  # type: ignore[attr-defined]
    assert isinstance(open_store("postgresql://u:secret@db/consent"), PostgresStore)
    assert isinstance(open_store("postgres://db/consent"), PostgresStore)
    with pytest.raises(ValueError, match="unsupported"):
        open_store("mysql://db")
    with pytest.raises(ValueError, match="file path"):
        open_store("sqlite:///")


def test_urls_are_printed_without_passwords() -> None:
    assert (
        redact_url("postgresql://app:s3cret@db:5432/consent")
        == "postgresql://app:***@db:5432/consent"
    )
    assert redact_url("postgresql://db/consent") == "postgresql://db/consent"
    store: RecordStore = open_store("postgresql://app:s3cret@db/consent")
    assert "s3cret" not in store.display_url


def test_postgres_without_asyncpg_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from consent.records import StoreError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name, *a)
    )
    with pytest.raises(StoreError, match=r"asgi-consent\[postgres\]"):
        open_store("postgresql://db/consent")


async def test_sqlite_in_a_missing_directory_is_a_store_error(tmp_path: object) -> None:
    from consent.records import StoreError

    store = open_store("sqlite:///no/such/dir/records.db")
    with pytest.raises(StoreError, match="the directory 'no/such/dir' does not exist"):
        await store.open()
    await store.close()


async def test_sqlite_may_create_its_directory_owner_only(tmp_path: Path) -> None:
    """For the default location only: its parents are made ``0700`` too."""
    database = tmp_path / "data" / "asgi-consent" / "records.db"
    async with open_store(f"sqlite:///{database}", make_directory=True) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    for directory in (database.parent, database.parent.parent):
        assert directory.stat().st_mode & 0o777 == 0o700


async def test_sqlite_uses_wal(tmp_path: object) -> None:
    async with open_store("sqlite:///wal.db"):
        conn = sqlite3.connect("wal.db")
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()
