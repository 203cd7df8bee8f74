"""The consent-aware CSP and its report endpoint behind uvicorn, over TCP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.support import make_settings, serve_in_thread

APP_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-abc' https://www.googletagmanager.com; "
    "img-src 'self' https://www.facebook.com, frame-ancestors 'none'"
)
PAGE = "<!doctype html><html><head></head><body><p>hi</p></body></html>"
REPORT = "/_consent/csp-report"


async def page(request: Request) -> Response:
    if "bare" in request.query_params:
        return HTMLResponse(PAGE)
    headers = [("content-security-policy", APP_CSP), ("content-security-policy", "img-src *")]
    response = HTMLResponse(PAGE)
    response.raw_headers.extend((k.encode(), v.encode()) for k, v in headers)
    return response


async def text(request: Request) -> Response:
    return PlainTextResponse("plain")


@contextmanager
def site(**csp: Any) -> Iterator[tuple[str, ConsentMiddleware]]:
    app = ConsentMiddleware(
        Starlette(routes=[Route("/", page), Route("/text", text)]), make_settings(csp=csp)
    )
    with serve_in_thread(app) as base:
        yield base, app


def decided(client: httpx.Client, action: str) -> None:
    assert client.post("/_consent", data={"action": action}).status_code == 303


def raw_headers(base: str, path: str, cookie: str = "") -> list[tuple[str, str]]:
    """The response headers as sent on the wire, repeated ones included."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
        if cookie:
            request += f"Cookie: {cookie}\r\n"
        sock.sendall((request + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return [(k.lower(), v.strip()) for k, _, v in (line.partition(":") for line in head)]


def test_policies_are_narrowed_per_visitor_and_kept_for_a_granted_one() -> None:
    with site() as (base, _), httpx.Client(base_url=base) as client:
        declined = [v for k, v in raw_headers(base, "/") if k == "content-security-policy"]
        assert declined == [
            "default-src 'self'; script-src 'self' 'nonce-abc'; img-src 'self'; "
            f"report-uri {REPORT}; report-to consent-csp, frame-ancestors 'none'",
            "img-src *",  # a wildcard admits every host: nothing to subtract
        ]
        decided(client, "accept_all")
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        headers = raw_headers(base, "/", cookie)
        granted = [v for k, v in headers if k == "content-security-policy"]
        assert granted == [APP_CSP, "img-src *"]
        assert "reporting-endpoints" not in dict(headers)


def test_report_only_when_the_app_sends_no_policy() -> None:
    with site(report_only_when_absent=True) as (base, _):
        headers = dict(raw_headers(base, "/?bare"))
        policy = headers["content-security-policy-report-only"]
        assert policy.startswith("default-src 'self' 'unsafe-inline'")
        assert headers["reporting-endpoints"] == f'consent-csp="{REPORT}"'
        assert "content-security-policy-report-only" not in dict(raw_headers(base, "/text"))


def legacy(blocked: str, directive: str = "script-src-elem") -> bytes:
    report = {
        "document-uri": "https://site.example/account?id=42",
        "blocked-uri": blocked,
        "effective-directive": directive,
        "violated-directive": directive,
        "original-policy": APP_CSP,
        "disposition": "enforce",
    }
    return json.dumps({"csp-report": report}).encode()


def test_reports_are_counted_without_personal_data() -> None:
    with site() as (base, app), httpx.Client(base_url=base) as client:
        sent = client.post(
            REPORT,
            content=legacy("https://www.google-analytics.com/g/collect?cid=123.456"),
            headers={"content-type": "application/csp-report", "origin": "https://elsewhere"},
        )
        assert sent.status_code == 204
        api = [
            {
                "type": "csp-violation",
                "url": "https://site.example/private",
                "user_agent": "Mozilla/5.0",
                "body": {
                    "blockedURL": "https://cdn.unknown.example/x.js",
                    "effectiveDirective": "script-src-elem",
                    "disposition": "report",
                },
            },
            {"type": "deprecation", "body": {"id": "x"}},
        ]
        sent = client.post(
            REPORT, content=json.dumps(api), headers={"content-type": "application/reports+json"}
        )
        assert sent.status_code == 204
        assert app.csp_reports is not None
        snapshot = app.csp_reports.snapshot()
        assert snapshot["violations"] == [
            {
                "host": "cdn.unknown.example",
                "category": "unclassified",
                "directive": "script-src-elem",
                "disposition": "report",
                "count": 1,
            },
            {
                "host": "www.google-analytics.com",
                "category": "analytics",
                "directive": "script-src-elem",
                "disposition": "enforce",
                "count": 1,
            },
        ]
        assert snapshot["blocked_by_category"] == {"analytics": 1}
        assert snapshot["ignored"] == 1
        dumped = json.dumps(snapshot)
        for personal in ("cid=", "account", "private", "Mozilla", "127.0.0.1"):
            assert personal not in dumped


def test_bad_reports_get_a_clear_answer_and_change_nothing() -> None:
    limits = {"report_max_bytes": 1024, "report_burst": 5, "reports_per_minute": 1}
    with site(**limits) as (base, app), httpx.Client(base_url=base) as client:
        csp = {"content-type": "application/csp-report"}
        big = client.post(REPORT, content=b"x" * 2048, headers=csp)
        assert big.status_code == 413
        assert client.post(REPORT, content=b"{", headers=csp).status_code == 400
        assert client.post(REPORT, content=b"[]", headers=csp).status_code == 400
        typed = client.post(
            REPORT, content=legacy("inline"), headers={"content-type": "text/plain"}
        )
        assert typed.status_code == 415
        assert client.get(REPORT).status_code == 405
        assert app.csp_reports is not None
        assert app.csp_reports.snapshot()["reports"] == 0
        statuses = [
            client.post(REPORT, content=legacy("eval"), headers=csp).status_code for _ in range(4)
        ]
        assert statuses[-1] == 429
        assert 204 in statuses
