"""What the benchmarks share: an HTTP scope as a server would build it."""

from __future__ import annotations

from typing import Any


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
