"""The README's example configurations, run as a user runs them: over TCP, every known tracker.

Each ``# example: NAME`` TOML block of the README configures a real server. Before consent,
every optional tracker of the shipped table is blocked and the cookies of the built-in table
are dropped; after *Accept all*, what a category covers runs and what no category covers
stays blocked. A German visitor reads German labels.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentMiddleware
from consent.blocking import BlockingRules
from consent.categories import builtin_cookie_table
from tests._html import parse
from tests.support import make_settings, serve_in_thread

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README = Path(__file__).resolve().parents[1] / "README.md"
_EXAMPLE = re.compile(r"```toml\n# example: ([a-z-]+)\n(.*?)```", re.DOTALL)


def readme_examples() -> dict[str, dict[str, Any]]:
    return {name: tomllib.loads(body) for name, body in _EXAMPLE.findall(README.read_text("utf-8"))}


def tracker_urls() -> dict[str, list[str]]:
    """One URL per optional built-in tracker pattern, by purpose."""
    raw = json.loads(resources.files("consent").joinpath("data/trackers.json").read_text("utf-8"))
    urls: dict[str, list[str]] = {}
    for purpose in ("preferences", "analytics", "marketing"):
        for pattern in raw[purpose]:
            if "*" in pattern:
                continue
            host, _, path = pattern.partition("/")
            urls.setdefault(purpose, []).append(f"https://{host}/{path or 'x.js'}")
    return urls


def tracker_cookies() -> dict[str, list[str]]:
    """A few exact names per optional purpose from the shipped cookie table."""
    table = builtin_cookie_table()
    return {
        purpose: sorted(table[purpose]["exact"])[:5]
        for purpose in ("preferences", "analytics", "marketing")
    }


URLS = tracker_urls()
COOKIES = tracker_cookies()
EXAMPLES = readme_examples()


async def page(request: Request) -> HTMLResponse:
    scripts = "".join(f'<script src="{url}"></script>' for urls in URLS.values() for url in urls)
    response = HTMLResponse(f"<!doctype html><html><head>{scripts}</head><body>hi</body></html>")
    for names in COOKIES.values():
        for name in names:
            response.set_cookie(name, "1")
    return response


@pytest.fixture(params=sorted(EXAMPLES), scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    config = dict(EXAMPLES[request.param])
    config.pop("secret_key", None)
    app = ConsentMiddleware(Starlette(routes=[Route("/", page)]), make_settings(**config))
    with serve_in_thread(app) as base:
        yield request.param, base


#: The optional purposes each example's categories cover.
COVERED = {
    "custom-keys": {"preferences", "analytics", "marketing"},
    "no-marketing": {"analytics"},
    "extra-category": {"preferences", "analytics", "marketing"},
    "gtm-under-marketing": {"preferences", "analytics", "marketing"},
    "own-service": {"preferences", "analytics", "marketing"},
}


def loaded_scripts(html: bytes) -> set[str]:
    return {
        element.get("src") or ""
        for element in parse(html).iter("script")
        if (element.get("src") or "").startswith("https://")
        and (element.get("type") or "") != "text/plain"
    }


def test_the_readme_has_the_three_examples() -> None:
    assert set(EXAMPLES) == set(COVERED)


def test_the_own_service_example_is_offered_under_preferences() -> None:
    from consent.runtime import ConsentRuntime

    runtime = ConsentRuntime(make_settings(**EXAMPLES["own-service"]))
    assert runtime.services.category_of["peertube"] == "preferences"
    rules = BlockingRules.from_categories(
        runtime.settings.categories, services=[("peertube", ("video.example.org",))]
    )
    assert rules.category_of_url("https://video.example.org/videos/embed/1") == "peertube"


def test_the_gtm_example_loads_the_container_only_with_marketing() -> None:
    settings = make_settings(**EXAMPLES["gtm-under-marketing"])
    rules = BlockingRules.from_categories(settings.categories)
    assert rules.category_of_url("https://www.googletagmanager.com/gtm.js?id=GTM-1") == (
        "marketing"
    )
    assert rules.category_of_url("https://www.googletagmanager.com/gtag/js?id=G-1") == ("analytics")


def test_nothing_known_runs_or_stays_before_consent(server: tuple[str, str]) -> None:
    _, base = server
    with httpx.Client(base_url=base) as client:
        response = client.get("/", headers={"accept-language": "de"})
    assert response.status_code == 200
    assert loaded_scripts(response.content) == set()
    set_names = {c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")}
    for names in COOKIES.values():
        assert set_names.isdisjoint(names)
    assert "Statistik" in response.text  # the analytics category, in German
    assert "Notwendig" in response.text


def test_after_accept_all_only_covered_purposes_run(server: tuple[str, str]) -> None:
    name, base = server
    with httpx.Client(base_url=base) as client:
        decided = client.post("/_consent", json={"action": "accept_all"}, headers={"origin": base})
        assert decided.status_code == 200
        response = client.get("/")
    loaded = loaded_scripts(response.content)
    set_names = {c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")}
    covered = COVERED[name]
    for purpose, urls in URLS.items():
        if purpose in covered:
            assert set(urls) <= loaded, purpose
            assert set(COOKIES[purpose]) <= set_names, purpose
        else:  # nobody can grant it: still blocked, its cookies still dropped
            assert loaded.isdisjoint(urls), purpose
            assert set_names.isdisjoint(COOKIES[purpose]), purpose
