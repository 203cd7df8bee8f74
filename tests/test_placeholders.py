"""Contextual placeholders, server side: what a blocked embed shows, *Load this once* without
JavaScript (``consent-once``: one response, nothing stored or recorded, its own ETag variant),
and *Always allow <service>* as a plain form (SPEC section 6)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentMiddleware
from consent.assets import StaticAssets
from consent.banner import BannerRenderer
from consent.catalogue import TextCatalogue
from consent.texts import SHIPPED_LOCALES, UI_TEXTS
from tests.conftest import ClientFactory
from tests.support import BASE_URL, make_settings

YOUTUBE = "https://www.youtube.com/embed/council"
YOUTUBE_2 = "https://www.youtube-nocookie.com/embed/vote"
MAPS = "https://www.google.com/maps/embed?pb=harbour"
ADS = "https://ads.example/frame"
PAGE = f"""<!doctype html><html lang="en"><head><title>t</title>
<script src="https://www.youtube.com/iframe_api"></script></head><body>
<p id="seen">{{query}}</p>
<iframe src="/first-party" title="Ours"></iframe>
<iframe src="{YOUTUBE}" width="560" height="315" title="Council debate"></iframe>
<iframe src="{MAPS}" width="400" height="300" title="Map"></iframe>
<iframe data-consent="marketing" src="{ADS}" width="300" height="250" title="Ad"></iframe>
<iframe id="clip" src="{YOUTUBE_2}" width="560" height="315" title="Vote"></iframe>
</body></html>"""
SAME_ORIGIN = {"sec-fetch-site": "same-origin"}


async def page(request: Request) -> Response:
    """The page above; ``#seen`` shows the query the app was given."""
    headers = {"etag": '"v1"'}
    nonce = request.headers.get("x-nonce")
    if nonce:
        headers["content-security-policy"] = f"script-src 'nonce-{nonce}'"
    if request.headers.get("if-none-match") == '"v1"':
        return Response(status_code=304, headers=headers)
    body = PAGE.replace("{query}", html.escape(request.url.query))
    return HTMLResponse(body, headers=headers)


def site() -> Starlette:
    return Starlette(routes=[Route("/article", page), Route("/skip/article", page)])


@pytest.fixture
def client(client_for: ClientFactory) -> TestClient:
    return client_for(site(), exclude_paths=["/skip"])


def parse(markup: str | bytes) -> Element:
    text = markup.decode() if isinstance(markup, bytes) else markup
    root: Element = html5lib.parse(text, namespaceHTMLElements=False)
    return root


def iframes(response: Any) -> dict[str, Element]:
    """The page's iframes by title."""
    return {el.get("title", ""): el for el in parse(response.text).iter("iframe")}


def text_of(element: Element) -> str:
    return " ".join("".join(element.itertext()).split())


def placeholder(iframe: Element) -> Element:
    srcdoc = iframe.get("srcdoc")
    assert srcdoc, "no placeholder"
    return parse(srcdoc)


def by_text(root: Element, tag: str, text: str) -> Element:
    (found,) = [el for el in root.iter(tag) if text_of(el) == text]
    return found


def hidden_fields(form: Element) -> dict[str, str]:
    return {i.get("name", ""): i.get("value", "") for i in form.iter("input")}


# -- what a placeholder shows -----------------------------------------------------------------


