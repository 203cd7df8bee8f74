"""The /_consent wire contract (SPEC section 2) and its bad-input table (SPEC section 8)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import html5lib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import HTMLResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from consent import ConsentMiddleware
from consent.endpoints import Decision
from consent.records import RecordDataError
from tests.conftest import ClientFactory
from tests.support import (
    BASE_URL,
    consent_id,
    decide,
    host_app,
    http_scope,
    make_settings,
    response_body,
    run_asgi,
)

SAME_ORIGIN = {"origin": BASE_URL}
FORM = "application/x-www-form-urlencoded"


def consent_cookie(response: Any) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("consent="):
            return str(header)
    return None


def test_get_state_of_a_new_visitor(client_for: ClientFactory) -> None:
    body = client_for().get("/_consent").json()
    assert "id" not in body  # page scripts have no business with the consent id
    assert body["revision"] == 1
    assert body["decided"] is False
    assert body["granted"] == ["necessary"]
    assert body["denied"] == []
    assert body["gpc"] is False
    assert [c["key"] for c in body["categories"]] == [
        "necessary",
        "preferences",
        "analytics",
        "marketing",
    ]
    assert set(body["categories"][0]) == {"key", "label", "description", "required"}


def test_state_is_never_cached(client_for: ClientFactory) -> None:
    assert client_for().get("/_consent").headers["cache-control"] == "no-store"


def test_labels_follow_accept_language(client_for: ClientFactory) -> None:
    categories = [
        {"key": "necessary", "label": {"en": "Needed", "de": "Notwendig"}, "required": True},
        {"key": "stats", "label": {"en": "Statistics", "de": "Statistik"}},
    ]
    client = client_for(categories=categories, banner={"locales": ["en", "de"]})
    german = client.get("/_consent", headers={"accept-language": "fr;q=0.5, de-DE"}).json()
    assert [c["label"] for c in german["categories"]] == ["Notwendig", "Statistik"]
    other = client.get("/_consent", headers={"accept-language": "ja"}).json()
    assert [c["label"] for c in other["categories"]] == ["Needed", "Statistics"]


def test_form_accept_all_redirects_with_303(client_for: ClientFactory) -> None:
    client = client_for()
    response = client.post(
        "/_consent", data={"action": "accept_all", "next": "/article?id=1"}, headers=SAME_ORIGIN
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/article?id=1"
    cookie = consent_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain http
    assert len(cookie.split(";")[0]) < 200
    state = client.get("/_consent").json()
    assert state["decided"] is True
    assert state["granted"] == ["necessary", "preferences", "analytics", "marketing"]


def test_form_reject_all(client_for: ClientFactory) -> None:
    client = client_for()
    client.post("/_consent", data={"action": "reject_all"}, headers=SAME_ORIGIN)
    state = client.get("/_consent").json()
    assert state["granted"] == ["necessary"]
    assert state["denied"] == ["preferences", "analytics", "marketing"]


def test_form_with_a_chosen_set(client_for: ClientFactory) -> None:
    client = client_for()
    response = client.post(
        "/_consent",
        content="action=save&categories=analytics&categories=preferences",
        headers={**SAME_ORIGIN, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303
    state = client.get("/_consent").json()
    assert state["granted"] == ["necessary", "preferences", "analytics"]
    assert state["denied"] == ["marketing"]


def test_json_post_answers_the_new_state(client_for: ClientFactory) -> None:
    client = client_for()
    response = decide(client, "save", "marketing")
    assert response.status_code == 200
    body = response.json()
    assert body["granted"] == ["necessary", "marketing"]
    assert body["decided"] is True
    assert "id" not in body
    assert response.headers["cache-control"] == "no-store"


def test_form_post_asking_for_json_gets_json(client_for: ClientFactory) -> None:
    response = client_for().post(
        "/_consent",
        data={"action": "accept_all"},
        headers={**SAME_ORIGIN, "accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["decided"] is True


def granted_services(client: TestClient) -> set[str]:
    return {s["key"] for s in client.get("/_consent").json()["services"] if s["granted"]}


NECESSARY_SERVICES = {"stripe", "recaptcha", "hcaptcha", "turnstile"}


def test_a_form_without_javascript_grants_exactly_the_ticked_services(
    client_for: ClientFactory,
) -> None:
    client = client_for()
    page = client.get("/_consent/preferences?next=/article")
    root = html5lib.parse(page.text, namespaceHTMLElements=False)
    (form,) = root.iter("form")
    inputs = list(form.iter("input"))
    boxes = {(i.get("name"), i.get("value")) for i in inputs if i.get("type") == "checkbox"}
    assert ("services", "youtube") in boxes
    assert ("services", "vimeo") in boxes
    # What the browser posts: hidden fields, ticked named boxes (none yet), YouTube, Save.
    fields = [(i.get("name"), i.get("value")) for i in inputs if i.get("type") == "hidden"]
    fields += [("services", "youtube"), ("action", "save")]
    response = client.post(
        form.get("action"),
        content=urlencode(fields),
        headers={**SAME_ORIGIN, "content-type": FORM},
    )
    assert response.status_code == 303
    state = client.get("/_consent").json()
    assert state["granted"] == ["necessary"]
    assert state["decided"] is True
    assert granted_services(client) == NECESSARY_SERVICES | {"youtube"}
    # Reopened, the form shows YouTube ticked and its category not.
    again = html5lib.parse(client.get("/_consent/preferences").text, namespaceHTMLElements=False)
    ticked = {
        (i.get("name"), i.get("value")) for i in again.iter("input") if i.get("checked") is not None
    }
    assert ("services", "youtube") in ticked
    assert ("categories", "preferences") not in ticked


def test_a_ticked_category_grants_all_its_services_whatever_their_boxes(
    client_for: ClientFactory,
) -> None:
    client = client_for()
    client.post(
        "/_consent",
        content="action=save&categories=preferences&services=youtube&services=hotjar",
        headers={**SAME_ORIGIN, "content-type": FORM},
    )
    state = client.get("/_consent").json()
    assert state["granted"] == ["necessary", "preferences"]
    preferences = {s["key"] for s in state["services"] if s["category"] == "preferences"}
    assert {"youtube", "vimeo", "google-maps"} <= preferences
    assert granted_services(client) == NECESSARY_SERVICES | preferences | {"hotjar"}


def test_the_scripts_form_post_with_services_gets_json(client_for: ClientFactory) -> None:
    """banner.js posts the form's own fields (URL-encoded), asking for JSON."""
    client = client_for()
    response = client.post(
        "/_consent",
        content="next=%2F&categories=marketing&services=vimeo&action=save",
        headers={**SAME_ORIGIN, "content-type": FORM, "accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["granted"] == ["necessary", "marketing"]
    assert "vimeo" in response.json()["allowed"]
    assert "youtube" not in response.json()["allowed"]
    # Reject all with a box ticked: the boxes are not read.
    response = client.post(
        "/_consent",
        content="next=%2F&services=vimeo&action=reject_all",
        headers={**SAME_ORIGIN, "content-type": FORM, "accept": "application/json"},
    )
    assert granted_services(client) == NECESSARY_SERVICES


def test_https_cookie_is_secure(client_for: ClientFactory) -> None:
    client = client_for()
    client.base_url = client.base_url.copy_with(scheme="https")  # type: ignore[attr-defined]
    response = client.post(
        "https://testserver/_consent",
        json={"action": "reject_all"},
        headers={"origin": "https://testserver"},
    )
    # Secure, host-only and on "/": the __Host- prefix makes browsers refuse a planted copy.
    cookies = response.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["__Host-consent"]
    assert "; Secure" in cookies[0]
    assert "Domain=" not in cookies[0]


def test_consent_id_survives_a_change_of_mind(client_for: ClientFactory) -> None:
    client = client_for()
    decide(client, "accept_all")
    first = consent_id(client)
    decide(client, "reject_all")
    assert consent_id(client) == first


def test_withdrawal_expires_cookies_of_withdrawn_categories(client_for: ClientFactory) -> None:
    client = client_for(expire_cookie_domains=[".testserver.local"])
    decide(client, "accept_all")
    client.get("/set", params={"set": ["_ga", "_fbp"]})
    assert {"_ga", "_fbp"} <= set(client.cookies.keys())
    response = decide(client, "save", "analytics")
    expired = [h for h in response.headers.get_list("set-cookie") if "Max-Age=0" in h]
    assert any(h.startswith("_fbp=;") and "Domain" not in h for h in expired)
    assert any(h.startswith("_fbp=;") and "Domain=.testserver.local" in h for h in expired)
    assert not any(h.startswith("_ga=") for h in expired)
    assert "_fbp" not in client.cookies
    assert "_ga" in client.cookies


# -- SPEC section 8: bad input gets a clear answer and changes nothing --------------------


def assert_nothing_set(client: TestClient, response: Any) -> None:
    assert consent_cookie(response) is None
    assert client.get("/_consent").json()["decided"] is False


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"referer": "https://evil.example/page"},
    ],
)
def test_cross_origin_post_is_refused(client_for: ClientFactory, headers: dict[str, str]) -> None:
    client = client_for()
    response = client.post("/_consent", data={"action": "accept_all"}, headers=headers)
    assert response.status_code == 403
    assert "cross-origin" in response.text
    assert_nothing_set(client, response)


