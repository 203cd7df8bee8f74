"""The middleware through Starlette, FastAPI and raw ASGI: cookies sorted, state attached."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI, Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from consent import Consent, ConsentMiddleware, get_consent
from consent.runtime import LOG_UNCLASSIFIED
from tests._html import find, is_blocked, parse, scripts_naming
from tests.conftest import ClientFactory
from tests.support import BASE_URL, decide, make_settings


def set_cookie_names(response: Any) -> list[str]:
    return [h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")]


def test_undecided_visitor_gets_only_necessary_and_unclassified_cookies(
    client_for: ClientFactory,
) -> None:
    client = client_for()
    response = client.get("/set", params={"set": ["_ga", "_fbp", "PHPSESSID", "cart_id"]})
    assert set_cookie_names(response) == ["PHPSESSID", "cart_id"]


def test_granted_categories_pass(client_for: ClientFactory) -> None:
    client = client_for()
    decide(client, "save", "analytics")
    response = client.get("/set", params={"set": ["_ga", "_fbp", "PHPSESSID"]})
    assert set_cookie_names(response) == ["_ga", "PHPSESSID"]
    decide(client, "accept_all")
    response = client.get("/set", params={"set": ["_ga", "_fbp"]})
    assert set_cookie_names(response) == ["_ga", "_fbp"]


def test_operator_categories_sort_app_cookies(client_for: ClientFactory) -> None:
    client = client_for(
        categories=[
            {"key": "necessary", "label": "N", "required": True, "cookies": ["sid"]},
            {"key": "video", "label": "V", "cookies": ["player_*"]},
        ],
        unclassified_cookies="block",
    )
    response = client.get("/set", params={"set": ["sid", "player_vol", "other"]})
    assert set_cookie_names(response) == ["sid"]
    decide(client, "accept_all")
    response = client.get("/set", params={"set": ["sid", "player_vol", "other"]})
    assert set_cookie_names(response) == ["sid", "player_vol"]


def test_unclassified_cookie_warns_once_per_name(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for()
    with caplog.at_level(logging.WARNING, logger="consent"):
        client.get("/set", params={"set": ["cart_id"]})
        client.get("/set", params={"set": ["cart_id"]})
    warnings = [r for r in caplog.records if r.msg == LOG_UNCLASSIFIED]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith("cookie 'cart_id' matches no consent category, so it is allowed")
    assert "[category_overrides.necessary]" in message  # says how to classify it
    assert "CONSENT_CATEGORY_OVERRIDES__NECESSARY__COOKIES" in message


def test_a_dropped_unclassified_cookie_is_said_once_too(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(unclassified_cookies="block")
    with caplog.at_level(logging.WARNING, logger="consent"):
        response = client.get("/set", params={"set": ["cart_id"]})
        client.get("/set", params={"set": ["cart_id"]})
    assert "cart_id" not in response.headers.get("set-cookie", "")
    warnings = [r.getMessage() for r in caplog.records if r.msg == LOG_UNCLASSIFIED]
    assert len(warnings) == 1
    assert "so it is dropped (unclassified_cookies = 'block')" in warnings[0]


@pytest.mark.parametrize(
    "name", ["sessionid", "csrftoken", "messages", "session", "remember_token"]
)
def test_framework_session_and_csrf_cookies_are_necessary_out_of_the_box(
    client_for: ClientFactory, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Django, Starlette, Litestar, Flask and Quart sign-in keeps working for a visitor who
    declined everything, even with unclassified cookies blocked."""
    client = client_for(unclassified_cookies="block")
    with caplog.at_level(logging.WARNING, logger="consent"):
        response = client.get("/set", params={"set": [name]})
    assert f"{name}=" in response.headers.get("set-cookie", "")
    assert not [r for r in caplog.records if r.msg == LOG_UNCLASSIFIED]


def test_app_cannot_smuggle_a_cookie_with_odd_spacing(client_for: ClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"Set-Cookie", b" _fbp =1; Path=/"), (b"x-other", b"1")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    response = client_for(app).get("/")
    assert response.headers.get_list("set-cookie") == []
    assert response.headers["x-other"] == "1"


def test_cookies_of_denied_categories_are_expired_on_any_request(
    client_for: ClientFactory,
) -> None:
    client = client_for()
    decide(client, "reject_all")
    client.cookies.set("_ga", "GA1.1.1", domain="testserver.local")
    client.cookies.set("_fbp", "fb.1", domain="testserver.local")
    client.cookies.set("cart_id", "3", domain="testserver.local")
    response = client.get("/state")
    expired = [h for h in response.headers.get_list("set-cookie") if "Max-Age=0" in h]
    assert sorted(h.split("=")[0] for h in expired) == ["_fbp", "_ga"]
    assert response.json()["cookies"]["cart_id"] == "3"  # unclassified: left alone


def test_filter_request_cookies_hides_them_from_the_app(client_for: ClientFactory) -> None:
    client = client_for(filter_request_cookies=True)
    decide(client, "save", "analytics")
    for name in ("_ga", "_fbp", "PHPSESSID"):
        client.cookies.set(name, "1", domain="testserver.local")
    cookies = client.get("/state").json()["cookies"]
    assert "_ga" in cookies
    assert "PHPSESSID" in cookies
    assert "consent" in cookies
    assert "_fbp" not in cookies


