"""The law where the visitor is, in headless Chromium: location headers as a CDN adds them.

Every third-party request is answered on this machine (``route``) and written down, so the
tests see what the browser really fetched. The stub tags do what the real ones do: the
Meta pixel sets ``_fbp`` and Google's tag ``_ga`` from script.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from playwright.async_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as Endpoint

from consent import ConsentMiddleware
from tests.browser.conftest import Stub, stubbed_visitor
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST1"></script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
</head><body><main><h1>Shop</h1>
<img alt="" width="1" height="1" src="https://www.facebook.com/tr?id=1&amp;ev=PageView&amp;noscript=1">
</main></body></html>"""
#: Each tracker host, and what its stub script does when it runs.
STUBS = {
    host: Stub(host, "text/javascript", body)
    for host, body in {
        "www.googletagmanager.com": "document.cookie = '_ga=GA1.1.42.42; path=/';",
        "connect.facebook.net": "document.cookie = '_fbp=fb.1.42.42; path=/';",
        "www.facebook.com": "",
    }.items()
}
CALIFORNIA = {"CF-IPCountry": "US", "CF-Region-Code": "CA"}
BRITAIN = {"CF-IPCountry": "GB"}


async def shop(_: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    settings = make_settings(
        geolocation={"source": "cloudflare"}, policies={"uk": {"exempt": ["analytics"]}}
    )
    app = ConsentMiddleware(Starlette(routes=[Endpoint("/", shop)]), settings)
    with serve_in_thread(app) as base:
        yield base


def visitor(
    chromium: str, headers: dict[str, str], *, javascript: bool
) -> AbstractAsyncContextManager[tuple[Page, list[str]]]:
    """A fresh page sending ``headers`` on every request, and the tracker hosts it fetched."""
    return stubbed_visitor(chromium, STUBS, javascript=javascript, headers=headers)


async def runs(page: Page, host: str, fetched: list[str], *, javascript: bool) -> bool:
    """Whether the page runs ``host``'s script: fetched, with JavaScript; without it nothing
    runs, so the markup is the evidence (a live ``src`` the browser would run)."""
    if javascript:
        return host in fetched
    live = page.locator(f'script[src*="{host}"]:not([type="text/plain"])')
    return await live.count() > 0


async def cookie_names(page: Page) -> set[str]:
    return {cookie["name"] for cookie in await page.context.cookies()}


async def state(page: Page, base: str) -> Any:
    return await (await page.request.get(base + "/_consent")).json()


@pytest.mark.parametrize("javascript", [True, False])
async def test_a_californian_with_gpc(chromium: str, site: str, javascript: bool) -> None:
    headers = {**CALIFORNIA, "Sec-GPC": "1"}
    async with visitor(chromium, headers, javascript=javascript) as (page, fetched):
        await page.goto(site + "/")
        notice = page.locator("#consent-banner")
        await expect(notice).to_be_visible()
        await expect(notice.locator("#consent-gpc")).to_have_text("Opt-out request honored")
        await page.wait_for_load_state("networkidle")
        assert not await runs(page, "connect.facebook.net", fetched, javascript=javascript)
        assert "www.facebook.com" not in fetched  # the pixel image neither
        # Statistics run: an opt-out state needs no consent for them.
        assert await runs(page, "www.googletagmanager.com", fetched, javascript=javascript)
        names = await cookie_names(page)
        assert "_fbp" not in names
        if javascript:
            assert "_ga" in names  # set by the running stub tag

        await notice.get_by_role("button", name="OK").click()
        await expect(page.locator("#consent-banner")).to_have_count(0 if not javascript else 1)
        await expect(page.locator("#consent-banner")).to_be_hidden()
        control = page.locator("#consent-settings")
        await expect(control).to_be_visible()
        await expect(control).to_contain_text("Your Privacy Choices")
        await expect(control).to_contain_text("Opt-out request honored")
        decided = await state(page, site)
        assert "marketing" in decided["denied"]
        assert "marketing" not in decided["allowed"]


@pytest.mark.parametrize("javascript", [True, False])
async def test_a_californian_opts_out_on_the_choices_page(
    chromium: str, site: str, javascript: bool
) -> None:
    async with visitor(chromium, CALIFORNIA, javascript=javascript) as (page, fetched):
        await page.goto(site + "/")
        await page.wait_for_load_state("networkidle")
        # Opt-out: the ad tags run until the visitor says no.
        assert await runs(page, "connect.facebook.net", fetched, javascript=javascript)
        assert "www.facebook.com" in fetched
        await expect(page.locator("#consent-gpc")).to_have_count(0)

        await page.get_by_role("link", name="Your Privacy Choices").first.click()
        await expect(page).to_have_title("Your Privacy Choices")
        marketing = page.get_by_label("Marketing", exact=True)
        await expect(marketing).to_be_checked()  # what runs now
        await marketing.uncheck()
        await page.get_by_role("button", name="Save choices").click()
        await page.wait_for_url(lambda url: "saved=1" in url)

        fetched.clear()
        await page.goto(site + "/")
        await page.wait_for_load_state("networkidle")
        assert not await runs(page, "connect.facebook.net", fetched, javascript=javascript)
        assert "www.facebook.com" not in fetched
        assert await runs(page, "www.googletagmanager.com", fetched, javascript=javascript)
        assert "_fbp" not in await cookie_names(page)


@pytest.mark.parametrize("javascript", [True, False])
async def test_uk_statistics_run_until_the_visitor_objects(
    chromium: str, site: str, javascript: bool
) -> None:
    async with visitor(chromium, BRITAIN, javascript=javascript) as (page, fetched):
        await page.goto(site + "/")
        banner = page.locator("#consent-banner")
        await expect(banner).to_be_visible()
        await expect(banner.locator("#consent-exempt")).to_contain_text("Analytics")
        await page.wait_for_load_state("networkidle")
        assert await runs(page, "www.googletagmanager.com", fetched, javascript=javascript)
        assert not await runs(page, "connect.facebook.net", fetched, javascript=javascript)
        assert "www.facebook.com" not in fetched

        await banner.get_by_text("Customise").click()
        analytics = banner.get_by_label("Analytics", exact=True)
        await expect(analytics).to_be_checked()  # on, and one untick away from off
        await analytics.uncheck()
        async with page.expect_navigation():  # JS: a withdrawal reloads; no JS: a post
            await banner.get_by_role("button", name="Save choices").click()
        fetched.clear()
        await page.goto(site + "/")
        await page.wait_for_load_state("networkidle")
        assert not await runs(page, "www.googletagmanager.com", fetched, javascript=javascript)
        assert "analytics" in (await state(page, site))["denied"]


async def test_a_visit_from_an_ad_lands_on_the_clean_url(chromium: str, site: str) -> None:
    async with visitor(chromium, {}, javascript=True) as (page, _):
        await page.goto(site + "/?gclid=Cj0KCQ&q=shoes")
        assert page.url == site + "/?q=shoes"  # Chromium followed the redirect
        await expect(page.locator("#consent-banner")).to_be_visible()
