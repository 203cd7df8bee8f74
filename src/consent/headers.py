"""Case-insensitive edits of ASGI header lists.

ASGI servers lowercase request header names, but applications send response
headers in any case they like: Django sends ``Content-Length``, Starlette
``content-length``. Starlette's `MutableHeaders` assumes lowercase names, so
setting ``content-length`` on a Django response leaves two of them, which h11
refuses and Chromium rejects (``ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH``).
Every function here compares names case-insensitively; `lowercased` normalises a
list once, after which plain equality is enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

__all__ = ["HeaderList", "first", "lowercased", "merge_vary", "remove", "replace"]

HeaderList = list[tuple[bytes, bytes]]


def lowercased(headers: Iterable[tuple[bytes, bytes]]) -> HeaderList:
    """A copy of ``headers`` with every name in lowercase (values untouched)."""
    return [(bytes(name).lower(), bytes(value)) for name, value in headers]


def first(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The value of the first header called ``name`` (given in lowercase), if any."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def remove(headers: HeaderList, name: bytes) -> None:
    """Delete every header called ``name`` (given in lowercase), in place."""
    headers[:] = [(key, value) for key, value in headers if key.lower() != name]


def replace(headers: HeaderList, name: bytes, value: bytes) -> None:
    """Leave exactly one header called ``name`` (given in lowercase), holding ``value``."""
    remove(headers, name)
    headers.append((name, value))


def merge_vary(headers: HeaderList, tokens: Sequence[str]) -> None:
    """Add ``tokens`` to ``Vary``: one header, each token once (compared case-insensitively).

    Several ``Vary`` headers are folded into one; ``*`` already varies on everything.
    """
    existing = [value for key, value in headers if key.lower() == b"vary"]
    if not existing:  # the usual page: one header to add
        headers.append((b"vary", _joined(tuple(tokens))))
        return
    merged: list[str] = []
    seen: set[str] = set()
    for value in existing:
        for token in value.decode("latin-1").split(","):
            _add_token(token.strip(), merged, seen)
    if "*" in seen:
        return
    for token in tokens:
        _add_token(token, merged, seen)
    replace(headers, b"vary", ", ".join(merged).encode("latin-1"))


@cache
def _joined(tokens: tuple[str, ...]) -> bytes:
    """``tokens`` as one ``Vary`` value, each once (a middleware adds the same ones)."""
    merged: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        _add_token(token, merged, seen)
    return ", ".join(merged).encode("latin-1")


def _add_token(token: str, merged: list[str], seen: set[str]) -> None:
    folded = token.lower()
    if token and folded not in seen:
        seen.add(folded)
        merged.append(token)
