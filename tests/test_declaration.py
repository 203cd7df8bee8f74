"""The cookie declaration: ``GET /_consent/cookies`` (HTML and JSON) and its template helpers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jinja2 import Environment
from markupsafe import Markup

from consent import ConsentMiddleware
from consent.categories import builtin_cookie_table
from consent.declaration import (
    CookieDeclaration,
    Lifetime,
    builtin_lifetimes,
    environment_declaration,
    format_lifetime,
    wants_json,
)
from consent.integrations import django as django_integration
from consent.integrations import jinja as jinja_integration
from consent.services import builtin_services
from consent.texts import SHIPPED_LOCALES, UI_TEXTS
from tests._html import parse
from tests.conftest import ClientFactory
from tests.integration.recipes import recipe
from tests.support import host_app, make_settings

PATH = "/_consent/cookies"
JSON = {"accept": "application/json"}
EVIL = "<script>alert(1)</script>"


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


def page_of(client: Any, locale: str = "en") -> tuple[Any, ET.Element]:
    response = client.get(PATH, headers={"accept-language": locale})
    assert response.status_code == 200
    return response, parse(response.content)


def cookie_names(root: ET.Element) -> set[str]:
    return {text_of(code) for code in root.iter("code")}


def section(root: ET.Element, key: str) -> ET.Element | None:
    for element in root.iter("section"):
        if element.get("aria-labelledby") == f"consent-declaration-{key}":
            return element
    return None


# -- the page, in every language ----------------------------------------------------------


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_page_lists_every_default_service_and_its_cookies(
    client_for: ClientFactory, locale: str
) -> None:
    response, root = page_of(client_for(), locale)
    texts = UI_TEXTS[locale]
    assert response.headers["content-language"] == locale
    assert root.get("lang") == locale
    assert text_of(root.find(".//title")) == texts["declaration.title"]  # type: ignore[arg-type]
    assert text_of(root.find(".//h1")) == texts["declaration.title"]  # type: ignore[arg-type]
    headings = [text_of(th) for th in root.iter("th")]
    for column in ("cookie", "service", "provider", "purpose", "lifetime"):
        assert texts[f"declaration.{column}"] in headings, column
    # One section per category, headed by its label in this language.
    settings = make_settings()
    for category in settings.categories:
        found = section(root, category.key)
        assert found is not None, category.key
        assert text_of(found.find("h2")) == category.label_for(locale)  # type: ignore[arg-type]
    names = cookie_names(root)
    cells = {text_of(td) for td in root.iter("td")}
    for service in builtin_services():
        assert service.label_for(locale) in cells, service.key
        assert set(service.cookies) <= names, service.key
    assert {"consent", "__Host-consent"} <= names
    assert texts["declaration.builtin"] in {text_of(p) for p in root.iter("p")}


def test_page_links_each_provider_to_its_policy(client_for: ClientFactory) -> None:
    _, root = page_of(client_for())
    links = {(a.get("href"), text_of(a)) for a in root.iter("a")}
    for service in builtin_services():
        assert (service.policy_url, service.provider) in links, service.key
    assert ("/_consent/preferences", UI_TEXTS["en"]["settings.button"]) in links


def test_lifetimes_where_known_and_not_stated_otherwise(client_for: ClientFactory) -> None:
    _, root = page_of(client_for())
    rows = {
        text_of(tr.find("td/code")): [text_of(td) for td in tr.findall("td")]  # type: ignore[arg-type]
        for tr in root.iter("tr")
        if tr.find("td/code") is not None
    }
    assert rows["_ga"][4] == "2\u00a0years"
    assert rows["_gid"][4] == "24\u00a0hours"
    assert rows["_fbp"][4] == "90\u00a0days"
    assert rows["YSC"][4] == "Until the browser is closed"
    assert rows["_pk_ses.*"][4] == "30\u00a0minutes"
    assert rows["consent"][4] == "184\u00a0days"
    assert rows["datr"][4] == "Not stated"
    assert rows["_ga"][1:4] == ["Google Analytics", "Google Ireland Limited", "Visit statistics"]


def test_headers(client_for: ClientFactory) -> None:
    client = client_for()
    first, root = page_of(client)
    second, _ = page_of(client)
    cache_control = first.headers["cache-control"]
    assert cache_control.startswith("public")
    assert "max-age=" in cache_control
    assert "no-store" not in cache_control
    vary = {part.strip().lower() for part in first.headers["vary"].split(",")}
    assert {"accept", "accept-language"} <= vary
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert first.headers["x-content-type-options"] == "nosniff"
    csp = first.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "unsafe-inline" not in csp
    # The one inline style carries this response's nonce; the next response has another.
    styles = list(root.iter("style"))
    assert len(styles) == 1
    nonce = styles[0].get("nonce")
    assert nonce
    assert f"'nonce-{nonce}'" in csp
    assert nonce not in second.headers["content-security-policy"]
    assert not list(root.iter("script"))
    assert all(e.get("style") is None for e in root.iter())
    css = [link.get("href") for link in root.iter("link") if link.get("rel") == "stylesheet"]
    assert len(css) == 1
    assert css[0].startswith("/_consent/static/banner.")


def test_head_and_wrong_method(client_for: ClientFactory) -> None:
    client = client_for()
    head = client.head(PATH)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 1000
    assert client.post(PATH, headers={"origin": "http://testserver"}).status_code == 405
    assert client.get(PATH + "/").status_code == 200


# -- JSON ---------------------------------------------------------------------------------


def test_json_form(client_for: ClientFactory) -> None:
    response = client_for().get(PATH, headers={**JSON, "accept-language": "de"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-language"] == "de"
    assert "accept" in response.headers["vary"].lower()
    body = response.json()
    assert set(body) == {"locale", "categories", "builtin_cookie_patterns"}
    assert body["locale"] == "de"
    assert body["builtin_cookie_patterns"] is True
    keys = [c["key"] for c in body["categories"]]
    assert keys == ["necessary", "preferences", "analytics", "marketing"]
    for category in body["categories"]:
        assert set(category) == {"key", "label", "description", "required", "cookies", "services"}
        for service in category["services"]:
            assert set(service) == {
                "key",
                "label",
                "provider",
                "policy_url",
                "kind",
                "purpose",
                "cookies",
            }
            for cookie in service["cookies"]:
                assert set(cookie) == {
                    "name",
                    "pattern",
                    "provider",
                    "purpose",
                    "lifetime",
                    "lifetime_text",
                }
                assert cookie["provider"] == service["provider"]
    necessary, analytics = body["categories"][0], body["categories"][2]
    assert necessary["required"] is True
    assert analytics["required"] is False
    assert analytics["label"] == "Statistik"
    assert necessary["cookies"][0] == {
        "name": "consent",
        "pattern": False,
        "provider": None,
        "purpose": "Speichert Ihre Cookie-Auswahl",
        "lifetime": "P184D",
        "lifetime_text": "184\u00a0Tage",
    }
    ga = next(s for s in analytics["services"] if s["key"] == "google-analytics")
    cookies = {c["name"]: c for c in ga["cookies"]}
    assert cookies["_ga"]["lifetime"] == "P2Y"
    assert cookies["_ga_*"]["pattern"] is True
    assert cookies["_gat_*"]["lifetime"] is None
    assert cookies["_gat_*"]["lifetime_text"] == "Nicht angegeben"
    services = [s["key"] for c in body["categories"] for s in c["services"]]
    assert sorted(services) == sorted(s.key for s in builtin_services())


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json", True),
        ("application/json, text/plain, */*", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("*/*", False),
        ("", False),
        ("text/html, application/json;q=0.5", False),
        ("application/json;q=0", False),
        ("application/json;q=0.9, text/html;q=0.5", True),
        ("application/json;q=x", False),
    ],
)
def test_accept_negotiation(accept: str, expected: bool) -> None:
    assert wants_json(accept) is expected


# -- what the operator configures -----------------------------------------------------------

OWN_SERVICE = {
    "key": "peertube",
    "label": {"en": "PeerTube", "de": "PeerTube (Video)"},
    "provider": "Example Video Collective",
    "purpose": "preferences",
    "kind": "video",
    "policy_url": "https://video.example.org/privacy",
    "hosts": ["video.example.org"],
    "cookies": ["pt_session", "pt_pref_*"],
}


def test_operator_services_and_category_patterns(client_for: ClientFactory) -> None:
    client = client_for(
        services=[OWN_SERVICE, {**OWN_SERVICE, "key": "bare", "label": "Bare", "cookies": []}],
        category_overrides={"preferences": {"cookies": ["theme", "cart_*"]}},
        extra_categories=[{"key": "chat", "label": "Chat", "cookies": ["chat_id"]}],
        banner={"privacy_policy_url": "/privacy"},
    )
    _, root = page_of(client, "de")
    preferences = section(root, "preferences")
    assert preferences is not None
    assert {"pt_session", "pt_pref_*", "theme", "cart_*"} <= cookie_names(preferences)
    cells = [text_of(td) for td in preferences.iter("td")]
    assert "PeerTube (Video)" in cells
    assert "Eingebettete Videos" in cells
    links = {(a.get("href"), text_of(a)) for a in preferences.iter("a")}
    assert ("https://video.example.org/privacy", "Example Video Collective") in links
    assert ("/privacy", "Diese Website") in links  # the category's own cookies are this site's
    # A service declaring no cookie is still listed, saying so.
    bare = next(tr for tr in preferences.iter("tr") if "Bare" in [text_of(td) for td in tr])
    assert text_of(bare.findall("td")[0]) == "Keine angegeben"
    chat = section(root, "chat")
    assert chat is not None
    assert cookie_names(chat) == {"chat_id"}
    body = client.get(PATH, headers=JSON).json()
    preferences_json = next(c for c in body["categories"] if c["key"] == "preferences")
    assert [c["name"] for c in preferences_json["cookies"]] == ["theme", "cart_*"]
    assert preferences_json["cookies"][1]["pattern"] is True
    own = next(s for s in preferences_json["services"] if s["key"] == "peertube")
    assert [c["lifetime"] for c in own["cookies"]] == [None, None]


def test_everything_is_escaped(client_for: ClientFactory) -> None:
    client = client_for(
        services=[{**OWN_SERVICE, "label": EVIL, "provider": f"A & B {EVIL}"}],
        category_overrides={"preferences": {"label": {"en": f"Prefs {EVIL}"}}},
    )
    response, root = page_of(client)
    assert b"<script" not in response.content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert not list(root.iter("script"))
    cells = {text_of(td) for td in root.iter("td")}
    assert EVIL in cells
    assert f"A & B {EVIL}" in cells
    assert text_of(section(root, "preferences").find("h2")) == f"Prefs {EVIL}"  # type: ignore[union-attr,arg-type]
    assert response.text.count("A &amp; B") >= 1


def test_a_category_of_an_uncovered_purpose_is_not_listed(client_for: ClientFactory) -> None:
    client = client_for(
        categories=[
            {"key": "necessary", "required": True},
            {"key": "preferences"},
            {"key": "analytics"},
        ]
    )
    _, root = page_of(client)
    assert section(root, "marketing") is None
    names = cookie_names(root)
    assert "_fbp" not in names
    assert "_gcl_au" not in names
    assert "Meta Pixel" not in {text_of(td) for td in root.iter("td")}
    assert "_ga" in names  # analytics is covered
    body = client.get(PATH, headers=JSON).json()
    assert [c["key"] for c in body["categories"]] == ["necessary", "preferences", "analytics"]


def test_the_builtin_table_is_not_listed(client_for: ClientFactory) -> None:
    declared = {name for service in builtin_services() for name in service.cookies}
    table = builtin_cookie_table()
    unlisted = sorted(set(table["analytics"]["exact"]) - declared)[:20]
    _response, root = page_of(client_for())
    names = cookie_names(root)
    assert not names & set(unlisted)
    assert len(names) < 100
    off, _root_off = page_of(client_for(builtin_cookie_patterns=False))
    assert UI_TEXTS["en"]["declaration.builtin"] not in off.text
    assert (
        client_for(builtin_cookie_patterns=False)
        .get(PATH, headers=JSON)
        .json()["builtin_cookie_patterns"]
        is False
    )


def test_no_host_prefix_name_when_it_cannot_apply(client_for: ClientFactory) -> None:
    _, root = page_of(client_for(cookie_domain="example.com", cookie_name="cc"))
    names = cookie_names(section(root, "necessary"))  # type: ignore[arg-type]
    assert "cc" in names
    assert "__Host-cc" not in names


def test_an_overridden_template_keeps_only_the_framing_rule(
    client_for: ClientFactory, tmp_path: Path
) -> None:
    (tmp_path / "cookies.html").write_text(
        "{% if fragment %}F{% else %}<p>{{ t['declaration.title'] }}</p>{% endif %}"
    )
    response = client_for(banner={"template_dir": str(tmp_path)}).get(PATH)
    assert response.text == "<p>Cookie declaration</p>"
    assert response.headers["content-security-policy"] == "frame-ancestors 'self'"


# -- lifetimes ------------------------------------------------------------------------------


def test_lifetime_data_names_declared_cookies_of_builtin_services() -> None:
    services = {service.key: service for service in builtin_services()}
    raw = json.loads(
        resources.files("consent").joinpath("data/cookie_lifetimes.json").read_text("utf-8")
    )
    assert raw["notice"]
    for key, entry in raw["services"].items():
        assert key in services, key
        assert entry["source"], key
        assert set(entry["cookies"]) <= set(services[key].cookies), key
    assert builtin_lifetimes()["google-analytics"]["_gid"] == Lifetime(24, "hour")


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [("P2Y", 2, "year"), ("P13M", 13, "month"), ("P90D", 90, "day"), ("PT24H", 24, "hour"),
     ("PT1M", 1, "minute"), ("session", 0, "session")],
)  # fmt: skip
def test_lifetime_round_trip(text: str, amount: int, unit: str) -> None:
    lifetime = Lifetime.parse(text)
    assert (lifetime.amount, lifetime.unit) == (amount, unit)
    assert lifetime.iso == text


@pytest.mark.parametrize("text", ["", "2Y", "P0D", "P1W", "PT1S", "P1Y2M", "forever"])
def test_lifetime_rejects_what_it_cannot_say(text: str) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        Lifetime.parse(text)


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en", "P1Y", "1 year"),
        ("en", "P2Y", "2 years"),
        ("de", "P13M", "13 Monate"),
        ("fr", "P1Y", "1 an"),
        ("fr", "P2Y", "2 ans"),
        ("pl", "P1Y", "1 rok"),
        ("pl", "P2Y", "2 lata"),
        ("pl", "P5Y", "5 lat"),
        ("pl", "P22D", "22 dni"),
        ("pl", "P13M", "13 miesięcy"),
        ("pl", "P24M", "24 miesiące"),
        ("pl", "PT12H", "12 godzin"),
        ("pt-BR", "P1D", "1 dia"),
        ("sv", "P2Y", "2 years"),
    ],
)
def test_lifetimes_read_right_in_each_language(locale: str, text: str, expected: str) -> None:
    texts = UI_TEXTS.get(locale.split("-")[0], UI_TEXTS["en"])
    formatted = format_lifetime(Lifetime.parse(text), locale, texts)
    assert formatted.replace("\u00a0", " ") == expected


# -- template helpers -----------------------------------------------------------------------


@pytest.fixture
def fresh_environment_declaration() -> Iterator[None]:
    environment_declaration.cache_clear()
    yield
    environment_declaration.cache_clear()


def request_for(language: str) -> SimpleNamespace:
    return SimpleNamespace(
        scope={"type": "http", "headers": [(b"accept-language", language.encode())]}
    )


def test_jinja_global_renders_the_tables_in_the_request_language() -> None:
    settings = make_settings(category_overrides={"analytics": {"cookies": ["stats_*"]}})
    env = jinja_integration.install(Environment(autoescape=True), settings=settings)
    template = env.from_string("<main>{{ consent_declaration() }}</main>")
    german = parse(template.render(request=request_for("de-AT,de;q=0.9")).encode())
    fragment = german.find(".//div[@id='consent-declaration']")
    assert fragment is not None
    assert fragment.get("lang") == "de"
    assert "stats_*" in cookie_names(fragment)
    assert "_ga" in cookie_names(fragment)
    assert UI_TEXTS["de"]["declaration.provider"] in {text_of(th) for th in fragment.iter("th")}
    # A fragment: no page, no style, no script.
    assert not list(german.iter("style"))
    assert not list(german.iter("script"))
    assert german.find(".//title") is None
    assert german.find(".//h1") is None
    explicit = env.from_string("{{ consent_declaration('fr') }}").render()
    assert 'lang="fr"' in explicit
    assert "Déclaration" not in explicit
    default = env.from_string("{{ consent_declaration() }}").render()  # no request
    assert 'lang="en"' in default
    value = env.globals["consent_declaration"]
    assert isinstance(value(env.from_string("").new_context({}), "pl"), Markup)  # type: ignore[operator]


def test_jinja_global_without_settings_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, fresh_environment_declaration: None
) -> None:
    monkeypatch.setenv("CONSENT_BUILTIN_SERVICES", "false")
    env = jinja_integration.install(Environment(autoescape=True))
    html = env.from_string("{{ consent_declaration('en') }}").render()
    assert "consent" in cookie_names(parse(html.encode()))
    assert "_ga" not in html


def test_readme_jinja_declaration_recipe() -> None:
    env = jinja_integration.install(Environment(autoescape=True), settings=make_settings())
    html = env.from_string(recipe("jinja-declaration")).render(request=request_for("nl"))
    root = parse(html.encode())
    fragment = root.find(".//div[@id='consent-declaration']")
    assert fragment is not None
    assert fragment.get("lang") == "nl"
    assert "_ga" in cookie_names(fragment)


def test_django_context_processor_renders_the_tables(
    fresh_environment_declaration: None,
) -> None:
    from django.template import Engine, RequestContext

    engine = Engine(context_processors=["consent.integrations.django.consent_declaration"])
    template = engine.from_string("<main>{{ consent_declaration }}</main>")
    request = SimpleNamespace(META={"HTTP_ACCEPT_LANGUAGE": "it"}, headers={}, scope={})
    html = template.render(RequestContext(request))  # type: ignore[arg-type]
    fragment = parse(html.encode()).find(".//div[@id='consent-declaration']")
    assert fragment is not None
    assert fragment.get("lang") == "it"
    assert "&lt;" not in html.split("<main>", 1)[1][:20]
    assert "_ga" in cookie_names(fragment)
    request.LANGUAGE_CODE = "es"  # type: ignore[attr-defined]
    assert 'lang="es"' in template.render(RequestContext(request))  # type: ignore[arg-type]
    assert django_integration.consent_declaration(request)["consent_declaration"] is not None


def test_the_middleware_and_the_helper_declare_the_same(client_for: ClientFactory) -> None:
    settings = make_settings()
    page = client_for().get(PATH).text
    fragment = str(CookieDeclaration.from_settings(settings).fragment("en"))
    assert fragment.strip() in page


def test_declaration_reaches_through_a_plain_middleware() -> None:
    from starlette.testclient import TestClient

    app = ConsentMiddleware(host_app(), make_settings(path="/privacy-tools"))
    with TestClient(app) as client:
        response = client.get("/privacy-tools/cookies")
    assert response.status_code == 200
    assert re.search(r'href="/privacy-tools/static/banner\.[0-9a-f]{8}\.css"', response.text)
    assert 'href="/privacy-tools/preferences"' in response.text
