"""FastAPI, wired by the README's recipe; the page reads the choice through `ConsentDep`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse

from consent.integrations.fastapi import ConsentDep
from tests.integration.apps import common
from tests.integration.recipes import run_recipe

app: FastAPI = run_recipe("fastapi", globals())["app"]


@app.get("/page", response_class=HTMLResponse)
@app.get("/admin/tracker", response_class=HTMLResponse)
def page(consent: ConsentDep) -> HTMLResponse:
    return HTMLResponse(common.page(consent.allows("analytics")), headers=common.PAGE_HEADERS)


@app.get("/cookies")
def cookies(request: Request) -> Response:
    request.session["visits"] = request.session.get("visits", 0) + 1
    response = PlainTextResponse("cookies")
    response.set_cookie(*common.GA_COOKIE, max_age=3600)
    return response


@app.get("/json")
def json_body() -> Response:
    return Response(common.JSON_BODY, media_type="application/json")


@app.get("/stream")
def stream() -> Response:
    return StreamingResponse(common.html_chunks(), media_type="text/html")


@app.get("/stream.txt")
def stream_text() -> Response:
    return StreamingResponse(common.text_chunks(), media_type="text/plain")
