"""`BoundedCache`: the one memo of the package (cookie states, codings, labels, markup).

Every cache here is keyed by something a client controls (a header, a cookie name),
so each has a size limit. When full it is cleared, not evicted entry by entry: the
hot keys come straight back, and a flood of distinct keys costs one ``clear`` per
``limit`` misses instead of bookkeeping on every hit. Each middleware owns its caches
(nothing is shared between instances or kept at module level).
"""

from __future__ import annotations

import enum
from typing import Final, Generic, Protocol, TypeVar, cast, overload

__all__ = ["MISSING", "BoundedCache"]

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")
_K_in = TypeVar("_K_in", contravariant=True)
_V_out = TypeVar("_V_out", covariant=True)


class _Missing(enum.Enum):
    MISSING = enum.auto()


#: ``cache.get(key, MISSING) is MISSING``: a miss, told apart from a cached ``None``.
MISSING: Final = _Missing.MISSING


class _Getter(Protocol[_K_in, _V_out]):
    """The signature of ``dict.get``."""

    @overload
    def __call__(self, key: _K_in, default: None = None, /) -> _V_out | None: ...
    @overload
    def __call__(self, key: _K_in, default: D, /) -> _V_out | D: ...


class BoundedCache(Generic[K, V]):
    """A dict with a size limit, cleared when full.

    ``get`` is the bound ``get`` of the underlying dict, so a hit on the hot path
    costs what a plain dict lookup costs. ``get(key, MISSING)`` tells a cached
    ``None`` from a miss.
    """

    __slots__ = ("_data", "get", "limit")

    get: _Getter[K, V]

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a cache needs room for at least one entry")
        self.limit = limit
        self._data: dict[K, V] = {}
        # mypy cannot match dict.get's three overloads against this two-overload protocol.
        self.get = cast("_Getter[K, V]", self._data.get)

    def set(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` (clearing the cache first when it is full)."""
        data = self._data
        if len(data) >= self.limit and key not in data:
            data.clear()
        data[key] = value
        return value

    def clear(self) -> None:
        """Forget everything (``get`` stays valid: the same dict is emptied)."""
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
