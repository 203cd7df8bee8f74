"""Contextual placeholders in Chromium: *Load this once* and *Always allow YouTube*, with
JavaScript on (in place) and off (plain links and forms), watching the network.

The pages send a strict CSP with a nonce (no inline script or style without it), so the
placeholder's own script and stylesheet must carry the response's nonce to work at all. Every
request to a host other than loopback is recorded and answered on this machine by a stub
(YouTube's and Vimeo's servers are never contacted); a request the test expects proves the
harness sees them.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Frame, Page, Route, async_playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as Endpoint

from consent import ConsentMiddleware
from tests.browser.conftest import CHROMIUM_ARGS
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

YOUTUBE = "https://www.youtube.com/embed/council-debate"
YOUTUBE_2 = "https://www.youtube.com/embed/harbour-vote"
VIMEO = "https://player.vimeo.com/video/4242"
SEVERE = {"serious", "critical"}
#: The page's theme (light and dark accent), which placeholders take over with JavaScript.
ACCENT = {"light": ("#0a5c36", "rgb(10, 92, 54)"), "dark": ("#b8e0c8", "rgb(184, 224, 200)")}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style nonce="{nonce}">
  :root {{ --consent-accent: {accent}; --consent-dark-accent: {dark_accent}; }}
  body {{ margin: 0; font: 16px/1.5 sans-serif; }}
  main {{ max-width: 1200px; margin: 0 auto; padding: 1em; }}
  .intro {{ height: 1400px; }}
  iframe {{ display: block; margin: 0 0 1em auto; border: 0; }}
</style></head>
<body><main><h1>{title}</h1><p class="intro">A long introduction.</p>
<iframe src="{youtube}" width="560" height="315" title="Council debate (video)"
  allow="encrypted-media" allowfullscreen></iframe>
<iframe src="{vimeo}" width="480" height="270" title="Harbour at dawn (video)"></iframe>
<iframe src="{youtube_2}" width="560" height="315" title="Harbour vote (video)"></iframe>
<p>The end.</p></main></body></html>
"""
STUB = '<!doctype html><html lang="en"><title>stub</title><p id="stub">{host} playing</p></html>'


async def article(request: Request) -> HTMLResponse:
    nonce = secrets.token_urlsafe(12)
    title = request.path_params["slug"].replace("-", " ").capitalize()
    body = PAGE.format(
        title=title,
        nonce=nonce,
        accent=ACCENT["light"][0],
        dark_accent=ACCENT["dark"][0],
        youtube=YOUTUBE,
        vimeo=VIMEO,
        youtube_2=YOUTUBE_2,
    )
    csp = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "frame-src 'self' https://www.youtube.com https://player.vimeo.com; img-src 'self'"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": csp})


