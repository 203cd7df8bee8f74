"""What the responder does with each kind of response: the rules of SPEC section 5.

Raw ASGI (no test client in between), so every message and header the middleware
sends is seen exactly as a server would get it.
"""

from __future__ import annotations

import gzip
import re
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from starlette.types import Message, Receive, Scope, Send

from consent import ConsentMiddleware
from consent.responder import SLICE_SIZE, WHOLE_BODY_LIMIT
from tests.support import header_values, http_scope, make_settings, response_body, run_asgi

pytestmark = pytest.mark.anyio

TRACKER = b'<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'
PAGE = b"<!DOCTYPE html><html><head><title>T</title></head><body><h1>Hi</h1>" + TRACKER


def page_app(
    body: bytes | list[bytes],
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    status: int = 200,
    seen: list[Scope] | None = None,
) -> Any:
    """An app answering ``body`` (a list: one message per item) as text/html."""
    chunks = body if isinstance(body, list) else [body]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if seen is not None:
            seen.append(scope)
        start_headers = [(b"content-type", b"text/html; charset=utf-8"), *(headers or [])]
        await send({"type": "http.response.start", "status": status, "headers": start_headers})
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


def middleware(app: Any, **overrides: Any) -> ConsentMiddleware:
    return ConsentMiddleware(app, make_settings(**overrides))


# -- bodies we cannot or must not rewrite ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (206, [(b"content-range", b"bytes 0-99/1000")]),
        (200, [(b"Content-Range", b"bytes 0-99/1000")]),
        (200, [(b"Content-Disposition", b"attachment; filename=page.html")]),
        (200, [(b"content-disposition", b"ATTACHMENT")]),
    ],
)
async def test_slices_and_downloads_pass_untouched(
    status: int, headers: list[tuple[bytes, bytes]]
) -> None:
    sent = await run_asgi(middleware(page_app(PAGE, headers, status=status)), http_scope())
    assert response_body(sent) == PAGE
    assert sent[0]["status"] == status
    assert not header_values(sent[0], b"vary")


async def test_inline_disposition_and_no_transform_are_rewritten() -> None:
    headers = [
        (b"content-disposition", b"inline"),
        (b"cache-control", b"no-transform, max-age=60"),
    ]
    sent = await run_asgi(middleware(page_app(PAGE, headers)), http_scope())
    body = response_body(sent)
    assert b'type="text/plain"' in body
    assert b'id="consent-banner"' in body
    # the app's own directive goes on to caches and proxies unchanged
    assert header_values(sent[0], b"cache-control") == [b"no-transform, max-age=60"]


async def test_head_gets_the_headers_of_get_without_a_stale_length() -> None:
    headers = [(b"content-length", str(len(PAGE)).encode()), (b"ETag", b'"v1"')]
    app = middleware(page_app(b"", headers))
    head = await run_asgi(app, http_scope(method="HEAD"))
    get = await run_asgi(middleware(page_app(PAGE, headers)), http_scope())
    assert not header_values(head[0], b"content-length")
    assert header_values(head[0], b"vary") == header_values(get[0], b"vary")
    assert header_values(head[0], b"etag") == header_values(get[0], b"etag")
    assert header_values(head[0], b"etag") != [b'"v1"']


# -- encodings -----------------------------------------------------------------------------


def navigation(accept_encoding: bytes, dest: bytes | None = b"document") -> list[Any]:
    headers = [(b"host", b"testserver"), (b"accept-encoding", accept_encoding)]
    if dest is not None:
        headers.append((b"sec-fetch-dest", dest))
    return headers


@pytest.mark.parametrize(
    ("sent", "dest", "expected"),
    [
        (b"gzip, deflate, br, zstd", b"document", b"gzip, deflate"),
        (b"br;q=1.0, gzip;q=0.8, *;q=0.1", b"iframe", b"gzip;q=0.8"),
        (b"br", b"document", b"identity"),
        (b"*", None, b"identity"),
        (b"gzip, br", b"empty", b"gzip"),  # fetch(): htmx and friends insert the HTML
        (b"gzip, deflate", b"document", b"gzip, deflate"),  # nothing to narrow
        (b"gzip, br", b"image", b"gzip, br"),  # never rendered as a page
        (b"gzip, br", b"script", b"gzip, br"),
    ],
)
async def test_the_app_is_asked_only_for_codings_we_decode(
    sent: bytes, dest: bytes | None, expected: bytes
) -> None:
    seen: list[Scope] = []
    await run_asgi(
        middleware(page_app(PAGE, seen=seen)), http_scope(headers=navigation(sent, dest))
    )
    values = [v for k, v in seen[0]["headers"] if k == b"accept-encoding"]
    assert values == [expected]


async def test_excluded_paths_keep_their_accept_encoding() -> None:
    seen: list[Scope] = []
    app = middleware(page_app(PAGE, seen=seen), exclude_paths=["/admin"])
    await run_asgi(app, http_scope("/admin/x", headers=navigation(b"gzip, br")))
    assert [v for k, v in seen[0]["headers"] if k == b"accept-encoding"] == [b"gzip, br"]


