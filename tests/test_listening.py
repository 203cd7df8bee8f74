"""Listen-only mode in process: the observing handler, the middleware's pass-through, the
report endpoint's token check and the ``consent report`` command's own logic."""

from __future__ import annotations

import argparse
import gzip
import json
import logging
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentMiddleware
from consent.html.blocking import BlockingPolicy
from consent.html.tokenizer import Tokenizer
from consent.listening import (
    INLINE_HOST,
    SAME_SITE_HOST,
    ObservingHandler,
    ReportEndpoint,
    listen_head,
)
from consent.listening import cli as report_cli
from consent.observations import Report
from consent.runtime import ConsentRuntime, blocking_rules_for
from tests.support import decide, http_scope, make_settings, run_asgi

TOKEN = "report-token-abcdef0123456789"
TRACKERS = (
    b'<html><head><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
    b"<script>fbq('init','1')</script>"
    b'<script type="application/ld+json">{"a": "https://www.google-analytics.com/"}</script>'
    b"</head><body>"
    b'<iframe src="https://www.youtube.com/embed/x"></iframe>'
    b'<img srcset="https://www.facebook.com/tr?id=1 1x">'
    b'<img src="/local.png">'
    b'<img data-consent="marketing" src="/pixel.gif">'
    b'<script type="text/plain" data-consent="analytics" src="https://x.example/a.js"></script>'
    b'<iframe data-consent-src="https://player.vimeo.com/video/1" data-consent="preferences">'
    b"</iframe>"
    b"</body></html>"
)


def observe(page: bytes, granted: frozenset[str] = frozenset(), chunk: int = 0) -> list[Any]:
    """What the observing handler reports for ``page``; asserts the bytes are unchanged."""
    settings = make_settings()
    runtime = ConsentRuntime(settings)
    policy = BlockingPolicy(blocking_rules_for(settings, runtime.purposes, runtime.services))
    found: list[tuple[str, str, str]] = []
    allowed = runtime.purposes.allowed(granted, frozenset())  # with their services
    handler = ObservingHandler(
        policy.handler(allowed), policy.rules, lambda *row: found.append(row)
    )
    tokenizer = Tokenizer(handler)
    pieces = [page[i : i + chunk] for i in range(0, len(page), chunk)] if chunk else [page]
    out = b"".join(tokenizer.feed(piece) for piece in pieces) + tokenizer.close()
    assert out == page
    return sorted(found)


EXPECTED = [
    ("iframe", "www.youtube.com", "preferences"),
    ("img", SAME_SITE_HOST, "marketing"),
    ("img", "www.facebook.com", "marketing"),
    ("script", INLINE_HOST, "marketing"),
    ("script", "www.googletagmanager.com", "analytics"),
]


@pytest.mark.parametrize("chunk", [0, 1, 7, 64])
def test_handler_reports_what_enforcing_would_block_and_changes_nothing(chunk: int) -> None:
    assert observe(TRACKERS, chunk=chunk) == EXPECTED


def test_repeated_tags_are_counted_every_time() -> None:
    tag = b'<img src="https://www.facebook.com/tr?id=1">'
    assert len(observe(b"<p>" + tag * 5)) == 5


def test_granted_categories_are_not_reported() -> None:
    found = observe(TRACKERS, granted=frozenset({"analytics", "marketing"}))
    assert found == [("iframe", "www.youtube.com", "preferences")]
    assert observe(TRACKERS, granted=frozenset({"analytics", "marketing", "preferences"})) == []


# -- the middleware ---------------------------------------------------------------------------


async def page(request: Request) -> Response:
    response = HTMLResponse(
        TRACKERS, headers={"etag": '"abc"', "vary": "Accept-Encoding", "x-app": "1"}
    )
    response.set_cookie("_ga", "GA1.1.5")
    response.set_cookie("sessionid", "xyz", httponly=True)
    return response


async def packed(request: Request) -> Response:
    return Response(
        gzip.compress(TRACKERS, mtime=0),
        media_type="text/html",
        headers={"content-encoding": "gzip"},
    )


async def broken(request: Request) -> Response:
    return Response(b"not gzip", media_type="text/html", headers={"content-encoding": "gzip"})


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/blog/{slug}", page),
            Route("/excluded/page", page),
            Route("/packed", packed),
            Route("/broken", broken),
        ]
    )


def listening(**settings: Any) -> tuple[ConsentMiddleware, TestClient]:
    settings.setdefault("report_token", TOKEN)
    middleware = ConsentMiddleware(app(), make_settings(mode="listen", **settings))
    return middleware, TestClient(middleware, base_url="http://testserver")


