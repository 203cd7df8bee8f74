"""Banner, preferences page, placeholders and assets: the markup contract (SPEC 2, 6, 8)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from consent import ConsentMiddleware
from consent.assets import StaticAssets, banner_sources, served_form
from consent.banner import BannerRenderer
from consent.catalogue import TextCatalogue
from consent.state import Consent
from consent.texts import SHIPPED_LOCALES, UI_TEXTS
from tests.support import BASE_URL, consent_id, decide, host_app, make_settings

OPTIONAL = ["preferences", "analytics", "marketing"]
XSS = "<img src=x onerror=alert(1)>"


# -- helpers ------------------------------------------------------------------------------


def renderer(**overrides: Any) -> BannerRenderer:
    settings = make_settings(**overrides)
    return BannerRenderer(
        settings, catalogue=TextCatalogue(settings), assets=StaticAssets(settings.path)
    )


def middleware(**overrides: Any) -> ConsentMiddleware:
    return ConsentMiddleware(host_app(), make_settings(**overrides))


def undecided(*, gpc: bool = False, previous: frozenset[str] = frozenset()) -> Consent:
    return Consent.undecided("necessary", 1, gpc=gpc, consent_id=None, previous=previous)


def decided(*granted: str, gpc: bool = False) -> Consent:
    return Consent(
        id="cid-123",
        revision=1,
        granted=frozenset({"necessary", *granted}),
        denied=frozenset(OPTIONAL) - set(granted),
        decided=True,
        gpc=gpc,
    )


def fragment(markup: bytes | str) -> Element:
    text = markup.decode() if isinstance(markup, bytes) else markup
    root: Element = html5lib.parseFragment(text, namespaceHTMLElements=False)
    return root


def document(markup: bytes | str) -> Element:
    root: Element = html5lib.parse(markup, namespaceHTMLElements=False)
    return root


def by_id(root: Element, element_id: str) -> Element:
    found = [el for el in root.iter() if el.get("id") == element_id]
    assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
    return found[0]


def text_of(element: Element) -> str:
    return " ".join("".join(element.itertext()).split())


def banner(consent: Consent | None = None, locale: str = "en", **overrides: Any) -> Element:
    markup = renderer(**overrides).body_html(
        consent or undecided(), locale, next_path="/article?id=7", nonce=None
    )
    return fragment(markup)


def checkboxes(root: Element) -> dict[str, Element]:
    return {el.get("id", ""): el for el in root.iter("input") if el.get("type") == "checkbox"}


def checked(root: Element) -> set[str]:
    return {
        el.get("value", "")
        for el in root.iter("input")
        if el.get("name") == "categories" and el.get("checked") is not None
    }


@pytest.fixture
def app() -> Iterator[tuple[TestClient, BannerRenderer]]:
    """A host app under the middleware, and the renderer behind its consent pages."""
    mw = middleware(banner={"privacy_policy_url": "/privacy"})
    with TestClient(mw, base_url=BASE_URL, follow_redirects=False) as client:
        yield client, mw.banner


async def call(
    app: Any, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Call an ASGI app as raw ASGI: headers and body exactly as sent (no decoding)."""
    messages: list[Message] = []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start, body = messages
    sent = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], sent, body["body"]


# -- banner markup contract -----------------------------------------------------------------


def test_banner_markup_contract() -> None:
    root = banner(banner={"privacy_policy_url": "/privacy"})
    element = by_id(root, "consent-banner")
    assert element.tag == "div"
    assert element.get("lang") == "en"
    assert element.get("role") == "region"
    heading = by_id(root, element.get("aria-labelledby", ""))
    assert heading.tag == "h2"
    assert text_of(heading) == UI_TEXTS["en"]["banner.title"]

    (form,) = element.iter("form")
    assert form.get("method") == "post"
    assert form.get("action") == "/_consent"
    buttons = list(form.iter("button"))
    assert [(b.get("type"), b.get("name"), b.get("value")) for b in buttons] == [
        ("submit", "action", "accept_all"),
        ("submit", "action", "reject_all"),
        ("submit", "action", "save"),
    ]
    hidden = [i for i in form.iter("input") if i.get("type") == "hidden"]
    assert [(i.get("name"), i.get("value")) for i in hidden] == [
        ("next", "/article?id=7"),
        ("variant", "banner"),  # recorded with the choice: which form it came from
    ]
    boxes = [i for i in form.iter("input") if i.get("name") == "categories"]
    assert [b.get("value") for b in boxes] == OPTIONAL
    privacy = [a for a in element.iter("a") if a.get("href") == "/privacy"]
    assert privacy
    assert text_of(privacy[0]) == UI_TEXTS["en"]["banner.privacy_link"]


