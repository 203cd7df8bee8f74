"""Ad click identifiers over TCP: gone from what the app sees and from same-site links
while marketing is not allowed, a page visit redirected to the clean URL, and all of it
passing untouched once the visitor allows marketing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.integration.markup import elements
from tests.support import make_settings, serve_in_thread

NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none"}
FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin"}


async def page(request: Request) -> Response:
    query = request.scope["query_string"].decode()
    return HTMLResponse(
        f"<!doctype html><html><head><title>Search</title></head><body>"
        f'<p id="seen">{query}</p>'
        '<a id="same" href="/item?id=7&amp;gclid=abc&amp;page=2#top">item</a>'
        '<a id="sibling" href="https://shop.example.com/?fbclid=x">shop</a>'
        '<a id="other" href="https://other.example/?gclid=abc">other</a>'
        "</body></html>"
    )


@contextmanager
def site(**settings: Any) -> Iterator[str]:
    app = ConsentMiddleware(Starlette(routes=[Route("/", page)]), make_settings(**settings))
    with serve_in_thread(app) as base:
        yield base


def seen(response: httpx.Response) -> str:
    start = response.text.index('id="seen">') + len('id="seen">')
    return response.text[start : response.text.index("</p>", start)]


def hrefs(response: httpx.Response) -> dict[str, str | None]:
    return {str(a["id"]): a["href"] for a in elements(response.text, "a") if a.get("id")}


def test_a_page_visit_is_redirected_to_the_clean_url() -> None:
    with site() as base:
        response = httpx.get(
            base + "/?q=red+shoes&gclid=Cj0K&page=2&fbclid=IwAR", headers=NAVIGATION
        )
    assert response.status_code == 307
    assert response.headers["location"] == "/?q=red+shoes&page=2"
    assert response.headers["cache-control"] == "no-store"


def test_other_requests_reach_the_app_without_them() -> None:
    with site() as base:
        response = httpx.get(base + "/?q=a%20b&msclkid=1&sort=", headers=FETCH)
    assert response.status_code == 200
    assert seen(response) == "q=a%20b&sort="  # the app's own parameters, byte for byte
    links = hrefs(response)
    assert links["same"] == "/item?id=7&page=2#top"
    assert links["other"] == "https://other.example/?gclid=abc"  # another site: not ours


def test_with_marketing_allowed_everything_passes() -> None:
    with site() as base, httpx.Client(base_url=base) as client:
        client.post("/_consent", json={"action": "accept_all"}, headers={"Origin": base})
        response = client.get("/?q=1&gclid=abc", headers=NAVIGATION)
    assert response.status_code == 200
    assert seen(response) == "q=1&gclid=abc"
    assert hrefs(response)["same"] == "/item?id=7&gclid=abc&page=2#top"


def test_strip_mode_does_not_redirect_and_keep_mode_changes_nothing() -> None:
    with site(click_ids="strip") as base:
        stripped = httpx.get(base + "/?q=1&gclid=abc", headers=NAVIGATION)
    assert stripped.status_code == 200
    assert seen(stripped) == "q=1"
    with site(click_ids="keep") as base:
        kept = httpx.get(base + "/?q=1&gclid=abc", headers=NAVIGATION)
    assert seen(kept) == "q=1&gclid=abc"
    assert hrefs(kept)["same"] == "/item?id=7&gclid=abc&page=2#top"


def test_a_query_without_click_ids_is_left_alone() -> None:
    with site() as base:
        response = httpx.get(base + "/?gclidx=1&utm_source=news&my_gclid=2", headers=NAVIGATION)
    assert response.status_code == 200
    assert seen(response) == "gclidx=1&utm_source=news&my_gclid=2"
