"""The runtime guard holds what scripts add after load to the visitor's choice, in Chromium.

A GTM-like script (allowed: analytics, served for ``www.googletagmanager.com/gtm.js``) adds a
Meta pixel (an ``<img>`` and a ``new Image()``), a YouTube iframe, a ``rel=preload`` and a
script from ``connect.facebook.net``, an image of a tracker the operator added, and a Google
Analytics hit. A small router adds embeds on ``history.pushState``. Every request that would
leave the machine is recorded and fulfilled locally (the tracker hosts resolve nowhere), as
a regulator would watch: the visitor who allowed analytics only sees the Analytics hit and
nothing else; once they allow more through the banner, the rest loads in place.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Page, Route, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as Endpoint

from consent import ConsentMiddleware
from consent.guard import host_table
from consent.runtime import blocking_rules_for, names_for
from consent.settings import ConsentSettings
from tests.browser.conftest import CHROMIUM_ARGS, HOST_RULES
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

#: Every name resolves nowhere: what the router below does not fulfil cannot leave.
OPERATOR_TRACKER = "pixel.shop-ads.test"  # added to marketing by the operator

GTM = """(() => {
  const add = (el) => document.body.appendChild(el);
  const img = (id, src) => add(Object.assign(document.createElement('img'), { id, src, alt: '' }));
  img('ga', 'https://www.google-analytics.com/g/collect?v=2&tid=G-TEST');
  img('px', 'https://www.facebook.com/tr?id=1&ev=PageView');
  new Image().src = 'https://www.facebook.com/tr?id=1&ev=Image';
  const frame = document.createElement('iframe');
  frame.id = 'yt';
  frame.src = 'https://www.youtube.com/embed/gtm';
  add(frame);
  const hint = document.createElement('link');
  hint.id = 'hint';
  hint.rel = 'preload';
  hint.as = 'script';
  hint.href = 'https://connect.facebook.net/en_US/fbevents.js';
  document.head.appendChild(hint);
  const box = document.createElement('div');
  box.innerHTML = '<img id="shop" alt="" src="https://pixel.shop-ads.test/p.gif">';
  add(box);
  const s = document.createElement('script');
  s.id = 'fbq';
  s.src = 'https://connect.facebook.net/signals/config.js';
  document.head.appendChild(s);
  window.gtmRan = true;
})();"""

#: The site's own router (labelled necessary: it names embeds, and it is ours).
ROUTER = """<script data-consent="necessary">
const render = () => {
  const view = document.getElementById('view');
  if (location.pathname.endsWith('/video')) {
    view.textContent = '';
    const frame = document.createElement('iframe');
    frame.id = 'spa-video';
    frame.src = 'https://www.youtube-nocookie.com/embed/spa';
    view.append(frame);
    view.insertAdjacentHTML('beforeend',
      '<embed id="spa-embed" src="https://pixel.shop-ads.test/e.html" width="9" height="9">');
  } else {
    view.textContent = 'home';
  }
};
window.router = { go: (path) => { history.pushState({}, '', path); render(); } };
addEventListener('popstate', render);
render();
</script>"""

PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Guard</title>'
    '</head><body><main id="view"></main>' + ROUTER + "<script async "
    'src="https://www.googletagmanager.com/gtm.js?id=GTM-TEST"></script></body></html>'
)

ANALYTICS = {"www.googletagmanager.com", "www.google-analytics.com"}
MARKETING = {"www.facebook.com", "connect.facebook.net", OPERATOR_TRACKER}
PREFERENCES = {"www.youtube.com"}


async def page_view(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


def settings() -> ConsentSettings:
    return make_settings(
        exclude_paths=["/plain"],
        category_overrides={"marketing": {"scripts": [OPERATOR_TRACKER, "cdn*.track.test/px"]}},
    )


def make_app() -> ConsentMiddleware:
    routes = [Endpoint(path, page_view) for path in ("/guard/", "/guard/video", "/plain/")]
    return ConsentMiddleware(Starlette(routes=routes), settings=settings())


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve_in_thread(make_app()) as url:
        yield url


class Network:
    """Every request that would leave loopback: recorded, then fulfilled on this machine."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def handle(self, route: Route) -> None:
        url = route.request.url
        self.urls.append(url)
        body, kind = "", "text/plain"
        if "/gtm.js" in url:
            body, kind = GTM, "text/javascript"
        elif url.endswith(".js"):
            body, kind = f"(window.ran = window.ran || []).push({url!r});", "text/javascript"
        await route.fulfill(status=200, body=body, headers={"Content-Type": kind})

    def hosts(self) -> set[str]:
        return {url.split("/")[2] for url in self.urls}

    async def settle(self, page: Page, expected: set[str]) -> set[str]:
        """Wait until ``expected`` hosts were requested, then a little for any stray extra."""
        deadline = time.monotonic() + 10
        while not expected <= self.hosts() and time.monotonic() < deadline:
            await page.wait_for_timeout(50)
        await page.wait_for_timeout(400)
        return self.hosts()