def report_data(client: TestClient) -> dict[str, Any]:
    response = client.get("/_consent/report", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    (section,) = [s for s in response.json()["sections"] if s["name"] == "listen"]
    data: dict[str, Any] = section["data"]
    return data


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/blog/post", "/excluded/page", "/packed", "/broken"])
async def test_responses_pass_unchanged(path: str) -> None:
    headers = [(b"host", b"testserver"), (b"cookie", b"_fbp=fb.1.2; _ga=GA1.1")]
    bare = await run_asgi(app(), http_scope(path, headers=headers))
    middleware, _ = listening(exclude_paths=["/excluded"])
    got = await run_asgi(middleware, http_scope(path, headers=headers))
    assert got == bare  # every message, headers and body chunks alike


def test_counts_trackers_and_cookies_per_group() -> None:
    _, client = listening(exclude_paths=["/excluded"])
    client.get("/blog/a?email=someone@example.com", headers={"cookie": "_fbp=fb.1.2; _ga=GA1"})
    client.get("/excluded/page")
    client.get("/packed")
    data = report_data(client)
    trackers = {(t["path"], t["kind"], t["host"]) for t in data["trackers"]}
    assert ("/blog/*", "iframe", "www.youtube.com") in trackers
    assert ("/packed", "script", "www.googletagmanager.com") in trackers
    assert not any(path == "/excluded/*" for path, _, _ in trackers)  # excluded: not scanned
    cookies = {(c["path"], c["source"], c["cookie"], c["category"]) for c in data["cookies"]}
    assert cookies == {
        ("/blog/*", "request", "_fbp", "marketing"),
        ("/blog/*", "request", "_ga", "analytics"),
        ("/blog/*", "response", "_ga", "analytics"),
        ("/excluded/*", "response", "_ga", "analytics"),  # cookies are counted there
        # the client keeps the app's _ga and sends it back
        ("/excluded/*", "request", "_ga", "analytics"),
        ("/packed", "request", "_ga", "analytics"),
    }
    assert "someone" not in json.dumps(data)


def test_nothing_is_counted_for_a_visitor_who_allows_everything() -> None:
    _, client = listening()
    decide(client, "accept_all")
    client.get("/blog/a", headers={"cookie": "_fbp=fb; " + cookie_header(client)})
    data = report_data(client)
    assert data["trackers"] == []
    assert data["cookies"] == []
    assert data["paths"] == [{"path": "/blog/*", "requests": 1, "pages": 1}]


def cookie_header(client: TestClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def test_unsampled_requests_are_not_inspected() -> None:
    _, client = listening(listen={"sample_rate": 0.0})
    client.get("/blog/a", headers={"cookie": "_fbp=fb"})
    data = report_data(client)
    assert data["paths"] == data["trackers"] == data["cookies"] == []


def test_consent_endpoints_still_answer_and_choices_stick() -> None:
    _, client = listening()
    assert client.get("/_consent").json()["decided"] is False
    assert decide(client, "reject_all").status_code == 200
    assert client.get("/_consent").json()["decided"] is True


def test_banner_when_asked_for_and_nothing_blocked() -> None:
    _, client = listening(listen={"banner": True})
    body = client.get("/blog/a").content
    assert b'id="consent-banner"' in body
    for enforcing in (b"consent-gcm", b"consent-guard", b"consent-hosts", b"data-storage="):
        assert enforcing not in body
    assert b'id="consent-js"' in body
    assert b'<script src="https://www.googletagmanager.com/gtag/js?id=G-1">' in body
    assert b'<iframe src="https://www.youtube.com/embed/x">' in body
    packed_body = client.get("/packed", headers={"accept-encoding": "gzip"}).content
    assert b'id="consent-banner"' in packed_body  # decoded, inserted and encoded again


def test_head_with_banner_has_the_headers_of_the_page_with_banner() -> None:
    _, client = listening(listen={"banner": True})
    get = client.get("/blog/a")
    head = client.head("/blog/a")
    assert head.headers["etag"] == get.headers["etag"] != '"abc"'
    assert head.headers["vary"] == get.headers["vary"]
    assert "content-length" not in head.headers or head.headers["content-length"] != str(
        len(TRACKERS)
    )


def test_a_failing_scan_never_breaks_the_answer(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scanner bug")

    monkeypatch.setattr(ObservingHandler, "start_tag", broken)
    _, client = listening()
    response = client.get("/blog/a")
    assert response.status_code == 200
    assert response.content == TRACKERS
    assert "scanning an HTML body failed" in caplog.text


def test_listen_head_keeps_only_what_draws_the_banner() -> None:
    head = (
        b'<script id="consent-gcm" src="/_consent/static/gcm.js" data-decided="0"></script>'
        b'<link id="consent-css" rel="stylesheet" href="/_consent/static/banner.css">'
        b'<script id="consent-js" src="/b.js" defer data-state="{}" data-storage="{}"></script>'
        b'<script id="consent-hosts" src="/h.js"></script>'
        b'<script id="consent-guard" src="/g.js" data-allowed="necessary"></script>'
    )
    assert listen_head(head) == (
        b'<link id="consent-css" rel="stylesheet" href="/_consent/static/banner.css">'
        b'<script id="consent-js" src="/b.js" defer data-state="{}"></script>'
    )


def test_settings_default_to_enforcing() -> None:
    settings = make_settings()
    assert settings.mode == "enforce"
    assert settings.listen.banner is False
    assert settings.report_token is None
    assert ConsentMiddleware(app(), settings).listener is None


# -- the report endpoint -----------------------------------------------------------------------


def endpoint_client(token: str | None) -> TestClient:
    report = Report("listen")
    return TestClient(ReportEndpoint(token, report))


def test_report_does_not_exist_without_a_token() -> None:
    response = endpoint_client(None).get("/", headers={"authorization": "Bearer anything"})
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    _, client = listening(report_token=None)
    assert client.get("/_consent/report").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        ("Bearer " + "é" * 8).encode(),
        ("Bearer " + TOKEN).encode() + b"\xff",
    ],
)
def test_wrong_tokens_get_401_without_detail(authorization: str | bytes | None) -> None:
    headers: dict[str, Any] = {} if authorization is None else {"authorization": authorization}
    response = endpoint_client(TOKEN).get("/", headers=headers)
    assert response.status_code == 401
    assert response.text == "Unauthorized"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_token_gets_the_report(scheme: str) -> None:
    response = endpoint_client(TOKEN).get("/", headers={"authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["sections"] == []


def test_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, client = listening()
    client.get("/_consent/report", headers={"authorization": "Bearer nope"})
    client.get("/_consent/report", headers={"authorization": f"Bearer {TOKEN}"})
    assert TOKEN not in caplog.text
    assert "nope" not in caplog.text


def test_report_refuses_other_methods() -> None:
    _, client = listening()
    response = client.post("/_consent/report", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405


# -- consent report (without a server: see tests/integration/test_listen.py) -------------------


@pytest.mark.parametrize(
    ("site", "path", "url"),
    [
        ("https://example.com", "/_consent", "https://example.com/_consent/report"),
        ("https://example.com/", "/_consent/", "https://example.com/_consent/report"),
        ("http://127.0.0.1:8000/app", "/c", "http://127.0.0.1:8000/app/c/report"),
    ],
)
def test_report_url(site: str, path: str, url: str) -> None:
    assert report_cli.report_url(site, path) == url


@pytest.mark.parametrize(
    ("site", "path"),
    [
        ("example.com", "/_consent"),
        ("ftp://example.com", "/_consent"),
        ("file:///etc/passwd", "/_consent"),
        ("https://example.com/?a=1", "/_consent"),
        ("https://example.com", "_consent"),
        ("https://example.com", "/"),
    ],
)
def test_bad_sites_are_usage_errors(site: str, path: str, capsys: Any) -> None:
    args = argparse.Namespace(site=site, consent_path=path, format="text", timeout=5.0)
    assert report_cli.run(args) == 2
    assert capsys.readouterr().err.startswith("consent report: error:")


def test_missing_token_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv(report_cli.TOKEN_VARIABLE, raising=False)
    args = argparse.Namespace(
        site="http://127.0.0.1:9", consent_path="/_consent", format="text", timeout=5.0
    )
    assert report_cli.run(args) == 2
    assert report_cli.TOKEN_VARIABLE in capsys.readouterr().err


def test_unreachable_site_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv(report_cli.TOKEN_VARIABLE, TOKEN)
    args = argparse.Namespace(
        site="http://127.0.0.1:9", consent_path="/_consent", format="text", timeout=5.0
    )
    assert report_cli.run(args) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err
    assert TOKEN not in err


def test_text_format_prints_tables_for_every_section() -> None:
    document = {
        "format": 1,
        "mode": "listen",
        "generated_at": "2026-01-01T00:00:00Z",
        "sections": [
            {
                "name": "listen",
                "data": {
                    "sample_rate": 0.5,
                    "trackers": [
                        {
                            "path": "/blog/*",
                            "kind": "script",
                            "host": "www.googletagmanager.com",
                            "category": "analytics",
                            "count": 12,
                        }
                    ],
                    "cookies": [],
                },
            },
            {"name": "csp", "data": {"violations": [{"directive": "img-src\n", "count": 3}]}},
        ],
    }
    text = report_cli.format_report(document)
    assert "== listen ==" in text
    assert "sample_rate: 0.5" in text
    assert "  path     kind    host                      category   count" in text
    assert "  /blog/*  script  www.googletagmanager.com  analytics     12" in text
    assert "cookies:\n  (none)" in text
    assert "== csp ==" in text
    assert "img-src?" in text  # a newline from the site cannot break the table


def test_report_command_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    from consent.cli import main

    assert main(["report", "--help"]) == 0
    assert report_cli.TOKEN_VARIABLE in capsys.readouterr().out
    assert main(["report"]) == 2  # SITE missing
