"""The docs promise what the code does: the README's settings table is generated."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_table_script() -> object:
    spec = importlib.util.spec_from_file_location(
        "settings_table", ROOT / "scripts" / "settings_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_generated_tables_are_current() -> None:
    """Settings, default categories and category fields, each as the code has them."""
    script = load_table_script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for marker, table in script.TABLES.items():  # type: ignore[attr-defined]
        begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
        current = readme.split(begin, 1)[1].split(end, 1)[0].strip()
        assert current == table(), (
            f"README {marker} is stale: run scripts/settings_table.py --write"
        )


def test_every_setting_is_documented() -> None:
    from consent.settings import BannerSettings, ConsentSettings, RecordsSettings

    for model in (ConsentSettings, BannerSettings, RecordsSettings):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_readme_names_both_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/demo.sh" in readme
    assert "bash scripts/test.sh" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci
