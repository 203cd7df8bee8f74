"""Real-browser fixtures: the demo site on a live uvicorn server and headless Chromium.

Chromium comes from the system (Debian's ``chromium``); Playwright's own browser download
is not used. Without Chromium these tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from examples.newsroom import create_app
from playwright.async_api import BrowserContext, Page, Route, async_playwright

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


#: Every name resolves to nothing but loopback: even a request a route missed stays here.
HOST_RULES = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@dataclass(frozen=True)
class Stub:
    """What a third-party host answers in a test, and the name its fetches are listed by."""

    name: str
    content_type: str
    body: str = ""


@asynccontextmanager
async def stubbed_visitor(
    chromium: str,
    stubs: Mapping[str, Stub],
    *,
    javascript: bool,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[Page, list[str]]]:
    """A fresh page (sending ``headers`` on every request) whose third-party requests go
    to ``stubs`` (others are aborted), and the names of the stubs it fetched, in order."""
    fetched: list[str] = []

    async def answer(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        stub = stubs.get(host)
        if host == "127.0.0.1":
            await route.continue_()
        elif stub is not None:
            fetched.append(stub.name)
            await route.fulfill(status=200, content_type=stub.content_type, body=stub.body)
        else:
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, HOST_RULES]
        )
        context = await browser.new_context(
            java_script_enabled=javascript,
            viewport={"width": 1000, "height": 700},
            extra_http_headers=dict(headers or {}),
        )
        try:
            await context.route("**/*", answer)
            yield await context.new_page(), fetched
        finally:
            await context.close()
            await browser.close()