def test_a_service_placeholder_names_the_service_its_provider_and_two_actions(
    client: TestClient,
) -> None:
    response = client.get("/article?x=1")
    video = iframes(response)["Council debate"]
    # The iframe itself stays, with its size: the placeholder is its srcdoc (no layout shift).
    assert (video.get("width"), video.get("height")) == ("560", "315")
    assert video.get("src") is None
    assert video.get("data-consent-src") == YOUTUBE
    assert video.get("data-consent") == "youtube"
    assert video.get("id") == "consent-embed-2"  # the 2nd iframe of the page

    doc = placeholder(video)
    assert doc.get("lang") == "en"
    assert text_of(next(doc.iter("h1"))) == "YouTube"
    assert "connects you to Google Ireland Limited" in text_of(next(doc.iter("p")))
    policy = by_text(doc, "a", "Privacy policy of Google Ireland Limited")
    assert policy.get("href") == "https://policies.google.com/privacy"
    assert (policy.get("target"), policy.get("rel")) == ("_blank", "noopener noreferrer")

    once = by_text(doc, "a", "Load this once")
    assert once.get("href") == "/article?x=1&consent-once=youtube#consent-embed-2"
    assert once.get("target") == "_top"
    assert once.get("data-once") == ""

    button = by_text(doc, "button", "Always allow YouTube")
    assert button.get("type") == "submit"
    (form,) = doc.iter("form")
    assert (form.get("method"), form.get("action"), form.get("target")) == (
        "post",
        "/_consent",
        "_top",
    )
    assert hidden_fields(form) == {
        "action": "allow_service",
        "variant": "placeholder",
        "service": "youtube",
        "next": "/article?x=1#consent-embed-2",
    }
    settings = by_text(doc, "a", UI_TEXTS["en"]["placeholder.link"])
    assert settings.get("href") == "/_consent/preferences?next=/article%3Fx%3D1%23consent-embed-2"

    # Only our own script and stylesheet, no inline code or style (the page's CSP applies).
    (script,) = doc.iter("script")
    (css,) = [el for el in doc.iter("link") if el.get("rel") == "stylesheet"]
    assert re.fullmatch(r"/_consent/static/placeholder\.[0-9a-f]{8}\.js", script.get("src", ""))
    assert re.fullmatch(r"/_consent/static/placeholder\.[0-9a-f]{8}\.css", css.get("href", ""))
    assert not any(el.get("style") for el in doc.iter())
    assert not list(doc.iter("style"))


def test_each_service_gets_its_own_placeholder(client: TestClient) -> None:
    found = iframes(client.get("/article"))
    doc = placeholder(found["Map"])
    assert text_of(next(doc.iter("h1"))) == "Google Maps"
    assert hidden_fields(next(doc.iter("form")))["service"] == "google-maps"
    assert by_text(doc, "button", "Always allow Google Maps") is not None
    # Its own id was kept and is the way back.
    doc = placeholder(found["Vote"])
    assert found["Vote"].get("id") == "clip"
    assert by_text(doc, "a", "Load this once").get("href") == "/article?consent-once=youtube#clip"


def test_an_embed_of_no_known_service_keeps_the_category_placeholder(client: TestClient) -> None:
    ad = iframes(client.get("/article"))["Ad"]
    doc = placeholder(ad)
    assert text_of(next(doc.iter("p"))) == "This content is blocked until you allow “Marketing”."
    assert not list(doc.iter("form"))  # nothing to allow on its own
    assert by_text(doc, "a", "Load this once").get("href") == (
        "/article?consent-once=marketing#consent-embed-4"
    )
    assert by_text(doc, "a", "Change cookie settings") is not None


def renderer(**overrides: Any) -> BannerRenderer:
    settings = make_settings(**overrides)
    return BannerRenderer(
        settings, catalogue=TextCatalogue(settings), assets=StaticAssets(settings.path)
    )


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_placeholders_speak_every_shipped_language(locale: str) -> None:
    texts = UI_TEXTS[locale]
    srcdoc = renderer(banner={"locales": list(SHIPPED_LOCALES)}).placeholder_html(
        "youtube", locale, next_path="/a", once_path="/a?consent-once=youtube", anchor="v"
    )
    assert srcdoc.isascii()  # injected into pages of any charset
    assert "{" not in srcdoc
    doc = parse(srcdoc)
    assert doc.get("lang") == locale
    provider = "Google Ireland Limited"
    assert text_of(next(doc.iter("p"))).startswith(
        texts["placeholder.text_service"].replace("{provider}", provider)
    )
    policy = texts["placeholder.text_policy"].replace("{provider}", provider)
    assert by_text(doc, "a", policy) is not None
    assert by_text(doc, "a", texts["placeholder.once"]) is not None
    always = texts["placeholder.text_always"].replace("{service}", "YouTube")
    assert by_text(doc, "button", always) is not None


