"""Reading a request body within a limit, and refusing a request with a status and a reason.

Shared by the consent endpoints and the CSP report endpoint: both read small bodies from
anyone on the internet, so a body is refused (413) as soon as it is known to be too large,
from its ``Content-Length`` or while it streams, and never held whole past the limit.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import Receive

__all__ = ["RefusedError", "read_body"]

_DIGITS = re.compile(r"[0-9]{1,18}")


class RefusedError(Exception):
    """A request refused: ``status`` and a one-line reason safe to show the sender."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(receive: Receive, headers: Headers, limit: int, *, what: str = "body") -> bytes:
    """The whole body, at most ``limit`` bytes; `RefusedError` otherwise (``what`` names it)."""
    declared = headers.get("content-length")
    if declared is not None:
        if not _DIGITS.fullmatch(declared):
            raise RefusedError(400, "invalid Content-Length")
        if int(declared) > limit:
            raise RefusedError(413, f"{what} larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RefusedError(400, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RefusedError(413, f"{what} larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
