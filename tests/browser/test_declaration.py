"""axe-core in Chromium: no serious or critical violation on the cookie declaration."""

from __future__ import annotations

import pytest

from tests.browser.conftest import browser_context
from tests.browser.test_accessibility import severe_violations

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [(1000, 700), (375, 700)])
async def test_declaration_page(
    chromium: str, live_server: str, color_scheme: str, viewport: tuple[int, int]
) -> None:
    width, height = viewport
    async with browser_context(
        chromium, color_scheme=color_scheme, viewport={"width": width, "height": height}
    ) as context:
        page = await context.new_page()
        response = await page.goto(live_server + "/_consent/cookies")
        assert response is not None
        assert response.status == 200
        # The page's one inline style applies under its CSP nonce.
        weight = await page.evaluate(
            "getComputedStyle(document.querySelector('.consent-declaration-status')).fontWeight"
        )
        assert weight == "600"
        # Narrow screens show each cookie as a card; nothing is wider than the screen.
        display = await page.evaluate(
            "getComputedStyle(document.querySelector('.consent-declaration-table tr')).display"
        )
        assert display == ("block" if width < 700 else "table-row")
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        assert await page.locator("#consent-declaration section").count() == 4
        assert await severe_violations(page) == []


@pytest.mark.parametrize("locale", ["de", "pl"])
async def test_declaration_page_in_other_languages(
    chromium: str, live_server: str, locale: str
) -> None:
    async with browser_context(chromium, locale=locale) as context:
        page = await context.new_page()
        await page.goto(live_server + "/_consent/cookies")
        assert await page.get_attribute("html", "lang") == locale
        assert await severe_violations(page) == []
