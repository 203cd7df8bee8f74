"""`TextCatalogue`: every text a visitor sees, per locale, with the operator's overrides.

The same table feeds the templates and the decision records: a record hashes exactly
the texts the banner and the preferences page were rendered from, so what was shown
can be proven later. Shipped texts come from `consent.texts`, category labels from
the categories, overrides from ``banner.texts`` (checked at start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from consent.cache import BoundedCache
from consent.settings import ConsentSettings
from consent.texts import UI_TEXT_IDS, UI_TEXTS

__all__ = ["TextCatalogue"]

#: Locales remembered (negotiated ones, so a handful; a caller may ask for others).
_CACHE_LIMIT = 256


class TextCatalogue:
    """Texts by id for one locale: shipped, then the categories', then overridden.

    Lookup falls back from ``de-AT`` to ``de`` to English, for shipped texts and
    overrides alike. Unknown override locales or text ids fail in ``__init__``.
    """

    __slots__ = ("_cache", "_categories", "_overrides")

    def __init__(self, settings: ConsentSettings) -> None:
        self._categories = tuple(settings.categories)
        self._overrides = _check_overrides(settings)
        self._cache: BoundedCache[str, Mapping[str, str]] = BoundedCache(_CACHE_LIMIT)

    def texts(self, locale: str) -> Mapping[str, str]:
        """Every text a visitor sees in ``locale`` (read-only; what a decision record hashes)."""
        cached = self._cache.get(locale)
        if cached is not None:
            return cached
        base = locale.split("-", 1)[0].lower()
        lowered = locale.lower()
        merged = dict(UI_TEXTS["en"])
        merged.update(UI_TEXTS.get(base, {}))
        if lowered != base:
            merged.update(UI_TEXTS.get(lowered, {}))
        for category in self._categories:
            merged[f"category.{category.key}.label"] = category.label_for(locale)
            merged[f"category.{category.key}.description"] = category.description_for(locale)
        merged.update(self._overrides.get(base, {}))
        if lowered != base:
            merged.update(self._overrides.get(lowered, {}))
        return self._cache.set(locale, MappingProxyType(merged))


def _check_overrides(settings: ConsentSettings) -> dict[str, dict[str, str]]:
    """``banner.texts`` keyed by lower-case locale; unknown locales or ids fail at start-up."""
    known = set(UI_TEXT_IDS)
    for category in settings.categories:
        known.add(f"category.{category.key}.label")
        known.add(f"category.{category.key}.description")
    offered = {loc.lower() for loc in settings.banner.locales}
    offered |= {loc.split("-", 1)[0] for loc in offered}
    overrides: dict[str, dict[str, str]] = {}
    for locale, texts in settings.banner.texts.items():
        if locale.lower() not in offered:
            raise ValueError(f"banner.texts: locale {locale!r} is not offered in banner.locales")
        unknown = sorted(set(texts) - known)
        if unknown:
            raise ValueError(
                f"banner.texts.{locale}: unknown text id {unknown[0]!r} "
                f"(known ids: {', '.join(sorted(known))})"
            )
        overrides.setdefault(locale.lower(), {}).update(texts)
    return overrides