@pytest.mark.parametrize("key", ["youtube", "vimeo", "marketing", "analytics"])
@pytest.mark.parametrize(
    ("next_path", "anchor"),
    [
        ("/a", "consent-embed-3"),
        ('/caf\u00e9?q="<b>"&x=1', "clip"),
        ("/a?b=1&c=2", 'id "odd" <&> \u00e9'),
        ("//evil.example/", ""),
        (None, "v"),
    ],
)
@pytest.mark.parametrize("nonce", [None, "n0nce+/=", '"><script>'])
def test_the_srcdoc_form_is_the_escaped_document(
    key: str, next_path: str | None, anchor: str, nonce: str | None
) -> None:
    """What pages carry (`placeholder_srcdoc`, filled piece by piece) is exactly the document
    escaped whole for the attribute, for odd paths, ids and nonces too."""
    view = renderer(banner={"locales": list(SHIPPED_LOCALES)})
    for locale in ("en", "de"):
        once = None if next_path is None else next_path + "&consent-once=" + key
        options: dict[str, Any] = {
            "next_path": next_path,
            "once_path": once,
            "anchor": anchor,
            "nonce": nonce,
        }
        document = view.placeholder_html(key, locale, **options)
        escaped = html.escape(document, quote=True).encode("ascii", "xmlcharrefreplace")
        assert view.placeholder_srcdoc(key, locale, **options) == escaped
        assert view.placeholder_srcdoc(key, locale, **options) == escaped  # from the cache


def test_placeholder_texts_can_be_overridden() -> None:
    view = renderer(banner={"texts": {"en": {"placeholder.text_always": "Yes to {service}!"}}})
    doc = parse(view.placeholder_html("vimeo", "en", next_path="/"))
    assert by_text(doc, "button", "Yes to Vimeo!") is not None


def test_placeholder_tags_carry_the_responses_csp_nonce(client: TestClient) -> None:
    video = iframes(client.get("/article", headers={"x-nonce": "n0nce"}))["Council debate"]
    doc = placeholder(video)
    tags = [*doc.iter("script"), *doc.iter("link")]
    assert len(tags) == 2
    assert all(tag.get("nonce") == "n0nce" for tag in tags)
    # Without a nonce: none.
    doc = placeholder(iframes(client.get("/article"))["Council debate"])
    assert not any(el.get("nonce") is not None for el in doc.iter())


def test_placeholder_assets_are_served(client: TestClient) -> None:
    srcdoc = placeholder(iframes(client.get("/article"))["Council debate"])
    (script,) = srcdoc.iter("script")
    (css,) = [el for el in srcdoc.iter("link") if el.get("rel") == "stylesheet"]
    js = client.get(script.get("src", ""))
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "data-once" in js.text
    style = client.get(css.get("href", ""))
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in style.text


def test_placeholders_inside_a_srcdoc_do_not_link_to_an_anchor(client_for: ClientFactory) -> None:
    inner = f'<iframe src="{YOUTUBE}" title="Inner"></iframe>'
    markup = f'<!doctype html><body><iframe srcdoc="{html.escape(inner)}"></iframe></body>'

    async def nested(request: Request) -> Response:
        return HTMLResponse(markup)

    client = client_for(Starlette(routes=[Route("/", nested)]))
    outer = next(parse(client.get("/").text).iter("iframe"))
    (video,) = parse(outer.get("srcdoc", "")).iter("iframe")
    assert video.get("id") is None
    doc = placeholder(video)
    assert by_text(doc, "a", "Load this once").get("href") == "/?consent-once=youtube"
    assert hidden_fields(next(doc.iter("form")))["next"] == "/"


# -- Load this once, without JavaScript -------------------------------------------------------