@pytest.mark.parametrize("url", ["/privacy", "https://example.com/datenschutz"])
def test_the_privacy_policy_is_linked_on_both_pages(url: str) -> None:
    view = renderer(banner={"privacy_policy_url": url})
    pages = [
        fragment(view.body_html(undecided(), "de", next_path="/", nonce=None)),
        document(view.preferences_page(undecided(), "de", next_path="/", nonce=None, saved=False)),
    ]
    for root in pages:
        links = [a for a in root.iter("a") if a.get("href") == url]
        assert [text_of(a) for a in links] == [UI_TEXTS["de"]["banner.privacy_link"]]


def test_without_a_privacy_policy_url_there_is_no_link() -> None:
    """Unset (the default): no link at all, rather than one to a page that may not exist."""
    view = renderer()
    assert view.settings.banner.privacy_policy_url is None
    body = view.body_html(undecided(), "en", next_path="/", nonce=None)
    page = view.preferences_page(undecided(), "en", next_path="/", nonce=None, saved=False)
    assert text_of(by_id(fragment(body), "consent-text")) == UI_TEXTS["en"]["banner.body"]
    for markup in (body, page):
        # The only privacy policies linked are the services' own (in English, same text).
        text = UI_TEXTS["en"]["banner.privacy_link"]
        links = [a for a in document(markup).iter("a") if text_of(a) == text]
        assert links
        assert {a.get("href") for a in links} <= {s.policy_url for s in view.services}
        assert b"None" not in markup
        assert b'href=""' not in markup
    intro = [p for p in document(page).iter("p") if p.find("a") is None]
    assert UI_TEXTS["en"]["preferences.intro"] in [text_of(p) for p in intro]


def test_every_injected_id_starts_with_consent() -> None:
    markup = renderer().body_html(undecided(gpc=True), "en", next_path="/", nonce=None)
    ids = [el.get("id") for el in fragment(markup).iter() if el.get("id") is not None]
    assert ids
    assert all(i.startswith("consent-") for i in ids)
    assert len(ids) == len(set(ids))
    head = renderer().head_html(decided("analytics"), nonce="n")
    assert all(el.get("id", "").startswith("consent-") for el in list(fragment(head)))


def test_every_label_points_at_its_toggle() -> None:
    root = banner()
    boxes = checkboxes(root)
    labels = {label.get("for") for label in root.iter("label")}
    assert labels == set(boxes)
    for box in boxes.values():
        assert by_id(root, box.get("aria-describedby", "")).tag == "p"


def test_necessary_is_always_on_and_never_submitted() -> None:
    root = banner()
    necessary = checkboxes(root)["consent-c-necessary"]
    assert necessary.get("checked") is not None
    assert necessary.get("disabled") is not None
    assert necessary.get("name") is None
    assert UI_TEXTS["en"]["banner.always_on"] in text_of(by_id(root, "consent-banner"))


def test_new_visitor_gets_no_pre_ticked_optional_toggle() -> None:
    assert checked(banner()) == set()


def test_gpc_notice_and_gpc_categories_stay_unticked() -> None:
    previous = frozenset({"analytics", "marketing"})
    root = banner(undecided(gpc=True, previous=previous))
    assert text_of(by_id(root, "consent-gpc")) == UI_TEXTS["en"]["banner.gpc_notice"]
    assert checked(root) == {"analytics"}  # marketing is the gpc category

    plain = banner(undecided(previous=previous))
    assert not [el for el in plain.iter() if el.get("id") == "consent-gpc"]
    assert checked(plain) == {"analytics", "marketing"}


def test_earlier_revision_choices_are_pre_filled() -> None:
    assert checked(banner(undecided(previous=frozenset({"preferences"})))) == {"preferences"}


def test_accept_reject_and_customise_have_equal_weight() -> None:
    root = banner()
    accept, reject = (
        b for b in root.iter("button") if b.get("value") in ("accept_all", "reject_all")
    )
    summary = next(iter(by_id(root, "consent-customise")))  # not a list of services
    assert accept.get("class") == reject.get("class") == summary.get("class")
    # Reject is a real button next to accept, never a link.
    assert not [a for a in root.iter("a") if "reject" in (a.get("href") or "")]


def test_customise_layer_works_without_javascript() -> None:
    root = banner()
    details = by_id(root, "consent-customise")
    assert details.tag == "details"
    assert details.get("open") is None
    assert next(c.tag for c in details) == "summary"
    assert {b.get("value") for b in details.iter("button")} == {"save"}
    named = [(i.get("name"), i.get("value")) for i in details.iter("input") if i.get("name")]
    assert {v for n, v in named if n == "categories"} == set(OPTIONAL)
    assert ("services", "youtube") in named
    assert {n for n, _ in named} == {"categories", "services"}


# -- services under their categories ----------------------------------------------------------


