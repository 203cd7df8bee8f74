"""How settings are read: which ``CONSENT_*`` variables and TOML files count, and errors
that say what to do.

pydantic-settings ignores an unknown variable (a typo in ``CONSENT_SECRETKEY`` would run
the site on a random key) and answers a list given as plain text with a JSON decode error
naming neither the variable nor the fix. This module finds both before validation, names
TOML files and positions as editors count them, and says start-up notices once.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shlex
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, TomlConfigSettingsSource

__all__ = [
    "ENV_PREFIX",
    "environment_problems",
    "name_the_file",
    "notice_once",
    "settings_file",
    "startup_notices",
    "toml_error",
    "toml_file",
]

logger = logging.getLogger("consent.settings")

#: The file `ConsentSettings.from_toml` reads (it wins over ``CONSENT_CONFIG_FILE``).
toml_file: ContextVar[Path | None] = ContextVar("consent_toml_file", default=None)
#: Start-up notices already logged in this process (each is said once).
_noticed: set[str] = set()
_notices_on: ContextVar[bool] = ContextVar("consent_settings_notices", default=True)

# -- loading: what the environment and the TOML file may say, and how mistakes read ------

ENV_PREFIX = "CONSENT_"
_ENV_DELIMITER = "__"
#: ``CONSENT_*`` variables that are ours without being settings: the settings file, and
#: those of this project's own test suite and benchmarks (``CONSENT_TEST_POSTGRES_URL``,
#: ``CONSENT_TEST_DJANGO_DB``, ``CONSENT_BENCH_POSTGRES_URL``), which reach the servers the
#: integration tests start.
_NOT_SETTINGS = frozenset({"CONSENT_CONFIG_FILE"})
_NOT_SETTINGS_PREFIXES = ("CONSENT_TEST_", "CONSENT_BENCH_")
_TOML_POSITION = re.compile(r"^(?P<msg>.*?) \(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)
_COMPLEX_ORIGINS = (list, tuple, set, frozenset, dict)


def _members(annotation: Any) -> tuple[Any, ...]:
    """The members of a union without None (``X | None`` is X), else ``(annotation,)``."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _mapping_values(annotation: Any) -> Any:
    """The value type of a dict (or of the dict member of a union); None if no dict."""
    for member in _members(annotation):
        if get_origin(member) is dict:
            return get_args(member)[1] if get_args(member) else Any
    return None


def _json_kind(annotation: Any) -> str | None:
    """The kind of JSON a variable must hold ("list", "mapping" or "group"), as
    pydantic-settings reads it; None when plain text will do (a union with a plain member)."""
    kinds = set()
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            kinds.add("group")
        elif get_origin(member) is dict:
            kinds.add("mapping")
        elif get_origin(member) in _COMPLEX_ORIGINS or member in _COMPLEX_ORIGINS:
            kinds.add("list")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


class _Unknown:
    """The target of a variable that names no setting."""


def _env_target(model: type[BaseModel], parts: list[str]) -> Any:
    """The annotation a ``__``-separated variable name reaches, or `_Unknown`.

    Groups (BannerSettings, RecordsSettings, a category override) must name one of
    their fields; mappings (``category_overrides``, ``banner.texts``) take any key.
    """
    annotation: Any = model
    for part in parts:
        group = _model_of(annotation)
        if group is not None:
            field = group.model_fields.get(part.lower())
            if field is None:
                return _Unknown
            annotation = field.annotation
            continue
        values = _mapping_values(annotation)
        if values is None or not part:
            return _Unknown
        annotation = values
    return annotation


def _env_names(model: type[BaseModel], prefix: str = ENV_PREFIX) -> list[str]:
    """Every variable that names a setting (groups spelled out, mappings by their name)."""
    names = []
    for name, field in model.model_fields.items():
        group = _model_of(field.annotation)
        if group is not None and prefix == ENV_PREFIX:
            names += _env_names(group, f"{prefix}{name.upper()}{_ENV_DELIMITER}")
        names.append(f"{prefix}{name.upper()}")
    return names


def _json_example(name: str, value: str, kind: str, annotation: Any) -> str:
    """How the variable reads as JSON; a secret's value is never repeated."""
    if kind == "list":
        items = [] if "SECRET" in name.upper() else [v.strip() for v in value.split(",")]
        items = [item for item in items if item] or ["..."]
        example = json.dumps(items, ensure_ascii=False)
        return f"{name} is a list: write it as JSON, e.g. {name}={shlex.quote(example)}"
    if kind == "mapping":
        example = shlex.quote('{"key": ...}')
        return (
            f"{name} is a mapping: write it as a JSON object, e.g. {name}={example}, "
            f"or set one key per variable, {name}{_ENV_DELIMITER}KEY=..."
        )
    group = _model_of(annotation)
    fields = list(group.model_fields) if group is not None else ["key"]
    example = shlex.quote(json.dumps({fields[0]: "..."}))
    each = ", ".join(f"{name}{_ENV_DELIMITER}{field.upper()}" for field in fields)
    return (
        f"{name} is a group of settings: write it as a JSON object, e.g. {name}={example}, "
        f"or set one per variable ({each})"
    )


