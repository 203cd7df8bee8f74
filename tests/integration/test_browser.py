"""One real Chromium pass per framework: what leaves the browser before and after consent.

Every request the page attempts goes through ``context.route("**/*")``: loopback requests
continue to the server, any other is recorded and answered with an empty 200, so nothing
leaves the machine. Before consent no tracker host may be asked for anything; after a
click on "Accept all" the Google tag and the video are requested. The control (the same
page under an excluded path) proves that this harness does see tracker requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import anyio
import pytest
from playwright.async_api import BrowserContext, Route, async_playwright

from tests.browser.conftest import CHROMIUM_ARGS
from tests.integration.conftest import BROWSER_CELLS, Live, cells_param

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.integration,
    pytest.mark.browser,
    cells_param(BROWSER_CELLS),
]

TRACKERS = ("googletagmanager.com", "youtube.com")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


class Watch:
    """Records the host of every request that would leave the machine, and answers it."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self._changed = anyio.Event()

    async def handle(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK:
            await route.continue_()
            return
        self.hosts.append(host)
        self._changed.set()
        await route.fulfill(status=200, body="", content_type="text/plain")

    def requested(self, tracker: str) -> bool:
        return any(host == tracker or host.endswith("." + tracker) for host in self.hosts)

    async def wait_for(self, *trackers: str) -> None:
        """Until every tracker was requested (bounded: a missing one fails the test)."""
        with anyio.move_on_after(15):
            while not all(self.requested(t) for t in trackers):
                self._changed = anyio.Event()
                await self._changed.wait()
        missing = [t for t in trackers if not self.requested(t)]
        assert not missing, f"never requested {missing}; requests seen: {self.hosts}"


@asynccontextmanager
async def watched(chromium: str) -> AsyncIterator[tuple[BrowserContext, Watch]]:
    """A fresh headless Chromium context whose every request goes through a `Watch`."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1000, "height": 700})
            watch = Watch()
            await context.route("**/*", watch.handle)
            yield context, watch
            await context.close()
        finally:
            await browser.close()


async def test_control_page_shows_the_harness_sees_trackers(chromium: str, live: Live) -> None:
    async with watched(chromium) as (context, watch):
        page = await context.new_page()
        await page.goto(live.url + "/admin/tracker", wait_until="load")
        await watch.wait_for(*TRACKERS)


async def test_no_tracker_request_before_consent_and_both_after_accept_all(
    chromium: str, live: Live
) -> None:
    async with watched(chromium) as (context, watch):
        page = await context.new_page()
        await page.goto(live.url + "/page", wait_until="networkidle")
        assert await page.locator("#consent-banner").is_visible()
        assert not [h for h in watch.hosts if any(h.endswith(t) for t in TRACKERS)], watch.hosts
        await page.locator("#consent-banner").get_by_role("button", name="Accept all").click()
        await watch.wait_for(*TRACKERS)
        state = await (await page.request.get(live.url + "/_consent")).json()
        assert state["decided"] is True
        assert "analytics" in state["granted"]
