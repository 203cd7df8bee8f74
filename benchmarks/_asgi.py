"""What the benchmarks share: an HTTP scope as a server would build it, one GET through an app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def http_scope(
    method: str = "GET",
    path: str = "/",
    headers: list[tuple[bytes, bytes]] | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> dict[str, Any]:
    """An ASGI ``http`` scope for ``testserver`` (every call a fresh dict)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": client,
        "server": ("testserver", 80),
    }


async def fetch(app: ASGIApp, path: str = "/", keep: list[dict[str, Any]] | None = None) -> int:
    """One GET through ``app``; answers the number of body bytes (messages kept in ``keep``)."""
    received = 0
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # As a server does: the request once, then nothing until the client goes away.
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal received
        received += len(message.get("body", b""))
        if keep is not None:
            keep.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await app(http_scope(path=path, headers=[(b"accept-language", b"en")]), receive, send)
    return received
