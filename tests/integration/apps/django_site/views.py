"""Views of the integration site; the page reads the choice through the context processor."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from tests.integration.apps import common


def page(request: HttpRequest) -> HttpResponse:
    context = {"page_head": common.PAGE_HEAD, "page_tail": common.PAGE_TAIL}
    response = render(request, "page.html", context)
    patch_vary_headers(response, ["Cookie"])  # the auth context processor adds it too
    return response


def cookies(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    response = HttpResponse("cookies", content_type="text/plain; charset=utf-8")
    response.set_cookie(*common.GA_COOKIE, max_age=3600)
    return response


def json_body(request: HttpRequest) -> HttpResponse:
    return HttpResponse(common.JSON_BODY, content_type="application/json")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(common.html_chunks(), content_type="text/html; charset=utf-8")


def stream_text(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(common.text_chunks(), content_type="text/plain; charset=utf-8")
