"""Print the README's generated tables: settings, default categories, category fields.

``python scripts/settings_table.py`` prints Markdown, ``--write`` puts each table
between its markers in README.md; a test checks the README carries exactly these
tables, so the docs cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from consent.categories import Category, default_categories
from consent.settings import ConsentSettings

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            return "see below"
        if isinstance(value, BaseModel):
            return "see below"
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], env_prefix: str, name_prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, f"{env_prefix}{name.upper()}__", f"{name_prefix}{name}.")
            continue
        description = (field.description or "").replace("|", "\\|")
        rows.append(
            f"| `{name_prefix}{name}` | `{env_prefix}{name.upper()}` | {_default(field)} "
            f"| {description} |"
        )
    return rows


def settings_table() -> str:
    """The Markdown table of every setting, its variable, default and meaning."""
    header = [
        "| setting | environment variable | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    return "\n".join([*header, *_rows(ConsentSettings, "CONSENT_", "")])


def categories_table() -> str:
    """Every default category in full: purposes, texts (English and German shown; every
    shipped language is used), Consent Mode signals and the GPC flag."""
    rows = [
        "| key | purposes | required | label (en / de) | description (en) "
        "| Consent Mode signals | off under GPC |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in default_categories():
        rows.append(
            f"| `{c.key}` | {', '.join(f'`{p}`' for p in c.covers)} "
            f"| {'yes' if c.required else 'no'} | {c.label_for('en')} / {c.label_for('de')} "
            f"| {c.description_for('en')} | {', '.join(f'`{s}`' for s in c.signals)} "
            f"| {'yes' if c.sale_or_sharing else 'no'} |"
        )
    return "\n".join(rows)


def category_fields_table() -> str:
    """The fields of one category, as `[[categories]]` and `[[extra_categories]]` take them."""
    rows = ["| field | default | meaning |", "| --- | --- | --- |"]
    for name, field in Category.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_default(field)} | {description} |")
    return "\n".join(rows)


#: Marker name -> table, in README order.
TABLES = {
    "settings-table": settings_table,
    "categories-table": categories_table,
    "category-fields": category_fields_table,
}


def write_readme(readme: Path) -> None:
    """Replace each table between its markers in ``readme``."""
    text = readme.read_text(encoding="utf-8")
    for marker, table in TABLES.items():
        begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{table()}\n{end}{tail}"
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write_readme(Path(__file__).resolve().parents[1] / "README.md")
    else:
        for marker, table in TABLES.items():
            print(f"<!-- {marker}:begin -->\n{table()}\n<!-- {marker}:end -->\n")