def serve_site(**overrides: Any) -> Iterator[str]:
    app = Starlette(routes=[Endpoint("/news/{slug}", article)])
    settings = make_settings(
        records={"enabled": False}, banner={"privacy_policy_url": "/privacy"}, **overrides
    )
    with serve_in_thread(ConsentMiddleware(app, settings)) as base:
        yield base


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The articles' CSP is narrowed per visitor (the default): YouTube's host is not in it
    until the visitor allows YouTube, for one response or for good."""
    yield from serve_site()


@pytest.fixture(scope="module")
def in_place_site() -> Iterator[str]:
    """The same articles with their CSP as the app wrote it: choices apply in place."""
    yield from serve_site(csp={"narrow": False})


@dataclass
class Network:
    """What the page asked for: other hosts (stubbed here), and every request."""

    elsewhere: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def hosts(self) -> list[str]:
        return [urlsplit(url).hostname or "" for url in self.elsewhere]

    def posts(self) -> list[str]:
        return [url for method, url in self.requests if method != "GET"]


@asynccontextmanager
async def browse(chromium: str, **options: Any) -> AsyncIterator[tuple[Page, Network]]:
    """A fresh Chromium page; nothing leaves this machine."""
    network = Network()

    async def stub(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if host == "127.0.0.1":
            await route.continue_()
            return
        network.elsewhere.append(url)
        await route.fulfill(status=200, content_type="text/html", body=STUB.format(host=host))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        options.setdefault("viewport", {"width": 1280, "height": 720})
        context = await browser.new_context(**options)
        await context.route("**/*", stub)
        page = await context.new_page()
        page.on("request", lambda r: network.requests.append((r.method, r.url)))
        try:
            yield page, network
        finally:
            await context.close()
            await browser.close()


async def consent_cookies(page: Page) -> list[dict[str, Any]]:
    return [dict(c) for c in await page.context.cookies() if c["name"] == "consent"]


async def test_load_once_in_place_with_javascript(chromium: str, in_place_site: str) -> None:
    site = in_place_site
    async with browse(chromium) as (page, network):
        await page.goto(site + "/news/harbour")
        first = page.locator("#consent-embed-1")
        assert await first.get_attribute("data-consent-src") == YOUTUBE
        before = await first.bounding_box()
        placeholder = page.frame_locator("#consent-embed-1")
        await expect(placeholder.get_by_role("heading", name="YouTube")).to_be_visible()
        await page.evaluate("window.sameDocument = true")

        await placeholder.get_by_role("link", name="Load this once").click()

        await expect(first).to_have_attribute("src", YOUTUBE)
        await expect(placeholder.locator("#stub")).to_have_text("www.youtube.com playing")
        assert await first.get_attribute("srcdoc") is None
        assert await page.evaluate("window.sameDocument") is True  # no reload
        assert page.url == site + "/news/harbour"
        after = await first.bounding_box()  # the embed kept its size (no layout shift)
        assert before
        assert after
        assert (after["width"], after["height"]) == (560, 315)
        assert (before["width"], before["height"]) == (560, 315)
        # This embed only: the other YouTube video and Vimeo stay blocked.
        assert network.elsewhere == [YOUTUBE]
        assert await page.locator("#consent-embed-3").get_attribute("src") is None
        # No decision: nothing posted, no consent cookie.
        assert network.posts() == []
        assert await consent_cookies(page) == []


async def test_load_once_without_javascript_for_one_response(chromium: str, site: str) -> None:
    async with browse(chromium, java_script_enabled=False) as (page, network):
        await page.goto(site + "/news/harbour")
        assert network.elsewhere == []
        placeholder = page.frame_locator("#consent-embed-1")

        await placeholder.get_by_role("link", name="Load this once").click()

        await page.wait_for_url(site + "/news/harbour?consent-once=youtube#consent-embed-1")
        first = page.locator("#consent-embed-1")
        await expect(first).to_have_attribute("src", YOUTUBE)
        await expect(placeholder.locator("#stub")).to_have_text("www.youtube.com playing")
        assert sorted(network.elsewhere) == sorted([YOUTUBE, YOUTUBE_2])  # YouTube's, not Vimeo's
        assert await page.locator("#consent-embed-2").get_attribute("data-consent-src") == VIMEO
        # Back where the visitor was: the embed is at the top of the window.
        box = await first.bounding_box()
        assert box is not None
        assert abs(box["y"]) < 2
        assert await page.evaluate("scrollY") > 1000
        assert network.posts() == []
        assert await consent_cookies(page) == []

        # That response only: the next plain load blocks YouTube again.
        network.elsewhere.clear()
        await page.goto(site + "/news/harbour")
        assert await first.get_attribute("data-consent-src") == YOUTUBE
        assert await first.get_attribute("src") is None
        assert network.elsewhere == []


async def test_always_allow_without_javascript(chromium: str, site: str) -> None:
    async with browse(chromium, java_script_enabled=False) as (page, network):
        await page.goto(site + "/news/harbour")
        placeholder = page.frame_locator("#consent-embed-1")

        await placeholder.get_by_role("button", name="Always allow YouTube").click()

        await page.wait_for_url(site + "/news/harbour#consent-embed-1")
        await expect(page.locator("#consent-embed-1")).to_have_attribute("src", YOUTUBE)
        await expect(placeholder.locator("#stub")).to_have_text("www.youtube.com playing")
        assert network.posts() == [site + "/_consent"]
        assert len(await consent_cookies(page)) == 1
        assert "player.vimeo.com" not in network.hosts()

        # Later pages: YouTube loads, Vimeo stays blocked.
        network.elsewhere.clear()
        await page.goto(site + "/news/heatwave")
        await expect(page.locator("#consent-embed-1")).to_have_attribute("src", YOUTUBE)
        await expect(page.locator("#consent-embed-3")).to_have_attribute("src", YOUTUBE_2)
        vimeo = page.locator("#consent-embed-2")
        assert await vimeo.get_attribute("data-consent-src") == VIMEO
        assert await vimeo.get_attribute("srcdoc")  # its placeholder
        assert sorted(network.hosts()) == ["www.youtube.com", "www.youtube.com"]


async def test_always_allow_in_place_with_javascript(chromium: str, in_place_site: str) -> None:
    site = in_place_site
    async with browse(chromium) as (page, network):
        await page.goto(site + "/news/harbour")
        await page.evaluate(
            "window.sameDocument = true;"
            "document.addEventListener('consent:change', (e) => { window.changed = e.detail; })"
        )
        placeholder = page.frame_locator("#consent-embed-1")

        await placeholder.get_by_role("button", name="Always allow YouTube").click()

        # Every YouTube embed of the page, in place; Vimeo stays blocked.
        await expect(page.locator("#consent-embed-1")).to_have_attribute("src", YOUTUBE)
        await expect(page.locator("#consent-embed-3")).to_have_attribute("src", YOUTUBE_2)
        await expect(placeholder.locator("#stub")).to_have_text("www.youtube.com playing")
        assert await page.locator("#consent-embed-2").get_attribute("data-consent-src") == VIMEO
        assert await page.evaluate("window.sameDocument") is True
        assert "youtube" in await page.evaluate("window.changed.allowed")
        assert network.posts() == [site + "/_consent"]
        assert len(await consent_cookies(page)) == 1
        assert "player.vimeo.com" not in network.hosts()

        network.elsewhere.clear()
        await page.reload()
        await expect(page.locator("#consent-embed-1")).to_have_attribute("src", YOUTUBE)
        assert "player.vimeo.com" not in network.hosts()


async def test_where_the_csp_was_narrowed_choices_load_a_new_response(
    chromium: str, site: str
) -> None:
    """The browser enforces this response's CSP, which left YouTube out: in place, the embed
    would be refused. *Load this once* follows its link, *Always allow* posts the form, and
    the page comes back with YouTube in its policy."""
    async with browse(chromium) as (page, network):
        await page.goto(site + "/news/harbour")
        assert await page.locator("#consent-js").get_attribute("data-reload") == ""
        placeholder = page.frame_locator("#consent-embed-1")

        await placeholder.get_by_role("link", name="Load this once").click()

        await page.wait_for_url(site + "/news/harbour?consent-once=youtube#consent-embed-1")
        await expect(placeholder.locator("#stub")).to_have_text("www.youtube.com playing")
        assert network.posts() == []

        await page.goto(site + "/news/harbour")
        await placeholder.get_by_role("button", name="Always allow YouTube").click()

        await page.wait_for_url(site + "/news/harbour#consent-embed-1")
        await expect(placeholder.locator("#stub")).to_have_text("www.youtube.com playing")
        await expect(page.frame_locator("#consent-embed-3").locator("#stub")).to_have_text(
            "www.youtube.com playing"
        )
        assert network.posts() == [site + "/_consent"]


async def test_accepting_in_the_banner_reloads_a_narrowed_page(chromium: str, site: str) -> None:
    async with browse(chromium) as (page, _network):
        await page.goto(site + "/news/harbour")
        await page.evaluate("window.sameDocument = true")
        await page.get_by_role("button", name="Accept all").click()

        vimeo = page.frame_locator(f'iframe[src="{VIMEO}"]')
        await expect(vimeo.locator("#stub")).to_have_text("player.vimeo.com playing")
        assert await page.evaluate("window.sameDocument ?? false") is False  # reloaded
        assert await page.locator("#consent-js").get_attribute("data-reload") is None


async def placeholder_frames(page: Page) -> list[Frame]:
    frames = [f for f in page.frames if f.url == "about:srcdoc"]
    assert len(frames) == 3
    for frame in frames:
        await frame.wait_for_load_state()
    return frames


async def severe(target: Page | Frame, options: dict[str, Any]) -> list[tuple[str, str, int]]:
    results = await Axe().run(target, options=options)
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in SEVERE
    ]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_placeholders_are_accessible(chromium: str, site: str, color_scheme: str) -> None:
    async with browse(chromium, color_scheme=color_scheme) as (page, _):
        await page.goto(site + "/news/harbour")
        frames = await placeholder_frames(page)
        # The page (its frames are checked one by one: axe is not in them), then each
        # placeholder document on its own.
        only_violations = {"resultTypes": ["violations"]}
        assert await severe(page, {**only_violations, "iframes": False}) == []
        for frame in frames:
            assert await severe(frame, only_violations) == []
        # Keyboard: real links and a button, in reading order.
        first = frames[0]
        await first.get_by_role("link", name="Privacy policy of Google Ireland Limited").focus()
        names = []
        for _ in range(4):
            names.append(await first.evaluate("document.activeElement.textContent"))
            await page.keyboard.press("Tab")
        assert names == [
            "Privacy policy of Google Ireland Limited",
            "Load this once",
            "Always allow YouTube",
            "Change cookie settings",
        ]


@pytest.mark.parametrize(
    ("color_scheme", "background"), [("light", "rgb(255, 255, 255)"), ("dark", "rgb(29, 30, 34)")]
)
async def test_placeholders_follow_the_theme(
    chromium: str, site: str, color_scheme: str, background: str
) -> None:
    accent = ACCENT[color_scheme][1]
    async with browse(chromium, color_scheme=color_scheme) as (page, _):
        await page.goto(site + "/news/harbour")
        frame = (await placeholder_frames(page))[0]
        button = frame.get_by_role("button", name="Always allow YouTube")
        # The page's --consent-accent (custom properties stop at the iframe: copied over).
        await expect(button).to_have_css("background-color", accent)
        await expect(frame.locator("body")).to_have_css("background-color", background)
