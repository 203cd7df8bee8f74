"""Print the README's configuration table, generated from `ConsentSettings`.

``python scripts/settings_table.py`` prints Markdown, ``--write`` puts it into
README.md; a test checks the README carries exactly this table, so the docs
cannot drift from the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

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


def write_readme(readme: Path) -> None:
    """Replace the table between the markers in ``readme``."""
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write_readme(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(f"{BEGIN}\n{settings_table()}\n{END}")
