"""Shipped texts: every language has every text, placeholders are intact, ids are documented."""

from __future__ import annotations

import re

import pytest

import consent.texts
from consent.categories import default_categories
from consent.texts import DEFAULT_CATEGORY_TEXTS, SHIPPED_LOCALES, UI_TEXT_IDS, UI_TEXTS

SPEC_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pl", "pt")
_FIELD = re.compile(r"\{([^{}]*)\}")


def test_the_spec_languages_are_shipped() -> None:
    assert set(SPEC_LOCALES) <= set(SHIPPED_LOCALES)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_locale_has_every_text_id(locale: str) -> None:
    assert set(UI_TEXTS[locale]) == set(UI_TEXT_IDS)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_texts_are_clean(locale: str) -> None:
    for text_id, text in UI_TEXTS[locale].items():
        assert text.strip() == text, (locale, text_id)
        assert text, (locale, text_id)
        assert "  " not in text, (locale, text_id)
        # Texts are plain text (escaped when rendered), never markup.
        assert not set(text) & set("<>"), (locale, text_id)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_placeholder_fields_are_intact(locale: str) -> None:
    texts = UI_TEXTS[locale]
    assert _FIELD.findall(texts["placeholder.text"]) == ["category"]
    assert sorted(_FIELD.findall(texts["placeholder.text_source"])) == ["category", "source"]
    assert _FIELD.findall(texts["banner.exempt_notice"]) == ["categories"]
    others = {
        k: v
        for k, v in texts.items()
        if not k.startswith("placeholder.text") and k != "banner.exempt_notice"
    }
    assert not any("{" in v or "}" in v for v in others.values())


@pytest.mark.parametrize("locale", [loc for loc in SHIPPED_LOCALES if loc != "en"])
def test_translations_are_not_english_copies(locale: str) -> None:
    for text_id in ("banner.title", "banner.body", "banner.accept_all", "banner.reject_all"):
        assert UI_TEXTS[locale][text_id] != UI_TEXTS["en"][text_id], (locale, text_id)


def test_text_ids_are_stable_and_documented() -> None:
    assert UI_TEXT_IDS[:4] == (
        "banner.title",
        "banner.body",
        "banner.privacy_link",
        "banner.accept_all",
    )
    for required in (
        "banner.reject_all",
        "banner.customise",
        "banner.save",
        "banner.gpc_notice",
        "banner.always_on",
        "settings.button",
        "preferences.title",
        "preferences.intro",
        "preferences.saved",
        "preferences.consent_id",
        "placeholder.text",
        "placeholder.link",
    ):
        assert required in UI_TEXT_IDS
    doc = consent.texts.__doc__ or ""
    for text_id in UI_TEXT_IDS:
        assert f"``{text_id}``" in doc, text_id


def test_default_category_texts_cover_every_shipped_language() -> None:
    assert set(DEFAULT_CATEGORY_TEXTS) == {"necessary", "preferences", "analytics", "marketing"}
    for key, per_locale in DEFAULT_CATEGORY_TEXTS.items():
        assert set(per_locale) == set(SHIPPED_LOCALES), key
        for locale, entry in per_locale.items():
            assert set(entry) == {"label", "description"}, (key, locale)
            assert entry["label"].strip(), (key, locale)
            assert entry["description"].strip(), (key, locale)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_default_categories_speak_every_shipped_language(locale: str) -> None:
    for category in default_categories():
        entry = DEFAULT_CATEGORY_TEXTS[category.key][locale]
        assert category.label_for(locale) == entry["label"]
        assert category.description_for(locale) == entry["description"]
    # A regional variant falls back to its language.
    first = default_categories()[0]
    assert first.label_for(f"{locale}-XX") == first.label_for(locale)
