"""Fixtures for the records tests: a throwaway PostgreSQL server and a store URL per backend.

PostgreSQL comes from ``CONSENT_TEST_POSTGRES_URL`` when set, else a server this
session starts itself (initdb/pg_ctl from ``/usr/lib/postgresql/*/bin``, run as
the ``postgres`` user when we are root; TESTING.md section 5). Neither available:
the PostgreSQL tests skip with the reason, or fail under ``CI=true``.
Each test drops and recreates our three tables, so point the variable at a test database.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Read at import: the shared autouse fixture removes CONSENT_* variables before each test.
ENV_URL = os.environ.get("CONSENT_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The default records location (the per-user data directory) inside the test's
    temporary directory: no test writes into the real home directory."""
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


def unavailable(reason: str) -> None:
    """Skip locally; under CI a missing PostgreSQL is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


def _version_key(path: str) -> tuple[int, ...]:
    digits = Path(path).parent.name
    return tuple(int(part) for part in digits.split(".") if part.isdigit())


def find_postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    for candidate in reversed(candidates):
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A throwaway cluster in a temporary directory; `stop`/`start` simulate an outage."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="consent-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            # initdb refuses to run as root: the cluster belongs to the postgres user.
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        try:
            if self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A server this session owns (needed by the outage tests, which stop and restart it)."""
    bindir = find_postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
        raise AssertionError("unreachable")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        unavailable("running as root needs runuser and a postgres user to start PostgreSQL")
    server = PostgresServer(bindir)
    try:
        server.init()
        server.start()
    except (subprocess.SubprocessError, OSError) as exc:
        log = server.root / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        server.destroy()
        unavailable(f"could not start a throwaway PostgreSQL: {exc} {detail}")
    try:
        yield server
    finally:
        server.destroy()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    if ENV_URL:
        return ENV_URL
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url


async def _reset(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("DROP TABLE IF EXISTS consent_records, consent_texts, consent_schema")
    finally:
        await conn.close()


def reset_postgres(url: str) -> None:
    """Every test starts without our tables (run on a private loop: fixtures are sync)."""
    asyncio.run(_reset(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/records.db"
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url