def test_request_state_and_get_consent_agree(client_for: ClientFactory) -> None:
    seen: list[Consent] = []

    async def page(request: Any) -> PlainTextResponse:
        assert get_consent(request) is request.state.consent
        assert get_consent(request.scope) is request.state.consent
        seen.append(request.state.consent)
        return PlainTextResponse("ok")

    client = client_for(Starlette(routes=[Route("/", page)]))
    client.get("/")
    decide(client, "save", "preferences")
    client.get("/")
    assert not seen[0].decided
    assert seen[1].allows("preferences")
    assert not seen[1].allows("analytics")


def test_get_consent_without_middleware_is_a_clear_error() -> None:
    with pytest.raises(LookupError, match="ConsentMiddleware"):
        get_consent({"type": "http"})


def test_fastapi_integration() -> None:
    app = FastAPI()

    @app.get("/")
    def home(request: Request) -> dict[str, Any]:
        consent = get_consent(request)
        response_cookie = "analytics" if consent.allows("analytics") else "none"
        return {"analytics": consent.allows("analytics"), "cookie": response_cookie}

    @app.get("/track")
    def track() -> PlainTextResponse:
        response = PlainTextResponse("tracked")
        response.set_cookie("_ga", "GA1.1")
        return response

    app.add_middleware(ConsentMiddleware, settings=make_settings())
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        assert client.get("/").json() == {"analytics": False, "cookie": "none"}
        assert client.get("/track").headers.get_list("set-cookie") == []
        assert decide(client, "accept_all").status_code == 200
        assert client.get("/").json()["analytics"] is True
        assert client.get("/track").headers.get_list("set-cookie")[0].startswith("_ga=")
        assert client.get("/docs").status_code == 200  # the rest of the app is untouched


def test_websocket_sees_the_consent(client_for: ClientFactory) -> None:
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        consent = get_consent(websocket)
        await websocket.send_json({"analytics": consent.allows("analytics")})
        await websocket.close()

    client = client_for(Starlette(routes=[WebSocketRoute("/ws", socket)]))
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"analytics": False}
    decide(client, "accept_all")
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"analytics": True}


@pytest.mark.anyio
async def test_lifespan_passes_through_untouched() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        message = await receive()
        assert message["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.complete"})

    middleware = ConsentMiddleware(app, make_settings())
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await middleware(scope, receive, send)
    assert seen[0] is scope
    assert "consent" not in scope["state"]
    assert sent == [{"type": "lifespan.startup.complete"}]


@pytest.mark.anyio
async def test_raw_asgi_http_state_and_headers() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        consent = get_consent(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"set-cookie", b"_ga=1"), (b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": str(consent.decided).encode()})

    middleware = ConsentMiddleware(app, make_settings())
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"sec-gpc", b"1")],
        "query_string": b"",
    }
    await middleware(scope, receive, send)
    assert sent[0]["headers"] == [(b"content-type", b"text/plain")]
    assert sent[1]["body"] == b"False"
    assert scope["state"]["consent"].gpc is True


def test_wrapped_twice_acts_once(client_for: ClientFactory) -> None:
    inner = ConsentMiddleware(client_for().app, make_settings())  # type: ignore[arg-type]
    client = TestClient(ConsentMiddleware(inner, make_settings()), base_url=BASE_URL)
    decide(client, "accept_all")
    response = client.get("/set", params={"set": ["_ga"]})
    assert set_cookie_names(response) == ["_ga"]


def test_gpc_header_reaches_the_state(client_for: ClientFactory) -> None:
    client = client_for()
    assert client.get("/state", headers={"sec-gpc": "1"}).json()["gpc"] is True
    assert client.get("/_consent", headers={"sec-gpc": "1"}).json()["gpc"] is True
    decide_gpc = client.post(
        "/_consent", json={"action": "accept_all"}, headers={"origin": BASE_URL, "sec-gpc": "1"}
    ).json()
    assert "marketing" in decide_gpc["denied"]


cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters=";"),
    max_size=60,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.tuples(st.one_of(cookie_text, st.sampled_from(["consent", "_ga"])), cookie_text),
        max_size=6,
    ),
    gpc=st.booleans(),
)
def test_no_cookie_header_raises(
    client_for: ClientFactory, values: list[tuple[str, str]], gpc: bool
) -> None:
    header = "; ".join(f"{name}={value}" for name, value in values)
    headers: dict[str, bytes] = {"cookie": header.encode("latin-1")}
    if gpc:
        headers["sec-gpc"] = b"1"
    client = client_for(filter_request_cookies=True)
    response = client.get("/state", headers=headers)
    assert response.status_code == 200
    assert response.json()["granted"] == ["necessary"]


GOOGLE_PAGE = (
    "<!doctype html><html><head>"
    '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-1');</script>"
    '<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'
    "</head><body>hi</body></html>"
)


@pytest.mark.parametrize("mode", ["basic", "advanced"])
def test_consent_mode_decides_whether_google_tags_load_before_consent(
    client_for: ClientFactory, mode: str
) -> None:
    from starlette.responses import HTMLResponse

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(GOOGLE_PAGE)

    client = client_for(Starlette(routes=[Route("/", page)]), consent_mode=mode)
    html = client.get("/").text
    head = html.split("</head>", 1)[0]
    assert head.index('id="consent-gcm"') < head.index("googletagmanager")  # defaults first
    root = parse(html.encode())
    google = find(root, "script", "googletagmanager") + scripts_naming(root, "gtag(")
    assert len(google) == 2
    assert all(is_blocked(script) for script in google) is (mode == "basic")
    assert any(is_blocked(script) for script in google) is (mode == "basic")
    assert all(is_blocked(s) for s in find(root, "script", "connect.facebook.net"))  # both
