"""Shared fixtures: an isolated environment and a client factory for tiny apps."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from consent import ConsentMiddleware
from tests.support import BASE_URL, chromium_path, host_app, make_settings

# No test may depend on how fast the machine is: hypothesis's per-example deadline is off.
settings.register_profile("consent", deadline=None)
settings.load_profile("consent")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's CONSENT_* variables or writes into the work tree or
    the user's data directory (the default home of proof-of-consent records)."""
    for name in list(os.environ):
        if name.startswith("CONSENT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_for() -> Iterator[ClientFactory]:
    """Build a TestClient for ``app`` (default: `host_app`) under `ConsentMiddleware`."""
    clients: list[TestClient] = []

    def factory(app: ASGIApp | None = None, **overrides: Any) -> TestClient:
        wrapped = ConsentMiddleware(app or host_app(), make_settings(**overrides))
        client = TestClient(wrapped, base_url=BASE_URL, follow_redirects=False)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium for real-browser tests: skipped locally without it, a failure under
    ``CI=true`` (CI installs it)."""
    path = chromium_path()
    if path is None:
        message = "Chromium not found (install Debian's chromium or set CHROMIUM_PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