def service_boxes(root: Element) -> dict[str, Element]:
    return {
        el.get("id", "")[len("consent-s-") :]: el
        for el in root.iter("input")
        if el.get("id", "").startswith("consent-s-")
    }


def ticked_services(root: Element) -> set[str]:
    return {key for key, box in service_boxes(root).items() if box.get("checked") is not None}


def test_each_category_lists_its_services_with_provider_and_policy() -> None:
    view = renderer()
    root = banner()
    boxes = service_boxes(root)
    assert set(boxes) == {s.key for s in view.services}
    for service in view.services:
        box = boxes[service.key]
        category = view.services.category_of[service.key]
        # Nested in its category's row, in a group named "Services".
        (holder,) = [
            div
            for div in root.iter("div")
            if div.get("class") == "consent-cat"
            and any(i.get("id") == f"consent-c-{category}" for i in div.iter("input"))
        ]
        (group,) = [el for el in holder if el.get("role") == "group"]
        assert box in list(group.iter("input"))
        name = by_id(root, group.get("aria-labelledby", ""))
        assert text_of(name) == UI_TEXTS["en"]["banner.services"]
        label = [el for el in root.iter("label") if el.get("for") == box.get("id")]
        assert [text_of(el) for el in label] == [service.label_for("en")]
        described = by_id(root, box.get("aria-describedby", ""))
        assert service.provider in text_of(described)
        assert text_of(described).startswith(UI_TEXTS["en"]["banner.provider"])
        links = [a.get("href") for a in described.iter("a")]
        assert links == ([service.policy_url] if service.policy_url else [])
        if category == "necessary":  # always on, like its category, and never posted
            assert box.get("disabled") is not None
            assert box.get("checked") is not None
            assert box.get("name") is None
        else:
            assert (box.get("name"), box.get("value")) == ("services", service.key)
            assert box.get("disabled") is None


def test_service_rows_speak_the_visitors_language() -> None:
    root = banner(locale="de")
    youtube = by_id(root, service_boxes(root)["youtube"].get("aria-describedby", ""))
    assert text_of(youtube).startswith(UI_TEXTS["de"]["banner.provider"])
    assert UI_TEXTS["de"]["banner.service_policy"] in text_of(youtube)


def test_services_are_pre_ticked_with_their_category_or_alone() -> None:
    assert ticked_services(banner()) == {"stripe", "recaptcha", "hcaptcha", "turnstile"}
    view = renderer()
    preferences = {s.key for s in view.services.in_category("preferences")}
    necessary = {s.key for s in view.services.in_category("necessary")}
    # An undecided visitor who allowed YouTube alone ("Always allow YouTube").
    alone = Consent.undecided("necessary", 1, services=["youtube"])
    assert ticked_services(banner(alone)) == necessary | {"youtube"}
    assert checked(banner(alone)) == set()
    # One renderer, two such visitors: the cached banner is not shared between them.
    for consent, ticked in ((undecided(), necessary), (alone, necessary | {"youtube"})):
        markup = view.body_html(consent, "en", next_path="/", nonce=None)
        assert ticked_services(fragment(markup)) == ticked
    # An earlier revision's category grant ticks its services too.
    before = banner(undecided(previous=frozenset({"preferences"})))
    assert ticked_services(before) == necessary | preferences
    # Reopened by a visitor who decided: what they allow, on the preferences page as well.
    mine = Consent(
        id="cid-123",
        revision=1,
        granted=frozenset({"necessary", "analytics"}),
        denied=frozenset({"preferences", "marketing"}),
        decided=True,
        services=frozenset({"vimeo"}),
    )
    analytics = {s.key for s in view.services.in_category("analytics")}
    reopened = fragment(view.reopened_banner(mine, "en", next_path="/"))
    page = document(view.preferences_page(mine, "en", next_path="/", nonce=None, saved=False))
    for root in (reopened, page):
        assert ticked_services(root) == necessary | analytics | {"vimeo"}
        assert checked(root) == {"analytics"}


def test_without_services_there_is_no_service_list() -> None:
    root = banner(builtin_services=False)
    assert service_boxes(root) == {}
    assert not [el for el in root.iter() if el.get("role") == "group"]


def test_no_close_control_and_nothing_modal() -> None:
    root = banner()
    element = by_id(root, "consent-banner")
    assert all(b.get("name") == "action" for b in element.iter("button"))
    assert element.get("aria-modal") is None
    assert element.get("role") != "dialog"


def test_undecided_page_carries_a_hidden_settings_control() -> None:
    link = by_id(banner(), "consent-settings")
    assert link.get("hidden") is not None


