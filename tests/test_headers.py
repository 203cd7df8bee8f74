"""Header handling is case-insensitive everywhere: request and response, read and written."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from consent import Consent, ConsentMiddleware, get_consent
from consent.headers import first, lowercased, merge_vary, remove, replace
from tests.support import header_values, http_scope, make_settings, response_body, run_asgi

pytestmark = pytest.mark.anyio

PAGE = (
    b"<!DOCTYPE html><html><head><title>T</title></head><body>"
    b'<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>'
)


@pytest.mark.parametrize(
    ("existing", "added", "expected"),
    [
        ([], ["Cookie"], b"Cookie"),
        ([(b"Vary", b"Cookie")], ["Cookie"], b"Cookie"),
        ([(b"vary", b"cookie")], ["Cookie", "Accept-Language"], b"cookie, Accept-Language"),
        ([(b"VARY", b"Accept-Encoding")], ["Cookie"], b"Accept-Encoding, Cookie"),
        (
            [(b"Vary", b"Accept-Encoding, Cookie"), (b"vary", b"Origin")],
            ["Cookie", "accept-language"],
            b"Accept-Encoding, Cookie, Origin, accept-language",
        ),
        ([(b"Vary", b"*")], ["Cookie"], b"*"),
        ([(b"Vary", b" , Cookie ,, ")], ["Cookie"], b"Cookie"),
    ],
)
async def test_vary_tokens_are_merged_once_whatever_their_case(
    existing: list[tuple[bytes, bytes]], added: list[str], expected: bytes
) -> None:
    headers = lowercased(existing)
    merge_vary(headers, added)
    assert [value for name, value in headers if name == b"vary"] == [expected]


async def test_list_helpers_ignore_case() -> None:
    headers = [(b"Content-Length", b"1"), (b"content-length", b"2"), (b"X-A", b"a")]
    assert first(headers, b"x-a") == b"a"
    replace(headers, b"content-length", b"3")
    assert headers == [(b"X-A", b"a"), (b"content-length", b"3")]
    remove(headers, b"x-a")
    assert headers == [(b"content-length", b"3")]


def django_style_app(body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> Any:
    """Answers like Django does: capitalised names, its own Vary and Content-Length."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"Content-Type", b"text/html; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode()),
            (b"Vary", b"Cookie"),
            (b"ETag", b'"abc"'),
            (b"X-Frame-Options", b"DENY"),
            (b"Set-Cookie", b"_ga=GA1.1.1; Path=/"),
            (b"Set-Cookie", b"sessionid=s; HttpOnly; Path=/"),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def test_capitalised_response_headers_get_one_content_length_and_one_vary() -> None:
    app = ConsentMiddleware(django_style_app(PAGE), make_settings())
    sent = await run_asgi(app, http_scope("/page"))
    start = sent[0]
    body = response_body(sent)
    lengths = header_values(start, b"content-length")
    assert lengths == [str(len(body)).encode()]
    assert header_values(start, b"vary") == [b"Cookie, Accept-Language, Sec-GPC"]
    etags = header_values(start, b"etag")
    assert len(etags) == 1
    assert etags[0].startswith(b'"abc-c')
    assert header_values(start, b"x-frame-options") == [b"DENY"]
    # Set-Cookie sorted whatever its case: analytics dropped for an undecided visitor
    assert [v.split(b"=")[0] for v in header_values(start, b"set-cookie")] == [b"sessionid"]
    assert b'type="text/plain"' in body
    assert b'id="consent-banner"' in body


async def test_capitalised_encoding_and_type_are_recognised() -> None:
    compressed = gzip.compress(PAGE)
    app = ConsentMiddleware(
        django_style_app(compressed, [(b"Content-Encoding", b"GZIP")]), make_settings()
    )
    sent = await run_asgi(app, http_scope("/page"))
    start = sent[0]
    assert header_values(start, b"content-encoding") == [b"GZIP"]
    page = gzip.decompress(response_body(sent))
    assert b'type="text/plain"' in page
    assert header_values(start, b"content-length") == [str(len(response_body(sent))).encode()]


async def test_request_headers_are_read_whatever_their_case() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["consent"] = get_consent(scope)
        seen["headers"] = scope["headers"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    settings = make_settings(filter_request_cookies=True)
    middleware = ConsentMiddleware(app, settings)
    value = middleware.runtime.codec.dumps(_accepted(middleware))
    headers = [
        (b"Host", b"testserver"),
        (b"Cookie", f"consent={value}; _fbp=x".encode()),
        (b"Sec-GPC", b"1"),
    ]
    await run_asgi(middleware, http_scope("/", headers=headers))
    consent = seen["consent"]
    assert consent.decided
    assert consent.allows("analytics")
    assert consent.gpc
    # the marketing cookie is hidden from the app, found under its capitalised name
    cookie_headers = [v for k, v in seen["headers"] if k.lower() == b"cookie"]
    assert len(cookie_headers) == 1
    assert b"_fbp" not in cookie_headers[0]


def _accepted(middleware: ConsentMiddleware) -> Consent:
    return Consent(
        id="abc",
        revision=1,
        granted=frozenset({"necessary", "analytics", "preferences"}),
        denied=frozenset({"marketing"}),
        decided=True,
    )