def test_trusted_origin_may_post(client_for: ClientFactory) -> None:
    client = client_for(trusted_origins=["https://www.example.com"])
    response = client.post(
        "/_consent", json={"action": "accept_all"}, headers={"origin": "https://www.example.com"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        ("action=maybe", "application/x-www-form-urlencoded", "`action` must be"),
        ("categories=analytics", "application/x-www-form-urlencoded", "exactly one `action`"),
        (
            "action=save&categories=tracking",
            "application/x-www-form-urlencoded",
            "unknown category",
        ),
        ("action=save&categories=%ff", "application/x-www-form-urlencoded", "malformed form"),
        ("action=save&x=1", "application/x-www-form-urlencoded", "unknown field"),
        ("{", "application/json", "malformed JSON"),
        ("[1, 2]", "application/json", "must be an object"),
        ('{"action": 1}', "application/json", "`action` must be a string"),
        ('{"action": "save", "categories": "analytics"}', "application/json", "list of strings"),
        ('{"action": "save", "categories": ["nope"]}', "application/json", "unknown category"),
        ("\xff".encode("latin-1"), "application/json", "UTF-8"),
    ],
)
def test_malformed_body_is_400_naming_the_problem(
    client_for: ClientFactory, content: str | bytes, content_type: str, message: str
) -> None:
    client = client_for()
    response = client.post(
        "/_consent", content=content, headers={**SAME_ORIGIN, "content-type": content_type}
    )
    assert response.status_code == 400
    assert message in response.text
    assert_nothing_set(client, response)


