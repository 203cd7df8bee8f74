"""The durable spool: order, durability across instances, delete only what was confirmed."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from consent.records.spool import LOG_UNREADABLE, SPOOL_FILE, Spool, SpoolEntry
from tests.records.helpers import make_record

pytestmark = pytest.mark.anyio


async def test_entries_come_out_in_order_and_survive_a_new_instance(tmp_path: Path) -> None:
    records = [make_record(i) for i in range(7)]
    spool = Spool(tmp_path / "spool")
    await spool.open()
    await spool.append([SpoolEntry(records[0], texts='{"a":"b"}')])
    await spool.append([SpoolEntry(r) for r in records[1:]])
    await spool.close()

    again = Spool(tmp_path / "spool")  # a restarted process
    await again.open()
    assert await again.count() == 7
    first = await again.peek(3)
    assert [e.record for e in first] == records[:3]
    assert first[0].texts == '{"a":"b"}'
    assert first[1].texts is None
    await again.remove(first)
    rest = await again.peek(100)
    assert [e.record for e in rest] == records[3:]
    await again.close()


async def test_the_spool_carries_services_and_reads_entries_spooled_before_them(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool")
    await spool.open()
    record = make_record(1, method="allow_service", services=("youtube",))
    await spool.append([SpoolEntry(record)])
    older = {k: v for k, v in make_record(2).to_dict().items() if k != "services"}
    with sqlite3.connect(spool.path) as conn:  # spooled by a release before services
        conn.execute(
            "INSERT INTO spool (record_id, record) VALUES (?, ?)",
            (older["record_id"], json.dumps(older)),
        )
    conn.close()
    entries = await spool.peek(10)
    assert [e.record.services for e in entries] == [("youtube",), ()]
    assert entries[0].record == record
    await spool.close()


async def test_the_same_record_is_spooled_once(tmp_path: Path) -> None:
    record = make_record(1)
    spool = Spool(tmp_path)
    await spool.append([SpoolEntry(record)])
    await spool.append([SpoolEntry(record)])
    assert await spool.count() == 1
    await spool.close()


async def test_remove_forgets_only_the_given_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.append([SpoolEntry(make_record(i)) for i in range(3)])
    head = await spool.peek(1)
    await spool.append([SpoolEntry(make_record(9))])  # arrives while the head is delivered
    await spool.remove(head)
    assert [e.record.consent_id for e in await spool.peek()] == [
        "visitor-1",
        "visitor-2",
        "visitor-9",
    ]
    await spool.close()


async def test_spool_directory_is_private(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "a" / "b")
    await spool.open()
    await spool.close()
    mode = stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode)
    assert mode == 0o700
    assert (tmp_path / "a" / "b" / SPOOL_FILE).exists()


@pytest.mark.parametrize(
    "damaged",
    [
        "{not json",
        "[]",
        json.dumps({"record_id": "x"}),  # fields missing
        json.dumps({**make_record(5).to_dict(), "recorded_at": "yesterday"}),
    ],
)
async def test_an_unreadable_entry_is_moved_aside_not_in_the_way(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damaged: str
) -> None:
    spool = Spool(tmp_path)
    await spool.append([SpoolEntry(make_record(1))])
    await spool.close()
    conn = sqlite3.connect(tmp_path / SPOOL_FILE)
    with conn:
        conn.execute("INSERT INTO spool (record_id, record) VALUES ('damaged', ?)", (damaged,))
    conn.close()
    await spool.append([SpoolEntry(make_record(2))])
    with caplog.at_level(logging.ERROR, logger="consent.records"):
        entries = await spool.peek()
    assert [e.record.consent_id for e in entries] == ["visitor-1", "visitor-2"]
    assert [r.msg for r in caplog.records] == [LOG_UNREADABLE]
    assert await spool.count() == 2
    assert await spool.count_rejected() == 1
    await spool.close()
    conn = sqlite3.connect(tmp_path / SPOOL_FILE)
    kept = conn.execute("SELECT record_id, record, reason FROM rejected").fetchall()
    conn.close()
    assert kept[0][:2] == ("damaged", damaged)  # kept as it was, for an operator to look at
    assert kept[0][2].startswith("unreadable: ")


async def test_only_damaged_entries_left_means_empty(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    conn = sqlite3.connect(tmp_path / SPOOL_FILE)
    with conn:
        conn.executemany("INSERT INTO spool (record_id, record) VALUES (?, '{')", [("a",), ("b",)])
    conn.close()
    assert await spool.peek(1) == []
    assert await spool.count() == 0
    assert await spool.count_rejected() == 2
    await spool.close()
