"""The law where the visitor is, over TCP: CDN headers as the CDN sets them, a real server.

An EU visitor is asked first; a Californian gets the opt-out notice with everything
running, and with Global Privacy Control the ad tags inert, ``_fbp`` dropped and "Opt-out
request honored" on the very first response, stored and recorded; a UK visitor under an
analytics exemption gets first-party statistics until they object.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.integration.markup import by_id, scripts_loading
from tests.support import make_settings, serve_in_thread

PAGE = """<!doctype html><html><head><title>Shop</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST1"></script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
</head><body><h1>Shop</h1><a href="/pricing">Pricing</a></body></html>"""
GA = "www.googletagmanager.com"
META = "connect.facebook.net"
CALIFORNIA = {"CF-IPCountry": "US", "CF-Region-Code": "CA"}
GERMANY = {"CF-IPCountry": "DE"}
BRITAIN = {"CF-IPCountry": "GB", "CF-Region-Code": "ENG"}


async def page(request: Request) -> Response:
    response = HTMLResponse(PAGE)
    response.set_cookie("_ga", "GA1.1.1.1")
    response.set_cookie("_fbp", "fb.1.1.1")
    return response


@contextmanager
def site(tmp_path: Path, **settings: Any) -> Iterator[str]:
    settings.setdefault("geolocation", {"source": "cloudflare"})
    settings.setdefault(
        "records", {"url": f"sqlite:///{tmp_path}/records.db", "spool_dir": str(tmp_path)}
    )
    app = ConsentMiddleware(Starlette(routes=[Route("/", page)]), make_settings(**settings))
    with serve_in_thread(app, lifespan="on") as base:
        yield base


def running(html: str, host: str) -> bool:
    (script,) = scripts_loading(html, host)
    return script.get("type") != "text/plain" and "src" in script


def set_cookies(response: httpx.Response) -> dict[str, str]:
    found = {}
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        found[name] = rest
    return found


def text_of(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[html.index(">", start) + 1 : html.index("</", start)]


def records(tmp_path: Path, count: int) -> list[dict[str, Any]]:
    """The records once ``count`` are written (the writer works in the background)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with sqlite3.connect(tmp_path / "records.db") as db:
                db.row_factory = sqlite3.Row
                rows = [dict(r) for r in db.execute("SELECT * FROM consent_records")]
        except sqlite3.OperationalError:
            rows = []
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_an_eu_visitor_is_asked_before_anything_runs(tmp_path: Path) -> None:
    with site(tmp_path) as base:
        response = httpx.get(base + "/", headers=GERMANY)
    html = response.text
    assert not running(html, GA)
    assert not running(html, META)
    assert set_cookies(response).keys().isdisjoint({"_ga", "_fbp"})
    assert text_of(html, "consent-title") == "Cookies on this site"
    assert by_id(html, "consent-choices") is None


def test_a_californian_gets_the_notice_with_everything_running(tmp_path: Path) -> None:
    with site(tmp_path) as base:
        response = httpx.get(base + "/", headers=CALIFORNIA)
    html = response.text
    assert running(html, GA)
    assert running(html, META)
    assert {"_ga", "_fbp"} <= set_cookies(response).keys()
    assert "consent" not in set_cookies(response)  # nothing to store: nobody chose
    link = by_id(html, "consent-choices")
    assert link is not None
    assert link[1]["href"] == "/_consent/preferences?next=/"
    assert "Your Privacy Choices" in html
    assert by_id(html, "consent-gpc") is None
    for header in ("Cookie", "Sec-GPC", "Cf-Ipcountry", "Cf-Region-Code"):
        assert header in response.headers["vary"]


def test_gpc_is_honoured_shown_stored_and_recorded_on_the_first_response(
    tmp_path: Path,
) -> None:
    with site(tmp_path) as base, httpx.Client(base_url=base) as client:
        first = client.get("/", headers={**CALIFORNIA, "Sec-GPC": "1"})
        html = first.text
        assert running(html, GA)
        assert not running(html, META)
        cookies = set_cookies(first)
        assert "_ga" in cookies
        assert "_fbp" not in cookies
        assert text_of(html, "consent-gpc") == "Opt-out request honored"
        assert "consent" in cookies  # the opt-out outlasts the signal

        # The signal is gone; the opt-out stays, and nothing is recorded again.
        second = client.get("/", headers=CALIFORNIA)
        assert not running(second.text, META)
        assert "_fbp" not in set_cookies(second)
        state = client.get("/_consent", headers=CALIFORNIA).json()
        assert "marketing" in state["denied"]
        assert (state["jurisdiction"], state["policy"], state["model"]) == (
            "US-CA",
            "us",
            "opt_out",
        )
        (record,) = records(tmp_path, 1)
    assert record["method"] == "gpc"
    assert record["variant"] == "gpc"
    assert (record["jurisdiction"], record["policy"]) == ("US-CA", "us")
    assert record["gpc"] == 1
    assert "marketing" in record["denied"]
    assert len(records(tmp_path, 2)) == 1


