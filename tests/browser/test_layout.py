"""The banner on real pages, in headless Chromium: phones with pages that overflow sideways,
class-based dark mode, where the settings control sits, a footer link instead of it, and
``window.consent.get()`` across a reload (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.browser.conftest import browser_context
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

#: A phone held upright (an iPhone SE's CSS size), with touch and the mobile viewport rules.
PHONE: dict[str, Any] = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

#: A page as blogs have them: a fixed-size video embed wider than a phone (first party here,
#: so nothing is blocked), a long article and a footer link to the cookie settings.
PAGE = """<!doctype html>
<html lang="en"{theme}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Video of the week</title>
</head>
<body>
<main>
<h1>Video of the week</h1>
<iframe width="560" height="315" src="/frame" title="Video"></iframe>
<p style="min-height: 3000px">The article.</p>
</main>
<footer><a id="footer-settings" href="/_consent/preferences"{open}>Cookie settings</a></footer>
</body>
</html>
"""

#: The part of an element outside the visual viewport, in CSS pixels (0 when inside).
OUTSIDE = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  const v = window.visualViewport;
  return {
    left: Math.max(0, v.offsetLeft - r.left),
    top: Math.max(0, v.offsetTop - r.top),
    right: Math.max(0, r.right - (v.offsetLeft + v.width)),
    bottom: Math.max(0, r.bottom - (v.offsetTop + v.height)),
  };
}"""


async def _page(request: Request) -> HTMLResponse:
    theme = request.query_params.get("theme")
    return HTMLResponse(
        PAGE.format(
            theme=f' class="{theme}"' if theme else "",
            open=" data-consent-open" if "open" in request.query_params else "",
        )
    )


