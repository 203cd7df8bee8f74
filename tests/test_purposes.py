"""Purposes decoupled from category keys: custom keys, missing categories, extensions."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from consent.categories import Category
from consent.purposes import PurposeMap, UnknownCategoryError
from consent.runtime import ConsentRuntime
from consent.settings import ConsentSettings
from consent.state import Consent
from tests.conftest import make_settings

NECESSARY: dict[str, Any] = {"key": "necessary", "required": True, "preselected": True}


def runtime(**overrides: Any) -> ConsentRuntime:
    return ConsentRuntime(make_settings(**overrides))


def granted(rt: ConsentRuntime, *keys: str) -> Consent:
    return Consent(
        id="x",
        revision=1,
        granted=frozenset({rt.required_key, *keys}),
        denied=frozenset(set(rt.optional_keys) - set(keys)),
        decided=True,
        names=rt.purposes,
    )


def test_a_category_named_like_another_tool_covers_that_purpose() -> None:
    settings = make_settings(categories=[NECESSARY, {"key": "statistics"}])
    statistics = settings.categories[1]
    assert statistics.covers == ("analytics",)
    assert statistics.label_for("de") == "Statistik"  # the shipped analytics texts
    assert statistics.signals == ("analytics_storage",)
    assert not statistics.sale_or_sharing


@pytest.mark.parametrize(
    ("key", "purpose"),
    [
        ("functional", "preferences"),
        ("ads", "marketing"),
        ("advertising", "marketing"),
        ("performance", "analytics"),
        ("targeting", "marketing"),
        ("essential", "necessary"),
    ],
)
def test_common_names_of_other_tools(key: str, purpose: str) -> None:
    required = purpose == "necessary"
    category = Category(key=key, required=required, preselected=required)
    assert purpose in category.covers


def test_uncovered_purposes_are_never_allowed_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "consent"):
        rt = runtime(categories=[NECESSARY, {"key": "statistics"}])
    warnings = [r.getMessage() for r in caplog.records if "no consent category covers" in r.message]
    assert len(warnings) == 2  # preferences and marketing
    assert "'marketing'" in warnings[1]
    assert "purposes" in warnings[1]
    everyone = granted(rt, "statistics")
    assert rt.classifier.classify("_fbp") == "!marketing"
    assert not everyone.allows(rt.classifier.classify("_fbp") or "")
    assert everyone.allows("analytics")  # the purpose reads as the category covering it
    assert not everyone.allows("marketing")


def test_a_custom_category_without_purposes_needs_a_label() -> None:
    with pytest.raises(ValidationError, match="`label` is required"):
        Category(key="videos")
    assert Category(key="videos", label="Videos").covers == ()


def test_two_categories_covering_one_purpose_fail_at_start_up() -> None:
    with pytest.raises(ValidationError, match="both cover the purpose 'analytics'"):
        make_settings(categories=[NECESSARY, {"key": "analytics"}, {"key": "statistics"}])
    settings = make_settings(
        categories=[
            NECESSARY,
            {"key": "analytics"},
            {"key": "statistics", "label": "Statistics", "purposes": []},
        ]
    )
    assert settings.categories[2].covers == ()


def test_an_optional_category_cannot_cover_necessary() -> None:
    with pytest.raises(ValidationError, match="not `required`"):
        Category(key="basics", label="B", purposes=("necessary",))


def test_extra_categories_keep_the_defaults() -> None:
    settings = make_settings(extra_categories=[{"key": "videos", "label": {"en": "Videos"}}])
    assert [c.key for c in settings.categories] == [
        "necessary",
        "preferences",
        "analytics",
        "marketing",
        "videos",
    ]
    assert settings.extra_categories == []  # folded into `categories`
    again = ConsentSettings.model_validate(settings.model_dump())
    assert again.categories == settings.categories


def test_overrides_add_patterns_and_merge_texts_per_language() -> None:
    settings = make_settings(
        category_overrides={
            "analytics": {
                "cookies": ["stat_*"],
                "scripts": ["stats.example.net"],
                "label": {"en": "Statistics"},
            }
        }
    )
    analytics = settings.categories[2]
    assert analytics.label_for("en") == "Statistics"
    assert analytics.label_for("de") == "Statistik"  # untouched languages stay
    assert analytics.cookies == ("stat_*",)
    assert analytics.scripts == ("stats.example.net",)
    assert analytics.signals == ("analytics_storage",)
    rt = ConsentRuntime(settings)
    assert rt.classifier.classify("stat_x") == "analytics"
    assert rt.classifier.classify("_ga") == "google-analytics"  # a service of analytics


def test_overriding_an_unknown_category_names_it() -> None:
    with pytest.raises(ValidationError, match="no category 'analytic'"):
        make_settings(category_overrides={"analytic": {"cookies": ["x"]}})


def test_unknown_names_in_allows_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    rt = runtime(strict_categories=False)
    consent = granted(rt, "analytics")
    with caplog.at_level(logging.WARNING, "consent"):
        assert not consent.allows("analytic")
        assert not consent.allows("analytic")
    assert [r.getMessage() for r in caplog.records].count(
        "unknown consent category 'analytic' (configured: necessary, preferences, analytics, "
        "marketing): anything labelled with it stays blocked"
    ) == 1


def test_strict_mode_raises_on_unknown_names() -> None:
    rt = runtime(strict_categories=True)
    with pytest.raises(UnknownCategoryError):
        granted(rt).allows("analytic")
    assert granted(rt, "analytics").allows("statistics")


def test_purpose_map_reads_its_own_uncovered_keys() -> None:
    names = PurposeMap([("necessary", ("necessary",))], strict=True)
    assert names.resolve("!marketing") == "!marketing"
    assert names.resolve("ads") == "!marketing"
    assert names.key_of("necessary") == "necessary"
