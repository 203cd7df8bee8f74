"""The runtime guard's server side: its host table asset, its head tags, the served forms."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent import ConsentMiddleware
from consent.assets import ASSET_FILES, StaticAssets, banner_sources, served_form
from consent.blocking import BlockingRules
from consent.guard import GUARD_TABLE, host_table, host_table_script
from consent.runtime import blocking_rules_for, names_for
from consent.settings import ConsentSettings
from consent.state import Consent
from tests.support import make_settings


def rules_for(settings: ConsentSettings) -> BlockingRules:
    services, purposes = names_for(settings, strict=True)
    return blocking_rules_for(settings, purposes, services)


def table_of(script: bytes) -> dict[str, Any]:
    prefix, suffix = b"document.currentScript.hosts=", b";\n"
    assert script.startswith(prefix)
    assert script.endswith(suffix)
    found: dict[str, Any] = json.loads(script[len(prefix) : -len(suffix)])
    return found


def entries(table: dict[str, Any], which: int) -> dict[str, dict[str, str]]:
    """``{host: {path prefix: key}}`` of the operator's (0) or the shipped (1) table."""
    hosts = table["t"][which][0]
    return {host: {prefix: key for prefix, key in found} for host, found in hosts.items()}


def test_table_is_the_compiled_rules_and_says_what_they_say() -> None:
    rules = rules_for(make_settings())
    table = table_of(host_table_script(rules))
    shipped = entries(table, 1)
    assert entries(table, 0) == {}
    assert shipped["www.facebook.com"]["/tr"] == "meta-pixel"
    assert shipped["youtube.com"][""] == "youtube"
    # Every host of the shipped table, with the key the server files it under.
    for host, paths in shipped.items():
        for prefix, key in paths.items():
            url = f"https://{host}{prefix or '/'}"
            assert rules.category_of_url(url) == (key or None), url
    # Longest path prefix first within a host (what guard.js tries first).
    for found in table["t"][1][0].values():
        lengths = [len(prefix) for prefix, _ in found]
        assert lengths == sorted(lengths, reverse=True)
    assert table["r"] == ["necessary"]
    assert table["n"]["statistics"] == "analytics"
    assert table["n"]["targeting"] == "marketing"
    assert "analytics" not in table["n"]  # a key means itself
    assert table["a"][0] == "marketing"
    assert "googletagmanager.com" in table["a"][1]


def test_operator_trackers_and_services_are_in_the_table() -> None:
    settings = make_settings(
        category_overrides={"marketing": {"scripts": ["ads.shop.test/px", "cdn*.track.test"]}},
        services=[
            {
                "key": "shopchat",
                "label": "Shop chat",
                "purpose": "preferences",
                "hosts": ["chat.shop.test"],
                "provider": "Shop Ltd",
                "policy_url": "https://shop.test/privacy",
            }
        ],
    )
    table = host_table(rules_for(settings))
    assert entries(table, 0) == {"ads.shop.test": {"/px": "marketing"}}
    assert entries(table, 1)["chat.shop.test"] == {"": "shopchat"}
    [(pattern, prefix, key)] = table["t"][0][1]
    assert re.fullmatch(pattern, "cdn7.track.test")
    assert re.fullmatch(pattern, "a.cdn-eu.track.test")
    assert not re.fullmatch(pattern, "track.test")
    assert (prefix, key) == ("", "marketing")


def test_uncovered_purposes_stay_blocked_and_advanced_mode_keeps_google_tags() -> None:
    necessary = {"key": "necessary", "required": True}
    table = host_table(rules_for(make_settings(categories=[necessary, {"key": "analytics"}])))
    keys = {key for paths in entries(table, 1).values() for key in paths.values()}
    assert "!marketing" in keys  # a key nobody can grant: blocked whatever the visitor says
    assert table["n"]["ads"] == "!marketing"
    advanced = host_table(rules_for(make_settings(consent_mode="advanced")))
    assert "a" not in advanced
    assert entries(advanced, 0)["www.googletagmanager.com"]["/gtm.js"] == "necessary"


