"""Quart, wired by the README's recipe (``app.asgi_app = ConsentMiddleware(...)``)."""

from __future__ import annotations

from quart import Quart, Response, render_template, session

from tests.integration.apps import common
from tests.integration.recipes import run_recipe

app: Quart = run_recipe("quart", globals())["app"]


@app.get("/page")
@app.get("/admin/tracker")
async def page() -> tuple[str, dict[str, str]]:
    html = await render_template(
        "page.html", page_head=common.PAGE_HEAD, page_tail=common.PAGE_TAIL
    )
    return html, common.PAGE_HEADERS


@app.get("/cookies")
async def cookies() -> Response:
    session["visits"] = session.get("visits", 0) + 1
    response = Response("cookies", content_type="text/plain; charset=utf-8")
    response.set_cookie(*common.GA_COOKIE, max_age=3600)
    return response


@app.get("/json")
async def json_body() -> Response:
    return Response(common.JSON_BODY, content_type="application/json")


@app.get("/stream")
async def stream() -> Response:
    return Response(common.html_chunks(), content_type="text/html; charset=utf-8")


@app.get("/stream.txt")
async def stream_text() -> Response:
    return Response(common.text_chunks(), content_type="text/plain; charset=utf-8")