async def test_unseen_body_extensions_are_not_offered_to_pages() -> None:
    seen: list[Scope] = []
    extensions = {"http.response.pathsend": {}, "http.response.zerocopy": {}, "other": {}}
    scope = http_scope(extensions=extensions)
    await run_asgi(middleware(page_app(PAGE, seen=seen)), scope)
    assert set(seen[0]["extensions"]) == {"other"}
    assert set(scope["extensions"]) == set(extensions)  # the server's own scope is untouched


async def test_every_gzip_member_is_rewritten() -> None:
    body = gzip.compress(b"<!DOCTYPE html><html><head></head><body><p>a</p>") + gzip.compress(
        TRACKER + b"</body></html>"
    )
    sent = await run_asgi(
        middleware(page_app(body, [(b"content-encoding", b"gzip")])), http_scope()
    )
    page = gzip.decompress(response_body(sent))
    assert re.search(rb'<script type="text/plain" [^>]*fbevents\.js', page)
    assert page.endswith(b"</body></html>")


async def test_a_corrupt_body_is_cut_where_it_breaks_never_passed_unrewritten() -> None:
    good = gzip.compress(PAGE + b"<p>" + b"filler " * 4000 + b"</p>" + TRACKER * 3)
    corrupt = good[: len(good) // 2] + b"\xff" * 64 + good[len(good) // 2 :]
    sent = await run_asgi(
        middleware(page_app(corrupt, [(b"content-encoding", b"gzip")])), http_scope()
    )
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    page = decoder.decompress(response_body(sent)) + decoder.flush()
    assert decoder.eof  # a complete, valid gzip stream
    assert b"<script" not in page.replace(b'<script type="text/plain"', b"").replace(
        b"<script id=", b""
    )


# -- hostile bodies ------------------------------------------------------------------------


def bomb(decoded_mb: int) -> bytes:
    """A gzip body of ``decoded_mb`` MB of markup in a few hundred KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"<p>x</p>" * (1 << 17)  # 1 MB
    parts = [compressor.compress(b"<!DOCTYPE html><html><head></head><body>")]
    parts += [compressor.compress(block) for _ in range(decoded_mb)]
    parts.append(compressor.compress(TRACKER) + compressor.flush())
    return b"".join(parts)


async def test_a_gzip_bomb_streams_through_in_bounded_memory_and_yields() -> None:
    body = bomb(96)
    app = middleware(page_app(body, [(b"content-encoding", b"gzip")]))
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    state = {"decoded": 0, "tail": b"", "messages": 0, "ticks": 0, "done": False}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            state["messages"] += 1
            plain = decoder.decompress(message["body"])
            state["decoded"] += len(plain)
            state["tail"] = (state["tail"] + plain)[-4096:]

    async def ticker() -> None:
        while not state["done"]:
            state["ticks"] += 1
            await checkpoint()

    tracemalloc.start()
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            await app(http_scope(), receive, send)
            state["done"] = True
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state["decoded"] >= 96 << 20
    assert b'type="text/plain"' in state["tail"]  # the tracker at the very end is blocked
    assert peak < 32 << 20, f"peak {peak >> 20} MB"
    slices = (96 << 20) // SLICE_SIZE
    assert state["ticks"] >= slices // 2  # other tasks ran between the slices
    assert state["messages"] > 1  # streamed, not held whole


async def test_a_large_single_body_streams_instead_of_waiting_for_its_length() -> None:
    big = PAGE + b"<p>" + b"x" * (2 * WHOLE_BODY_LIMIT) + b"</p>" * 5 + TRACKER
    sent = await run_asgi(middleware(page_app(big)), http_scope())
    assert not header_values(sent[0], b"content-length")
    body = response_body(sent)
    assert body.count(b'type="text/plain"') == 2
    assert len([m for m in sent if m["type"] == "http.response.body"]) > 1


async def test_a_small_single_body_gets_one_exact_length() -> None:
    sent = await run_asgi(
        middleware(page_app(PAGE, [(b"Content-Length", str(len(PAGE)).encode())])), http_scope()
    )
    assert header_values(sent[0], b"content-length") == [str(len(response_body(sent))).encode()]


async def test_messages_after_the_end_are_dropped() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html"), (b"content-encoding", b"gzip")],
            }
        )
        await send({"type": "http.response.body", "body": b"\x1f\x8bnot gzip", "more_body": True})
        await send({"type": "http.response.body", "body": TRACKER, "more_body": False})

    sent = await run_asgi(middleware(app), http_scope())
    assert b"fbevents" not in b"".join(_all_plain(sent))


def _all_plain(sent: list[dict[str, Any]]) -> Iterator[bytes]:
    body = response_body(sent)
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    yield decoder.decompress(body)


# -- websockets ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["websocket.accept", "websocket.http.response.start"])
async def test_websocket_handshake_cookies_are_sorted(kind: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        message: dict[str, Any] = {
            "type": kind,
            "headers": [(b"Set-Cookie", b"_fbp=fb.1; Path=/"), (b"set-cookie", b"room=1")],
        }
        if kind == "websocket.http.response.start":
            message["status"] = 403
        await send(message)

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {**http_scope("/ws"), "type": "websocket", "scheme": "ws"}
    await middleware(app)(scope, receive, send)
    assert header_values(sent[0], b"set-cookie") == [b"room=1"]
