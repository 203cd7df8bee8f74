"""Helpers shared by the test modules: settings, a small host app, a way to decide."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentSettings

SECRET = "test-secret-key-0123456789abcdef"
BASE_URL = "http://testserver"


def make_settings(**overrides: Any) -> ConsentSettings:
    """Settings for tests: a fixed key, no records unless a test asks for them."""
    overrides.setdefault("secret_key", SECRET)
    overrides.setdefault("records", {"enabled": False})
    return ConsentSettings(**overrides)


async def _cookie_setter(request: Request) -> Response:
    response = PlainTextResponse("ok")
    for name in request.query_params.getlist("set"):
        response.set_cookie(name, "v", httponly=True)
    return response


async def _state(request: Request) -> Response:
    consent = request.state.consent
    return JSONResponse(
        {
            "granted": sorted(consent.granted),
            "decided": consent.decided,
            "gpc": consent.gpc,
            "cookies": dict(request.cookies),
        }
    )


def host_app() -> Starlette:
    """A host app: ``/set?set=_ga&set=_fbp`` sets cookies, ``/state`` shows the consent."""
    return Starlette(routes=[Route("/set", _cookie_setter), Route("/state", _state)])


def decide(client: TestClient, action: str, *categories: str) -> Any:
    """Post a choice as a same-origin JSON client and return the response."""
    body: dict[str, Any] = {"action": action}
    if categories:
        body["categories"] = list(categories)
    return client.post("/_consent", json=body, headers={"origin": BASE_URL})
