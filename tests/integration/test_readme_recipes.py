"""The README's framework recipes are the code the matrix runs, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.recipes import README, recipes

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parents[1]
EXPECTED = {
    "starlette",
    "fastapi",
    "litestar",
    "quart",
    "django-asgi",
    "django-settings",
    "jinja-template",
    "django-template",
}


def test_every_framework_has_a_recipe_in_the_frameworks_section() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Frameworks\n", 1)[1].split("\n## ", 1)[0]
    # Other sections may hold recipes of their own (the cookie declaration's template).
    assert set(recipes()) >= EXPECTED
    for name in EXPECTED:
        assert f"<!-- recipe:{name} -->" in section, name
    # every marked block was found by the extractor (none malformed)
    assert text.count("<!-- recipe:") == len(recipes())
    assert text.count("<!-- /recipe -->") == len(recipes())


def test_every_recipe_is_run_by_a_test_app_or_test() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py"))
    used = set(re.findall(r"""\brun_recipe\(\s*["']([a-z0-9-]+)["']""", sources))
    used |= set(re.findall(r"""\brecipe\(\s*["']([a-z0-9-]+)["']\)""", sources))
    assert set(recipes()) <= used, sorted(set(recipes()) - used)


def test_recipes_exclude_the_admin_and_api_docs() -> None:
    found = recipes()
    assert '"/admin"' in found["django-asgi"]
    assert '"/docs"' in found["fastapi"]
    assert '"/redoc"' in found["fastapi"]
    assert '"/schema"' in found["litestar"]
