"""The durable spool: order, durability across instances, delete only what was confirmed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from consent.records.spool import SPOOL_FILE, Spool, SpoolEntry
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
