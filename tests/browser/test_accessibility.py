"""axe-core in Chromium: no serious or critical violation on the banner or the preferences page."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from tests.browser.conftest import browser_context

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

SEVERE = {"serious", "critical"}


async def severe_violations(page: Page, context: Any = None) -> list[tuple[str, str, int]]:
    results = await Axe().run(page, context=context)
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in SEVERE
    ]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [(1000, 700), (375, 700)])
async def test_banner_first_and_second_layer(
    chromium: str, live_server: str, color_scheme: str, viewport: tuple[int, int]
) -> None:
    width, height = viewport
    async with browser_context(
        chromium,
        color_scheme=color_scheme,
        viewport={"width": width, "height": height},
    ) as context:
        page = await context.new_page()
        await page.goto(live_server + "/news/harbour-bridge")
        assert await severe_violations(page, "#consent-banner") == []
        await page.locator("#consent-banner summary").click()
        assert await severe_violations(page, "#consent-banner") == []


async def test_banner_with_gpc_notice(chromium: str, live_server: str) -> None:
    async with browser_context(chromium, extra_http_headers={"Sec-GPC": "1"}) as context:
        page = await context.new_page()
        await page.goto(live_server + "/")
        assert await page.locator("#consent-gpc").count() == 1
        assert await severe_violations(page, "#consent-banner") == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_preferences_page(chromium: str, live_server: str, color_scheme: str) -> None:
    async with browser_context(chromium, color_scheme=color_scheme) as context:
        page = await context.new_page()
        await page.goto(live_server + "/_consent/preferences")
        assert await severe_violations(page) == []


async def test_settings_control_after_a_decision(chromium: str, live_server: str) -> None:
    async with browser_context(chromium) as context:
        page = await context.new_page()
        await page.goto(live_server + "/")
        await page.get_by_role("button", name="Reject all").click()
        await expect(page.locator("#consent-banner")).to_be_hidden()
        await page.reload()
        assert await severe_violations(page, "#consent-settings") == []
