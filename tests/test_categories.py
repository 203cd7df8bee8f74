"""Cookie classification: operator patterns first, then the built-in table."""

from __future__ import annotations

import pytest

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
        ("sessionid", None),  # Django's session cookie is the app's own, never marketing
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


def test_builtin_entries_of_removed_categories_are_ignored() -> None:
    categories = [Category(key="necessary", label="N", required=True)]
    classifier = CookieClassifier(categories)
    assert classifier.classify("_ga") is None
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