def test_ok_dismisses_the_notice_but_grants_nothing_elsewhere(tmp_path: Path) -> None:
    with site(tmp_path) as base, httpx.Client(base_url=base) as client:
        posted = client.post(
            "/_consent",
            data={"action": "acknowledge", "variant": "notice", "next": "/"},
            headers={**CALIFORNIA, "Origin": base},
        )
        assert posted.status_code == 303
        after = client.get("/", headers=CALIFORNIA)
        assert by_id(after.text, "consent-banner") is None
        settings_link = by_id(after.text, "consent-settings")
        assert settings_link is not None
        assert "Your Privacy Choices" in after.text
        assert running(after.text, META)

        # Same visitor, same cookie, now in Germany: asked first, nothing runs.
        abroad = client.get("/", headers=GERMANY)
        assert text_of(abroad.text, "consent-title") == "Cookies on this site"
        assert not running(abroad.text, GA)
        assert not running(abroad.text, META)
        (record,) = records(tmp_path, 1)
    assert (record["method"], record["variant"], record["jurisdiction"]) == (
        "acknowledge",
        "notice",
        "US-CA",
    )
    for category in ("preferences", "analytics", "marketing"):  # seen: nothing chosen
        assert category not in record["granted"]
        assert category not in record["denied"]


def test_opting_out_on_the_choices_page_stops_what_ran(tmp_path: Path) -> None:
    with site(tmp_path) as base, httpx.Client(base_url=base) as client:
        choices = client.get("/_consent/preferences?next=/", headers=CALIFORNIA)
        assert "<title>Your Privacy Choices</title>" in choices.text
        ticked = [
            attrs["value"]
            for attrs in _inputs(choices.text)
            if attrs.get("name") == "categories" and "checked" in attrs
        ]
        assert ticked == ["preferences", "analytics", "marketing"]  # what runs now
        client.post(
            "/_consent",
            data={"action": "save", "categories": ["preferences", "analytics"], "next": "/"},
            headers={**CALIFORNIA, "Origin": base},
        )
        after = client.get("/", headers=CALIFORNIA)
        assert running(after.text, GA)
        assert not running(after.text, META)
        (record,) = records(tmp_path, 1)
    assert record["method"] == "withdraw"  # marketing ran before: the page reloads
    assert record["policy"] == "us"


def test_uk_statistics_run_until_the_visitor_objects(tmp_path: Path) -> None:
    with site(tmp_path, policies={"uk": {"exempt": ["analytics"]}}) as base:
        with httpx.Client(base_url=base) as client:
            first = client.get("/", headers=BRITAIN)
            assert running(first.text, GA)
            assert not running(first.text, META)
            assert "_ga" in set_cookies(first)
            assert "_fbp" not in set_cookies(first)
            assert "(Analytics)" in text_of(first.text, "consent-exempt")
            client.post(
                "/_consent",
                data={"action": "reject_all", "next": "/"},
                headers={**BRITAIN, "Origin": base},
            )
            after = client.get("/", headers=BRITAIN)
            assert not running(after.text, GA)
            assert "_ga" not in set_cookies(after)
        # In Germany the same exemption does not apply.
        german = httpx.get(base + "/", headers=GERMANY)
        assert not running(german.text, GA)


def test_forged_location_headers_mean_nothing_without_a_trusted_cdn(tmp_path: Path) -> None:
    with site(tmp_path, geolocation={"source": "none"}) as base:
        response = httpx.get(base + "/", headers={**CALIFORNIA, "Sec-GPC": "1"})
    assert not running(response.text, GA)
    assert not running(response.text, META)
    assert "Cf-Ipcountry" not in response.headers["vary"]


def _inputs(html: str) -> list[dict[str, str | None]]:
    from tests.integration.markup import elements

    return elements(html, "input")