def test_decided_visitor_gets_only_the_settings_control() -> None:
    view = renderer()
    markup = view.body_html(decided("analytics"), "de", next_path="/a?b=1&c=2", nonce=None)
    root = fragment(markup)
    assert not [el for el in root.iter() if el.get("id") == "consent-banner"]
    link = by_id(root, "consent-settings")
    assert link.tag == "a"
    assert link.get("hidden") is None
    assert link.get("lang") == "de"
    assert text_of(link) == UI_TEXTS["de"]["settings.button"]
    href = urlsplit(link.get("href", ""))
    assert href.path == "/_consent/preferences"
    assert parse_qs(href.query) == {"next": ["/a?b=1&c=2"]}


def test_settings_control_can_be_switched_off() -> None:
    view = renderer(banner={"show_settings_button": False})
    assert view.body_html(decided(), "en", next_path="/", nonce=None) == b""
    root = fragment(view.body_html(undecided(), "en", next_path="/", nonce=None))
    assert not [el for el in root.iter() if el.get("id") == "consent-settings"]


@pytest.mark.parametrize("position", ["bottom-left", "bottom-right", "top-left", "top-right"])
def test_settings_control_position(position: str) -> None:
    view = renderer(banner={"settings_button_position": position})
    for consent in (decided(), undecided()):  # shown, and hidden under the banner
        root = fragment(view.body_html(consent, "en", next_path="/", nonce=None))
        assert by_id(root, "consent-settings").get("data-position") == position


def test_settings_control_sits_bottom_left_by_default() -> None:
    root = fragment(renderer().body_html(decided(), "en", next_path="/", nonce=None))
    assert by_id(root, "consent-settings").get("data-position") == "bottom-left"
    with pytest.raises(ValueError, match="settings_button_position"):
        make_settings(banner={"settings_button_position": "middle"})


def test_custom_endpoint_path() -> None:
    view = renderer(path="/privacy-choices")
    root = fragment(view.body_html(undecided(), "en", next_path="/", nonce=None))
    assert next(root.iter("form")).get("action") == "/privacy-choices"
    assert (
        by_id(root, "consent-settings").get("href", "").startswith("/privacy-choices/preferences?")
    )
    assert view.assets.url("banner.js").startswith("/privacy-choices/static/")


def test_next_path_is_per_request_and_cached_markup_is_reused() -> None:
    view = renderer()
    first = fragment(view.body_html(undecided(), "en", next_path="/one", nonce=None))
    second = fragment(view.body_html(undecided(), "en", next_path="/two?x=1", nonce=None))
    nexts = [
        [i.get("value") for i in r.iter("input") if i.get("name") == "next"]
        for r in (first, second)
    ]
    assert nexts == [["/one"], ["/two?x=1"]]
    assert len(view._body) == 1


def test_off_site_next_is_replaced_by_root() -> None:
    root = banner_with_next("//evil.example/")
    assert [i.get("value") for i in root.iter("input") if i.get("name") == "next"] == ["/"]


def banner_with_next(next_path: str) -> Element:
    return fragment(renderer().body_html(undecided(), "en", next_path=next_path, nonce=None))


# -- escaping (SPEC section 8) ----------------------------------------------------------------


def hostile_settings(**overrides: Any) -> dict[str, Any]:
    return {
        "categories": [
            {"key": "necessary", "label": "Needed", "required": True, "preselected": True},
            {"key": "stats", "label": XSS, "description": f"desc {XSS}"},
        ],
        "banner": {"texts": {"en": {"banner.title": f"Hi {XSS}", "banner.body": "a & b"}}},
        **overrides,
    }


def test_texts_and_labels_are_escaped_everywhere() -> None:
    view = renderer(**hostile_settings())
    hostile = Consent.undecided("necessary", 1)
    outputs = [
        view.body_html(hostile, "en", next_path='/x"><script>alert(1)</script>', nonce=None),
        view.preferences_page(hostile, "en", next_path="/", nonce=None, saved=True),
        view.placeholder_html("stats", "en", source="<b>evil</b>").encode(),
        view.head_html(hostile, nonce='"><script>'),
    ]
    for markup in outputs:
        assert b"<img" not in markup
        assert b"<script>" not in markup
        assert b"<b>" not in markup
    root = fragment(outputs[0])
    assert text_of(by_id(root, "consent-title")) == f"Hi {XSS}"
    assert XSS in text_of(by_id(root, "consent-banner"))
    assert [i.get("value") for i in root.iter("input") if i.get("name") == "next"] == [
        '/x"><script>alert(1)</script>'
    ]
    head = fragment(outputs[3])
    assert {el.get("nonce") for el in head} == {'"><script>'}


# -- languages and overrides ------------------------------------------------------------------


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_locale_renders_with_its_lang(locale: str) -> None:
    root = banner(locale=locale)
    element = by_id(root, "consent-banner")
    assert element.get("lang") == locale
    assert text_of(by_id(root, "consent-title")) == UI_TEXTS[locale]["banner.title"]
    accept = next(b for b in root.iter("button") if b.get("value") == "accept_all")
    assert text_of(accept) == UI_TEXTS[locale]["banner.accept_all"]
    label = next(lb for lb in root.iter("label") if lb.get("for") == "consent-c-analytics")
    assert text_of(label) == renderer().catalogue.texts(locale)["category.analytics.label"]


