"""Starlette, wired by the README's recipe (``add_middleware``, session middleware inside)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from tests.integration.apps import common
from tests.integration.recipes import run_recipe


async def page(request: Request) -> Response:
    context = {"page_head": common.PAGE_HEAD, "page_tail": common.PAGE_TAIL}
    return templates.TemplateResponse(request, "page.html", context, headers=common.PAGE_HEADERS)


async def cookies(request: Request) -> Response:
    request.session["visits"] = request.session.get("visits", 0) + 1
    response = PlainTextResponse("cookies")
    response.set_cookie(*common.GA_COOKIE, max_age=3600)
    return response


async def json_body(request: Request) -> Response:
    return Response(common.JSON_BODY, media_type="application/json")


async def stream(request: Request) -> Response:
    return StreamingResponse(common.html_chunks(), media_type="text/html")


async def stream_text(request: Request) -> Response:
    return StreamingResponse(common.text_chunks(), media_type="text/plain")


routes = [
    Route("/page", page),
    Route("/admin/tracker", page),
    Route("/cookies", cookies),
    Route("/json", json_body),
    Route("/stream", stream),
    Route("/stream.txt", stream_text),
]

namespace = run_recipe("starlette", globals())
templates: Jinja2Templates = namespace["templates"]
app: Starlette = namespace["app"]
