"""Services: consent per vendor inside a category (SPEC sections 2 and 4)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent.blocking import BlockingRules
from consent.categories import default_categories
from consent.decision import Action, Choice, Method, apply_choice
from consent.runtime import ConsentRuntime
from consent.services import ServiceCatalogue, builtin_services
from consent.state import Consent
from tests._html import find, is_blocked, parse
from tests.conftest import ClientFactory
from tests.support import BASE_URL, decide, make_settings

#: Every service the issue names, by key.
NAMED = {
    "youtube", "vimeo", "google-maps", "spotify", "soundcloud", "x", "instagram", "facebook",
    "google-analytics", "google-tag-manager", "google-ads", "meta-pixel", "hotjar", "clarity",
    "linkedin-insight", "tiktok-pixel", "matomo", "plausible", "hubspot", "intercom", "stripe",
    "recaptcha", "hcaptcha", "turnstile",
}  # fmt: skip


def test_the_catalogue_holds_the_common_services() -> None:
    services = {s.key: s for s in builtin_services()}
    assert set(services) >= NAMED
    for service in services.values():
        assert service.provider
        assert service.policy_url.startswith("https://")
        assert service.hosts


def test_each_service_has_the_purpose_its_hosts_are_filed_under() -> None:
    """The catalogue and the tracker table must agree, or a service would be offered in one
    category while its hosts are blocked under another."""
    rules = BlockingRules.from_categories(default_categories())
    for service in builtin_services():
        for host in service.hosts:
            url = f"https://{host}{'' if '/' in host else '/x.js'}"
            assert rules.category_of_url(url) == service.purpose, (service.key, host)


def test_no_shipped_pattern_below_a_service_escapes_it() -> None:
    """A more specific tracker pattern under a service's host (``player.vimeo.com`` under
    ``vimeo.com``) would win the lookup and file the embed under the category, so allowing
    the service alone would not load it: every such pattern is the service's own too."""
    from consent.blocking import _split_pattern, load_builtin_table

    shipped = [_split_pattern(p) for patterns in load_builtin_table().values() for p in patterns]
    for service in builtin_services():
        own = {split for split in map(_split_pattern, service.hosts) if split is not None}
        for split in shipped:
            assert split is not None
            host, path = split
            for service_host, service_path in own:
                below = host == service_host or host.endswith("." + service_host)
                if below and path.startswith(service_path):
                    assert split in own, (service.key, host + path)


def runtime(**overrides: object) -> ConsentRuntime:
    return ConsentRuntime(make_settings(**overrides))


def test_a_service_is_allowed_alone_or_with_its_category() -> None:
    rt = runtime()
    undecided = rt.codec.loads(None)
    consent, method = apply_choice(
        rt.settings,
        undecided,
        Choice(Action.ALLOW_SERVICE, frozenset(), "/", frozenset({"youtube"})),
    )
    assert method is Method.ALLOW_SERVICE
    assert consent.allows("youtube")
    assert not consent.allows("vimeo")
    assert not consent.allows("preferences")
    assert not consent.decided  # the banner still asks about the categories
    whole = Consent(
        id="x", revision=1, granted=frozenset({"necessary", "preferences"}),
        denied=frozenset({"analytics", "marketing"}), decided=True, names=rt.purposes,
    )  # fmt: skip
    assert whole.allows("vimeo")
    assert whole.allows("recaptcha")  # necessary services are always allowed


def test_the_cookie_keeps_services_and_stays_compact() -> None:
    rt = runtime()
    every = frozenset(s.key for s in rt.services if rt.services.category_of[s.key] != "necessary")
    consent = Consent(
        id="0123456789abcdef", revision=1, granted=frozenset({"necessary"}),
        denied=frozenset({"preferences", "analytics", "marketing"}), decided=True,
        names=rt.purposes, services=every,
    )  # fmt: skip
    value = rt.codec.dumps(consent)
    header = rt.consent_cookie_header(consent, secure=True)[1]
    cookie = header.split(b";", 1)[0]
    assert len(cookie) < 300, len(cookie)
    assert rt.codec.loads(value).services == every
    # A code the configuration no longer has is dropped, never mistaken for another.
    fewer = runtime(builtin_services=False)
    assert fewer.codec.loads(value).services == frozenset()


