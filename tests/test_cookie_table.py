"""The shipped cookie-name table derived from the Open Cookie Database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "scripts" / "generate_cookie_table.py"
#: The snapshot the shipped table was generated from (with its licence and SOURCE.md).
SOURCE_CSV = REPO_ROOT / "data" / "open-cookie-database" / "open-cookie-database.csv"
CATEGORIES = ("necessary", "preferences", "analytics", "marketing")
OPTIONAL = ("preferences", "analytics", "marketing")
COOKIE_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def table_path() -> Any:
    return files("consent") / "data" / "cookies.json"


@cache
def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(table_path().read_text(encoding="utf-8"))
    return data


def names(category: str, kind: str) -> set[str]:
    return set(load()["categories"][category][kind])


def test_shape_and_provenance() -> None:
    data = load()
    assert list(data) == ["source", "commit", "license", "notice", "categories"]
    assert "github.com/jkwakman/Open-Cookie-Database" in data["source"]
    assert re.fullmatch(r"[0-9a-f]{40}", data["commit"])
    assert data["license"] == "Apache-2.0"
    assert "scripts/generate_cookie_table.py" in data["notice"]
    assert list(data["categories"]) == list(CATEGORIES)
    for entry in data["categories"].values():
        assert list(entry) == ["exact", "prefix"]
        for kind in ("exact", "prefix"):
            assert entry[kind] == sorted(set(entry[kind])), "lists are sorted and unique"


def test_well_known_analytics_cookies() -> None:
    assert {"_ga", "_gid", "_clck"} <= names("analytics", "exact")
    assert "_ga_" in names("analytics", "prefix")


def test_well_known_marketing_cookies() -> None:
    assert {"_fbp", "_gcl_au"} <= names("marketing", "exact")


def test_framework_session_and_csrf_cookies_are_necessary() -> None:
    assert {"PHPSESSID", "XSRF-TOKEN"} <= names("necessary", "exact")


@pytest.mark.parametrize("name", ["sessionid", "locale", "lang", "token", "u"])
def test_generic_names_are_not_optional(name: str) -> None:
    for category in OPTIONAL:
        assert name not in names(category, "exact"), f"{name} listed in {category}"
        assert name not in names(category, "prefix"), f"{name} listed in {category}"


def test_no_optional_prefix_swallows_generic_names() -> None:
    generic = ["session", "sessionid", "locale", "lang", "token", "user_id", "csrftoken", "theme"]
    for category in OPTIONAL:
        for prefix in names(category, "prefix"):
            hits = [name for name in generic if name.startswith(prefix)]
            assert not hits, f"{category} prefix {prefix!r} matches {hits}"


def test_no_name_in_two_categories() -> None:
    seen: dict[str, str] = {}
    for category in CATEGORIES:
        for name in names(category, "exact") | names(category, "prefix"):
            other = seen.setdefault(name, category)
            assert other == category, f"{name!r} is in both {other} and {category}"


def test_every_name_is_a_cookie_token() -> None:
    for category in CATEGORIES:
        for kind in ("exact", "prefix"):
            bad = [n for n in names(category, kind) if not COOKIE_TOKEN.fullmatch(n)]
            assert not bad, f"invalid {category} {kind} names: {bad}"


def test_prefixes_are_longer_than_two_characters() -> None:
    for category in CATEGORIES:
        short = [p for p in names(category, "prefix") if len(p) <= 2]
        assert not short, f"{category} has over-broad prefixes {short}"


def test_table_is_small() -> None:
    assert len(table_path().read_bytes()) < 100_000


def test_generator_reproduces_shipped_table(tmp_path: Path) -> None:
    source = SOURCE_CSV
    output = tmp_path / "cookies.json"
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--source", str(source), "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "necessary" in result.stdout
    assert output.read_bytes() == table_path().read_bytes(), (
        "src/consent/data/cookies.json is stale: run scripts/generate_cookie_table.py"
    )