def test_text_overrides_by_locale_then_base_language() -> None:
    view = renderer(
        banner={
            "locales": ["en", "de", "de-AT"],
            "texts": {
                "de": {"banner.title": "Datenschutz", "category.analytics.label": "Messung"},
                "de-AT": {"banner.accept_all": "Passt"},
            },
        }
    )
    austrian = view.catalogue.texts("de-AT")
    assert austrian["banner.title"] == "Datenschutz"  # from the base language override
    assert austrian["banner.accept_all"] == "Passt"
    assert austrian["banner.reject_all"] == UI_TEXTS["de"]["banner.reject_all"]  # shipped
    assert austrian["category.analytics.label"] == "Messung"
    german = view.catalogue.texts("de")
    assert german["banner.accept_all"] == UI_TEXTS["de"]["banner.accept_all"]
    assert view.catalogue.texts("en")["banner.title"] == UI_TEXTS["en"]["banner.title"]
    root = fragment(view.body_html(undecided(), "de-AT", next_path="/", nonce=None))
    assert by_id(root, "consent-banner").get("lang") == "de-AT"
    assert text_of(by_id(root, "consent-title")) == "Datenschutz"


def test_texts_hold_everything_shown_and_cannot_be_changed() -> None:
    view = renderer()
    texts = view.catalogue.texts("fr")
    assert texts["banner.title"] == UI_TEXTS["fr"]["banner.title"]
    assert texts["category.marketing.description"]
    with pytest.raises(TypeError):
        texts["banner.title"] = "x"  # type: ignore[index]
    assert view.catalogue.texts("fr") is texts  # computed once per locale
    assert view.catalogue.texts("xx")["banner.title"] == UI_TEXTS["en"]["banner.title"]


def test_unknown_text_ids_and_locales_fail_at_start_up() -> None:
    with pytest.raises(ValueError, match=r"banner\.titel"):
        renderer(banner={"texts": {"en": {"banner.titel": "typo"}}})
    with pytest.raises(ValueError, match="'sv'"):
        renderer(banner={"texts": {"sv": {"banner.title": "Kakor"}}})


def test_template_dir_overrides_single_templates(tmp_path: Path) -> None:
    (tmp_path / "banner.html").write_text(
        '<div id="consent-banner" lang="{{ lang }}" class="mine">{{ t["banner.title"] }}</div>',
        encoding="utf-8",
    )
    view = renderer(banner={"template_dir": str(tmp_path)})
    root = fragment(view.body_html(undecided(), "it", next_path="/", nonce=None))
    assert by_id(root, "consent-banner").get("class") == "mine"
    assert text_of(by_id(root, "consent-banner")) == UI_TEXTS["it"]["banner.title"]
    # Templates that are not overridden still come from the package.
    settings_link = fragment(view.body_html(decided(), "it", next_path="/", nonce=None))
    assert by_id(settings_link, "consent-settings").tag == "a"


# -- placeholder ------------------------------------------------------------------------------


def test_placeholder_document() -> None:
    view = renderer()
    srcdoc = view.placeholder_html("preferences", "en", source="www.youtube.com", next_path="/v")
    root = document(srcdoc)
    assert root.get("lang") == "en"
    paragraphs = [text_of(p) for p in root.iter("p")]
    assert paragraphs[0] == (
        "This content from www.youtube.com is blocked until you allow “Preferences”."
    )
    (link,) = root.iter("a")
    assert link.get("target") == "_top"
    assert link.get("href") == "/_consent/preferences?next=/v"
    assert text_of(link) == UI_TEXTS["en"]["placeholder.link"]
    # Only our own external script and stylesheet: nothing inline (CSP without 'unsafe-inline').
    (script,) = root.iter("script")
    assert script.get("src") == view.assets.url("placeholder.js")
    assert not "".join(script.itertext())
    assert "style=" not in srcdoc
    assert "<style" not in srcdoc
    assert all(el.get("href", "/_consent/").startswith("/_consent/") for el in root.iter())
    assert all(el.get("src", "/_consent/").startswith("/_consent/") for el in root.iter())


def test_placeholder_without_source_or_next() -> None:
    view = renderer()
    root = document(view.placeholder_html("marketing", "de"))
    assert root.get("lang") == "de"
    assert (
        next(iter(root.iter("p"))).text
        == "Dieser Inhalt ist blockiert, bis Sie „Marketing“ erlauben."
    )
    assert next(iter(root.iter("a"))).get("href") == "/_consent/preferences"
    assert view.placeholder_html("marketing", "de") is view.placeholder_html("marketing", "de")


