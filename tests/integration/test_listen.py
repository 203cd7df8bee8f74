"""Listen-only mode over TCP: the app's answers arrive byte for byte as without the
middleware (trackers, tracker cookies, gzip and streamed pages included), the banner is the
only change when it is switched on, and the report (JSON endpoint and ``consent report``)
lists what enforcing would have blocked."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.support import make_settings, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "listen-report-token-0123456789"
PAGE = (
    b"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Blog</title>"
    b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ"></script>'
    b"<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
    b"gtag('js',new Date());gtag('config','G-XYZ');</script>"
    b"<script>!function(f,b,e,v,n,t,s){n=f.fbq=function(){};t=b.createElement(e);t.async=!0;"
    b"t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,document,"
    b"'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init','123');</script>"
    b'<script type="application/ld+json">{"@type":"BlogPosting"}</script>'
    b"</head><body><h1>Post</h1>"
    b'<iframe width="560" height="315" src="https://www.youtube.com/embed/abc"></iframe>'
    b'<img src="https://www.facebook.com/tr?id=123&amp;ev=PageView" width=1 height=1>'
    b'<img src="/logo.png" alt="">'
    b'<script type="text/plain" data-consent="analytics" '
    b'src="https://static.hotjar.com/c/hotjar-1.js"></script>'
    b"</body></html>"
)
COOKIES = {"_ga": "GA1.1.111.222", "_fbp": "fb.1.333", "session": "s3cr3t"}


async def page(request: Request) -> Response:
    response = HTMLResponse(PAGE, headers={"etag": '"v1"', "cache-control": "max-age=60"})
    response.set_cookie("_ga", "GA1.1.999.888", max_age=3600)
    response.set_cookie("_fbp", "fb.1.777", max_age=3600)
    response.set_cookie("session", "abc", httponly=True)
    return response


async def gzipped(request: Request) -> Response:
    body = gzip.compress(PAGE, mtime=0)
    return Response(body, media_type="text/html", headers={"content-encoding": "gzip"})


async def streamed(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(PAGE), 97):  # tags split across chunks
            yield PAGE[start : start + 97]

    return StreamingResponse(chunks(), media_type="text/html")


def host_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/blog/{slug}", page),
            Route("/news/{slug}", gzipped),
            Route("/stream", streamed),
        ]
    )


@contextmanager
def servers(**settings: Any) -> Iterator[tuple[str, str]]:
    """The bare app and the app behind a listening middleware, each on its own port."""
    listening = ConsentMiddleware(
        host_app(), make_settings(mode="listen", report_token=TOKEN, **settings)
    )
    with serve_in_thread(host_app()) as bare, serve_in_thread(listening) as wrapped:
        yield bare, wrapped


def raw_get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """``(head, body)`` exactly as received (``Connection: close``), the ``date`` line out
    (it differs between any two answers)."""
    parts = urlsplit(base)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    cookie = "; ".join(f"{k}={v}" for k, v in COOKIES.items())
    lines.append(f"Cookie: {cookie}")
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(kept), body


def get_report(base: str, token: str | None = TOKEN) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(base + "/_consent/report")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def listen_data(document: dict[str, Any]) -> dict[str, Any]:
    (section,) = [s for s in document["sections"] if s["name"] == "listen"]
    data: dict[str, Any] = section["data"]
    return data


PATHS = ["/blog/hello?utm_source=x", "/news/today", "/stream"]


def test_listen_only_changes_no_byte_and_reports_what_it_saw() -> None:
    with servers() as (bare, wrapped):
        for path in PATHS:
            for extra in ({}, {"Accept-Encoding": "gzip"}):
                assert raw_get(wrapped, path, extra) == raw_get(bare, path, extra), path
        # The consent endpoints still answer.
        status, _, body = get_report(wrapped, token=None)
        assert status == 401
        with urllib.request.urlopen(wrapped + "/_consent", timeout=20) as response:
            assert json.loads(response.read())["decided"] is False
        status, headers, body = get_report(wrapped)
    assert status == 200
    assert headers["cache-control"] == "no-store"
    document = json.loads(body)
    assert document["mode"] == "listen"
    data = listen_data(document)
    trackers = {
        (t["path"], t["kind"], t["host"], t["category"]): t["count"] for t in data["trackers"]
    }
    for group in ("/blog/*", "/news/*", "/stream"):
        assert trackers[(group, "script", "www.googletagmanager.com", "analytics")] == 2
        assert trackers[(group, "iframe", "www.youtube.com", "preferences")] == 2
        assert trackers[(group, "img", "www.facebook.com", "marketing")] == 2
        assert trackers[(group, "script", "(inline)", "marketing")] == 2  # the Meta snippet
    # The pre-blocked Hotjar script never ran while enforcing either: not counted.
    assert not any(t["host"] == "static.hotjar.com" for t in data["trackers"])
    cookies = {(c["path"], c["source"], c["cookie"]): c for c in data["cookies"]}
    assert cookies[("/blog/*", "response", "_ga")]["category"] == "analytics"
    assert cookies[("/blog/*", "response", "_fbp")]["category"] == "marketing"
    assert cookies[("/stream", "request", "_ga")]["count"] == 2
    assert not any(c["cookie"] == "session" for c in data["cookies"])
    # Aggregated, without identifiers: no query, no cookie value anywhere in the report.
    for secret in (b"utm_source", b"GA1.1", b"fb.1", b"s3cr3t", b"hello"):
        assert secret not in body
    assert {p["path"]: p["pages"] for p in data["paths"]} == {
        "/blog/*": 2,
        "/news/*": 2,
        "/stream": 2,
    }


def tokens(html: bytes) -> list[bytes]:
    return re.split(rb"(?<=>)", html)


def test_banner_is_the_only_change_when_shown() -> None:
    with servers(listen={"banner": True}) as (bare, wrapped):
        for path in PATHS:
            bare_head, bare_body = raw_get(bare, path, {"Accept-Encoding": "gzip"})
            head, body = raw_get(wrapped, path, {"Accept-Encoding": "gzip"})
            if b"content-encoding: gzip" in head:
                bare_body, body = gzip.decompress(bare_body), gzip.decompress(body)
            if b"transfer-encoding: chunked" in head:
                bare_body, body = dechunk(bare_body), dechunk(body)
            assert b'id="consent-banner"' in body
            assert b"consent-gcm" not in body  # Consent Mode defaults would change Google tags
            matcher = SequenceMatcher(None, tokens(bare_body), tokens(body), autojunk=False)
            inserted = b""
            for op, i1, i2, j1, j2 in matcher.get_opcodes():
                assert op in ("equal", "insert"), (op, tokens(bare_body)[i1:i2])
                inserted += b"".join(tokens(body)[j1:j2]) if op == "insert" else b""
            assert b"googletagmanager" not in inserted
            # The app's cookies all stay; only length, Vary and the ETag follow the banner.
            bare_cookies = [line for line in bare_head.split(b"\r\n") if b"set-cookie" in line]
            assert [line for line in head.split(b"\r\n") if b"set-cookie" in line] == bare_cookies
            assert (b"_ga=GA1.1.999.888" in head) is path.startswith("/blog/")


def dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2 :]


@pytest.mark.parametrize("output", ["text", "json"])
def test_consent_report_command_prints_the_counts(output: str) -> None:
    with servers(listen={"path_patterns": ["/blog/*"]}) as (_, wrapped):
        raw_get(wrapped, "/blog/hello")
        env = {**os.environ, "CONSENT_REPORT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT / "src")}
        done = subprocess.run(
            [sys.executable, "-m", "consent", "report", wrapped, "--format", output],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        refused = subprocess.run(
            [sys.executable, "-m", "consent", "report", wrapped],
            capture_output=True,
            text=True,
            env={**env, "CONSENT_REPORT_TOKEN": "wrong"},
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    if output == "json":
        data = listen_data(json.loads(done.stdout))
        assert any(t["host"] == "www.youtube.com" for t in data["trackers"])
    else:
        assert "== listen ==" in done.stdout
        assert re.search(
            r"/blog/\*\s+script\s+www\.googletagmanager\.com\s+analytics\s+1", done.stdout
        )
        assert re.search(r"/blog/\*\s+response\s+_fbp\s+marketing\s+1", done.stdout)
    assert refused.returncode == 1
    assert "refused the token" in refused.stderr
    assert "wrong" not in refused.stderr
    assert TOKEN not in refused.stderr
