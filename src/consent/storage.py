"""Vendors' ``localStorage``/``sessionStorage`` keys by category, for banner.js to remove.

EDPB Guidelines 2/2023 treat web storage like cookies: a declined or withdrawn purpose
has to leave it too. The server cannot reach a browser's storage, so the banner script
removes the keys that well-known vendors write (``data/storage.json``, sources in
``data/storage.md``) for every category the visitor has not granted.

The table is filed by *purpose*; `storage_patterns` turns it into patterns per configured
category key, given which purpose each key stands for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

__all__ = ["STORAGE_PURPOSES", "storage_patterns"]

#: Purposes whose storage may be removed (``necessary`` never is).
STORAGE_PURPOSES = ("preferences", "analytics", "marketing")

_Patterns = tuple[tuple[str, ...], tuple[str, ...]]  # (exact keys, prefixes)


def storage_patterns(key_of_purpose: Mapping[str, str]) -> dict[str, dict[str, list[str]]]:
    """``{category key: {"exact": [...], "prefix": [...]}}`` from ``{purpose: category key}``
    (`consent.purposes.PurposeMap.by_purpose`); a key covering several purposes gets all
    their patterns.

    Purposes without known storage (``necessary``, an empty table entry) add nothing. The
    lists are fresh copies.
    """
    table = _table()
    patterns: dict[str, dict[str, list[str]]] = {}
    for purpose, key in key_of_purpose.items():
        found = table.get(purpose)
        if found is not None:
            entry = patterns.setdefault(key, {"exact": [], "prefix": []})
            entry["exact"].extend(found[0])
            entry["prefix"].extend(found[1])
    return patterns


@cache
def _table() -> dict[str, _Patterns]:
    """The shipped table by purpose, vendors merged, duplicates dropped (read once)."""
    text = resources.files("consent").joinpath("data/storage.json").read_text("utf-8")
    purposes = json.loads(text)["purposes"]
    unknown = set(purposes) - set(STORAGE_PURPOSES)
    if unknown:
        raise ValueError(f"storage.json: unknown purposes {sorted(unknown)}")
    table: dict[str, _Patterns] = {}
    for purpose, vendors in purposes.items():
        exact: dict[str, None] = {}
        prefix: dict[str, None] = {}
        for vendor in vendors:
            for field, seen in (("exact", exact), ("prefix", prefix)):
                for pattern in vendor[field]:
                    if not isinstance(pattern, str) or not pattern.isprintable() or not pattern:
                        raise ValueError(f"storage.json: bad {field} pattern {pattern!r}")
                    seen[pattern] = None
            if not vendor.get("source"):
                raise ValueError(f"storage.json: {vendor.get('vendor')!r} has no source")
        if exact or prefix:
            table[purpose] = (tuple(exact), tuple(prefix))
    return table