def test_json_errors_are_json(client_for: ClientFactory) -> None:
    response = client_for().post(
        "/_consent", json={"action": "nope"}, headers={**SAME_ORIGIN, "accept": "application/json"}
    )
    assert response.status_code == 400
    assert "`action` must be" in response.json()["error"]


def test_body_over_the_limit_is_413(client_for: ClientFactory) -> None:
    client = client_for(max_body_bytes=1024)
    response = client.post(
        "/_consent",
        content="action=accept_all&next=/" + "a" * 2000,
        headers={**SAME_ORIGIN, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert_nothing_set(client, response)


def test_streamed_body_over_the_limit_is_413(client_for: ClientFactory) -> None:
    client = client_for(max_body_bytes=1024)

    def chunks() -> Any:
        yield b"action=accept_all&next=/"
        for _ in range(40):
            yield b"a" * 100

    response = client.post(
        "/_consent",
        content=chunks(),
        headers={**SAME_ORIGIN, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert_nothing_set(client, response)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "multipart/form-data; boundary=x", "", "application/json; charset=latin-1"],
)
def test_unsupported_content_type_is_415(client_for: ClientFactory, content_type: str) -> None:
    client = client_for()
    headers = {**SAME_ORIGIN}
    if content_type:
        headers["content-type"] = content_type
    response = client.post("/_consent", content=b'{"action": "accept_all"}', headers=headers)
    assert response.status_code == 415
    assert_nothing_set(client, response)


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"]
)
def test_offsite_next_redirects_home(client_for: ClientFactory, next_path: str) -> None:
    response = client_for().post(
        "/_consent", data={"action": "reject_all", "next": next_path}, headers=SAME_ORIGIN
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_other_methods_are_405(client_for: ClientFactory) -> None:
    response = client_for().delete("/_consent")
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


def test_unknown_subpath_is_404(client_for: ClientFactory) -> None:
    assert client_for().get("/_consent/nothing-here").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("DELETE", "/_consent", 405, "GET, HEAD, POST"),
        ("POST", "/_consent/preferences", 405, "GET, HEAD"),
        ("PUT", "/_consent/static/banner.js", 405, "GET, HEAD"),
        ("GET", "/_consent/nothing-here", 404, None),
    ],
)
def test_refusals_inside_a_starlette_app_are_ours(
    method: str, path: str, status: int, allow: str | None
) -> None:
    # Starlette sets scope["app"] before its middleware runs; Starlette's own routing then
    # raises HTTPException for 404/405, which would leave this middleware as a 500.
    app = host_app()
    app.add_middleware(ConsentMiddleware, settings=make_settings())
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        response = client.request(method, path, headers=SAME_ORIGIN)
    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get("allow") == allow


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.dictionaries(
            st.sampled_from(["action", "categories", "next", "x"]),
            st.one_of(
                st.text(max_size=20), st.lists(st.text(max_size=12), max_size=4), st.integers()
            ),
        ).map(lambda d: json.dumps(d).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
)
def test_no_request_body_yields_a_500(
    client_for: ClientFactory, body: bytes, content_type: str
) -> None:
    response = client_for().post(
        "/_consent", content=body, headers={**SAME_ORIGIN, "content-type": content_type}
    )
    assert response.status_code in {200, 303, 400, 413, 415}
    if response.status_code >= 400:
        assert consent_cookie(response) is None


