"""The ``/_consent`` endpoints answer through every server and framework."""

from __future__ import annotations

import pytest

from tests.integration import markup, strict_http
from tests.integration.conftest import Live

pytestmark = pytest.mark.integration


def test_form_post_answers_303_with_the_consent_cookie(live: Live) -> None:
    response = live.decide("accept_all", "/page")
    assert response.status == 303, response.describe()
    assert response.header("location") == "/page"
    cookie = response.set_cookies().get("consent")
    assert cookie is not None, response.describe()
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite"} <= attributes, cookie
    state = live.get("/_consent", cookies=response.cookie_values())
    assert state.status == 200, state.describe()
    assert state.json()["decided"] is True
    assert "analytics" in state.json()["granted"]


def test_post_from_another_origin_is_refused(live: Live) -> None:
    response = strict_http.post_form(
        live.url, "/_consent", {"action": "accept_all"}, origin="http://evil.example"
    )
    assert response.status == 403, response.describe()
    assert "consent" not in response.set_cookies()


def test_state_is_json(live: Live) -> None:
    response = live.get("/_consent")
    assert response.status == 200, response.describe()
    assert response.content_type == "application/json"
    state = response.json()
    assert state["decided"] is False
    assert state["granted"] == ["necessary"]


def test_preferences_page_has_the_form(live: Live) -> None:
    response = live.get("/_consent/preferences")
    assert response.status == 200, response.describe()
    assert response.content_type == "text/html"
    forms = [f for f in markup.elements(response.text, "form") if f.get("action") == "/_consent"]
    assert forms, response.text
    assert forms[0].get("method") == "post"
    actions = {b.get("value") for b in markup.elements(response.text, "button") if b.get("name")}
    assert {"accept_all", "reject_all", "save"} <= actions


def test_banner_assets_are_served(live: Live) -> None:
    html = live.get("/page").text
    sources = [
        s.get("src") or ""
        for s in markup.elements(html, "script")
        if (s.get("src") or "").startswith("/_consent/static/")
    ]
    assert sources, html[:500]
    for source in sources:
        asset = live.get(source)
        assert asset.status == 200, asset.describe()
        assert asset.content_type in ("text/javascript", "application/javascript")
        assert asset.body
