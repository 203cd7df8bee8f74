"""Withdrawal that really withdraws, in headless Chromium on a real host name.

gtag.js writes ``_ga`` on the registrable domain (``Domain=.example.com``), and vendors
keep identifiers in ``localStorage``/``sessionStorage``: declining or withdrawing a
category must remove both. Chromium maps ``*.example.com`` to the loopback server
(``--host-resolver-rules``), so cookies, domains and the Public Suffix List behave as on a
real site.

The first tests need no browser: what the server hands ``banner.js``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.browser.conftest import CHROMIUM_ARGS
from tests.support import make_settings, serve_in_thread

HOST = "www.example.com"
RESOLVER = "--host-resolver-rules=MAP *.example.com 127.0.0.1, MAP example.com 127.0.0.1"
PAGE = "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1></body></html>"

# What analytics and ad scripts leave behind (names from data/storage.json), and one key of
# the site's own that must stay.
VENDOR_KEYS = {
    "localStorage": ["_hjUserAttributes", "AMP_unsent_0123456789", "ajs_user_id", "_gcl_ls"],
    "sessionStorage": ["_hjSessionStorageTest", "hjViewportId", "_cltk", "tt_sessionId"],
}
SITE_KEY = "cart"
PLANT = """([keys, site]) => {
  document.cookie = '_ga=GA1.1.123.456; domain=.example.com; path=/; max-age=3600';
  for (const [area, names] of Object.entries(keys)) {
    for (const name of names) window[area].setItem(name, '1');
  }
  localStorage.setItem(site, '3 items');
}"""
STORED = "() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].sort()"


# -- in Chromium ----------------------------------------------------------------------------------


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """A one-page site behind the middleware, as Chromium reaches it: on www.example.com."""
    app = ConsentMiddleware(Starlette(routes=[Route("/", _page)]), make_settings())
    with serve_in_thread(app) as base:
        yield f"http://{HOST}:{base.rsplit(':', 1)[1]}"


@asynccontextmanager
async def on_example_com(chromium: str, origin: str) -> AsyncIterator[BrowserContext]:
    """A fresh context of a Chromium that resolves *.example.com to this machine."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, RESOLVER]
        )
        context = await browser.new_context(viewport={"width": 1000, "height": 700})
        await context.route(lambda url: not url.startswith(origin + "/"), lambda r: r.abort())
        try:
            yield context
        finally:
            await context.close()
            await browser.close()


async def planted(page: Page) -> None:
    """Set ``_ga`` as gtag.js does (on the registrable domain) and the vendors' storage."""
    await page.evaluate(PLANT, [VENDOR_KEYS, SITE_KEY])
    # The renderer hands document.cookie writes to the browser's cookie store on its own
    # time: wait until the store has it (the assertion itself is unchanged).
    domains: list[str] = []
    for _ in range(50):
        domains = [c["domain"] for c in await page.context.cookies() if c["name"] == "_ga"]
        if domains:
            break
        await asyncio.sleep(0.1)
    assert domains == [".example.com"]
    stored = set(await page.evaluate(STORED))
    assert {SITE_KEY, *VENDOR_KEYS["localStorage"], *VENDOR_KEYS["sessionStorage"]} <= stored


async def cookie_names(page: Page) -> set[str]:
    return {cookie["name"] for cookie in await page.context.cookies()}


@pytest.mark.anyio
@pytest.mark.browser
async def test_reject_all_removes_ga_from_the_registrable_domain_and_vendor_storage(
    chromium: str, shop: str
) -> None:
    async with on_example_com(chromium, shop) as context:
        page = await context.new_page()
        await page.goto(shop + "/")
        await planted(page)
        await page.evaluate(
            "document.addEventListener('consent:change', e => { window.changed = e.detail })"
        )
        await page.get_by_role("button", name="Reject all").click()
        await page.wait_for_function("window.changed", timeout=10_000)
        await expect(page.locator("#consent-banner")).to_be_hidden()
        assert "_ga" not in await cookie_names(page)
        assert await page.evaluate(STORED) == [SITE_KEY]
        assert "consent" in await cookie_names(page)


@pytest.mark.anyio
@pytest.mark.browser
async def test_withdrawing_consent_removes_them_too(chromium: str, shop: str) -> None:
    async with on_example_com(chromium, shop) as context:
        page = await context.new_page()
        await page.goto(shop + "/")
        await page.get_by_role("button", name="Accept all").click()
        await expect(page.locator("#consent-banner")).to_be_hidden()
        await page.goto(shop + "/")  # a later page: everything granted, nothing removed
        await planted(page)
        await page.evaluate("window.sameDocument = true")
        await page.locator("#consent-settings").click()
        banner = page.locator("#consent-banner")
        await expect(banner).to_be_visible()
        async with page.expect_navigation():
            await banner.get_by_role("button", name="Reject all").click()
        assert await page.evaluate("window.sameDocument") is None  # withdrawal reloads
        assert "_ga" not in await cookie_names(page)
        assert await page.evaluate(STORED) == [SITE_KEY]
