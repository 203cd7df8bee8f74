"""Django's admin through the middleware (excluded from the banner by the README's recipe)."""

from __future__ import annotations

import re

import pytest

from tests.integration import markup, strict_http
from tests.integration.apps.django_site.prepare import ADMIN_PASSWORD, ADMIN_USER
from tests.integration.conftest import DJANGO_CELLS, Live, cells_param

pytestmark = [pytest.mark.integration, cells_param(DJANGO_CELLS)]


def login_page(live: Live) -> strict_http.Response:
    response = live.get("/admin/login/?next=/admin/")
    assert response.status == 200, response.describe()
    return response


def test_login_page_renders_with_its_form_and_csrf_cookie(live: Live) -> None:
    response = login_page(live)
    assert response.content_type == "text/html"
    html = response.text
    forms = [f for f in markup.elements(html, "form") if f.get("id") == "login-form"]
    assert len(forms) == 1, html
    assert forms[0].get("method") == "post"
    inputs = {i.get("name"): i for i in markup.elements(html, "input")}
    assert {"csrfmiddlewaretoken", "username", "password", "next"} <= set(inputs)
    assert inputs["csrfmiddlewaretoken"].get("value")
    assert "csrftoken" in response.set_cookies(), response.describe()
    # excluded: no banner, nothing rewritten
    assert markup.by_id(html, "consent-banner") is None
    assert "/_consent/static/" not in html
    assert html.rstrip().endswith("</html>")


def test_login_works_through_the_middleware(live: Live) -> None:
    page = login_page(live)
    csrf_cookie = page.cookie_values()["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = strict_http.post_form(
        live.url,
        "/admin/login/?next=/admin/",
        {
            "csrfmiddlewaretoken": token[1],
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "next": "/admin/",
        },
        cookies={"csrftoken": csrf_cookie},
        headers={"Referer": live.url + "/admin/login/"},
    )
    assert response.status == 302, response.describe() + "\n" + response.text[:2000]
    assert response.header("location") == "/admin/"
    session = response.cookie_values()
    assert "sessionid" in session, response.describe()
    index = live.get("/admin/", cookies={"csrftoken": csrf_cookie, **session})
    assert index.status == 200, index.describe()
    assert "Site administration" in index.text