@asynccontextmanager
async def visitor(chromium: str, base: str) -> AsyncIterator[tuple[Page, Network]]:
    network = Network()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, HOST_RULES]
        )
        context = await browser.new_context(viewport={"width": 1000, "height": 900})
        await context.route(lambda url: not url.startswith(base), network.handle)
        try:
            yield await context.new_page(), network
        finally:
            await context.close()
            await browser.close()


async def choose(page: Page, *keys: str) -> None:
    """Tick exactly ``keys`` in the (re)opened banner's customise layer and save."""
    banner = page.locator("#consent-banner")
    if not await banner.is_visible():
        await page.click("#consent-settings")
    await banner.wait_for(state="visible")
    customise = banner.locator("details")
    if await customise.get_attribute("open") is None:
        await customise.locator("summary").click()
    for box in await banner.locator("input[name=categories]").all():
        await box.set_checked(await box.get_attribute("value") in keys)
    await banner.locator("button[value=save]").click()
    await banner.wait_for(state="hidden")


async def decide_analytics_only(page: Page, network: Network, base: str) -> None:
    await page.goto(base + "/guard/")
    await choose(page, "analytics")
    # gtm.js, blocked until now, runs in place and adds its elements
    await page.wait_for_function("window.gtmRan === true")
    assert await network.settle(page, ANALYTICS) == ANALYTICS


async def test_control_page_without_the_middleware_fetches_every_tracker(
    chromium: str, base: str
) -> None:
    # The harness sees what the GTM-like script adds when nothing guards the page.
    async with visitor(chromium, base) as (page, network):
        await page.goto(base + "/plain/")
        await page.wait_for_function("window.gtmRan === true")
        hosts = await network.settle(page, ANALYTICS | MARKETING | PREFERENCES)
        assert hosts >= ANALYTICS | MARKETING | PREFERENCES


async def test_added_trackers_wait_for_consent_and_load_in_place(chromium: str, base: str) -> None:
    async with visitor(chromium, base) as (page, network):
        await decide_analytics_only(page, network, base)
        # A fresh page for the decided visitor: the guard has this response's keys.
        network.urls.clear()
        await page.reload()
        await page.wait_for_function("window.gtmRan === true")
        assert await network.settle(page, ANALYTICS) == ANALYTICS
        # Each one in the server's inert form, which banner.js restores.
        forms = await page.evaluate(
            """() => ({
                px: [px.dataset.consent, px.getAttribute('src'), px.dataset.consentSrc],
                yt: [yt.dataset.consent, yt.hasAttribute('src'), yt.hasAttribute('srcdoc')],
                hint: [hint.dataset.consent, hint.getAttribute('href'), hint.dataset.consentHref],
                shop: [shop.dataset.consent, shop.getAttribute('src')],
                fbq: [fbq.dataset.consent, fbq.type],
                ga: [ga.dataset.consent, ga.getAttribute('src')],
            })"""
        )
        assert forms == {
            "px": ["meta-pixel", None, "https://www.facebook.com/tr?id=1&ev=PageView"],
            "yt": ["youtube", False, True],
            "hint": ["meta-pixel", None, "https://connect.facebook.net/en_US/fbevents.js"],
            "shop": ["marketing", None],
            "fbq": ["meta-pixel", "text/plain"],
            "ga": [None, "https://www.google-analytics.com/g/collect?v=2&tid=G-TEST"],
        }
        await page.evaluate("window.samePage = true")
        await choose(page, "analytics", "preferences", "marketing")
        hosts = await network.settle(page, ANALYTICS | MARKETING | PREFERENCES)
        assert hosts == ANALYTICS | MARKETING | PREFERENCES
        assert await page.evaluate("window.samePage") is True  # no reload
        urls = set(network.urls)
        assert "https://www.facebook.com/tr?id=1&ev=Image" in urls  # the new Image() too
        assert "https://connect.facebook.net/en_US/fbevents.js" in urls  # the preload
        ran = await page.evaluate("window.ran")
        assert ran == ["https://connect.facebook.net/signals/config.js"]