async def _frame(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>Video</title><p>Video")


@contextmanager
def site(**banner: Any) -> Iterator[str]:
    """The page above under the middleware with ``banner`` settings, served over TCP."""
    app = Starlette(routes=[Route("/", _page), Route("/frame", _frame)])
    settings = make_settings(banner={"privacy_policy_url": "/privacy", **banner})
    with serve_in_thread(ConsentMiddleware(app, settings)) as base:
        yield base


async def assert_in_visual_viewport(page: Page, selector: str) -> None:
    await expect(page.locator(selector)).to_be_visible()
    # the banner's slide-in (1em from below) is over
    await page.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
    outside = await page.evaluate(OUTSIDE, selector)
    assert all(v <= 1 for v in outside.values()), (selector, outside)


async def tap(page: Page, selector: str) -> None:
    """Tap the middle of an element where the visitor sees it.

    Playwright's ``click`` aims at layout-viewport coordinates, which miss once the visual
    viewport has moved inside a wider layout viewport; a finger aims at the screen.
    """
    x, y = await page.evaluate(
        """(selector) => {
          const r = document.querySelector(selector).getBoundingClientRect();
          const v = window.visualViewport;
          return [r.left + r.width / 2 - v.offsetLeft, r.top + r.height / 2 - v.offsetTop];
        }""",
        selector,
    )
    await page.touchscreen.tap(x, y)


# -- phones, pages wider than the screen --------------------------------------------------


@pytest.mark.parametrize("position", ["bottom-left", "top-right"])
async def test_banner_and_settings_control_stay_on_a_phone_screen(
    chromium: str, position: str
) -> None:
    with site(settings_button_position=position) as base:
        async with browser_context(chromium, **PHONE) as context:
            page = await context.new_page()
            await page.goto(base + "/")
            # The embed makes the page (and the phone's layout viewport) wider than the screen.
            assert await page.evaluate("document.documentElement.scrollWidth") > 375
            await assert_in_visual_viewport(page, "#consent-banner")
            # Scrolling first moves the visual viewport inside the wider layout viewport.
            await page.mouse.move(100, 100)
            await page.mouse.wheel(120, 600)
            await page.wait_for_function("visualViewport.offsetTop > 0")
            await page.wait_for_timeout(100)  # the last scroll event
            await assert_in_visual_viewport(page, "#consent-banner")

            await tap(page, "#consent-banner button[value=reject_all]")
            await expect(page.locator("#consent-banner")).to_be_hidden()
            await assert_in_visual_viewport(page, "#consent-settings")
            await page.reload()
            await assert_in_visual_viewport(page, "#consent-settings")
            box = await page.locator("#consent-settings").bounding_box()
            assert box is not None
            vertical, horizontal = position.split("-")
            assert (box["y"] < 667 / 2) == (vertical == "top")
            assert (box["x"] > 375 / 2) == (horizontal == "right")


async def test_without_javascript_the_banner_starts_on_a_phone_screen(chromium: str) -> None:
    with site() as base:
        async with browser_context(chromium, java_script_enabled=False, **PHONE) as context:
            page = await context.new_page()
            await page.goto(base + "/")
            await assert_in_visual_viewport(page, "#consent-banner")
            await page.get_by_role("button", name="Reject all").click()
            await page.wait_for_url(base + "/")
            await assert_in_visual_viewport(page, "#consent-settings")


# -- class-based dark mode ---------------------------------------------------------------

WHITE, DARK = "rgb(255, 255, 255)", "rgb(29, 30, 34)"


@pytest.mark.parametrize(
    ("theme", "color_scheme", "background"),
    [
        (None, "light", WHITE),
        (None, "dark", DARK),
        ("dark", "light", DARK),  # Tailwind-style `.dark` on <html>
        ("light", "dark", WHITE),  # `.light` wins over the system's dark preference
    ],
)
async def test_dark_mode_follows_a_class_on_html(
    chromium: str, theme: str | None, color_scheme: str, background: str
) -> None:
    with site() as base:
        async with browser_context(chromium, color_scheme=color_scheme) as context:
            page = await context.new_page()
            await page.goto(base + "/" + (f"?theme={theme}" if theme else ""))
            banner = page.locator("#consent-banner")
            await expect(banner).to_have_css("background-color", background)
            await page.get_by_role("button", name="Reject all").click()
            await expect(page.locator("#consent-settings")).to_have_css(
                "background-color", background
            )
            await page.reload()
            await expect(page.locator("#consent-settings")).to_have_css(
                "background-color", background
            )


async def test_class_based_dark_banner_passes_axe(chromium: str) -> None:
    with site() as base:
        async with browser_context(chromium, color_scheme="light") as context:
            page = await context.new_page()
            await page.goto(base + "/?theme=dark")
            await page.locator("#consent-banner summary").click()
            results = await Axe().run(page, context="#consent-banner")
            severe = [
                (v["id"], v["impact"])
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert severe == []


# -- a footer link instead of the floating control ----------------------------------------


@pytest.mark.parametrize("javascript", [True, False])
async def test_footer_link_replaces_the_settings_control(chromium: str, javascript: bool) -> None:
    with site(show_settings_button=False) as base:
        async with browser_context(chromium, java_script_enabled=javascript) as context:
            page = await context.new_page()
            await page.goto(base + "/")
            await page.get_by_role("button", name="Accept all").click()
            if javascript:
                await expect(page.locator("#consent-banner")).to_be_hidden()
                await page.reload()
            else:  # the form posts and redirects back
                await page.wait_for_url(base + "/")
            assert await page.locator("#consent-settings").count() == 0
            # A plain link to the preferences page: withdrawing stays one page away.
            await page.locator("#footer-settings").click()
            await page.wait_for_url(lambda url: "/_consent/preferences" in url)
            await page.get_by_label("Analytics", exact=True).uncheck()
            await page.get_by_role("button", name="Save").click()
            await page.wait_for_url(lambda url: "saved=1" in url)
            state = await (await page.request.get(base + "/_consent")).json()
            assert state["decided"] is True
            assert "analytics" not in state["granted"]
            assert "analytics" in state["denied"]


async def test_data_consent_open_reopens_the_banner_in_place(chromium: str) -> None:
    with site(show_settings_button=False) as base:
        async with browser_context(chromium) as context:
            page = await context.new_page()
            await page.goto(base + "/?open")
            await page.get_by_role("button", name="Accept all").click()
            # The banner closes once the server has answered (and set the cookie).
            await expect(page.locator("#consent-banner")).to_be_hidden()
            await page.reload()
            await page.evaluate("window.sameDocument = true")
            footer_link = page.locator("#footer-settings")
            banner = page.locator("#consent-banner")

            await footer_link.click()
            await expect(banner).to_be_visible()
            await expect(banner.get_by_label("Analytics", exact=True)).to_be_checked()
            first_toggle = banner.get_by_label("Preferences", exact=True)
            await expect(first_toggle).to_be_focused()
            await page.keyboard.press("Escape")  # closes the customise layer ...
            await page.keyboard.press("Escape")  # ... then the banner: focus goes back
            await expect(banner).to_be_hidden()
            await expect(footer_link).to_be_focused()

            await footer_link.click()
            await expect(banner).to_be_visible()
            assert await page.evaluate("window.sameDocument") is True  # no navigation
            await banner.get_by_label("Analytics", exact=True).uncheck()
            async with page.expect_navigation():  # a withdrawal reloads
                await banner.get_by_role("button", name="Save").click()
            state = await page.evaluate("window.consent.get()")
            assert "analytics" in state["denied"]


# -- window.consent.get() -----------------------------------------------------------------


async def test_get_answers_the_same_after_a_reload(chromium: str) -> None:
    with site() as base:
        async with browser_context(chromium, extra_http_headers={"Sec-GPC": "1"}) as context:
            page = await context.new_page()
            await page.goto(base + "/")
            before = await page.evaluate("window.consent.get()")
            assert before["decided"] is False
            await page.locator("#consent-banner summary").click()
            await page.get_by_label("Analytics", exact=True).check()
            await page.get_by_role("button", name="Save").click()
            await expect(page.locator("#consent-banner")).to_be_hidden()
            decided = await page.evaluate("window.consent.get()")
            await page.reload()
            reloaded = await page.evaluate("window.consent.get()")
            assert decided == reloaded
            allowed = decided.pop("allowed")
            assert decided == {
                "revision": 1,
                "decided": True,
                "granted": ["necessary", "analytics"],
                "denied": ["preferences", "marketing"],
                "gpc": True,
            }
            # Every key allowed: the categories and their services (Google Analytics, ...).
            assert {"necessary", "analytics", "google-analytics", "recaptcha"} <= set(allowed)
            assert "youtube" not in allowed
            # A copy: a page script changing it changes nothing in banner.js.
            await page.evaluate("window.consent.get().granted.push('marketing')")
            assert await page.evaluate("window.consent.allows('marketing')") is False
