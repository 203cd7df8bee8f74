"""Real-browser fixtures: the demo site on a live uvicorn server and headless Chromium.

Chromium comes from the system (Debian's ``chromium``); Playwright's own browser download
is not used. Without Chromium these tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from examples.newsroom import create_app
from playwright.async_api import BrowserContext, async_playwright

from consent.audit.crawler import CHROMIUM_ARGS as AUDIT_CHROMIUM_ARGS
from tests.support import make_settings, serve_in_thread

#: The flags `consent audit` runs Chromium with: the same browser the audit uses.
CHROMIUM_ARGS = list(AUDIT_CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo news site on a free loopback port, for the whole session."""
    app = create_app(make_settings(records={"enabled": False}))
    with serve_in_thread(app) as base:
        yield base


@asynccontextmanager
async def browser_context(chromium: str, **options: object) -> AsyncIterator[BrowserContext]:
    """A fresh headless Chromium context (no cookies), closed afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        options.setdefault("viewport", {"width": 1000, "height": 700})
        context = await browser.new_context(**options)  # type: ignore[arg-type]
        # The demo page names Google, Meta and YouTube; nothing leaves this machine.
        await context.route(
            lambda url: not url.startswith("http://127.0.0.1"),
            lambda route: route.abort(),
        )
        try:
            yield context
        finally:
            await context.close()
            await browser.close()
