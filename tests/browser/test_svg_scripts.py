"""SVG scripts through the middleware behind uvicorn, in Chromium, watching the network.

An SVG ``<script>`` runs. These pages hide a tracker call from the tree builder in a CDATA
section or a comment whose end our reading (Chromium's preload scanner's) sees inside a
quoted attribute value, or behind a comment that ends at ``--!>``. Served by a Starlette app
wired as its users wire it, the rewritten pages must not call the tracker; the same page on
an excluded path shows that Chromium really makes the call where it runs unrewritten.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentMiddleware
from tests.browser.conftest import Stub, stubbed_visitor
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

CALL = 'fetch("https://www.google-analytics.com/collect")'
PAGES = {
    # The CDATA section's "]]>" lies in our reading's <p title>: escaped, it runs on.
    "cdata": f'<svg><script><![CDATA[/*>*/x=1;/*<p title="]]>*/ /*"><a>*/{CALL}//]]></a>'
    "</script></svg>",
    # The comment is left at the scanner's "</script"; its "-->" in our <p title> runs on.
    "comment": f'<svg><script>x=1;<!--</script><p title="-->//"><!---->{CALL}</script></svg>',
    # "--!>" ends the comment: the call after it runs.
    "bang": f"<svg><script>x=1;<!-- --!>{CALL}</script></svg>",
}
STUBS = {"www.google-analytics.com": Stub("analytics", "text/plain")}


async def page(request: Request) -> HTMLResponse:
    body = PAGES[request.path_params["name"]]
    return HTMLResponse(f"<!doctype html><html lang=en><title>t</title><body>{body}<p>end")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    routes = [Route("/{name}", page), Route("/raw/{name}", page)]
    settings = make_settings(exclude_paths=["/raw/"])
    app = Starlette(routes=routes, middleware=[Middleware(ConsentMiddleware, settings=settings)])
    with serve_in_thread(app) as base:
        yield base


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_the_rewritten_svg_script_calls_no_tracker(
    chromium: str, server: str, name: str
) -> None:
    async with stubbed_visitor(chromium, STUBS, javascript=True) as (visitor, fetched):
        await visitor.goto(f"{server}/{name}")
        await visitor.wait_for_load_state("networkidle")
    assert fetched == []


async def test_unrewritten_the_call_runs(chromium: str, server: str) -> None:
    # The control: where Chromium runs the script, the harness sees the call.
    async with stubbed_visitor(chromium, STUBS, javascript=True) as (visitor, fetched):
        await visitor.goto(f"{server}/raw/bang")
        await visitor.wait_for_load_state("networkidle")
    assert fetched == ["analytics"]
