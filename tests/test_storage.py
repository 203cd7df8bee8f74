"""What banner.js is handed: vendors' web-storage keys per category key."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from importlib import resources

from starlette.applications import Starlette

from consent import ConsentMiddleware
from consent.state import Consent
from consent.storage import storage_patterns
from tests.support import make_settings


def test_storage_patterns_follow_each_category_keys_purpose() -> None:
    patterns = storage_patterns(
        {"necessary": "necessary", "analytics": "stats", "marketing": "ads", "preferences": "prefs"}
    )
    assert set(patterns) == {"stats", "ads"}  # nothing for necessary, nor empty purposes
    assert {"_hj", "ajs_", "AMP_", "mp_"} <= set(patterns["stats"]["prefix"])
    assert {"hjViewportId", "_cltk"} <= set(patterns["stats"]["exact"])
    assert "_gcl_" in patterns["ads"]["prefix"]
    patterns["stats"]["prefix"].clear()  # a caller's copy: the table is untouched
    assert storage_patterns({"analytics": "stats"})["stats"]["prefix"]


def test_a_category_covering_two_purposes_gets_both_and_uncovered_ones_always_go() -> None:
    middleware = ConsentMiddleware(
        Starlette(),
        make_settings(
            categories=[
                {"key": "necessary", "required": True, "preselected": True},
                {"key": "statistics"},
            ]
        ),
    )
    head = middleware.banner.head_html(Consent.undecided("necessary", 1), nonce="n")
    parser = _Attributes()
    parser.feed(head.decode("ascii"))
    sent = json.loads(parser.by_id["consent-js"]["data-storage"] or "")
    assert sent == storage_patterns({"analytics": "statistics", "marketing": "!marketing"})
    assert "_gcl_" in sent["!marketing"]["prefix"]  # never granted: banner.js always removes


def test_every_vendor_entry_names_its_source() -> None:
    data = resources.files("consent").joinpath("data")
    table = json.loads(data.joinpath("storage.json").read_text("utf-8"))
    notes = data.joinpath("storage.md").read_text("utf-8")
    assert set(table["purposes"]) == {"preferences", "analytics", "marketing"}
    for vendors in table["purposes"].values():
        for vendor in vendors:
            assert vendor["source"].startswith("https://")
            assert vendor["exact"] or vendor["prefix"]
            assert f"| {vendor['vendor']} |" in notes


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.by_id[values.get("id") or tag] = values


def test_the_banner_script_gets_the_patterns_of_each_category_key() -> None:
    middleware = ConsentMiddleware(Starlette(), make_settings())
    head = middleware.banner.head_html(Consent.undecided("necessary", 1), nonce="n0nce")
    parser = _Attributes()
    parser.feed(head.decode("ascii"))
    script = parser.by_id["consent-js"]
    assert script["nonce"] == "n0nce"
    sent = json.loads(script["data-storage"] or "")
    assert sent == storage_patterns({"analytics": "analytics", "marketing": "marketing"})
    assert b'"' not in head.split(b"data-storage=")[1].split(b" nonce=")[0][1:-1]  # escaped
