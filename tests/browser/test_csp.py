"""In Chromium: a declined visitor's CSP no longer admits declined trackers, so a tracker
script injected at run time is refused by the browser itself, and the report it sends is
counted by ``<path>/csp-report``; a granted visitor's policy is the app's, byte for byte.

Tracker hosts never leave the machine: ``context.route`` answers them. Requests the route
sees are recorded, so a refused load is proven twice: the browser fired
``securitypolicyviolation`` for it (CSP, not a script guard, stopped it: a guard that
neutralises an element fires no violation) and no request for it left the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Route, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as AppRoute

from consent import ConsentMiddleware
from tests.browser.conftest import CHROMIUM_ARGS
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

TRACKER_SCRIPT = "https://www.google-analytics.com/analytics.js"
APP_CSP = (
    "default-src 'self'; script-src 'self' https://www.google-analytics.com "
    "https://www.googletagmanager.com https://connect.facebook.net; "
    "connect-src 'self' https://www.google-analytics.com https://*.facebook.com; "
    "img-src 'self' data: https://www.facebook.com; report-uri /csp-collector"
)
#: The same, without reporting of its own: ours is added (report-uri and report-to).
SILENT_CSP = APP_CSP.removesuffix("; report-uri /csp-collector")
PAGE = "<!doctype html><html><head><title>CSP</title></head><body><p>Hello</p></body></html>"

# Injects a tracker script the way no script guard sees it (the element is made and
# inserted with the DOM methods of a fresh same-origin frame, not the page's own), and
# collects the browser's CSP violation events.
INJECT = """
async (src) => {
  const violations = [];
  document.addEventListener("securitypolicyviolation", (e) => violations.push({
    blocked: e.blockedURI, directive: e.effectiveDirective, disposition: e.disposition}));
  const frame = document.createElement("iframe");
  document.body.appendChild(frame);
  const realm = frame.contentWindow;
  const script = realm.document.createElement("script");
  script.src = src;
  const outcome = await new Promise((resolve) => {
    script.onload = () => resolve("loaded");
    script.onerror = () => resolve("refused");
    realm.Node.prototype.appendChild.call(document.head, script);
  });
  await new Promise((resolve) => setTimeout(resolve, 0));  // events are queued as tasks
  return {outcome, violations};
}
"""


async def page_view(request: Request) -> HTMLResponse:
    policy = SILENT_CSP if "silent" in request.query_params else APP_CSP
    return HTMLResponse(PAGE, headers={"content-security-policy": policy})


async def collector(request: Request) -> Response:
    """The app's own report collector (its ``report-uri``)."""
    APP_REPORTS.append(await request.body())
    return Response(status_code=204)


APP_REPORTS: list[bytes] = []


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, ConsentMiddleware]]:
    """A page whose app CSP admits every tracker host it names, behind the middleware."""
    app = ConsentMiddleware(
        Starlette(
            routes=[
                AppRoute("/", page_view),
                AppRoute("/csp-collector", collector, methods=["POST"]),
            ]
        ),
        make_settings(banner={"locales": ["en"]}),
    )
    with serve_in_thread(app) as base:
        yield base, app


@asynccontextmanager
async def chromium_context(chromium: str) -> AsyncIterator[tuple[BrowserContext, list[str]]]:
    """Headless Chromium with every non-loopback request answered locally and recorded."""
    seen: list[str] = []

    async def tracker(route: Route) -> None:
        seen.append(route.request.url)
        await route.fulfill(status=200, content_type="text/javascript", body="window.ga = 1;")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = await browser.new_context()
        await context.route(lambda url: not url.startswith("http://127.0.0.1"), tracker)
        try:
            yield context, seen
        finally:
            await context.close()
            await browser.close()


async def decide(context: BrowserContext, base: str, action: str) -> None:
    response = await context.request.post(base + "/_consent", form={"action": action})
    assert response.ok


async def counted(app: ConsentMiddleware, host: str) -> list[dict[str, Any]]:
    """The report endpoint's rows for ``host``, once the browser's report has arrived."""
    assert app.csp_reports is not None
    for _ in range(400):  # the browser posts its report on its own: wait for it
        rows = [r for r in app.csp_reports.snapshot()["violations"] if r["host"] == host]
        if rows:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"no report for {host} arrived")


async def test_declined_visitor_browser_refuses_injected_tracker(
    chromium: str, site: tuple[str, ConsentMiddleware]
) -> None:
    base, app = site
    async with chromium_context(chromium) as (context, seen):
        await decide(context, base, "reject_all")
        page = await context.new_page()
        response = await page.goto(base + "/")
        assert response is not None
        policy = await response.header_value("content-security-policy")
        assert policy is not None
        for host in ("google-analytics", "googletagmanager", "facebook"):
            assert host not in policy
        # the app's collector keeps its reports; ours joins it (report-uri takes several)
        assert policy.endswith("report-uri /csp-collector /_consent/csp-report")

        result = await page.evaluate(INJECT, TRACKER_SCRIPT)

        assert result["outcome"] == "refused"
        assert {
            "blocked": TRACKER_SCRIPT,
            "directive": "script-src-elem",
            "disposition": "enforce",
        } in result["violations"]
        assert not any("google-analytics" in url for url in seen)
        rows = await counted(app, "www.google-analytics.com")
        assert {(r["category"], r["directive"], r["disposition"]) for r in rows} == {
            ("analytics", "script-src-elem", "enforce")
        }
        assert APP_REPORTS  # the app's own collector got it too


async def test_policy_without_reporting_reports_to_us(
    chromium: str, site: tuple[str, ConsentMiddleware]
) -> None:
    """Chromium delivers ``report-to`` reports in batches, so this one checks what the
    browser was told and that it refused the load, not the delivery."""
    base, _ = site
    async with chromium_context(chromium) as (context, seen):
        await decide(context, base, "reject_all")
        page = await context.new_page()
        response = await page.goto(base + "/?silent")
        assert response is not None
        policy = await response.header_value("content-security-policy")
        assert policy is not None
        assert policy.endswith("report-uri /_consent/csp-report; report-to consent-csp")
        endpoints = await response.header_value("reporting-endpoints")
        assert endpoints == 'consent-csp="/_consent/csp-report"'

        result = await page.evaluate(INJECT, "https://connect.facebook.net/en_US/fbevents.js")

        assert result["outcome"] == "refused"
        assert [v["directive"] for v in result["violations"]] == ["script-src-elem"]
        assert seen == []


async def test_granted_visitor_keeps_the_app_policy(
    chromium: str, site: tuple[str, ConsentMiddleware]
) -> None:
    base, _ = site
    async with chromium_context(chromium) as (context, seen):
        await decide(context, base, "accept_all")
        page = await context.new_page()
        response = await page.goto(base + "/")
        assert response is not None
        assert await response.header_value("content-security-policy") == APP_CSP
        assert await response.header_value("reporting-endpoints") is None

        result = await page.evaluate(INJECT, TRACKER_SCRIPT)

        assert result == {"outcome": "loaded", "violations": []}
        assert TRACKER_SCRIPT in seen  # the control: the harness sees tracker loads