def environment_problems(model: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """Unknown ``CONSENT_*`` names (with the likely one meant) and list or mapping settings
    given as plain text. pydantic-settings ignores the first and answers the second with
    a JSON decode error naming neither the variable nor the fix."""
    problems = []
    known = None
    for name, value in sorted(environ.items()):
        upper = name.upper()  # pydantic-settings matches names case-insensitively
        if not upper.startswith(ENV_PREFIX) or upper in _NOT_SETTINGS:
            continue
        if upper.startswith(_NOT_SETTINGS_PREFIXES):
            continue
        parts = upper[len(ENV_PREFIX) :].split(_ENV_DELIMITER)
        target = _env_target(model, parts)
        if target is _Unknown:
            known = known if known is not None else [*_env_names(model), *_NOT_SETTINGS]
            close = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"unknown setting {name}{hint}")
            continue
        kind = _json_kind(target)
        if kind is None:
            continue
        try:
            json.loads(value)
        except ValueError:
            problems.append(_json_example(name, value, kind, target))
    return problems


def toml_error(path: Path, exc: ValueError) -> str:
    """``file:line:col: message`` (1-based, as editors count) for an unreadable TOML file."""
    if isinstance(exc, UnicodeDecodeError):
        data = bytes(exc.object)
        at_line = data.count(b"\n", 0, exc.start) + 1
        at_col = exc.start - data.rfind(b"\n", 0, exc.start)
        return f"{path}:{at_line}:{at_col}: not UTF-8 text"
    # Python 3.14 gives the position as attributes; earlier ones only in the message.
    line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    message = str(getattr(exc, "msg", "") or exc)
    match = _TOML_POSITION.match(str(exc))
    if line is None and match:
        message, line, col = match["msg"], match["line"], match["col"]
    if line is not None and col is not None:
        return f"{path}:{line}:{col}: {message}"
    return f"{path}: {message.replace('(at end of document)', 'at the end of the file')}"


def _from_file(data: Any, loc: tuple[int | str, ...], error_input: Any, kind: str) -> bool:
    """Whether the value an error is about is the one the TOML file gives (at that place)."""
    if not loc:
        return False
    for part in loc:
        in_mapping = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_mapping or in_list):
            return False
        data = data[part]
    return kind == "extra_forbidden" or bool(data == error_input)


def name_the_file(
    settings_cls: type[BaseSettings], exc: ValidationError, path: Path
) -> ValidationError:
    """``exc`` with the TOML file named in its title, when values from the file fail.

    The errors themselves stay as they are (same locations, types and messages), so code
    that reads ``exc.errors()`` sees no difference; the input stays hidden.
    """
    try:  # read as the settings were (tomllib, or tomli on Python 3.10)
        data = TomlConfigSettingsSource(settings_cls, toml_file=path).toml_data
    except (OSError, ValueError):
        return exc
    errors = exc.errors()
    locs = [
        ".".join(str(part) for part in error["loc"])
        for error in errors
        if _from_file(data, error["loc"], error.get("input"), error["type"])
    ]
    if not locs:
        return exc
    title = f"{exc.title} (values from {path}: {', '.join(locs)})"
    try:
        named = ValidationError.from_exception_data(
            title,
            errors,  # type: ignore[arg-type]
            hide_input=True,
        )
    except (TypeError, ValueError, KeyError):  # an error type it cannot rebuild
        if sys.version_info >= (3, 11):
            exc.add_note(f"values from {path}: {', '.join(locs)}")
        return exc
    return named


def notice_once(key: str, message: str) -> None:
    if _notices_on.get() and key not in _noticed:
        _noticed.add(key)
        logger.warning(message)


@contextmanager
def startup_notices(enabled: bool) -> Iterator[None]:
    """Switch the start-up notices (a missing privacy-policy link) on or off for settings
    built inside (the ``consent`` command starts no site: they would only be noise)."""
    token = _notices_on.set(enabled)
    try:
        yield
    finally:
        _notices_on.reset(token)


def settings_file() -> Path | None:
    """The TOML file in effect: `ConsentSettings.from_toml`'s, else ``CONSENT_CONFIG_FILE``."""
    path = toml_file.get()
    if path is None and os.environ.get("CONSENT_CONFIG_FILE"):
        path = Path(os.environ["CONSENT_CONFIG_FILE"])
    return path
