"""The Recorder: store within the timeout, else spool; deliver later, in order, exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import consent.records.recorder
from consent.endpoints import Decision
from consent.records import ConsentRecord, RecordDataError, Recorder, open_store, recorder_for
from consent.records.recorder import LOG_LOST, LOG_REFUSED, LOG_REJECTED, LOG_STORE_DOWN
from consent.records.spool import SpoolEntry
from consent.records.sqlite import SQLiteStore
from consent.settings import RecordsSettings
from tests.records.helpers import (
    FlakyStore,
    make_decision,
    make_record,
    settings_with_records,
    wait_until_drained,
)

pytestmark = pytest.mark.anyio


def settings(tmp_path: Path, **overrides: Any) -> RecordsSettings:
    values: dict[str, Any] = {
        "url": f"sqlite:///{tmp_path}/records.db",
        "spool_dir": str(tmp_path / "spool"),
        "timeout_seconds": 0.3,
    }
    values.update(overrides)
    return RecordsSettings(**values)


def flaky_recorder(tmp_path: Path, **options: Any) -> tuple[Recorder, FlakyStore]:
    store = FlakyStore(SQLiteStore(tmp_path / "records.db"))
    options.setdefault("retry_initial", 0.02)
    options.setdefault("retry_max", 0.1)
    return Recorder(settings(tmp_path), store=store, **options), store


async def stored_consent_ids(tmp_path: Path) -> list[str]:
    """Consent ids in delivery order (the store's insertion sequence), read independently."""
    conn = sqlite3.connect(tmp_path / "records.db")
    try:
        rows = conn.execute("SELECT consent_id FROM consent_records ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def test_recorder_for_follows_the_settings(tmp_path: Path) -> None:
    off = settings_with_records(enabled=False)
    assert recorder_for(off) is None
    on = settings_with_records(url=f"sqlite:///{tmp_path}/r.db")
    recorder = recorder_for(on)
    assert isinstance(recorder, Recorder)
    assert recorder.timeout == on.records.timeout_seconds
    assert not (tmp_path / "r.db").exists()  # nothing happens before the first use


async def test_records_go_straight_to_the_store_with_texts_once(tmp_path: Path) -> None:
    recorder, store = flaky_recorder(tmp_path)
    for i in range(3):
        await recorder.record(make_decision(consent_id=f"v{i}"))
    assert store.writes == 3
    assert store.texts_put == 1
    assert await recorder.spool.count() == 0
    history = await store.history("v1")
    assert len(history) == 1
    assert await store.texts(history[0].texts_hash) is not None
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == ["v0", "v1", "v2"]


async def test_store_down_spools_and_delivers_in_order_after_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder, store = flaky_recorder(tmp_path)
    await recorder.record(make_decision(consent_id="v0"))
    store.down = True
    with caplog.at_level(logging.WARNING, logger="consent.records"):
        for i in range(1, 6):
            await recorder.record(make_decision(consent_id=f"v{i}"))
    assert recorder.backlog
    assert await recorder.spool.count() == 5
    assert sum(r.msg == LOG_STORE_DOWN for r in caplog.records) == 1  # one warning per outage
    store.down = False
    # Made after recovery but while older records wait: it queues behind them.
    await recorder.record(make_decision(consent_id="v6"))
    await wait_until_drained(recorder)
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == [f"v{i}" for i in range(7)]


async def test_a_slow_store_does_not_hold_the_request(tmp_path: Path) -> None:
    recorder, store = flaky_recorder(tmp_path)
    await recorder.start()
    store.delay = 5.0
    started = time.perf_counter()
    await recorder.record(make_decision(consent_id="slow"))
    elapsed = time.perf_counter() - started
    assert elapsed < recorder.timeout + 0.5
    assert await recorder.spool.count() == 1
    store.delay = 0.0
    await wait_until_drained(recorder)
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == ["slow"]


async def test_spool_survives_a_restart_and_is_delivered_exactly_once(tmp_path: Path) -> None:
    # First process: the store is down for its whole life; it never stops cleanly.
    first, store = flaky_recorder(tmp_path)
    store.down = True
    for i in range(5):
        await first.record(make_decision(consent_id=f"v{i}"))
    assert await first.spool.count() == 5
    task = first._task
    assert task is not None
    task.cancel()  # the process dies: no stop(), no flush
    await asyncio.wait({task})

    # Second process over the same spool directory, with a working store.
    second = Recorder(settings(tmp_path), retry_initial=0.02)
    await second.start()
    assert second.backlog
    await wait_until_drained(second)
    await second.stop()
    assert await stored_consent_ids(tmp_path) == [f"v{i}" for i in range(5)]

    # A third start finds nothing left to deliver.
    third = Recorder(settings(tmp_path))
    await third.start()
    assert not third.backlog
    await third.stop()
    assert await stored_consent_ids(tmp_path) == [f"v{i}" for i in range(5)]


async def test_crash_after_the_store_confirmed_redelivers_harmlessly(tmp_path: Path) -> None:
    records = [make_record(i) for i in range(4)]
    store = SQLiteStore(tmp_path / "records.db")
    await store.write(records[:2])  # confirmed, but the spool entries were never deleted
    await store.close()
    recorder = Recorder(settings(tmp_path))
    await recorder.spool.append([SpoolEntry(r) for r in records])
    await recorder.start()
    await wait_until_drained(recorder)
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == [f"visitor-{i}" for i in range(4)]


async def test_stop_delivers_what_is_spooled_and_leaves_no_task(tmp_path: Path) -> None:
    before = asyncio.all_tasks()
    recorder, store = flaky_recorder(tmp_path, retry_initial=60.0, retry_max=60.0)
    store.down = True
    await recorder.record(make_decision(consent_id="late"))  # lazily started
    assert recorder._task is not None
    store.down = False
    await recorder.stop()
    assert recorder._task is None
    assert {t for t in asyncio.all_tasks() if not t.done()} <= before
    assert await stored_consent_ids(tmp_path) == ["late"]
    await recorder.stop()  # twice is fine


async def test_stop_leaves_undeliverable_records_in_the_spool(tmp_path: Path) -> None:
    recorder, store = flaky_recorder(tmp_path, stop_timeout=0.5)
    store.down = True
    await recorder.record(make_decision(consent_id="kept"))
    await recorder.stop()
    again = Recorder(settings(tmp_path))
    assert await again.spool.count() == 1
    await again.spool.close()


async def test_an_unusable_spool_still_lets_the_store_work(tmp_path: Path) -> None:
    (tmp_path / "spool").write_text("a file where the directory should be")
    recorder, _store = flaky_recorder(tmp_path)
    await recorder.record(make_decision(consent_id="direct"))
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == ["direct"]


async def test_nothing_anywhere_logs_the_record_instead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "spool").write_text("a file where the directory should be")
    recorder, store = flaky_recorder(tmp_path)
    store.down = True
    with caplog.at_level(logging.ERROR, logger="consent.records"):
        await recorder.record(make_decision(consent_id="last-resort"))  # must not raise
    lost = [r for r in caplog.records if r.msg == LOG_LOST]
    assert len(lost) == 1
    assert "last-resort" in lost[0].getMessage()
    assert "203.0.113.77" not in caplog.text
    await recorder.stop()


async def test_a_recorder_moves_to_a_new_event_loop(tmp_path: Path) -> None:
    recorder = Recorder(settings(tmp_path))
    # Started on another loop that has since gone (a test client without lifespan, a reload).
    await asyncio.to_thread(asyncio.run, recorder.record(make_decision(consent_id="old-loop")))
    await recorder.record(make_decision(consent_id="new-loop"))
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == ["old-loop", "new-loop"]


# -- data errors are not outages ------------------------------------------------------------

#: What a decision made by make_decision carries that is personal data: never in a log line.
PERSONAL = ("visitor-", "203.0.113", "Mozilla", "/page")


def assert_refused_once(caplog: pytest.LogCaptureFixture) -> None:
    """One error line, without a traceback or personal data, and no outage warning."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.msg for r in errors] == [LOG_REFUSED]
    assert errors[0].exc_info is None
    assert not any(r.msg == LOG_STORE_DOWN for r in caplog.records)
    for text in PERSONAL:
        assert text not in caplog.text


def _builder_bug(decision: Decision, **options: Any) -> tuple[ConsentRecord, str]:
    raise KeyError("user-agent")


@pytest.mark.parametrize(
    ("decision", "builder"),
    [
        (make_decision(consent_id="visitor-\x00"), None),
        (make_decision(consent_id="visitor-\ud800"), None),
        (make_decision(texts={"banner.title": "Cookies\udcff"}), None),
        (make_decision(), _builder_bug),
    ],
)
async def test_a_record_that_cannot_be_built_raises_and_nothing_is_kept(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    decision: Decision,
    builder: Callable[..., tuple[ConsentRecord, str]] | None,
) -> None:
    if builder is not None:
        monkeypatch.setattr(consent.records.recorder, "record_from_decision", builder)
    recorder, store = flaky_recorder(tmp_path)
    with caplog.at_level(logging.DEBUG, logger="consent.records"), pytest.raises(RecordDataError):
        await recorder.record(decision)
    assert_refused_once(caplog)
    assert store.writes == 0
    assert await recorder.spool.count() == 0
    await recorder.stop()


def _surrogate_user_agent(record: ConsentRecord) -> ConsentRecord:
    return dataclasses.replace(record, user_agent="Mozilla \ud800")


def _nul_path(record: ConsentRecord) -> ConsentRecord:
    return dataclasses.replace(record, path="/page\x00")


def _huge_revision(record: ConsentRecord) -> ConsentRecord:
    return dataclasses.replace(record, revision=2**63)


@pytest.mark.parametrize(
    ("spoil", "shared_check"),
    [
        (_nul_path, True),  # refused by the check every store runs
        (_surrogate_user_agent, True),
        (_surrogate_user_agent, False),  # refused by the sqlite3 driver itself
        (_huge_revision, False),
    ],
)
async def test_a_record_the_store_refuses_for_its_data_raises_and_is_not_spooled(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Callable[[ConsentRecord], ConsentRecord],
    shared_check: bool,
) -> None:
    # A record the builder let through (as a future field might): the store has the last word.
    build = consent.records.recorder.record_from_decision

    def leaky_builder(decision: Decision, **options: Any) -> tuple[ConsentRecord, str]:
        record, canonical = build(decision, **options)
        return spoil(record), canonical

    monkeypatch.setattr(consent.records.recorder, "record_from_decision", leaky_builder)
    if not shared_check:
        monkeypatch.setattr("consent.records.sqlite.check_storable", lambda record: None)
    # A slow machine must not turn the refusal into an outage: this is not about time.
    recorder = Recorder(settings(tmp_path, timeout_seconds=10))
    with caplog.at_level(logging.DEBUG, logger="consent.records"), pytest.raises(RecordDataError):
        await recorder.record(make_decision(consent_id="visitor-bad"))
    assert_refused_once(caplog)
    assert await recorder.spool.count() == 0
    assert not recorder.backlog
    # The store was not marked down: the next decision goes straight in, not to the spool.
    monkeypatch.setattr(consent.records.recorder, "record_from_decision", build)
    await recorder.record(make_decision(consent_id="visitor-good"))
    assert await recorder.spool.count() == 0
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == ["visitor-good"]


def _poison(**changes: Any) -> Callable[[], SpoolEntry]:
    return lambda: SpoolEntry(dataclasses.replace(make_record(1, consent_id="poison"), **changes))


@pytest.mark.parametrize(
    "poison",
    [
        _poison(path="/page\x00"),
        _poison(consent_id="poison\x00"),
        _poison(revision=2**40),
        _poison(recorded_at=datetime(9999, 12, 31, 12, tzinfo=timezone.utc)),
        lambda: SpoolEntry(make_record(1, consent_id="poison"), texts='{"other":"texts"}'),
    ],
)
async def test_the_drainer_moves_a_poison_record_aside_and_delivers_the_rest(
    store_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    poison: Callable[[], SpoolEntry],
) -> None:
    recorder = Recorder(settings(tmp_path, url=store_url), batch_size=10)
    good = [make_record(i, consent_id=f"good-{i}") for i in (0, 2, 3)]
    await recorder.spool.append([SpoolEntry(good[0]), poison(), SpoolEntry(good[1])])
    await recorder.spool.append([SpoolEntry(good[2])])
    with caplog.at_level(logging.ERROR, logger="consent.records"):
        assert await recorder.drain() == 3  # returns: no retrying for ever
    assert await recorder.spool.count() == 0
    assert await recorder.spool.count_rejected() == 1
    assert [r.msg for r in caplog.records] == [LOG_REJECTED]
    assert "poison" not in caplog.text
    async with open_store(store_url) as store:
        stored = [r.consent_id async for batch in store.iter_records() for r in batch]
    assert stored == ["good-0", "good-2", "good-3"]
    await recorder.store.close()  # never started, so stop() would have nothing to close
    await recorder.spool.close()


async def test_the_background_task_gets_past_a_poison_record(tmp_path: Path) -> None:
    recorder = Recorder(settings(tmp_path), retry_initial=0.02, retry_max=0.1)
    await recorder.spool.append(
        [_poison(path="/\x00")(), SpoolEntry(make_record(2, consent_id="after"))]
    )
    await recorder.start()
    await wait_until_drained(recorder)
    assert await recorder.spool.count_rejected() == 1
    await recorder.stop()
    assert await stored_consent_ids(tmp_path) == ["after"]