# -- the no-JS form on every real page (issue 8, deliverable 6) -----------------------------


def test_origin_null_from_our_own_page_is_accepted(client_for: ClientFactory) -> None:
    # A page with `Referrer-Policy: no-referrer` posts its forms with `Origin: null`;
    # Sec-Fetch-Site, which no page script can set, says the post is ours.
    client = client_for()
    response = client.post(
        "/_consent",
        data={"action": "accept_all", "next": "/news"},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/news"
    assert client.get("/_consent").json()["decided"] is True


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none"])
def test_origin_null_from_elsewhere_is_refused(client_for: ClientFactory, fetch_site: str) -> None:
    client = client_for()
    response = client.post(
        "/_consent",
        data={"action": "accept_all"},
        headers={"origin": "null", "sec-fetch-site": fetch_site},
    )
    assert response.status_code == 403
    assert_nothing_set(client, response)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # `next=/café` posted by a windows-1252 page (no accept-charset on its form)
        (b"action=accept_all&next=/caf%E9", "application/x-www-form-urlencoded"),
        (b"action=accept_all&next=/caf\xe9", "application/x-www-form-urlencoded"),
        (b"action=accept_all&next=/caf%E9", "application/x-www-form-urlencoded; charset=cp1252"),
    ],
)
def test_undecodable_next_keeps_the_decision_and_goes_home(
    client_for: ClientFactory, body: bytes, content_type: str
) -> None:
    client = client_for()
    response = client.post(
        "/_consent", content=body, headers={**SAME_ORIGIN, "content-type": content_type}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.get("/_consent").json()["decided"] is True


def test_utf8_next_survives(client_for: ClientFactory) -> None:
    response = client_for().post(
        "/_consent", data={"action": "reject_all", "next": "/café?q=ü"}, headers=SAME_ORIGIN
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/caf%C3%A9?q=%C3%BC"


def test_a_next_that_cannot_be_encoded_never_reaches_the_records(
    client_for: ClientFactory,
) -> None:
    client = client_for()
    seen: list[Decision] = []

    async def hook(decision: Decision) -> None:
        seen.append(decision)

    middleware = client.app
    middleware.endpoints.on_decision.append(hook)  # type: ignore[attr-defined]
    response = client.post(
        "/_consent",
        content=b'{"action": "accept_all", "next": "/x\\ud800y"}',
        headers={**SAME_ORIGIN, "content-type": "application/json"},
    )
    assert response.status_code == 200
    assert [d.path for d in seen] == ["/"]


@pytest.mark.parametrize(
    "declared",
    # b"\xb2" is "²" in latin-1: str.isdigit() says yes, int() says no
    [b"\xb2", b"1\xb9", "١٢".encode(), b"12a", b"-1", b" ", b"+5", b"1" * 30],
)
@pytest.mark.anyio
async def test_odd_content_length_is_400_not_500(declared: bytes) -> None:
    app = ConsentMiddleware(host_app(), make_settings())
    headers = [
        (b"host", b"testserver"),
        (b"origin", b"http://testserver"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", declared),
    ]
    sent = await run_asgi(
        app, http_scope("/_consent", method="POST", headers=headers), b"action=accept_all"
    )
    assert sent[0]["status"] == 400
    assert not [v for k, v in sent[0]["headers"] if k == b"set-cookie"]


@pytest.mark.parametrize(
    ("raw_path", "query", "expected"),
    [
        (b"/a%3Fb", b"", "/a%3Fb"),
        (b"/a%23b", b"x=1", "/a%23b?x=1"),
        (b"/100%25", b"", "/100%25"),
        (b"/a%2Fb", b"", "/a%2Fb"),
        (b"/caf\xc3\xa9", b"q=\xc3\xbc", "/caf%C3%A9?q=%C3%BC"),
    ],
)
@pytest.mark.anyio
async def test_banner_next_is_the_page_as_requested(
    raw_path: bytes, query: bytes, expected: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse("<html><head></head><body><p>x</p></body></html>")(scope, receive, send)

    scope = http_scope(raw_path.decode("latin-1"), query_string=query)
    scope["path"] = raw_path.decode("latin-1").replace("%3F", "?").replace("%23", "#")
    scope["raw_path"] = raw_path
    sent = await run_asgi(ConsentMiddleware(app, make_settings()), scope)
    body = response_body(sent).decode()
    assert f'name="next" value="{expected}"' in body
    assert 'accept-charset="utf-8"' in body


@pytest.mark.parametrize("as_json", [True, False])
def test_a_decision_that_cannot_be_recorded_is_refused(
    client_for: ClientFactory, as_json: bool
) -> None:
    client = client_for()

    async def refusing_store(decision: Decision) -> None:
        raise RecordDataError("path: not storable")

    client.app.endpoints.on_decision.append(refusing_store)  # type: ignore[attr-defined]
    if as_json:
        response = client.post("/_consent", json={"action": "accept_all"}, headers=SAME_ORIGIN)
        assert "cannot be recorded" in response.json()["error"]
    else:
        response = client.post("/_consent", data={"action": "accept_all"}, headers=SAME_ORIGIN)
        assert "cannot be recorded" in response.text
    assert response.status_code == 400
    assert_nothing_set(client, response)