def test_load_once_loads_that_service_for_one_response(client: TestClient) -> None:
    recorded: list[Any] = []

    async def record(decision: Any) -> None:
        recorded.append(decision)

    app = client.app
    assert isinstance(app, ConsentMiddleware)
    app.endpoints.on_decision.append(record)

    response = client.get("/article?consent-once=youtube", headers=SAME_ORIGIN)
    found = iframes(response)
    for title, src in (("Council debate", YOUTUBE), ("Vote", YOUTUBE_2)):
        assert found[title].get("src") == src
        assert found[title].get("srcdoc") is None
        assert found[title].get("data-consent-src") is None
    # Back at the embed the link named (the ids are the ones the placeholders linked to).
    assert found["Council debate"].get("id") == "consent-embed-2"
    assert found["Vote"].get("id") == "clip"
    # Embeds only: YouTube's script stays blocked; other services and categories too.
    (api,) = [s for s in parse(response.text).iter("script") if "iframe_api" in str(s.attrib)]
    assert api.get("type") == "text/plain"
    assert found["Map"].get("data-consent-src") == MAPS
    assert found["Ad"].get("data-consent-src") == ADS
    # Nothing granted, stored or recorded.
    assert "set-cookie" not in response.headers
    assert "consent" not in client.cookies
    assert recorded == []
    # The banner still asks, and its choices come back to the page without the parameter.
    banner = [el for el in parse(response.text).iter("input") if el.get("name") == "next"]
    assert banner
    assert {el.get("value") for el in banner} == {"/article"}

    # That response only: the next plain load blocks YouTube again.
    again = iframes(client.get("/article", headers=SAME_ORIGIN))
    assert again["Council debate"].get("data-consent-src") == YOUTUBE
    assert again["Council debate"].get("src") is None
    # (The hook does see a real decision.)
    client.post("/_consent", json={"action": "reject_all"}, headers={"origin": BASE_URL})
    assert len(recorded) == 1


def test_load_once_of_a_category_loads_only_its_embeds(client: TestClient) -> None:
    response = client.get("/article?consent-once=marketing", headers=SAME_ORIGIN)
    found = iframes(response)
    assert found["Ad"].get("src") == ADS
    assert found["Ad"].get("id") == "consent-embed-4"
    assert found["Council debate"].get("data-consent-src") == YOUTUBE


def test_the_app_never_sees_the_parameter(client: TestClient) -> None:
    response = client.get("/article?a=1&consent-once=youtube&b=2", headers=SAME_ORIGIN)
    seen = next(el for el in parse(response.text).iter("p") if el.get("id") == "seen")
    assert text_of(seen) == "a=1&b=2"
    # On an excluded path it is not ours: it reaches the app, and loads nothing.
    response = client.get("/skip/article?consent-once=youtube", headers=SAME_ORIGIN)
    assert "consent-once=youtube" in response.text
    assert f'<iframe src="{YOUTUBE}"' in response.text  # passed through untouched


@pytest.mark.parametrize(
    ("headers", "honoured"),
    [
        (SAME_ORIGIN, True),
        ({"sec-fetch-site": "same-site"}, False),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"sec-fetch-site": "none"}, False),  # typed or pasted: not a click in a placeholder
        ({"referer": BASE_URL + "/article"}, True),  # older browsers: a same-host referrer
        ({"referer": "https://evil.example/article"}, False),
        ({"sec-fetch-site": "cross-site", "referer": BASE_URL + "/"}, False),
        ({}, False),
    ],
)
def test_load_once_only_from_this_site(
    client: TestClient, headers: dict[str, str], honoured: bool
) -> None:
    # A link elsewhere must not load an embed the visitor never asked for.
    video = iframes(client.get("/article?consent-once=youtube", headers=headers))["Council debate"]
    assert (video.get("src") == YOUTUBE) is honoured
    assert (video.get("data-consent-src") == YOUTUBE) is not honoured


@pytest.mark.parametrize("value", ["necessary", "nope", "<b>", "", "YOUTUBE"])
def test_load_once_ignores_what_it_cannot_load(client: TestClient, value: str) -> None:
    plain = client.get("/article", headers=SAME_ORIGIN)
    response = client.get(f"/article?consent-once={value}", headers=SAME_ORIGIN)
    assert iframes(response)["Council debate"].get("data-consent-src") == YOUTUBE
    assert response.headers["etag"] == plain.headers["etag"]


