"""Choosing the visitor's language from ``Accept-Language``.

`LocaleNegotiator` is the one place that does it: the middleware builds one, and the
pages, the endpoints and the preferences page all ask it (once per request each).
"""

from __future__ import annotations

from collections.abc import Collection

from consent.cache import BoundedCache

__all__ = ["LocaleNegotiator", "negotiate_locale"]

#: Only the start of a header is read: a real one is a few dozen bytes.
_MAX_HEADER = 512
#: Distinct headers remembered per middleware (browsers send a handful of spellings).
_CACHE_LIMIT = 512


class LocaleNegotiator:
    """Picks one of the offered locales for an ``Accept-Language`` header, memoised."""

    __slots__ = ("_cache", "_offered", "available", "default", "multilingual")

    def __init__(self, available: Collection[str], default: str) -> None:
        self.available = tuple(available)
        self.default = default
        #: More than one language offered: pages then vary by language.
        self.multilingual = len(frozenset(self.available)) > 1
        self._offered = _offered(self.available)
        self._cache: BoundedCache[str, str] = BoundedCache(_CACHE_LIMIT)

    def negotiate(self, header: str | None) -> str:
        """The best offered locale for ``header``, else the default."""
        if not header:
            return self.default
        header = header[:_MAX_HEADER]
        locale = self._cache.get(header)
        if locale is None:
            locale = self._cache.set(header, _best(header, self._offered, self.default))
        return locale


def negotiate_locale(header: str | None, available: Collection[str], default: str) -> str:
    """The best of ``available`` for an ``Accept-Language`` header, else ``default``.

    ``de-AT`` matches an available ``de``, ``pt-br`` an available ``pt-BR``; ``*``
    matches the default. Not memoised: the middleware uses a `LocaleNegotiator`.
    """
    if not header:
        return default
    return _best(header[:_MAX_HEADER], _offered(available), default)


def _offered(available: Collection[str]) -> dict[str, str]:
    """Offered locales by lower-case tag (tags are case-insensitive)."""
    return {locale.lower(): locale for locale in available}


def _best(header: str, offered: dict[str, str], default: str) -> str:
    for tag in _ranked(header):
        if tag in offered:
            return offered[tag]
        base = tag.split("-", 1)[0]
        if base in offered:
            return offered[base]
        if tag == "*":
            return default
    return default


def _ranked(header: str) -> tuple[str, ...]:
    """Language tags of an ``Accept-Language`` value, best first (malformed parts skipped)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or len(tag) > 35 or not all(c.isalnum() or c in "-*" for c in tag):
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if 0 < quality <= 1:
            weighted.append((-quality, position, tag))
    return tuple(tag for _, _, tag in sorted(weighted))