def test_save_grants_services_one_by_one_and_accept_all_covers_them() -> None:
    rt = runtime()
    undecided = rt.codec.loads(None)
    saved, _ = apply_choice(
        rt.settings,
        undecided,
        Choice(Action.SAVE, frozenset({"analytics"}), "/", frozenset({"youtube", "hotjar"})),
    )
    assert saved.granted == {"necessary", "analytics"}
    assert saved.services == {"youtube"}  # hotjar is covered by analytics already
    assert saved.allows("hotjar")
    everything, _ = apply_choice(rt.settings, saved, Choice(Action.ACCEPT_ALL, frozenset(), "/"))
    assert everything.services == frozenset()
    assert everything.allows("youtube")
    _, method = apply_choice(rt.settings, saved, Choice(Action.SAVE, frozenset({"analytics"}), "/"))
    assert method is Method.WITHDRAW  # YouTube taken back


def test_settings_refuse_a_service_in_an_unknown_category() -> None:
    with pytest.raises(ValidationError, match="names the category 'videos'"):
        make_settings(
            services=[
                {
                    "key": "peertube",
                    "label": "PeerTube",
                    "provider": "Us",
                    "category": "videos",
                    "hosts": ["video.example.org"],
                }
            ]
        )


def test_an_uncovered_purpose_offers_none_of_its_services() -> None:
    settings = make_settings(
        categories=[
            {"key": "necessary", "required": True, "preselected": True},
            {"key": "statistics"},
        ]
    )
    catalogue = ServiceCatalogue.from_settings(settings.categories, [], builtin=True)
    assert catalogue.get("hotjar") is not None
    assert catalogue.category_of["hotjar"] == "statistics"
    assert catalogue.get("youtube") is None
    assert catalogue.get("meta-pixel") is None


EMBEDS = (
    "<!doctype html><html><head></head><body>"
    '<iframe src="https://www.youtube.com/embed/abc" width="560" height="315"></iframe>'
    '<iframe src="https://player.vimeo.com/video/1" width="560" height="315"></iframe>'
    "</body></html>"
)


async def embeds(request: Request) -> HTMLResponse:
    return HTMLResponse(EMBEDS)


def test_always_allow_youtube_without_javascript(client_for: ClientFactory) -> None:
    """A plain form post returns to the page, where YouTube loads and Vimeo stays blocked."""
    client = client_for(Starlette(routes=[Route("/article", embeds)]))
    answer = client.post(
        "/_consent",
        data={"action": "allow_service", "service": "youtube", "next": "/article"},
        headers={"origin": BASE_URL},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/article"
    root = parse(client.get("/article").content)
    assert not any(is_blocked(e) for e in find(root, "iframe", "youtube.com"))
    assert all(is_blocked(e) for e in find(root, "iframe", "vimeo.com"))
    state = client.get("/_consent").json()
    services = {s["key"]: s for s in state["services"]}
    assert services["youtube"] == {
        "key": "youtube", "category": "preferences", "label": "YouTube", "granted": True,
    }  # fmt: skip
    assert services["vimeo"]["granted"] is False
    assert "youtube" in state["allowed"]
    assert state["decided"] is False


def test_unknown_services_are_refused(client_for: ClientFactory) -> None:
    client = client_for()
    for body in (
        {"action": "allow_service", "service": "nope"},
        {"action": "allow_service"},
        {"action": "save", "services": ["nope"]},
    ):
        answer = client.post("/_consent", json=body, headers={"origin": BASE_URL})
        assert answer.status_code == 400, body
    assert "consent" not in answer.headers.get("set-cookie", "")


def test_a_granted_service_keeps_its_cookies(client_for: ClientFactory) -> None:
    client = client_for()
    decide(client, "save")  # everything declined
    assert "_ga=" not in client.get("/set", params={"set": ["_ga"]}).headers.get("set-cookie", "")
    client.post(
        "/_consent",
        json={"action": "allow_service", "service": "google-analytics"},
        headers={"origin": BASE_URL},
    )
    assert "_ga=" in client.get("/set", params={"set": ["_ga"]}).headers.get("set-cookie", "")
    assert "_fbp=" not in client.get("/set", params={"set": ["_fbp"]}).headers.get("set-cookie", "")
