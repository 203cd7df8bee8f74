"""Records made through the middleware's consent endpoint, with Starlette's TestClient."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from consent import ConsentMiddleware
from consent.records import ConsentRecord, Recorder, open_store, recorder_for
from consent.records.recorder import LOG_DEFAULT_LOCATION, LOG_LOCATION
from consent.records.sqlite import SQLiteStore
from tests.records.helpers import FlakyStore, settings_with_records, wire
from tests.support import BASE_URL, host_app
from tests.support import consent_id as consent_id_of

ORIGIN = {"origin": BASE_URL}


def middleware_for(tmp_path: Path, **records: object) -> ConsentMiddleware:
    records.setdefault("url", f"sqlite:///{tmp_path}/r.db")
    records.setdefault("spool_dir", str(tmp_path / "spool"))
    return ConsentMiddleware(host_app(), settings_with_records(**records))


def own_recorder(middleware: ConsentMiddleware) -> tuple[ASGIApp, Recorder]:
    """The app to serve and the recorder it uses, wired as the middleware wires it."""
    recorder: Recorder | None = getattr(middleware, "recorder", None)
    if recorder is not None:
        return middleware, recorder
    recorder = recorder_for(middleware.settings)
    assert recorder is not None
    return wire(middleware, recorder), recorder


def post(client: TestClient, action: str, *categories: str, next_path: str = "/") -> None:
    data: dict[str, object] = {"action": action, "next": next_path}
    if categories:
        data["categories"] = list(categories)
    response = client.post("/_consent", data=data, headers=ORIGIN)
    assert response.status_code == 303
    assert "consent=" in response.headers["set-cookie"]


def files_under(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file())


def test_every_decision_is_recorded_with_its_texts(tmp_path: Path) -> None:
    middleware = middleware_for(tmp_path)
    app, _recorder = own_recorder(middleware)
    with TestClient(
        app, base_url=BASE_URL, follow_redirects=False, client=("203.0.113.77", 4321)
    ) as client:
        post(client, "accept_all", next_path="/shop?q=secret")
        post(client, "reject_all")
        post(client, "save", "analytics")
        consent_id = consent_id_of(client)

    async def read() -> tuple[list[ConsentRecord], dict[str, str] | None]:
        async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
            history = await store.history(consent_id)
            return list(history), await store.texts(history[0].texts_hash)

    history, texts = anyio.run(read)
    assert [r.method for r in history] == ["accept_all", "withdraw", "custom"]
    first = history[0]
    assert first.path == "/shop"
    assert first.ip_prefix == "203.0.113.0/24"
    assert first.user_agent == "testclient"
    assert first.revision == 1
    assert "analytics" in first.granted
    assert "analytics" in history[1].denied
    assert texts == dict(middleware.endpoints.catalogue.texts("en"))


def test_services_granted_one_by_one_are_recorded(tmp_path: Path) -> None:
    middleware = middleware_for(tmp_path)
    app, _recorder = own_recorder(middleware)
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        for body in (
            {"action": "save", "services": ["youtube"]},  # the customise layer, JS off
            {"action": "allow_service", "service": "vimeo"},  # a placeholder's button
            {"action": "save", "categories": ["preferences"], "services": ["youtube"]},
        ):
            response = client.post("/_consent", data={**body, "next": "/"}, headers=ORIGIN)
            assert response.status_code == 303
        consent_id = consent_id_of(client)

    async def read() -> list[ConsentRecord]:
        async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
            return await store.history(consent_id)

    history = anyio.run(read)
    assert [(r.method, r.services) for r in history] == [
        ("custom", ("youtube",)),
        ("allow_service", ("vimeo", "youtube")),
        ("custom", ()),  # both allowed still, covered by their category now
    ]
    assert "preferences" in history[-1].granted


@pytest.mark.parametrize("client_ip", ["203.0.113.77", "2001:db8:1234:5678::42"])
@pytest.mark.parametrize("path", ["store", "spool"])
def test_the_raw_address_is_never_written(tmp_path: Path, client_ip: str, path: str) -> None:
    middleware = middleware_for(tmp_path)
    store = FlakyStore(SQLiteStore(tmp_path / "r.db"))
    store.down = path == "spool"
    recorder = Recorder(middleware.settings.records, store=store, retry_initial=60.0)
    app = wire(middleware, recorder)
    prefix = b"203.0.113.0/24" if "." in client_ip else b"2001:db8:1234::/48"

    def assert_clean() -> None:
        found = b"".join(p.read_bytes() for p in files_under(tmp_path))
        assert prefix in found  # the records are there, so the search means something
        assert client_ip.encode() not in found
        assert client_ip.encode("utf-16-le") not in found

    with TestClient(
        app, base_url=BASE_URL, follow_redirects=False, client=(client_ip, 4321)
    ) as client:
        for action in ("accept_all", "reject_all", "accept_all"):
            post(client, action)
        assert_clean()  # with the WAL files still there
    assert_clean()
    if path == "spool":
        assert (tmp_path / "spool").is_dir()


def test_no_records_when_switched_off(tmp_path: Path) -> None:
    middleware = middleware_for(tmp_path, enabled=False)
    assert getattr(middleware, "recorder", None) is None
    assert recorder_for(middleware.settings) is None
    with TestClient(middleware, base_url=BASE_URL, follow_redirects=False) as client:
        post(client, "accept_all")
    assert list(files_under(tmp_path)) == []


def test_locked_database_still_answers_at_once_and_catches_up_in_order(tmp_path: Path) -> None:
    middleware = middleware_for(tmp_path, timeout_seconds=0.2)
    store = SQLiteStore(tmp_path / "r.db", busy_timeout=0.1)
    recorder = Recorder(middleware.settings.records, store=store, retry_initial=0.05, retry_max=0.2)
    app = wire(middleware, recorder)
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        post(client, "accept_all", next_path="/page/0")
        blocker = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            for i in range(1, 8):
                client.cookies.clear()
                started = time.perf_counter()
                post(client, "accept_all", next_path=f"/page/{i}")
                assert time.perf_counter() - started < 1.5
            assert client.portal is not None
            assert client.portal.call(recorder.spool.count) >= 1
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        client.cookies.clear()
        post(client, "reject_all", next_path="/page/8")
        deadline = time.monotonic() + 15
        while client.portal.call(recorder.spool.count) and time.monotonic() < deadline:
            time.sleep(0.05)
    conn = sqlite3.connect(tmp_path / "r.db")
    paths = [row[0] for row in conn.execute("SELECT path FROM consent_records ORDER BY seq")]
    conn.close()
    assert paths == [f"/page/{i}" for i in range(9)]


def test_recording_works_without_lifespan(tmp_path: Path) -> None:
    """Servers may skip lifespan: the recorder starts on the first decision."""
    middleware = middleware_for(tmp_path)
    app, recorder = own_recorder(middleware)
    client = TestClient(app, base_url=BASE_URL, follow_redirects=False)
    post(client, "accept_all")  # each request runs on a fresh event loop here
    client.cookies.clear()
    post(client, "reject_all")
    client.close()
    anyio.run(recorder.stop)
    conn = sqlite3.connect(tmp_path / "r.db")
    methods = [row[0] for row in conn.execute("SELECT method FROM consent_records ORDER BY seq")]
    conn.close()
    assert methods == ["accept_all", "reject_all"]


def test_unconfigured_records_go_to_the_data_directory_never_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No `records.url`: one documented place (the per-user data directory), said at
    start-up; the working directory stays empty whichever it is."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    home = tmp_path / "data" / "asgi-consent"
    with caplog.at_level(logging.INFO, logger="consent.records"):
        middleware = ConsentMiddleware(host_app(), settings_with_records())
    (said,) = [r for r in caplog.records if r.msg == LOG_DEFAULT_LOCATION]
    assert said.levelno == logging.WARNING
    assert f"sqlite:///{home / 'consent-records.db'}" in said.getMessage()
    assert str(home / "spool") in said.getMessage()
    with TestClient(middleware, base_url=BASE_URL, follow_redirects=False) as client:
        post(client, "accept_all")
    with sqlite3.connect(home / "consent-records.db") as conn:
        assert conn.execute("SELECT count(*) FROM consent_records").fetchone() == (1,)
    assert home.stat().st_mode & 0o777 == 0o700
    assert list(cwd.iterdir()) == []


def test_a_configured_location_is_logged_once_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql://consent:hunter2@db.invalid:5432/records"
    with caplog.at_level(logging.INFO, logger="consent.records"):
        for _ in range(2):
            ConsentMiddleware(host_app(), settings_with_records(url=url))
    (said,) = [r for r in caplog.records if r.msg == LOG_LOCATION]
    assert said.levelno == logging.INFO
    assert "postgresql://consent:***@db.invalid:5432/records" in said.getMessage()
    assert "hunter2" not in caplog.text


def test_a_records_url_in_a_missing_directory_fails_at_start_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/records.db"
    with pytest.raises(ValidationError) as info:
        ConsentMiddleware(host_app(), settings_with_records(url=url))
    (error,) = info.value.errors()
    assert error["loc"] == ("records", "url")
    assert f"the directory '{tmp_path}/missing' does not exist" in error["msg"]
    assert "records.url" in str(info.value)
    assert not (tmp_path / "missing").exists()
    # Switched off, the URL is never opened: nothing to complain about.
    assert ConsentMiddleware(host_app(), settings_with_records(url=url, enabled=False))
