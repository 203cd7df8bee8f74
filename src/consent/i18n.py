"""Choosing the visitor's language from ``Accept-Language``."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

__all__ = ["negotiate_locale"]


@lru_cache(maxsize=512)
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


def negotiate_locale(header: str | None, available: Collection[str], default: str) -> str:
    """The best of ``available`` for an ``Accept-Language`` header, else ``default``.

    ``de-AT`` matches an available ``de``, ``pt-br`` an available ``pt-BR``; ``*``
    matches the default.
    """
    if not header:
        return default
    offered = {locale.lower(): locale for locale in available}  # tags are case-insensitive
    for tag in _ranked(header[:512]):
        if tag in offered:
            return offered[tag]
        base = tag.split("-", 1)[0]
        if base in offered:
            return offered[base]
        if tag == "*":
            return default
    return default
