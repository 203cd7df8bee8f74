"""Cookie classification: operator patterns first, then the built-in table."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from consent.categories import Category, CookieClassifier, default_categories, localize


@pytest.fixture(scope="module")
def classifier() -> CookieClassifier:
    return CookieClassifier(default_categories())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("_ga", "analytics"),
        ("_ga_ABC123XYZ", "analytics"),
        ("_gid", "analytics"),
        ("_clck", "analytics"),
        ("_fbp", "marketing"),
        ("_gcl_au", "marketing"),
        ("_ttp", "marketing"),
        ("PHPSESSID", "necessary"),
        ("XSRF-TOKEN", "necessary"),
        ("sessionid", "necessary"),  # Django's session cookie: the app's own, never optional
        ("locale", None),
        ("my_app_cookie", None),
    ],
)
def test_builtin_table(classifier: CookieClassifier, name: str, expected: str | None) -> None:
    assert classifier.classify(name) == expected


def test_operator_patterns_win_over_builtin() -> None:
    categories = [
        Category(key="necessary", label="N", required=True, cookies=("_ga",)),
        Category(key="analytics", label="A", cookies=("stats_*", "exact")),
        Category(key="marketing", label="M", cookies=("*_ad",)),
    ]
    classifier = CookieClassifier(categories)
    assert classifier.classify("_ga") == "necessary"
    assert classifier.classify("stats_visits") == "analytics"
    assert classifier.classify("exact") == "analytics"
    assert classifier.classify("exactly") is None
    assert classifier.classify("video_ad") == "marketing"
    assert classifier.classify("_fbp") == "marketing"  # builtin still applies to kept keys


def test_cookies_of_uncovered_purposes_are_filed_under_a_key_nobody_can_grant() -> None:
    categories = [Category(key="necessary", label="N", required=True)]
    classifier = CookieClassifier(categories)
    assert classifier.classify("_ga") == "!analytics"
    assert classifier.classify("PHPSESSID") == "necessary"


def test_builtin_table_can_be_switched_off() -> None:
    assert CookieClassifier(default_categories(), builtin=False).classify("_ga") is None


def test_cache_stays_bounded(classifier: CookieClassifier) -> None:
    for index in range(CookieClassifier._CACHE_LIMIT * 2):
        classifier.classify(f"cookie{index}")
    assert len(classifier._cache) <= CookieClassifier._CACHE_LIMIT
    assert classifier.classify("_ga") == "analytics"


def test_localize_falls_back() -> None:
    text = {"en": "Analytics", "de": "Statistik"}
    assert localize(text, "de-CH") == "Statistik"
    assert localize(text, "fr") == "Analytics"
    assert localize("plain", "fr") == "plain"


def test_default_categories_speak_every_shipped_language() -> None:
    for category in default_categories():
        assert isinstance(category.label, dict)
        assert category.label_for("en")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"label": "Statistics\x00"}, "label", "control character U+0000 (NUL)"),
        ({"label": {"en": "Stats", "de": "Statistik\x1b"}}, "label", "control character"),
        ({"label": {"de\n": "Statistik"}}, "label", "control character U+000A"),
        ({"description": "Counts\x00 visits"}, "description", "control character U+0000"),
        ({"description": {"en": "\x1b[31mred"}}, "description", "control character U+001B"),
        ({"description": "Counts \udcff"}, "description", "U+DCFF is a lone surrogate"),
        ({"cookies": ("_pk_id\n",)}, "cookies", "control character U+000A"),
        ({"cookies": ("_pk_*", "sid\t")}, "cookies", "control character U+0009"),
        # Stripped silently before: now a start-up error like every other stray newline.
        ({"scripts": ("stats.example.com\n",)}, "scripts", "control character"),
        ({"scripts": ("stats.example.com/\x00js",)}, "scripts", "control character U+0000"),
    ],
)
def test_category_text_with_a_control_character_fails_naming_the_field(
    fields: dict[str, Any], field: str, message: str
) -> None:
    values: dict[str, Any] = {"key": "stats", "label": "Statistics", **fields}
    with pytest.raises(ValidationError) as info:
        Category(**values)
    error = info.value.errors()[0]
    assert error["loc"] == (field,)
    assert error["msg"].startswith(f"Value error, {field}: {message}")


def test_labels_and_descriptions_may_span_lines() -> None:
    category = Category(key="stats", label="Stats\n", description={"en": "Counts\n\tvisits"})
    assert category.description_for("en") == "Counts\n\tvisits"


def test_script_patterns_are_still_normalised() -> None:
    category = Category(key="stats", label="Stats", scripts=(" Stats.Example.com/js ",))
    assert category.scripts == ("stats.example.com/js",)  # spaces are not control characters
