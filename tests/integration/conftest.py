"""The real-server x real-framework matrix: servers as subprocesses on loopback ports.

Each cell is one ASGI server (uvicorn with h11 or httptools, Hypercorn, Granian, Daphne)
running one framework app (Starlette, FastAPI, Litestar, Quart, Django), started the way a
user starts it: ``python -m <server> ... module:app`` in its own process, settings from the
environment. Every cell the session's tests need starts at once (imports overlap across
the cores), lives for the whole session, and is terminated by its handle at the end.

A server that is not installed, or that cannot serve even a bare ASGI app here, makes its
cells skip with the reason; under ``CI=true`` both fail instead. A server that runs the bare
app but not the framework app always fails: that is a real integration problem.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration import strict_http
from tests.integration.apps import common
from tests.integration.strict_http import Response

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
HOST = "127.0.0.1"
START_TIMEOUT = 90.0  # seconds for a whole batch of servers to answer (2 cores, imports)
IN_CI = os.environ.get("CI") == "true"


def _uvicorn(http: str) -> Callable[[str, int], list[str]]:
    def argv(target: str, port: int) -> list[str]:
        return [
            *("-m", "uvicorn", "--host", HOST, "--port", str(port), "--http", http),
            *("--log-level", "warning", "--no-access-log", "--lifespan", "auto", target),
        ]

    return argv


def _hypercorn(target: str, port: int) -> list[str]:
    return ["-m", "hypercorn", "--bind", f"{HOST}:{port}", target]


def _granian(target: str, port: int) -> list[str]:
    return [
        *("-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--log-level", "warning", "--no-ws", target),
    ]


def _daphne(target: str, port: int) -> list[str]:
    return ["-m", "daphne", "-b", HOST, "-p", str(port), "--verbosity", "1", target]


@dataclass(frozen=True)
class Server:
    name: str
    modules: tuple[str, ...]
    argv: Callable[[str, int], list[str]]


SERVERS = {
    server.name: server
    for server in (
        Server("uvicorn-h11", ("uvicorn", "h11"), _uvicorn("h11")),
        Server("uvicorn-httptools", ("uvicorn", "httptools"), _uvicorn("httptools")),
        Server("hypercorn", ("hypercorn",), _hypercorn),
        Server("granian", ("granian",), _granian),
        Server("daphne", ("daphne",), _daphne),
    )
}

#: framework -> (module needed, ASGI target)
FRAMEWORKS = {
    "starlette": ("starlette", "tests.integration.apps.starlette_app:app"),
    "fastapi": ("fastapi", "tests.integration.apps.fastapi_app:app"),
    "litestar": ("litestar", "tests.integration.apps.litestar_app:app"),
    "quart": ("quart", "tests.integration.apps.quart_app:app"),
    "django": ("django", "tests.integration.apps.django_site.asgi:application"),
    # the wiring that cannot work, for the start-up warning (one server is enough)
    "litestar-define": ("litestar", "tests.integration.apps.litestar_define_app:app"),
}
MATRIX_FRAMEWORKS = ("starlette", "fastapi", "litestar", "quart", "django")
#: The framework's own session cookie, set by every app's ``/cookies``.
SESSION_COOKIES = {
    "starlette": "session",
    "fastapi": "session",
    "litestar": "session",
    "quart": "session",
    "django": "sessionid",
}
PROBE_TARGET = "tests.integration.apps.probe:app"


@dataclass(frozen=True)
class Cell:
    server: str
    framework: str

    def __str__(self) -> str:
        return f"{self.server}-{self.framework}"


MATRIX = [Cell(server, framework) for server in SERVERS for framework in MATRIX_FRAMEWORKS]
DJANGO_CELLS = [cell for cell in MATRIX if cell.framework == "django"]
BROWSER_CELLS = [Cell("uvicorn-h11", framework) for framework in MATRIX_FRAMEWORKS]
LITESTAR_DEFINE_CELL = Cell("uvicorn-h11", "litestar-define")


def cells_param(cells: list[Cell]) -> Any:
    """``@cells_param(cells)``: run a test on these cells only (the ``cell`` fixture)."""
    return pytest.mark.parametrize("cell", cells, indirect=True, ids=str)


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a server of the matrix must run)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _server_environment(django_db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENT_", "GRANIAN_"))}
    env.update(common.ENVIRONMENT)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "tests.integration.apps.django_site.settings"
    env["CONSENT_TEST_DJANGO_DB"] = str(django_db)
    return env


def _answers(port: int) -> bool:
    """Whether something on ``port`` answers an HTTP request (any status)."""
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            # the middleware answers this itself, whatever the app does with its pages
            sock.sendall(f"GET /_consent HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
            return sock.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


@dataclass
class Running:
    cell: Cell
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    ready: bool = False
    failure: str | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def output_tail(self, lines: int = 80) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


@dataclass
class ServerPool:
    """Starts the cells the session needs (all at once), serves them, stops them all."""

    workdir: Path
    wanted: list[Cell]
    running: dict[Cell, Running] = field(default_factory=dict)
    probes: dict[str, bool] = field(default_factory=dict)
    started: bool = False
    django_failure: str | None = None

    def __post_init__(self) -> None:
        self.django_db = self.workdir / "django.sqlite3"
        self.env = _server_environment(self.django_db)
        # The servers' working directory, as in a deployment: the recipes' relative
        # ``templates`` directory is here. Not a package (granian resolves targets from it).
        self.cwd = self.workdir / "site"
        shutil.copytree(APPS / "templates", self.cwd / "templates")

    def _spawn(self, server: Server, target: str, label: str) -> tuple[int, Any, Path]:
        port = _free_port()
        log = self.workdir / f"{label}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, *server.argv(target, port)],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return port, process, log

    def _start(self, cells: list[Cell]) -> None:
        for cell in cells:
            if cell in self.running or not _installed(cell):
                continue
            port, process, log = self._spawn(
                SERVERS[cell.server], FRAMEWORKS[cell.framework][1], str(cell)
            )
            self.running[cell] = Running(cell, port, process, log)

    def _start_all(self) -> None:
        self.started = True
        wanted = list(dict.fromkeys(self.wanted))
        django = [cell for cell in wanted if cell.framework == "django" and _installed(cell)]
        prepare = None
        if django:
            prepare = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.apps.django_site.prepare"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        self._start([cell for cell in wanted if cell not in django])
        if prepare is not None:
            output, _ = prepare.communicate(timeout=120)
            if prepare.returncode != 0:
                self.django_failure = "migrate failed:\n" + output.decode(errors="replace")
            else:
                self._start(django)

    def live(self, cell: Cell) -> Running:
        missing = _missing_modules(cell)
        if missing:
            _unavailable(f"{cell}: {', '.join(missing)} not installed")
        if not self.started:
            self._start_all()
        if cell.framework == "django" and self.django_failure is not None:
            pytest.fail(f"{cell}: {self.django_failure}")
        if cell not in self.running:  # a cell not seen at collection (e.g. -k after the fact)
            self._start([cell])
        running = self.running[cell]
        if not running.ready and running.failure is None:
            self._wait(running)
        if running.failure is not None:
            if not self._server_works(cell.server):
                _unavailable(f"{cell.server} cannot serve even a bare ASGI app here")
            pytest.fail(
                f"{cell}: {running.failure}\n--- server output ---\n{running.output_tail()}"
            )
        return running

    def _wait(self, running: Running) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if running.process.poll() is not None:
                running.failure = f"server exited with {running.process.returncode}"
                return
            if _answers(running.port):
                running.ready = True
                return
            time.sleep(0.05)
        running.failure = f"no answer on port {running.port} within {START_TIMEOUT:.0f} s"

    def _server_works(self, name: str) -> bool:
        if name not in self.probes:
            port, process, log = self._spawn(SERVERS[name], PROBE_TARGET, f"probe-{name}")
            probe = Running(Cell(name, "probe"), port, process, log)
            try:
                self._wait(probe)
            finally:
                _stop([process])
            self.probes[name] = probe.ready
        return self.probes[name]

    def close(self) -> None:
        _stop([running.process for running in self.running.values()])


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate by handle; kill (with the process group: granian's workers) if stuck."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _missing_modules(cell: Cell) -> list[str]:
    needed = (*SERVERS[cell.server].modules, FRAMEWORKS[cell.framework][0])
    return [name for name in needed if importlib.util.find_spec(name) is None]


def _installed(cell: Cell) -> bool:
    return not _missing_modules(cell)


_WANTED = pytest.StashKey[list[Cell]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note which cells the selected tests use, so the pool starts them together."""
    wanted: list[Cell] = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("cell"), Cell):
            wanted.append(callspec.params["cell"])
    session.config.stash[_WANTED] = wanted