async def test_single_page_navigation_is_guarded_the_same_way(chromium: str, base: str) -> None:
    async with visitor(chromium, base) as (page, network):
        await decide_analytics_only(page, network, base)
        network.urls.clear()
        await page.evaluate("router.go('/guard/video')")
        assert page.url == base + "/guard/video"
        await page.wait_for_selector("#spa-embed", state="attached")
        assert await network.settle(page, set()) == set()
        assert await page.evaluate(
            "[document.querySelector('#spa-video').dataset.consentSrc, "
            "document.querySelector('#spa-embed').dataset.consentSrc]"
        ) == ["https://www.youtube-nocookie.com/embed/spa", f"https://{OPERATOR_TRACKER}/e.html"]
        # Back and forward (popstate) still work, and stay guarded.
        await page.go_back()
        await page.wait_for_function("document.getElementById('view').textContent == 'home'")
        await page.go_forward()
        await page.wait_for_selector("#spa-embed", state="attached")
        assert await network.settle(page, set()) == set()
        await page.evaluate("window.samePage = true")
        await choose(page, "analytics", "preferences", "marketing")
        expected = {"www.youtube-nocookie.com", OPERATOR_TRACKER}
        assert expected <= await network.settle(page, expected)
        assert await page.evaluate("window.samePage") is True


async def test_the_guard_files_every_url_as_the_server_does(chromium: str, base: str) -> None:
    # Differential: every pattern of the table the guard got, spelt the ways browsers accept,
    # judged by guard.js (an image's label, for a visitor who has allowed nothing) and by
    # the server's rules.
    services, purposes = names_for(settings(), strict=True)
    rules = blocking_rules_for(settings(), purposes, services)
    table = host_table(rules)
    urls = [
        "/local.gif",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "https://example.org/p.gif",
        "https://facebook.com.example.org/tr",
        "https://cdn7.track.test/px/1.gif",
        "https://cdn7.track.test/other.gif",
        "https://www.googletagmanager.com/gtag/js?id=AW-123",
        "https://www.googletagmanager.com/gtag/js?id=G-123",
    ]
    for hosts, _ in table["t"]:
        for host, paths in hosts.items():
            for prefix, _ in paths:
                urls += [
                    f"https://{host}{prefix or '/'}x",
                    f"//sub.{host}{prefix}",
                    f"HTTP://{host.upper()}.{prefix}",
                ]
    allowed = purposes.allowed(rules.required, frozenset())  # necessary, and its services
    expected = []
    for url in urls:
        key = rules.category_of_url(url)
        expected.append(key if key is not None and key not in allowed else None)
    async with visitor(chromium, base) as (page, _):
        await page.goto(base + "/guard/")
        found = await page.evaluate(
            """(urls) => urls.map((url) => {
                const image = new Image();
                image.src = url;
                return image.dataset.consent || null;
            })""",
            urls,
        )
    assert len(urls) > 500
    assert dict(zip(urls, found, strict=True)) == dict(zip(urls, expected, strict=True))
