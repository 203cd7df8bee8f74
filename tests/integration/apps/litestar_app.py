"""Litestar, wired by the README's recipe (`ConsentPlugin`), sessions on the cookie route."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.response import Stream, Template

from tests.integration.apps import common
from tests.integration.recipes import run_recipe

sessions = ServerSideSessionConfig()
PAGE_CONTEXT = {"page_head": common.PAGE_HEAD, "page_tail": common.PAGE_TAIL}


@get(["/page", "/admin/tracker"])
async def page() -> Template:
    return Template(template_name="page.html", context=PAGE_CONTEXT, headers=common.PAGE_HEADERS)


@get("/cookies", middleware=[sessions.middleware])
async def cookies(request: Request) -> Response[str]:
    request.session["visits"] = request.session.get("visits", 0) + 1
    response = Response("cookies", media_type="text/plain")
    response.set_cookie(*common.GA_COOKIE, max_age=3600)
    return response


@get("/json")
async def json_body() -> Response[bytes]:
    return Response(common.JSON_BODY, media_type="application/json")


@get("/stream")
async def stream() -> Stream:
    return Stream(common.html_chunks(), media_type="text/html")


@get("/stream.txt")
async def stream_text() -> Stream:
    return Stream(common.text_chunks(), media_type="text/plain")


route_handlers = [page, cookies, json_body, stream, stream_text]

run_recipe("litestar", globals())