def test_placeholder_escapes_label_and_source() -> None:
    view = renderer(**hostile_settings())
    srcdoc = view.placeholder_html("stats", "en", source='"><img src=x>', next_path="/a b")
    root = document(srcdoc)
    assert XSS in text_of(next(iter(root.iter("p"))))
    assert '"><img src=x>' in text_of(next(iter(root.iter("p"))))
    assert "<img" not in srcdoc
    assert next(iter(root.iter("a"))).get("href") == "/_consent/preferences?next=/a%20b"


# -- head: Consent Mode, CSS, JS --------------------------------------------------------------


def test_head_order_and_nonce_on_every_tag() -> None:
    view = renderer()
    tags = list(fragment(view.head_html(undecided(), nonce="r4nd0m")))
    assert [(t.tag, t.get("id")) for t in tags] == [
        ("script", "consent-gcm"),
        ("link", "consent-css"),
        ("script", "consent-js"),
    ]
    gcm, css, js = tags
    assert gcm.get("src") == view.assets.url("gcm.js")
    assert gcm.get("async") is None
    assert gcm.get("defer") is None
    assert css.get("rel") == "stylesheet"
    assert css.get("href") == view.assets.url("banner.css")
    assert js.get("src") == view.assets.url("banner.js")
    assert js.get("defer") is not None
    assert [t.get("nonce") for t in tags] == ["r4nd0m"] * 3
    assert all(t.get("nonce") is None for t in fragment(view.head_html(undecided(), nonce=None)))
    for tag in tags:
        url = tag.get("src") or tag.get("href") or ""
        assert re.fullmatch(r"/_consent/static/(banner|gcm)\.[0-9a-f]{8}\.(js|css)", url)


def test_consent_mode_attributes_for_undecided_and_decided_visitors() -> None:
    view = renderer()
    gcm = next(iter(fragment(view.head_html(undecided(), nonce=None))))
    assert gcm.get("data-decided") == "0"
    assert "analytics_storage" not in (gcm.get("data-granted") or "").split()
    assert "ad_storage" not in (gcm.get("data-granted") or "").split()

    gcm = next(iter(fragment(view.head_html(decided("analytics", "marketing"), nonce=None))))
    assert gcm.get("data-decided") == "1"
    assert set((gcm.get("data-granted") or "").split()) == {
        "analytics_storage",
        "ad_storage",
        "ad_user_data",
        "ad_personalization",
        "security_storage",
    }


def test_state_and_signal_map_for_the_script() -> None:
    view = renderer()
    js = list(fragment(view.head_html(decided("analytics", gpc=True), nonce=None)))[2]
    assert js.get("data-endpoint") == "/_consent"
    assert json.loads(js.get("data-state") or "") == {
        "revision": 1,
        "decided": True,
        "granted": ["necessary", "analytics"],
        "denied": ["preferences", "marketing"],
        "gpc": True,
        "allowed": ["analytics", "necessary"],
    }
    signals = json.loads(js.get("data-gcm") or "")
    assert signals["analytics"] == ["analytics_storage"]
    assert signals["marketing"] == ["ad_storage", "ad_user_data", "ad_personalization"]


def test_gcm_script_sets_defaults_before_updating() -> None:
    source = (banner_sources() / "gcm.js").read_text("utf-8")
    default = source.index("'consent', 'default'")
    assert default < source.index("'consent', 'update'")
    assert "wait_for_update: 500" in source
    assert "document.currentScript" in source
    for signal in ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"):
        assert f"'{signal}'" in source


# -- preferences page -------------------------------------------------------------------------


def test_preferences_page_for_a_new_visitor(app: tuple[TestClient, BannerRenderer]) -> None:
    client, _ = app
    response = client.get("/_consent/preferences?next=/article")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
    assert {"cookie", "accept-language"} <= vary
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    root = document(response.text)
    assert root.get("lang") == "en"
    assert text_of(next(iter(root.iter("title")))) == UI_TEXTS["en"]["preferences.title"]
    (main,) = root.iter("main")
    (h1,) = main.iter("h1")
    assert text_of(h1) == UI_TEXTS["en"]["preferences.title"]
    (form,) = main.iter("form")
    assert (form.get("method"), form.get("action")) == ("post", "/_consent")
    assert checked(form) == set()
    assert text_of(by_id(root, "consent-id")) == UI_TEXTS["en"]["preferences.no_consent_id"]
    back = [a for a in main.iter("a") if text_of(a) == UI_TEXTS["en"]["preferences.back"]]
    assert back[0].get("href") == "/article"
    assert not [el for el in root.iter() if el.get("id") == "consent-saved"]


