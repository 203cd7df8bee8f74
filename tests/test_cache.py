"""`BoundedCache`: bounded, cleared when full, and a cached None told from a miss."""

from __future__ import annotations

import pytest

from consent.cache import MISSING, BoundedCache


def test_get_and_set() -> None:
    cache: BoundedCache[str, int] = BoundedCache(4)
    assert cache.get("a") is None
    assert cache.set("a", 1) == 1
    assert cache.get("a") == 1
    assert "a" in cache
    assert len(cache) == 1


def test_cleared_when_full_then_refilled() -> None:
    cache: BoundedCache[int, int] = BoundedCache(3)
    for key in range(3):
        cache.set(key, key)
    cache.set(0, 10)  # replacing a key is not growth
    assert len(cache) == 3
    cache.set(3, 3)
    assert len(cache) == 1
    assert cache.get(0) is None
    assert cache.get(3) == 3


def test_a_cached_none_is_not_a_miss() -> None:
    cache: BoundedCache[str, str | None] = BoundedCache(2)
    assert cache.get("x", MISSING) is MISSING
    cache.set("x", None)
    assert cache.get("x", MISSING) is None


def test_get_survives_clear() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    get = cache.get
    cache.set("a", 1)
    cache.clear()
    assert len(cache) == 0
    cache.set("b", 2)
    assert get("b") == 2


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedCache(0)