def test_load_once_links_keep_what_is_already_loaded_once(client: TestClient) -> None:
    response = client.get("/article?consent-once=youtube", headers=SAME_ORIGIN)
    doc = placeholder(iframes(response)["Map"])
    assert by_text(doc, "a", "Load this once").get("href") == (
        "/article?consent-once=google-maps&consent-once=youtube#consent-embed-3"
    )
    # Always allow comes back to the page itself, not to what it loaded once.
    assert hidden_fields(next(doc.iter("form")))["next"] == "/article#consent-embed-3"


def test_the_etag_variant_reflects_load_once(client: TestClient) -> None:
    plain = client.get("/article", headers=SAME_ORIGIN)
    once = client.get("/article?consent-once=youtube", headers=SAME_ORIGIN)
    assert plain.headers["etag"] != once.headers["etag"]
    assert plain.headers["etag"].startswith('"v1-c')
    assert once.headers["etag"].startswith('"v1-c')
    # What a once-URL's answer depends on: whether the request came from this site.
    vary = {v.strip() for v in once.headers["vary"].split(",")}
    assert {"Cookie", "Sec-Fetch-Site", "Referer"} <= vary
    assert "Sec-Fetch-Site" not in plain.headers["vary"]
    # Revalidation: each URL's own ETag answers 304, the other one's never does.
    url = "/article?consent-once=youtube"
    same = client.get(url, headers={**SAME_ORIGIN, "if-none-match": once.headers["etag"]})
    assert same.status_code == 304
    assert same.headers["etag"] == once.headers["etag"]
    other = client.get(url, headers={**SAME_ORIGIN, "if-none-match": plain.headers["etag"]})
    assert other.status_code == 200
    assert iframes(other)["Council debate"].get("src") == YOUTUBE
    # The same once-URL from elsewhere is the plain page, and says so.
    elsewhere = client.get(url, headers={"sec-fetch-site": "cross-site"})
    assert elsewhere.headers["etag"] == plain.headers["etag"]


def test_load_once_of_what_is_allowed_changes_nothing(client: TestClient) -> None:
    client.post(
        "/_consent",
        json={"action": "allow_service", "service": "youtube"},
        headers={"origin": BASE_URL},
    )
    plain = client.get("/article", headers=SAME_ORIGIN)
    once = client.get("/article?consent-once=youtube", headers=SAME_ORIGIN)
    assert once.headers["etag"] == plain.headers["etag"]
    assert iframes(once)["Council debate"].get("src") == YOUTUBE


# -- Always allow <service>, without JavaScript -----------------------------------------------


def test_always_allow_form_comes_back_to_the_embed(client: TestClient) -> None:
    doc = placeholder(iframes(client.get("/article?x=1"))["Council debate"])
    form = next(doc.iter("form"))
    response = client.post(
        form.get("action", ""),
        data=hidden_fields(form),
        headers={"origin": BASE_URL},
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/article?x=1#consent-embed-2"

    found = iframes(client.get(urlsplit(location).path + "?x=1"))
    video = found["Council debate"]
    assert video.get("src") == YOUTUBE
    assert video.get("id") == "consent-embed-2"  # the fragment finds the video
    assert found["Vote"].get("src") == YOUTUBE_2
    # Other services and categories stay blocked.
    assert found["Map"].get("data-consent-src") == MAPS
    assert found["Ad"].get("data-consent-src") == ADS
    state = client.get("/_consent").json()
    assert "youtube" in state["allowed"]
    assert "google-maps" not in state["allowed"]
    assert parse_qs(urlsplit(location).query) == {"x": ["1"]}


def test_vimeo_player_embeds_are_the_vimeo_service(client_for: ClientFactory) -> None:
    async def vimeo(request: Request) -> Response:
        return HTMLResponse('<iframe src="https://player.vimeo.com/video/1" title="V"></iframe>')

    client = client_for(Starlette(routes=[Route("/", vimeo)]))
    doc = placeholder(iframes(client.get("/"))["V"])
    assert text_of(next(doc.iter("h1"))) == "Vimeo"
