"""Services one by one in Chromium (issue 12): the customise layer lists each category's
services, with JavaScript and without.

A page embeds a YouTube and a Vimeo video. The visitor opens Customise, ticks YouTube alone
and saves: ``GET /_consent`` grants YouTube and nothing else optional, and the page loads the
YouTube frame only. The video hosts are answered by a stub on this machine (``route``), every
other name resolves nowhere: nothing leaves the machine.
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
from tests.browser.test_accessibility import severe_violations
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Videos</title></head>
<body><main><h1>Videos</h1>
<iframe id="yt" title="Council debate" src="https://www.youtube.com/embed/abc123"></iframe>
<iframe id="vm" title="Harbour timelapse" src="https://player.vimeo.com/video/4242"></iframe>
</main></body></html>"""
VIDEO_HOSTS = {"www.youtube.com": "youtube", "player.vimeo.com": "vimeo"}
VIDEO_STUBS = {
    host: Stub(name, "text/html", "<!doctype html><p>stub video</p>")
    for host, name in VIDEO_HOSTS.items()
}


async def videos(_: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    app = ConsentMiddleware(Starlette(routes=[Endpoint("/", videos)]), make_settings())
    with serve_in_thread(app) as base:
        yield base


def visitor(
    chromium: str, *, javascript: bool
) -> AbstractAsyncContextManager[tuple[Page, list[str]]]:
    """A fresh Chromium page and the list of video services it fetched a frame from."""
    return stubbed_visitor(chromium, VIDEO_STUBS, javascript=javascript)


async def consent_state(page: Page, base: str) -> Any:
    response = await page.request.get(base + "/_consent")
    return await response.json()


def granted_services(state: Any) -> set[str]:
    return {s["key"] for s in state["services"] if s["granted"]}


def required_services(state: Any) -> set[str]:
    return {s["key"] for s in state["services"] if s["category"] == "necessary"}


async def open_customise(page: Page) -> None:
    await page.locator("#consent-banner summary").click()
    await expect(page.locator("#consent-customise")).to_have_attribute("open", "")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_one_service_ticked_loads_that_service_only(
    chromium: str, site: str, javascript: bool
) -> None:
    async with visitor(chromium, javascript=javascript) as (page, fetched):
        await page.goto(site + "/")
        assert fetched == []  # both frames are placeholders before consent
        await open_customise(page)
        banner = page.locator("#consent-banner")
        youtube = banner.get_by_label("YouTube", exact=True)
        await expect(youtube).not_to_be_checked()
        await youtube.check()
        await page.evaluate("window.samePage = true")
        await banner.get_by_role("button", name="Save choices").click()
        if javascript:  # applied in place, without a reload
            await expect(banner).to_be_hidden()
            assert await page.evaluate("window.samePage") is True
        else:  # the plain post, back to the page
            await page.wait_for_url(site + "/")
        await expect(page.locator("#yt")).to_have_attribute(
            "src", "https://www.youtube.com/embed/abc123"
        )
        state = await consent_state(page, site)
        assert state["decided"] is True
        assert state["granted"] == ["necessary"]
        assert granted_services(state) == required_services(state) | {"youtube"}

        await page.reload()  # the server now sends the YouTube frame as it is
        await expect(page.locator("#yt")).to_have_attribute(
            "src", "https://www.youtube.com/embed/abc123"
        )
        assert await page.locator("#vm").get_attribute("src") is None
        assert await page.locator("#vm").get_attribute("data-consent-src") is not None
        await page.wait_for_load_state("load")
        assert set(fetched) == {"youtube"}
        assert len(fetched) >= 1


async def test_a_category_box_ticks_and_unticks_its_services(chromium: str, site: str) -> None:
    async with visitor(chromium, javascript=True) as (page, fetched):
        await page.goto(site + "/")
        await open_customise(page)
        banner = page.locator("#consent-banner")
        category = banner.get_by_label("Preferences", exact=True)
        youtube = banner.get_by_label("YouTube", exact=True)
        vimeo = banner.get_by_label("Vimeo", exact=True)
        await category.check()
        await expect(youtube).to_be_checked()
        await expect(vimeo).to_be_checked()
        await category.uncheck()
        await expect(youtube).not_to_be_checked()
        await expect(vimeo).not_to_be_checked()
        # Every service but Vimeo: unticking it unticks the category, the others stay.
        await category.check()
        await vimeo.uncheck()
        await expect(category).not_to_be_checked()
        await expect(youtube).to_be_checked()
        services = banner.locator("input[name=services]:checked")
        ticked = {await box.get_attribute("value") for box in await services.all()}
        assert "youtube" in ticked
        assert "vimeo" not in ticked
        await page.evaluate("window.samePage = true")
        await banner.get_by_role("button", name="Save choices").click()
        await expect(banner).to_be_hidden()
        assert await page.evaluate("window.samePage") is True
        state = await consent_state(page, site)
        assert state["granted"] == ["necessary"]
        assert granted_services(state) == required_services(state) | ticked
        await expect(page.locator("#yt")).to_have_attribute(
            "src", "https://www.youtube.com/embed/abc123"
        )
        assert "vimeo" not in fetched

        # Reopened: what was allowed is ticked, the category (not granted whole) is not.
        await page.reload()
        await page.locator("#consent-settings").click()
        await expect(banner).to_be_visible()
        await expect(youtube).to_be_checked()
        await expect(vimeo).not_to_be_checked()
        await expect(category).not_to_be_checked()


async def test_the_required_categorys_services_are_always_on(chromium: str, site: str) -> None:
    async with visitor(chromium, javascript=True) as (page, _):
        await page.goto(site + "/")
        await open_customise(page)
        stripe = page.locator("#consent-banner").get_by_label("Stripe", exact=True)
        await expect(stripe).to_be_checked()
        await expect(stripe).to_be_disabled()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_the_expanded_layer_with_services_passes_axe(
    chromium: str, site: str, color_scheme: str
) -> None:
    async with visitor(chromium, javascript=True) as (page, _):
        await page.emulate_media(color_scheme=color_scheme)  # type: ignore[arg-type]
        await page.goto(site + "/")
        await open_customise(page)
        await expect(page.locator("#consent-s-youtube")).to_be_visible()
        assert await severe_violations(page, "#consent-banner") == []
        await page.goto(site + "/_consent/preferences")
        await expect(page.locator("#consent-s-youtube")).to_be_visible()
        assert await severe_violations(page) == []