def test_table_asset_is_served_under_a_name_that_follows_its_content() -> None:
    def served(settings: ConsentSettings) -> tuple[str, bytes, dict[str, str]]:
        middleware = ConsentMiddleware(lambda *_: None, settings=settings)  # type: ignore[arg-type]
        url = middleware.banner.assets.url(GUARD_TABLE)
        response = TestClient(middleware).get(url, headers={"accept-encoding": "identity"})
        assert response.status_code == 200
        return url, response.content, dict(response.headers)

    url, body, headers = served(make_settings())
    assert re.fullmatch(r"/_consent/static/hosts\.[0-9a-f]{8}\.js", url)
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert body == host_table_script(rules_for(make_settings()))
    assert served(make_settings())[0] == url  # same configuration, same name
    custom = make_settings(category_overrides={"analytics": {"scripts": ["stats.shop.test"]}})
    other_url, other_body, _ = served(custom)
    assert other_url != url
    assert "stats.shop.test" in entries(table_of(other_body), 0)


def test_a_generated_asset_never_replaces_a_shipped_one() -> None:
    with pytest.raises(ValueError, match=r"banner\.js"):
        StaticAssets("/_consent", generated={"banner.js": b"alert(1)"})
    assert GUARD_TABLE not in StaticAssets("/_consent")
    assert GUARD_TABLE in StaticAssets("/_consent", generated={GUARD_TABLE: b""})


def test_head_carries_the_guard_after_the_banner_with_the_visitors_keys() -> None:
    middleware = ConsentMiddleware(lambda *_: None, settings=make_settings())  # type: ignore[arg-type]
    banner, assets = middleware.banner, middleware.banner.assets
    consent = Consent(
        id="cid",
        revision=1,
        granted=frozenset({"necessary", "analytics"}),
        denied=frozenset({"preferences", "marketing"}),
        decided=True,
        gpc=False,
        names=middleware.runtime.purposes,
    )
    head = banner.head_html(consent, nonce="n0nce").decode()
    ids = re.findall(r'<(?:script|link) id="([^"]+)"', head)
    assert ids == ["consent-gcm", "consent-css", "consent-js", "consent-hosts", "consent-guard"]
    hosts, guard = re.findall(r"<script id=\"consent-(?:hosts|guard)\"[^>]*>", head)
    assert f'src="{assets.url(GUARD_TABLE)}"' in hosts
    assert f'src="{assets.url("guard.js")}"' in guard
    # synchronous: in place before any script of the page runs
    for tag in (hosts, guard):
        assert 'nonce="n0nce"' in tag
        assert " defer" not in tag
        assert " async" not in tag
    allowed = re.search(r'data-allowed="([^"]*)"', guard)
    assert allowed is not None
    assert set(allowed.group(1).split()) == set(consent.allowed) | {"necessary"}
    placeholder = re.search(r'data-placeholder="([^"]*)"', guard)
    assert placeholder is not None
    assert placeholder.group(1) == f"{assets.url('placeholder.css')} /_consent/preferences"


def test_the_guard_can_be_switched_off() -> None:
    page = "<!doctype html><head></head><body><p>hi</p>"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page.encode()})

    for on in (True, False):
        middleware = ConsentMiddleware(app, settings=make_settings(runtime_guard=on))
        text = TestClient(middleware).get("/").text  # (no lifespan: the app has none)
        assert ('id="consent-guard"' in text) is on
        assert ('id="consent-hosts"' in text) is on
        assert 'id="consent-js"' in text  # the banner stays


# -- served forms: comments and indentation out, code as it is ---------------------------------


def shipped(name: str) -> bytes:
    return (banner_sources() / name).read_bytes()


@pytest.mark.parametrize("name", [n for n in ASSET_FILES if n.endswith(".js")])
def test_javascript_is_safe_to_serve_line_by_line(name: str) -> None:
    source = shipped(name).decode()
    body = source.split("*/\n", 1)[1] if source.startswith("/*") else source
    for number, line in enumerate(body.splitlines(), 1):
        # no template literal and no comment spans lines: every line stands for itself
        assert line.count("`") % 2 == 0, (name, number)
        assert "/*" not in line, (name, number)
    served = served_form(name, shipped(name)).decode()
    code = [line.strip() for line in body.splitlines()]
    assert served.splitlines() == [c for c in code if c and not c.startswith("//")]


@pytest.mark.parametrize("name", [n for n in ASSET_FILES if n.endswith(".css")])
def test_css_loses_only_its_comments(name: str) -> None:
    served = served_form(name, shipped(name)).decode()
    assert "/*" not in served
    assert "*/" not in served
    squeeze = re.compile(r"/\*.*?\*/|\s+", re.DOTALL)
    assert squeeze.sub("", served) == squeeze.sub("", shipped(name).decode())
