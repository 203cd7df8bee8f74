"""Purposes: what the built-in knowledge is keyed by, apart from the operator's category keys.

Tracker hosts, cookie names and vendor storage keys are filed under one of four
*purposes*. Categories are what a visitor grants; each configured category says which
purposes it covers (a default category covers its namesake, ``statistics`` covers
analytics, the required category always covers ``necessary``). `PurposeMap` turns a
purpose into the category key that decides it.

A purpose that no configured category covers is never allowed: it maps to a key no
visitor can grant (`uncovered_key`). A site that drops ``marketing`` because it "has no
ads" still gets the Meta pixel blocked, and is told so once at start-up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol, get_args

__all__ = [
    "PURPOSES",
    "PURPOSE_ALIASES",
    "Purpose",
    "PurposeMap",
    "UnknownCategoryError",
    "purpose_of_name",
    "purposes_of_key",
    "uncovered_key",
]

logger = logging.getLogger("consent")

Purpose = Literal["necessary", "preferences", "analytics", "marketing"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)

# Category names other consent tools use, by the purpose they stand for. Cookiebot has
# necessary/preferences/statistics/marketing; vanilla-cookieconsent sites commonly use
# necessary/functionality/analytics/marketing/ads; CookieYes, OneTrust and Complianz
# use functional, performance, targeting, advertisement.
PURPOSE_ALIASES: dict[str, Purpose] = {
    "necessary": "necessary",
    "essential": "necessary",
    "required": "necessary",
    "strictly_necessary": "necessary",
    "technical": "necessary",
    "security": "necessary",
    "preferences": "preferences",
    "preference": "preferences",
    "functional": "preferences",
    "functionality": "preferences",
    "personalization": "preferences",
    "personalisation": "preferences",
    "external_media": "preferences",
    "media": "preferences",
    "analytics": "analytics",
    "statistics": "analytics",
    "statistic": "analytics",
    "stats": "analytics",
    "performance": "analytics",
    "measurement": "analytics",
    "marketing": "marketing",
    "ads": "marketing",
    "advertising": "marketing",
    "advertisement": "marketing",
    "targeting": "marketing",
    "tracking": "marketing",
    "social": "marketing",
    "social_media": "marketing",
}

_SEPARATORS = re.compile(r"[\s-]+")


class CoveringCategory(Protocol):
    """What a map needs of a category (``consent.categories.Category`` fits)."""

    @property
    def key(self) -> str: ...

    @property
    def covers(self) -> Sequence[str]: ...


class UnknownCategoryError(ValueError):
    """A category name that is neither configured nor a known alias (strict mode only)."""


def normal_name(name: str) -> str:
    """``"Social Media"`` and ``"social-media"`` are ``"social_media"``."""
    return _SEPARATORS.sub("_", name.strip().lower())


def purpose_of_name(name: str) -> Purpose | None:
    """The purpose a category name stands for (``statistics`` -> analytics), if any."""
    return PURPOSE_ALIASES.get(normal_name(name))


def purposes_of_key(key: str, *, required: bool) -> tuple[Purpose, ...]:
    """What a category covers when it does not say: the purpose its key names, plus
    ``necessary`` for the required category."""
    named = purpose_of_name(key)
    purposes: list[Purpose] = [named] if named is not None else []
    if required and "necessary" not in purposes:
        purposes.insert(0, "necessary")
    return tuple(purposes)


def uncovered_key(purpose: str) -> str:
    """The key of a purpose no category covers. ``!`` never fits a category key
    (``CATEGORY_KEY_PATTERN``), so no consent cookie can ever grant it."""
    return f"!{purpose}"


class PurposeMap:
    """Which configured category decides each purpose, and what other names mean.

    Built once per middleware from the resolved categories (each knows its purposes).
    ``resolve`` answers for markup (``data-consent``, Cookiebot and vanilla-cookieconsent
    attributes) and for `Consent.allows`: a configured key, then an alias of a purpose.
    Names it cannot place are logged once each, or raise `UnknownCategoryError` when
    ``strict``.
    """

    def __init__(
        self,
        categories: Iterable[tuple[str, Iterable[str]]],
        *,
        strict: bool = False,
        services: Mapping[str, str] | None = None,
    ) -> None:
        keys: list[str] = []
        covering: dict[str, str] = {}
        for key, purposes in categories:
            keys.append(key)
            for purpose in purposes:
                covering.setdefault(purpose, key)
        self.keys: tuple[str, ...] = tuple(keys)
        self.uncovered: tuple[Purpose, ...] = tuple(p for p in PURPOSES if p not in covering)
        self._by_purpose: dict[str, str] = {
            purpose: covering.get(purpose, uncovered_key(purpose)) for purpose in PURPOSES
        }
        self._strict = strict
        #: ``{service key: category key}``: a service is allowed with its category.
        self.services: Mapping[str, str] = dict(services or {})
        by_category: dict[str, list[str]] = {}
        for service, category in self.services.items():
            by_category.setdefault(category, []).append(service)
        self._services_of = {key: frozenset(found) for key, found in by_category.items()}
        self._names: dict[str, str | None] = {key: key for key in (*keys, *self.services)}
        self._warned: set[str] = set()
        self._allowed: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}

    @classmethod
    def of(
        cls,
        categories: Iterable[CoveringCategory],
        *,
        strict: bool = False,
        services: Mapping[str, str] | None = None,
    ) -> PurposeMap:
        """The map for configured ``categories`` (each knows what it `covers`)."""
        return cls(((c.key, c.covers) for c in categories), strict=strict, services=services)

    def key_of(self, purpose: str) -> str:
        """The category key deciding ``purpose`` (an ungrantable key when none covers it)."""
        return self._by_purpose[purpose]

    @property
    def by_purpose(self) -> Mapping[str, str]:
        """``{purpose: category key}`` for every built-in purpose."""
        return self._by_purpose

    def allowed(self, granted: frozenset[str], services: frozenset[str]) -> frozenset[str]:
        """Everything a visitor allows: the ``granted`` categories, the ``services`` granted
        one by one, and every service of a granted category (what markup may name).

        Few visitors' choices differ, so the answers are kept (bounded)."""
        if not self.services:
            return granted
        key = (granted, services)
        found = self._allowed.get(key)
        if found is None:
            found = granted | services
            for category in granted:
                found |= self._services_of.get(category, frozenset())
            if len(self._allowed) >= 1024:
                self._allowed.clear()
            self._allowed[key] = found
        return found

    def resolve(self, name: str) -> str | None:
        """The category key ``name`` means, or ``None`` for a name nobody knows."""
        try:
            return self._names[name]
        except KeyError:
            pass
        key = self._lookup(name)
        if len(self._names) < 4096:  # bounded: names come from page markup
            self._names[name] = key
        if key is None:
            self.unknown(name)
        return key

    def _lookup(self, name: str) -> str | None:
        cleaned = name.strip()
        if cleaned in self.keys or cleaned in self.services:
            return cleaned
        if cleaned.startswith("!") and cleaned[1:] in self._by_purpose:
            return cleaned  # our own output for an uncovered purpose, read again
        normal = normal_name(cleaned)
        for key in self.keys:
            if key.lower() == normal:
                return key
        purpose = PURPOSE_ALIASES.get(normal)
        return None if purpose is None else self._by_purpose[purpose]

    def unknown(self, name: str) -> None:
        """Say once that ``name`` is no category here (raise when strict)."""
        message = (
            f"unknown consent category {name!r} (configured: {', '.join(self.keys)}): "
            "anything labelled with it stays blocked"
        )
        if self._strict:
            raise UnknownCategoryError(message)
        if name not in self._warned and len(self._warned) < 256:
            self._warned.add(name)
            logger.warning(message)

    def warn_uncovered(self) -> None:
        """Say once at start-up which built-in purposes nothing can allow."""
        for purpose in self.uncovered:
            logger.warning(
                "no consent category covers the built-in purpose %r: its known trackers "
                "and cookies stay blocked for every visitor. To let visitors allow them, "
                "add %r to the `purposes` of a category (or name a category %r).",
                purpose,
                purpose,
                purpose,
            )


def check_purposes(categories: Iterable[tuple[str, Iterable[str]]]) -> None:
    """Raise ValueError when two categories cover the same purpose."""
    owner: dict[str, str] = {}
    for key, purposes in categories:
        for purpose in purposes:
            if purpose in owner:
                raise ValueError(
                    f"categories {owner[purpose]!r} and {key!r} both cover the purpose "
                    f"{purpose!r}: set `purposes` on them so that exactly one does"
                )
            owner[purpose] = key
