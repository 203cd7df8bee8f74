"""Helpers shared by the test modules: settings, a small host app, a way to decide."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentSettings

SECRET = "test-secret-key-0123456789abcdef"
BASE_URL = "http://testserver"


def make_settings(**overrides: Any) -> ConsentSettings:
    """Settings for tests: a fixed key, no records unless a test asks for them, and strict
    about category names (a typo in a test's markup or `allows()` fails the test)."""
    overrides.setdefault("secret_key", SECRET)
    overrides.setdefault("strict_categories", True)
    overrides.setdefault("records", {"enabled": False})
    return ConsentSettings(**overrides)


def chromium_path() -> str | None:
    """Debian's Chromium (or ``CHROMIUM_PATH``), if installed."""
    candidates = [os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), "/usr/bin/chromium"]
    return next((c for c in candidates if c and Path(c).exists()), None)


@contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "off") -> Iterator[str]:
    """Serve ``app`` with uvicorn over TCP on a free loopback port; yields the base URL.

    ``lifespan="on"`` runs start-up and shutdown (the records writer starts with them)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


async def _cookie_setter(request: Request) -> Response:
    response = PlainTextResponse("ok")
    for name in request.query_params.getlist("set"):
        response.set_cookie(name, "v", httponly=True)
    return response


async def _state(request: Request) -> Response:
    consent = request.state.consent
    return JSONResponse(
        {
            "granted": sorted(consent.granted),
            "decided": consent.decided,
            "gpc": consent.gpc,
            "cookies": dict(request.cookies),
        }
    )


def host_app() -> Starlette:
    """A host app: ``/set?set=_ga&set=_fbp`` sets cookies, ``/state`` shows the consent."""
    return Starlette(routes=[Route("/set", _cookie_setter), Route("/state", _state)])


def consent_id(client: TestClient, cookie_name: str = "consent") -> str:
    """The visitor's consent id, read from their consent cookie (``1|<id>|...``, signed)."""
    value = client.cookies.get(cookie_name)
    assert value, "no consent cookie"
    return str(value).split("|")[1]


def decide(client: TestClient, action: str, *categories: str) -> Any:
    """Post a choice as a same-origin JSON client and return the response."""
    body: dict[str, Any] = {"action": action}
    if categories:
        body["categories"] = list(categories)
    return client.post("/_consent", json=body, headers={"origin": BASE_URL})


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    query_string: bytes = b"",
    scheme: str = "http",
    **extra: Any,
) -> dict[str, Any]:
    """A hand-built HTTP scope, as a server would pass it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query_string,
        "headers": headers if headers is not None else [(b"host", b"testserver")],
        "client": ("203.0.113.5", 50000),
        "server": ("testserver", 80),
        **extra,
    }


async def run_asgi(app: Any, scope: dict[str, Any], body: bytes = b"") -> list[dict[str, Any]]:
    """Call ``app`` once with ``scope`` and collect every message it sends."""
    sent: list[dict[str, Any]] = []
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def response_body(messages: list[dict[str, Any]]) -> bytes:
    """The body bytes of collected ``http.response.body`` messages."""
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def header_values(message: dict[str, Any], name: bytes) -> list[bytes]:
    """Every value of header ``name`` (compared case-insensitively) in a start message."""
    return [value for key, value in message["headers"] if key.lower() == name]
