"""HTML responses through the middleware: header rules, encodings, nonce, idempotency."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentMiddleware
from consent.html_response import consent_etag, strip_etag_suffix, variant_etag
from tests.conftest import ClientFactory
from tests.support import BASE_URL, decide, make_settings

PAGE = (
    b"<!DOCTYPE html><html><head><title>T</title>"
    b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
    b"</head><body><h1>News</h1>"
    b'<iframe src="https://www.youtube.com/embed/x"></iframe>'
    b"</body></html>"
)
FRAGMENT = (
    b'<div id="latest"><script src="https://connect.facebook.net/en_US/fbevents.js"></script></div>'
)


async def page(request: Request) -> Response:
    headers = {}
    if "etag" in request.query_params:
        headers["etag"] = '"v1"'
        if request.headers.get("if-none-match") == '"v1"':
            # Some apps (and proxies) answer 304 without repeating the ETag.
            bare = "bare-304" in request.query_params
            return Response(status_code=304, headers={} if bare else headers)
    if "csp" in request.query_params:
        headers["content-security-policy"] = "script-src 'self' 'nonce-r4nd0m'; object-src 'none'"
    return HTMLResponse(PAGE, headers=headers)


async def fragment(request: Request) -> Response:
    return HTMLResponse(FRAGMENT)


async def streamed(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for index in range(0, len(PAGE), 7):
            yield PAGE[index : index + 7]

    return StreamingResponse(body(), media_type="text/html; charset=utf-8")


async def encoded(request: Request) -> Response:
    coding = request.query_params["coding"]
    if coding == "gzip":
        body = gzip.compress(PAGE)
    elif coding == "deflate":
        body = zlib.compress(PAGE)
    elif coding == "raw-deflate":
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(PAGE) + compressor.flush()
        coding = "deflate"
    else:
        body = PAGE
    return Response(body, media_type="text/html", headers={"content-encoding": coding})


async def plain(request: Request) -> Response:
    return PlainTextResponse(PAGE.decode())


async def no_content(request: Request) -> Response:
    return Response(status_code=204, headers={"content-type": "text/html"})


def site() -> Starlette:
    return Starlette(
        routes=[
            Route("/", page, methods=["GET", "HEAD"]),
            Route("/admin/page", page),
            Route("/fragment", fragment),
            Route("/streamed", streamed),
            Route("/encoded", encoded),
            Route("/plain", plain),
            Route("/empty", no_content),
        ]
    )


def same_page(text: str) -> str:
    """The page with the banner's and placeholders' return paths (which name the request's
    URL) blanked."""
    text = re.sub(r'/[^"\s#]*(?=#consent-embed)', "", text)
    return re.sub(r'(name="next" value=)"[^"]*"|(next=)[^"&]*', r"\1\2", text)


@pytest.fixture
def client(client_for: ClientFactory) -> TestClient:
    return client_for(site(), exclude_paths=["/admin"])


def test_trackers_blocked_and_banner_injected(client: TestClient) -> None:
    response = client.get("/")
    body = response.text
    assert 'id="consent-banner"' in body
    assert 'type="text/plain"' in body
    assert 'data-consent-src="https://www.youtube.com/embed/x"' in body
    assert body.index('id="consent-gcm"') < body.index("googletagmanager")
    assert response.headers["content-length"] == str(len(response.content))
    assert "Cookie" in response.headers["vary"]


def test_granted_categories_run_natively(client: TestClient) -> None:
    decide(client, "accept_all")
    body = client.get("/").text
    assert '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1">' in body
    assert '<iframe src="https://www.youtube.com/embed/x">' in body
    assert 'id="consent-banner"' not in body
    assert 'id="consent-settings"' in body


def test_fragments_are_rewritten_without_banner(client: TestClient) -> None:
    body = client.get("/fragment").text
    assert 'type="text/plain"' in body
    assert "consent-banner" not in body
    assert "consent-gcm" not in body


def test_excluded_paths_pass_untouched(client: TestClient) -> None:
    response = client.get("/admin/page")
    assert response.content == PAGE


def test_non_html_passes_untouched(client: TestClient) -> None:
    assert client.get("/plain").content == PAGE


def test_head_gets_the_headers_get_would_and_204_passes_untouched(client: TestClient) -> None:
    head = client.head("/?etag=1")
    get = client.get("/?etag=1")
    assert head.content == b""
    # The app's length describes its own bytes, not the rewritten page a GET would get.
    assert "content-length" not in head.headers
    assert head.headers["vary"] == get.headers["vary"] == "Cookie, Accept-Language, Sec-GPC"
    assert head.headers["etag"] == get.headers["etag"] != '"v1"'
    assert client.get("/empty").status_code == 204


def test_streamed_body_is_rewritten_and_loses_content_length(client: TestClient) -> None:
    response = client.get("/streamed")
    assert "content-length" not in response.headers or response.headers["content-length"] == str(
        len(response.content)
    )
    assert same_page(response.text) == same_page(client.get("/").text)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_bodies_are_decoded_and_reencoded(client: TestClient, coding: str) -> None:
    response = client.get("/encoded", params={"coding": coding})
    assert response.headers["content-encoding"] == ("deflate" if "deflate" in coding else coding)
    assert same_page(response.text) == same_page(client.get("/").text)  # httpx decoded it


def test_unknown_encoding_passes_through(client: TestClient) -> None:
    response = client.get("/encoded", params={"coding": "br"}, headers={"accept-encoding": "br"})
    assert response.headers["content-encoding"] == "br"


def test_csp_nonce_is_carried_onto_injected_tags(client: TestClient) -> None:
    body = client.get("/", params={"csp": "1"}).text
    head = body.split("</head>")[0]
    injected = [part for part in head.split("<") if 'id="consent-' in part]
    assert injected
    assert all('nonce="r4nd0m"' in part for part in injected)


def test_etag_is_consent_specific_and_304_still_works(client: TestClient) -> None:
    first = client.get("/", params={"etag": "1"})
    etag = first.headers["etag"]
    assert etag.startswith('"v1-c')
    again = client.get("/", params={"etag": "1"}, headers={"if-none-match": etag})
    assert again.status_code == 304
    # The 304 names our tag again: a browser storing the app's own would later revalidate
    # a page with a stale banner against it and keep it after the visitor decided.
    assert again.headers["etag"] == etag
    assert again.headers["vary"] == first.headers["vary"]
    decide(client, "accept_all")
    after = client.get("/", params={"etag": "1"}, headers={"if-none-match": etag})
    assert after.status_code == 200  # the old page had a banner; this visitor needs another
    assert after.headers["etag"] != etag


def test_a_304_without_an_etag_gets_the_one_of_the_200_it_validates(client: TestClient) -> None:
    params = {"etag": "1", "bare-304": "1"}
    etag = client.get("/", params=params).headers["etag"]
    again = client.get("/", params=params, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag


def test_etag_helpers() -> None:
    tagged = consent_etag('"abc"', "variant")
    assert strip_etag_suffix(tagged, "variant") == '"abc"'
    assert strip_etag_suffix(tagged, "other") == ""
    assert strip_etag_suffix('"plain", ' + tagged, "variant") == '"plain", "abc"'
    assert consent_etag('W/"x"', "v").startswith('W/"x-c')
    assert variant_etag(f'"plain", {tagged}', "variant") == tagged
    assert variant_etag(tagged, "other") is None


def test_wrapped_twice_gets_one_banner() -> None:
    inner = ConsentMiddleware(site(), make_settings())
    outer = ConsentMiddleware(inner, make_settings())
    with TestClient(outer, base_url=BASE_URL) as client:
        assert client.get("/").text.count('id="consent-banner"') == 1


def test_already_rewritten_page_is_not_changed_again(client: TestClient) -> None:
    once = client.get("/").content

    async def cached(request: Request) -> Response:
        return HTMLResponse(once)

    with TestClient(
        ConsentMiddleware(Starlette(routes=[Route("/", cached)]), make_settings()),
        base_url=BASE_URL,
    ) as again:
        assert again.get("/").content == once


# -- the page's encoding declaration stays within the first 1,024 bytes (issue 12) ---------

DECLARED = {
    "first in head": b'<meta charset="utf-8">',
    "behind a comment and other metas": (
        b"<!-- Required meta tags -->\n"
        b'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        b'<meta name="description" content="' + b"News from the harbour. " * 12 + b'">\n'
        b'<meta charset="utf-8">'
    ),
    "http-equiv, another encoding": (
        b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    ),
}
DECLARATION = re.compile(rb"<meta[^>]*charset", re.IGNORECASE)


def declared_page(head: bytes) -> Starlette:
    """A page relying on its own declaration: the Content-Type header names no charset."""
    body = (
        b'<!DOCTYPE html>\n<html lang="en">\n<head>\n'
        + head
        + b"\n<title>T</title>\n"
        + b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
        + b"</head><body><h1>News</h1></body></html>"
    )

    async def endpoint(request: Request) -> Response:
        headers = {"content-type": "text/html"}
        if "csp" in request.query_params:
            headers["content-security-policy"] = "script-src 'self' 'nonce-r4nd0m'"
        return Response(body, headers=headers)

    return Starlette(routes=[Route("/", endpoint)])


@pytest.mark.parametrize("head", DECLARED.values(), ids=DECLARED.keys())
def test_the_encoding_declaration_stays_in_the_first_kilobyte(
    client_for: ClientFactory, head: bytes
) -> None:
    client = client_for(declared_page(head))
    # The longest head injection: a nonce on every tag, GPC in the Consent Mode state.
    response = client.get("/", params={"csp": "1"}, headers={"Sec-GPC": "1"})
    body = response.content
    assert response.headers["content-type"] == "text/html"
    start = body.index(b'<script id="consent-gcm"')
    end = body.index(b"</script>", body.index(b'id="consent-js"')) + len(b"</script>")
    assert end - start > 1024  # in front of the declaration, it would push it out
    (declaration,) = DECLARATION.finditer(body)  # one, the page's own
    declared = body.index(b">", declaration.start()) + 1
    assert declared <= 1024
    assert declared == start  # our tags right after it, still before any script
    assert body[:declared].endswith(b"<head>\n" + head)
    assert body.index(b'id="consent-gcm"') < body.index(b"googletagmanager")


@pytest.mark.parametrize(
    "head",
    [b"", b'<meta name="viewport" content="width=device-width">', b"<title>T</title>"],
    ids=["nothing", "no declaration", "a title before"],
)
def test_without_a_declaration_up_front_none_is_added(
    client_for: ClientFactory, head: bytes
) -> None:
    client = client_for(declared_page(head))
    body = client.get("/").content
    # Our tags first in <head>; no declaration of ours (the response's encoding is the app's
    # to declare, and a page declaring one further down would then have two).
    assert body.startswith(b'<!DOCTYPE html>\n<html lang="en">\n<head><script id="consent-gcm"')
    assert len(DECLARATION.findall(body)) == 0
