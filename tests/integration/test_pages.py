"""HTML pages through real servers: banner in, trackers inert, helpers see the choice."""

from __future__ import annotations

import pytest

from tests.integration import markup
from tests.integration.apps.common import GTAG_SRC, YOUTUBE_SRC
from tests.integration.conftest import Live

pytestmark = pytest.mark.integration


def test_page_has_the_banner_right_after_body(live: Live) -> None:
    response = live.get("/page")
    assert response.status == 200, response.describe()
    assert response.content_type == "text/html"
    html = response.text
    banner = markup.by_id(html, "consent-banner")
    assert banner is not None, html
    assert banner[0] == "div"
    after_body = html.split("<body>", 1)[1].lstrip()
    assert after_body.startswith('<div id="consent-banner"'), after_body[:200]
    forms = [f for f in markup.elements(html, "form") if f.get("action") == "/_consent"]
    assert forms
    assert forms[0].get("method") == "post"


def test_tracker_script_is_inert_before_consent(live: Live) -> None:
    html = live.get("/page").text
    scripts = markup.scripts_loading(html, "googletagmanager.com")
    assert len(scripts) == 1, scripts
    (script,) = scripts
    assert script.get("type") == "text/plain", script
    assert not markup.is_live_script(script)
    assert GTAG_SRC in (script.get("src") or script.get("data-consent-src") or "")


def test_iframe_has_no_live_src_before_consent(live: Live) -> None:
    html = live.get("/page").text
    found = markup.by_id(html, "video")
    assert found is not None, html
    _, iframe = found
    assert iframe.get("src") is None, iframe
    assert iframe.get("data-consent-src") == YOUTUBE_SRC, iframe


def test_framework_helper_reads_the_choice(live: Live) -> None:
    """The page renders the choice through the framework's own helper (template/dependency)."""
    before = live.get("/page").text
    assert '<p id="consent-state">analytics=no</p>' in before
    after = live.get("/page", cookies=live.accepted()).text
    assert '<p id="consent-state">analytics=yes</p>' in after


def test_after_accepting_trackers_are_live_and_the_banner_gone(live: Live) -> None:
    response = live.get("/page", cookies=live.accepted())
    assert response.status == 200, response.describe()
    html = response.text
    assert markup.by_id(html, "consent-banner") is None
    (script,) = markup.scripts_loading(html, "googletagmanager.com")
    assert markup.is_live_script(script), script
    _, iframe = markup.by_id(html, "video") or ("", {})
    assert iframe.get("src") == YOUTUBE_SRC, iframe


def test_page_varies_by_cookie(live: Live) -> None:
    response = live.get("/page")
    tokens = {t.strip().lower() for v in response.headers("vary") for t in v.split(",")}
    assert "cookie" in tokens, response.describe()


def test_excluded_path_is_served_as_the_app_sent_it(live: Live) -> None:
    """The control page (under ``/admin``, excluded by every recipe) keeps its trackers."""
    response = live.get("/admin/tracker")
    assert response.status == 200, response.describe()
    html = response.text
    assert markup.by_id(html, "consent-banner") is None
    (script,) = markup.scripts_loading(html, "googletagmanager.com")
    assert markup.is_live_script(script), script
    assert f'<script async src="{GTAG_SRC}"></script>' in html
    assert f'src="{YOUTUBE_SRC}"' in html