@pytest.fixture(scope="session")
def server_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("servers"), request.config.stash.get(_WANTED, []))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session", params=MATRIX, ids=str)
def cell(request: pytest.FixtureRequest) -> Cell:
    param: Cell = request.param
    return param


@dataclass
class Live:
    """One running cell, with the requests the checks make."""

    cell: Cell
    running: Running
    _accepted: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def session_cookie(self) -> str:
        return SESSION_COOKIES[self.cell.framework]

    def get(self, path: str, **kwargs: Any) -> Response:
        try:
            return strict_http.get(self.url, path, **kwargs)
        except strict_http.HeaderError as exc:
            raise strict_http.HeaderError(
                f"GET {path} on {self.cell}: {exc}\n--- server output ---\n"
                f"{self.running.output_tail(30)}"
            ) from None

    def decide(self, action: str = "accept_all", next_path: str = "/page") -> Response:
        """Post the banner's form as a same-origin browser does."""
        return strict_http.post_form(
            self.url, "/_consent", {"action": action, "next": next_path}, origin=self.url
        )

    def accepted(self) -> dict[str, str]:
        """Cookies of a visitor who clicked "Accept all" (posted once per cell)."""
        if self._accepted is None:
            response = self.decide("accept_all")
            assert response.status == 303, response.describe()
            self._accepted = response.cookie_values()
            assert "consent" in self._accepted, response.describe()
        return self._accepted

    def output(self) -> str:
        return self.running.output()


@pytest.fixture(scope="session")
def live(cell: Cell, server_pool: ServerPool) -> Live:
    return Live(cell, server_pool.live(cell))
