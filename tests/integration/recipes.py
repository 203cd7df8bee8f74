"""The README's framework recipes, extracted so the integration apps run exactly them.

A recipe is the fenced code block between ``<!-- recipe:NAME -->`` and
``<!-- /recipe -->`` in README.md. The apps execute it in their own module namespace
(where the names a recipe leaves to the reader, such as ``routes``, are defined), so the
README cannot drift from what the matrix proves to work.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"

_BLOCK = re.compile(
    r"<!-- recipe:(?P<name>[a-z0-9-]+) -->\s*\n```(?P<lang>[a-z]*)\n(?P<code>.*?)```\s*\n"
    r"<!-- /recipe -->",
    re.DOTALL,
)


@cache
def recipes() -> dict[str, str]:
    """Every recipe in the README, by name (each name once)."""
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(README.read_text(encoding="utf-8")):
        name = match["name"]
        if name in found:
            raise ValueError(f"README.md has two recipes named {name!r}")
        found[name] = match["code"]
    return found


def recipe(name: str) -> str:
    """The code of one recipe; a missing recipe is an error, not an empty app."""
    try:
        return recipes()[name]
    except KeyError:
        raise LookupError(f"README.md has no <!-- recipe:{name} --> block") from None


def run_recipe(name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute recipe ``name`` in ``namespace`` (an app module's globals); return it."""
    code = compile(recipe(name), f"README.md <recipe:{name}>", "exec")
    exec(code, namespace)
    return namespace