def test_preferences_page_shows_consent_id_and_current_grants(
    app: tuple[TestClient, BannerRenderer],
) -> None:
    client, _ = app
    decide(client, "save", "analytics")
    root = document(client.get("/_consent/preferences?saved=1").text)
    assert text_of(by_id(root, "consent-id")) == (
        f"{UI_TEXTS['en']['preferences.consent_id']} {consent_id(client)}"
    )
    assert by_id(root, "consent-saved").get("role") == "status"
    assert checked(root) == {"analytics"}


def test_preferences_page_language_and_off_site_next(
    app: tuple[TestClient, BannerRenderer],
) -> None:
    client, _ = app
    response = client.get(
        "/_consent/preferences?next=//evil.example/",
        headers={"accept-language": "nl-BE, en;q=0.5"},
    )
    root = document(response.text)
    assert root.get("lang") == "nl"
    back = [a for a in root.iter("a") if text_of(a) == UI_TEXTS["nl"]["preferences.back"]]
    assert back[0].get("href") == "/"


def test_preferences_form_round_trip_without_javascript(
    app: tuple[TestClient, BannerRenderer],
) -> None:
    client, _ = app
    root = document(client.get("/_consent/preferences?next=/article").text)
    (form,) = root.iter("form")
    fields = {
        i.get("name"): i.get("value") for i in form.iter("input") if i.get("type") == "hidden"
    }
    response = client.post(
        form.get("action", ""),
        data={**fields, "action": "save", "categories": ["preferences"]},
        headers={"origin": BASE_URL},
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/_consent/preferences?saved=1&next=/article"
    page = document(client.get(location).text)
    assert by_id(page, "consent-saved") is not None
    assert checked(page) == {"preferences"}


def test_preferences_head_answers_without_body(app: tuple[TestClient, BannerRenderer]) -> None:
    client, _ = app
    response = client.head("/_consent/preferences")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 500


def test_banner_fragment_for_reopening_in_place(app: tuple[TestClient, BannerRenderer]) -> None:
    client, _ = app
    decide(client, "save", "marketing")
    response = client.get("/_consent/preferences?part=banner&next=/x")
    assert response.headers["cache-control"] == "no-store"
    root = fragment(response.text)
    assert by_id(root, "consent-customise").get("open") is not None
    assert checked(root) == {"marketing"}
    assert not [el for el in root.iter() if el.get("id") == "consent-settings"]
    assert [i.get("value") for i in root.iter("input") if i.get("name") == "next"] == ["/x"]


# -- static assets ----------------------------------------------------------------------------


def shipped(name: str) -> bytes:
    return (banner_sources() / name).read_bytes()


def served(name: str) -> bytes:
    """What the static endpoint sends of a shipped file (no comments or indentation)."""
    return served_form(name, shipped(name))


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("banner.js", "text/javascript; charset=utf-8"),
        ("banner.css", "text/css; charset=utf-8"),
        ("gcm.js", "text/javascript; charset=utf-8"),
    ],
)
def test_static_assets_are_served_immutable(
    app: tuple[TestClient, BannerRenderer], name: str, content_type: str
) -> None:
    client, view = app
    url = view.assets.url(name)
    assert re.fullmatch(rf"/_consent/static/{name.split('.')[0]}\.[0-9a-f]{{8}}\.\w+", url)
    response = client.get(url, headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in response.headers
    assert response.content == served(name)
    etag = response.headers["etag"]
    again = client.get(url, headers={"accept-encoding": "identity", "if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.anyio
async def test_static_assets_are_pre_gzipped() -> None:
    mw = middleware()
    url = mw.banner.assets.url("banner.css")
    status, headers, body = await call(mw, url, {"accept-encoding": "br, gzip;q=0.8"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body)
    assert gzip.decompress(body) == served("banner.css")
    _, plain, _ = await call(mw, url, {})
    assert plain["etag"] != headers["etag"]  # two representations, two strong validators
    _, refused, raw = await call(mw, url, {"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused
    assert raw == served("banner.css")


@pytest.mark.anyio
async def test_static_head_sends_headers_only() -> None:
    mw = middleware()
    status, headers, body = await call(mw, mw.banner.assets.url("banner.js"), {}, method="HEAD")
    assert status == 200
    assert body == b""
    assert int(headers["content-length"]) == len(served("banner.js"))


@pytest.mark.parametrize(
    "path",
    [
        "/_consent/static/banner.js",
        "/_consent/static/banner.00000000.js",
        "/_consent/static/../banner.js",
        "/_consent/static/..%2fsettings.py",
        "/_consent/static/",
        "/_consent/static/templates/banner.html",
    ],
)
def test_static_unknown_names_are_404(app: tuple[TestClient, BannerRenderer], path: str) -> None:
    client, _ = app
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.anyio
async def test_static_traversal_in_raw_path_is_404() -> None:
    mw = middleware()
    hashed = mw.banner.assets.url("banner.js").rsplit("/", 1)[1]
    for path in (
        f"/_consent/static/../static/{hashed}",
        f"/_consent/static/./{hashed}",
        f"/_consent/static/{hashed}/",
    ):
        status, _, _ = await call(mw, path, {})
        assert status == 404, path


def test_asset_url_of_unknown_asset() -> None:
    with pytest.raises(KeyError, match=r"nope\.js"):
        renderer().assets.url("nope.js")


def test_endpoint_path_with_trailing_slash() -> None:
    view = renderer(path="/_consent/")
    assert view.assets.url("gcm.js").startswith("/_consent/static/gcm.")
    assert view.preferences_url == "/_consent/preferences"
    assert StaticAssets("/_consent/").url("gcm.js") == view.assets.url("gcm.js")


def test_injected_markup_is_ascii_for_pages_of_any_charset() -> None:
    view = renderer()
    body = view.body_html(undecided(), "pl", next_path="/zażółć", nonce=None)
    srcdoc = view.placeholder_html("analytics", "fr", source="exemple.fr", next_path="/é")
    head = view.head_html(decided("analytics"), nonce="ñ")
    assert body.isascii()
    assert srcdoc.isascii()
    assert head.isascii()
    root = fragment(body)
    assert text_of(by_id(root, "consent-title")) == UI_TEXTS["pl"]["banner.title"]
    assert [i.get("value") for i in root.iter("input") if i.get("name") == "next"] == ["/zażółć"]
    assert "bloqué" in text_of(next(iter(document(srcdoc).iter("p"))))


@pytest.mark.anyio
async def test_own_preferences_template_keeps_only_the_framing_rule(tmp_path: Path) -> None:
    (tmp_path / "preferences.html").write_text(
        '<!doctype html><html lang="{{ lang }}"><title>{{ t["preferences.title"] }}</title>'
        '<link rel="stylesheet" href="https://cdn.example/site.css"><main>mine</main></html>',
        encoding="utf-8",
    )
    mw = middleware(banner={"template_dir": str(tmp_path)})
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/_consent/preferences",
        "query_string": b"next=/a",
        "headers": [(b"accept-language", b"it")],
    }
    await mw(scope, receive, send)
    headers = dict(messages[0]["headers"])
    assert headers[b"content-security-policy"] == b"frame-ancestors 'none'"
    assert b"<main>mine</main>" in messages[1]["body"]
    assert b'lang="it"' in messages[1]["body"]


def css_rules(css: str) -> list[tuple[str, list[str]]]:
    """(selector as written, declarations) of every rule in order, ``@media`` ones included."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [
        (" ".join(selector.split()), [d.strip() for d in body.split(";") if d.strip()])
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
    ]


def css_rule(css: str, selector: str, nth: int = 0) -> list[str]:
    return [body for sel, body in css_rules(css) if sel == selector][nth]


def test_dark_mode_by_class_sets_the_same_colours_as_the_system_preference() -> None:
    css = shipped("banner.css").decode()
    ours = "#consent-banner, #consent-settings, .consent-page"
    light, system_dark = css_rule(css, ours), css_rule(css, ours, 1)
    assert css.index("@media (prefers-color-scheme: dark)") < css.index("color-scheme: dark")
    assert "color-scheme: dark" in system_dark
    # a `dark` class on <html> gets exactly the system's dark theme ...
    assert css_rule(css, ".dark #consent-banner, .dark #consent-settings") == system_dark
    # ... and a `light` class the light one, whatever the system prefers
    forced_light = css_rule(css, ".light #consent-banner, .light #consent-settings")
    assert set(forced_light) <= set(light)
    assert [d.split(":")[0] for d in forced_light] == [d.split(":")[0] for d in system_dark]


def test_css_places_the_settings_control_in_every_corner() -> None:
    css = shipped("banner.css").decode()
    default = [d.split(":")[0] for d in css_rule(css, "#consent-settings")]
    assert {"left", "bottom"} <= set(default)
    assert {"top", "right"}.isdisjoint(default)
    assert "left: auto" in css_rule(css, "#consent-settings[data-position$=right]")
    assert "bottom: auto" in css_rule(css, "#consent-settings[data-position^=top]")


def test_banner_js_and_css_stay_within_the_size_budget() -> None:
    # SPEC section 6: 5 KB gzipped for both, 7 KB with the runtime guard, as served;
    # benchmarks/bench_banner_size.py prints details.
    size = {
        name: len(gzip.compress(served(name), compresslevel=9, mtime=0))
        for name in ("banner.js", "banner.css", "guard.js")
    }
    assert size["banner.js"] + size["banner.css"] <= 5 * 1024
    assert sum(size.values()) <= 7 * 1024
