"""``consent audit`` against the demo news site over real TCP, in the system's Chromium.

Third-party requests are answered inside the browser (``--offline``): nothing reaches
the internet, yet each one still counts as attempted. Crawls are capped at two pages to
keep the runtime small.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.newsroom import create_app
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from consent.cli import main
from tests.support import make_settings, serve_in_thread

pytestmark = pytest.mark.browser

#: A page the middleware never sees (mounted outside it), doing what the demo does
#: properly, improperly: a tracker script, a tracker cookie from the server, and a
#: vendor's web storage key written by a first-party script.
LEGACY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Old archive</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-LEGACY"></script>
<script>localStorage.setItem("_hjSessionUser_42", "1")</script>
</head><body><h1>Archive</h1><a href="/">Front page</a></body></html>"""


def with_legacy_archive(site: ASGIApp) -> ASGIApp:
    """``site`` plus ``/legacy``, routed around the middleware (a misconfiguration)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/legacy":
            response = HTMLResponse(LEGACY_PAGE)
            response.set_cookie("_fbp", "fb.1.123.456", max_age=3600)
            await response(scope, receive, send)
        else:
            await site(scope, receive, send)

    return app


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    app = create_app(make_settings(banner={"privacy_policy_url": "/privacy"}))
    with serve_in_thread(with_legacy_archive(app)) as base:
        yield base


def run_audit(chromium: str, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    json_path, html_path = tmp_path / "audit.json", tmp_path / "audit.html"
    code = main(
        [
            "audit",
            *args,
            "--offline",
            "--chromium",
            chromium,
            "--json",
            str(json_path),
            "--html",
            str(html_path),
        ]
    )
    return code, json.loads(json_path.read_text("utf-8")), html_path.read_text("utf-8")


def test_demo_site_is_clean(
    chromium: str, demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = demo + "/news/harbour-bridge"  # with its YouTube embed
    code, report, html = run_audit(chromium, tmp_path, demo + "/", article, "--max-pages", "2")
    out = capsys.readouterr().out
    assert code == 0, out
    assert report["violations"] == []
    assert "0 violation(s)" in out
    pages = report["pages"]
    assert [page["url"] for page in pages] == [demo + "/", article]
    assert report["truncated"] == "pages"  # the front page links to more
    for page in pages:
        assert page["banner"] == {
            "shown": True,
            "variant": "banner",
            "accept_visible": True,
            "reject_visible": True,
        }
        before, rejected, accepted = page["states"]
        assert [s["error"] for s in page["states"]] == [None, None, None]
        assert rejected["decided_via"] == accepted["decided_via"] == "banner"
        assert before["requests"] == before["cookies"] == before["storage"] == []
        assert rejected["requests"] == []
        assert {c["name"]: c["category"] for c in rejected["cookies"]} == {"consent": "necessary"}
        # The control case: after Accept all the same harness sees the trackers and the
        # analytics cookie, so the empty lists above are not blindness.
        hosts = {r["host"]: r["category"] for r in accepted["requests"]}
        assert hosts["www.googletagmanager.com"] == "analytics"
        assert hosts["connect.facebook.net"] == "marketing"
        cookies = {c["name"]: c for c in accepted["cookies"]}
        assert cookies["_pk_id.1.demo"]["category"] == "analytics"
        assert cookies["_pk_id.1.demo"]["lifetime_seconds"] > 0
    article_requests = {r["host"] for r in pages[1]["states"][2]["requests"]}
    assert "www.youtube.com" in article_requests
    assert '<svg id="chart"' in html
    assert "No violations" in html


def test_page_outside_the_middleware_is_reported(
    chromium: str, demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, html = run_audit(
        chromium, tmp_path, demo + "/legacy", demo + "/", "--max-pages", "2"
    )
    out = capsys.readouterr().out
    assert code == 1, out
    legacy, front = report["pages"]
    assert front["url"] == demo + "/"
    assert front["violations"] == []
    found = {(v["rule"], v["subject"]) for v in legacy["violations"]}
    tracker = "https://www.googletagmanager.com/gtag/js?id=G-LEGACY"
    assert found == {
        ("banner-missing", "#consent-banner"),
        ("tracker-before-consent", tracker),
        ("cookie-before-consent", "_fbp"),
        ("storage-before-consent", "_hjSessionUser_42"),
        ("tracker-after-reject", tracker),
        ("cookie-after-reject", "_fbp"),
        ("storage-after-reject", "_hjSessionUser_42"),
    }
    # Without a banner, the choice was made on the middleware's preferences page.
    assert legacy["states"][1]["decided_via"] == "preferences page"
    assert f"tracker-before-consent: {demo}/legacy [before] {tracker}" in out
    assert "banner-missing" in html
    assert 'class="verdict failed"' in html


def test_opt_out_notice_is_judged_by_what_reject_leaves(
    chromium: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under the US opt-out notice trackers may run on the first visit; the audit rejects
    through "Your Privacy Choices" (the preferences page) and finds nothing left."""
    settings = make_settings(default_policy="us", banner={"privacy_policy_url": "/privacy"})
    with serve_in_thread(create_app(settings)) as base:
        code, report, _ = run_audit(chromium, tmp_path, base + "/", "--max-pages", "1")
    out = capsys.readouterr().out
    assert code == 0, out
    (page,) = report["pages"]
    assert page["banner"]["variant"] == "notice"
    before, rejected, accepted = page["states"]
    assert any(r["category"] == "analytics" for r in before["requests"])
    assert rejected["decided_via"] == "preferences page"
    assert rejected["requests"] == []
    assert accepted["decided_via"] == "preferences page"
    assert any(r["category"] == "marketing" for r in accepted["requests"])
