"""A real PostgreSQL server stopped and restarted mid-run: nothing blocks, nothing is lost.

These tests need a server they control (`postgres_server`), not just a URL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from consent import ConsentMiddleware
from consent.records import Recorder
from consent.records.postgres import PostgresStore
from tests.records.conftest import PostgresServer, reset_postgres
from tests.records.helpers import make_decision, settings_with_records, wait_until_drained, wire
from tests.support import BASE_URL, host_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    reset_postgres(postgres_server.url)
    yield postgres_server
    if not postgres_server.running():  # a failed test must not take the server down for others
        postgres_server.start()


async def delivered_paths(url: str) -> list[str]:
    """Page paths in delivery order, read over a fresh connection."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT path FROM consent_records ORDER BY seq")
    finally:
        await conn.close()
    return [row["path"] for row in rows]


def test_server_stopped_and_restarted_mid_burst(server: PostgresServer, tmp_path: Path) -> None:
    settings = settings_with_records(
        url=server.url, spool_dir=str(tmp_path / "spool"), timeout_seconds=0.5
    )
    middleware = ConsentMiddleware(host_app(), settings)
    store = PostgresStore(server.url, connect_timeout=1.0)
    recorder = Recorder(
        settings.records, store=store, retry_initial=0.05, retry_max=0.5, poll_interval=0.5
    )
    app = wire(middleware, recorder)
    total, stop_at, start_at = 30, 10, 20
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        portal = client.portal
        assert portal is not None
        for i in range(total):
            if i == stop_at:
                server.stop()  # pg_ctl stop -m fast, mid-burst
            if i == start_at:
                assert portal.call(recorder.spool.count) >= start_at - stop_at
                server.start()
            client.cookies.clear()  # a new visitor each time
            started = time.perf_counter()
            response = client.post(
                "/_consent",
                data={"action": "accept_all", "next": f"/page/{i}"},
                headers={"origin": BASE_URL},
            )
            elapsed = time.perf_counter() - started
            # The choice takes effect at once, store or no store.
            assert response.status_code == 303
            assert response.headers["location"] == f"/page/{i}"
            assert response.headers["set-cookie"].startswith("consent=")
            assert elapsed < recorder.timeout + 1.0, f"request {i} took {elapsed:.2f} s"
        portal.call(wait_until_drained, recorder)
    # In order and exactly once, after the outage.
    assert asyncio.run(delivered_paths(server.url)) == [f"/page/{i}" for i in range(total)]


def test_spooled_while_down_delivered_by_the_next_process(
    server: PostgresServer, tmp_path: Path
) -> None:
    settings = settings_with_records(url=server.url, spool_dir=str(tmp_path / "spool"))
    server.stop()

    async def first_process() -> None:
        recorder = Recorder(settings.records, store=PostgresStore(server.url, connect_timeout=1.0))
        for i in range(5):
            await recorder.record(make_decision(consent_id=f"v{i}", path=f"/page/{i}"))
        assert await recorder.spool.count() == 5
        await recorder.stop()  # cannot deliver: the records stay spooled

    asyncio.run(first_process())
    server.start()

    async def second_process() -> None:
        recorder = Recorder(settings.records, retry_initial=0.05)
        await recorder.start()
        await wait_until_drained(recorder)
        await recorder.stop()

    asyncio.run(second_process())
    asyncio.run(second_process())  # a third start delivers nothing twice
    assert asyncio.run(delivered_paths(server.url)) == [f"/page/{i}" for i in range(5)]
