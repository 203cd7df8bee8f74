"""What a visitor sees and does, in headless Chromium against the live demo site."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import browser_context

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

ARTICLE = "/news/harbour-bridge"


async def cookie_names(page: Page) -> set[str]:
    return {cookie["name"] for cookie in await page.context.cookies()}


async def consent_state(page: Page, base: str) -> Any:
    response = await page.request.get(base + "/_consent")
    return await response.json()


async def test_banner_without_javascript_works_as_plain_forms(
    chromium: str, live_server: str
) -> None:
    async with browser_context(chromium, java_script_enabled=False) as context:
        page = await context.new_page()
        await page.goto(live_server + ARTICLE)
        banner = page.locator("#consent-banner")
        await expect(banner).to_be_visible()
        for name in ("Accept all", "Reject all"):
            await expect(banner.get_by_role("button", name=name)).to_be_visible()
        # trackers are inert in the HTML the browser received
        assert await page.locator('iframe[data-consent-src*="youtube"]').count() == 1
        assert await page.locator("iframe[src*='youtube']").count() == 0
        await banner.get_by_role("button", name="Reject all").click()
        await page.wait_for_url(live_server + ARTICLE)
        await expect(page.locator("#consent-banner")).to_have_count(0)
        await expect(page.locator("#consent-settings")).to_be_visible()
        state = await consent_state(page, live_server)
        assert state["decided"] is True
        assert state["granted"] == ["necessary"]
        consent_cookie = next(c for c in await context.cookies() if c["name"] == "consent")
        assert consent_cookie["httpOnly"] is True
        assert consent_cookie["sameSite"] == "Lax"


async def test_customise_without_javascript(chromium: str, live_server: str) -> None:
    async with browser_context(chromium, java_script_enabled=False) as context:
        page = await context.new_page()
        await page.goto(live_server + ARTICLE)
        banner = page.locator("#consent-banner")
        await banner.locator("summary").click()
        await banner.get_by_label("Analytics", exact=True).check()
        await banner.get_by_role("button", name="Save").click()
        await page.wait_for_url(live_server + ARTICLE)
        state = await consent_state(page, live_server)
        assert state["granted"] == ["necessary", "analytics"]


async def test_accept_runs_granted_scripts_without_a_reload(
    chromium: str, live_server: str
) -> None:
    async with browser_context(chromium) as context:
        page = await context.new_page()
        await page.goto(live_server + ARTICLE)
        assert await page.evaluate("window.siteScriptRan") is True  # first-party, necessary
        assert await page.evaluate("window.demoAnalytics") is None  # blocked
        await page.evaluate("window.sameDocument = true")
        await page.evaluate(
            "document.addEventListener('consent:change', e => { window.changed = e.detail })"
        )
        await page.get_by_role("button", name="Accept all").click()
        handle = await page.wait_for_function("window.changed", timeout=10_000)
        detail = await handle.json_value()
        assert "analytics" in detail["granted"]
        await expect(page.locator("#consent-banner")).to_be_hidden()
        await page.wait_for_function("window.demoAnalytics === 1")
        assert await page.evaluate("window.sameDocument") is True  # no reload happened
        iframe = page.locator("iframe[title='Council debate (video)']")
        assert (await iframe.get_attribute("src") or "").startswith("https://www.youtube.com/")
        assert await page.evaluate("window.consent.allows('marketing')") is True
        assert "_pk_id.1.demo" in await cookie_names(page)


async def test_reject_keeps_everything_inert(chromium: str, live_server: str) -> None:
    async with browser_context(chromium) as context:
        page = await context.new_page()
        await page.goto(live_server + ARTICLE)
        await page.get_by_role("button", name="Reject all").click()
        await expect(page.locator("#consent-banner")).to_be_hidden()
        await expect(page.locator("#consent-settings")).to_be_visible()
        assert await page.evaluate("window.demoAnalytics") is None
        assert await page.evaluate("window.consent.allows('analytics')") is False
        await page.reload()
        await expect(page.locator("#consent-banner")).to_have_count(0)
        assert await page.evaluate("window.demoAnalytics") is None
        # server-set cookies of declined categories never arrive
        await page.request.get(live_server + "/track")
        assert not {"_ga", "_fbp"} & await cookie_names(page)


async def test_withdrawal_reloads_and_clears_cookies(chromium: str, live_server: str) -> None:
    async with browser_context(chromium) as context:
        page = await context.new_page()
        await page.goto(live_server + ARTICLE)
        await page.get_by_role("button", name="Accept all").click()
        await page.wait_for_function("window.demoAnalytics === 1")
        await page.request.get(live_server + "/track")
        assert {"_ga", "_fbp", "_pk_id.1.demo"} <= await cookie_names(page)
        await page.evaluate("window.sameDocument = true")
        await page.locator("#consent-settings").click()
        banner = page.locator("#consent-banner")
        await expect(banner).to_be_visible()
        await banner.get_by_label("Analytics", exact=True).uncheck()
        async with page.expect_navigation():
            await banner.get_by_role("button", name="Save").click()
        assert await page.evaluate("window.sameDocument") is None  # reloaded
        assert await page.evaluate("window.demoAnalytics") is None
        names = await cookie_names(page)
        assert "_ga" not in names
        assert "_pk_id.1.demo" not in names  # set by a script, expired by the server
        assert "_fbp" in names


async def test_keyboard_only(chromium: str, live_server: str) -> None:
    async with browser_context(chromium) as context:
        page = await context.new_page()
        await page.goto(live_server + ARTICLE)
        for _ in range(12):
            await page.keyboard.press("Tab")
            label = await page.evaluate("document.activeElement.textContent.trim()")
            if label == "Reject all":
                break
        else:
            pytest.fail("Reject all is not reachable with the Tab key")
        await page.keyboard.press("Enter")
        await expect(page.locator("#consent-banner")).to_be_hidden()
        focused = await page.evaluate("document.activeElement.id")
        assert focused == "consent-settings"
        await page.keyboard.press("Enter")
        banner = page.locator("#consent-banner")
        await expect(banner).to_be_visible()
        assert await page.evaluate("document.activeElement.name") == "categories"
        await page.keyboard.press("Space")
        assert await page.evaluate("document.activeElement.checked") is True


async def test_banner_is_in_first_paint_and_shifts_nothing(chromium: str, live_server: str) -> None:
    async with browser_context(chromium) as context:
        page = await context.new_page()
        await page.add_init_script(
            """
            window.layoutShift = 0;
            new PerformanceObserver(list => {
              for (const entry of list.getEntries())
                if (!entry.hadRecentInput) window.layoutShift += entry.value;
            }).observe({type: 'layout-shift', buffered: true});
            document.addEventListener('DOMContentLoaded', () => {
              const banner = document.getElementById('consent-banner');
              window.bannerAtDomReady = !!banner && banner.getBoundingClientRect().height > 0;
            });
            """
        )
        await page.goto(live_server + ARTICLE, wait_until="load")
        await page.wait_for_timeout(300)
        assert await page.evaluate("window.bannerAtDomReady") is True
        assert await page.evaluate("window.layoutShift") < 0.01
        box = await page.locator("#consent-banner").bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 700 + 1  # inside the viewport, fixed at the bottom


async def test_preferences_page_works_and_shows_the_consent_id(
    chromium: str, live_server: str
) -> None:
    async with browser_context(chromium, java_script_enabled=False) as context:
        page = await context.new_page()
        await page.goto(live_server + "/_consent/preferences?next=/news/heatwave")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await page.get_by_label("Marketing", exact=True).check()
        await page.get_by_role("button", name="Save").click()
        await page.wait_for_url(lambda url: "/_consent/preferences?saved=1" in url)
        state = await consent_state(page, live_server)
        assert state["granted"] == ["necessary", "marketing"]
        assert "id" not in state  # page scripts never see the consent id ...
        cookie = next(c for c in await page.context.cookies() if c["name"] == "consent")
        consent_id = cookie["value"].split("|")[1]  # signed, not encrypted: "1|<id>|..."
        assert consent_id in await page.locator("main").inner_text()  # ... the visitor does
        assert await page.get_by_label("Marketing", exact=True).is_checked()
        await page.get_by_role("link", name="Back to the site").click()
        await page.wait_for_url(live_server + "/news/heatwave")
