"""Configuration: one validated model, from Python, ``CONSENT_*`` variables or a TOML file.

Precedence (highest first): keyword arguments, environment variables, the TOML
file named by ``CONSENT_CONFIG_FILE`` (or passed to `ConsentSettings.from_toml`),
then the defaults below. Every mistake fails at start-up with the field's name.
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
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from consent.categories import (
    Category,
    CategoryOverride,
    check_setting_text,
    default_categories,
)
from consent.purposes import check_purposes
from consent.records.locations import default_spool_dir, default_store_url, sqlite_path

__all__ = ["MAX_COOKIE_LIFETIME_DAYS", "BannerSettings", "ConsentSettings", "RecordsSettings"]

#: 13 months (EDPB/CNIL guidance on how long a consent choice may be kept), in days.
MAX_COOKIE_LIFETIME_DAYS = 395
#: 6 months, in days.
DEFAULT_COOKIE_LIFETIME_DAYS = 182

_toml_file: ContextVar[Path | None] = ContextVar("consent_toml_file", default=None)

logger = logging.getLogger("consent.settings")

LOG_NO_PRIVACY_POLICY = (
    "banner.privacy_policy_url is unset: the banner and the preferences page show no "
    "privacy-policy link. Set it (CONSENT_BANNER__PRIVACY_POLICY_URL) to the page that gives "
    "the information GDPR Art. 13 requires where consent is asked."
)
#: Start-up notices already logged in this process (each is said once).
_noticed: set[str] = set()
_notices_on: ContextVar[bool] = ContextVar("consent_settings_notices", default=True)

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_DOMAIN = re.compile(r"^\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$"
)
# A BCP 47 shape (`de`, `pt-BR`, `zh-Hant-TW`): it goes into `lang` and Content-Language.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
# All patterns above are used with fullmatch: `$` also matches before a trailing newline.


def _check_cookie_attribute(field: str, value: str) -> None:
    """Refuse what would end or split a ``Set-Cookie`` attribute: the value goes in verbatim."""
    for ch in value:
        if ch in ";,":
            raise ValueError(f"{field}: {ch!r} is not allowed in a cookie attribute")
        if ch.isspace():
            raise ValueError(f"{field}: whitespace is not allowed in a cookie attribute")


def _check_site_path(field: str, value: str) -> None:
    """A path on this site, never one a browser reads as another site.

    Browsers treat ``\\`` as ``/`` in URLs, so ``/\\evil.example`` is
    ``//evil.example``: like any path starting with ``//``, a link to another host.
    """
    if "\\" in value:
        raise ValueError(
            f"{field}: '\\' is not allowed (browsers read it as '/', which can lead off-site)"
        )
    if not value.startswith("/"):
        raise ValueError(f"{field}: {value!r} must be an absolute URL path starting with `/`")
    if value.startswith("//"):
        raise ValueError(f"{field}: {value!r} starts with `//`, which browsers read as a host")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"{field}: whitespace is not allowed in a URL path")


class BannerSettings(BaseModel):
    """How the banner and the preferences page look and speak."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    privacy_policy_url: str | None = Field(
        default=None,
        description="Link to the privacy policy shown in the banner and on the preferences "
        "page (a site path or an https URL). Unset: no link, and start-up warns once: GDPR "
        "Art. 13 expects the information about the processing where consent is asked, and "
        "a guessed default would only link to a page that does not exist.",
    )
    locales: list[str] = Field(
        default_factory=lambda: ["en", "de", "fr", "es", "it", "nl", "pl", "pt"],
        description="Languages offered, chosen per visitor from `Accept-Language`.",
    )
    default_locale: str = Field(
        default="en", description="Language used when none of the visitor's languages is offered."
    )
    texts: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Text overrides per language: `{locale: {text_id: text}}` "
        "(text ids in the README).",
    )
    show_settings_button: bool = Field(
        default=True,
        description='Show the floating "Cookie settings" control after a decision (else link '
        "to the preferences page yourself).",
    )
    settings_button_position: Literal["bottom-left", "bottom-right", "top-left", "top-right"] = (
        Field(
            default="bottom-left",
            description="Screen corner of the floating control: `bottom-left`, `bottom-right`, "
            "`top-left` or `top-right` (move it off a chat widget).",
        )
    )
    template_dir: str | None = Field(
        default=None,
        description="Directory with templates that override the shipped ones (same names).",
    )

    # Runs first (validators run in the order written): a stray control character is
    # named as such, before any field's own check.
    @field_validator("*")
    @classmethod
    def _check_text(cls, value: object, info: ValidationInfo) -> object:
        field = info.field_name or "banner"
        check_setting_text(field, value, prose=field == "texts")
        return value

    @field_validator("privacy_policy_url")
    @classmethod
    def _check_policy_url(cls, value: str | None) -> str | None:
        field = "privacy_policy_url"
        if value is None:
            return None
        if value.startswith("https://"):
            if "\\" in value or any(ch.isspace() for ch in value):
                raise ValueError(f"{field}: '\\' and whitespace are not allowed in a URL")
            try:
                host = urlsplit(value).hostname
            except ValueError:
                host = None
            if not host:
                raise ValueError(f"{field}: {value!r} is not an https URL with a host")
            return value
        if not value.startswith("/"):
            raise ValueError(f"{field}: must be a site path (`/privacy`) or an https URL")
        _check_site_path(field, value)
        return value

    @field_validator("locales")
    @classmethod
    def _check_locale_tags(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _LANGUAGE_TAG.fullmatch(value):
                raise ValueError(f"locales: {value!r} is not a language tag like `de` or `pt-BR`")
        return values

    @model_validator(mode="after")
    def _check_locales(self) -> BannerSettings:
        if not self.locales:
            raise ValueError("locales: at least one language is needed")
        if self.default_locale not in self.locales:
            raise ValueError(f"default_locale {self.default_locale!r} is not in locales")
        return self


class RecordsSettings(BaseModel):
    """Where proof-of-consent records go (SPEC section 7).

    Unset ``url`` and ``spool_dir`` mean one documented place, the per-user data
    directory (`consent.records.locations`), never the working directory: records are
    kept where the operator chose or there, and start-up logs which.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Write a record for every decision.")
    url: str | None = Field(
        default=None,
        description="Store URL: `sqlite:////absolute/path.db` (embedded; the directory must "
        "exist) or `postgresql://...` (needs the `postgres` extra). Unset: "
        "`consent-records.db` in the per-user data directory, `$XDG_DATA_HOME/asgi-consent/` "
        "(`~/.local/share/asgi-consent/`) on Linux, created owner-only; never the working "
        "directory, where each start from another directory would begin a new, empty store. "
        "Start-up logs where records go.",
    )
    spool_dir: str | None = Field(
        default=None,
        description="Directory of the durable local spool that holds records while the store "
        "is slow or down (created owner-only). Unset: `spool/<store id>` in the same per-user "
        "data directory, one per store, so apps with different stores never deliver each "
        "other's records.",
    )
    timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        le=30,
        description="Longest a decision request waits for the store before spooling the record.",
    )

    @field_validator("*")
    @classmethod
    def _check_text(cls, value: object, info: ValidationInfo) -> object:
        check_setting_text(info.field_name or "records", value)
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        path = sqlite_path(value)
        if path == "":
            raise ValueError("sqlite:/// needs a file path, e.g. sqlite:////var/lib/consent.db")
        if path and path != ":memory:" and info.data.get("enabled", True):
            # Said at start-up, not on the first decision: a store that cannot open
            # would only fill the spool.
            directory = Path(path).parent
            if not directory.is_dir():
                raise ValueError(
                    f"the directory {str(directory)!r} does not exist: create it (owner-only: "
                    "records are personal data) or choose another path"
                )
        return value

    @property
    def default_location(self) -> bool:
        """True when ``url`` is unset: records go to the per-user data directory."""
        return self.url is None

    @property
    def store_url(self) -> str:
        """``url``, or the SQLite file in the per-user data directory when unset."""
        return self.url if self.url is not None else default_store_url()

    @property
    def spool_path(self) -> Path:
        """``spool_dir``, or this store's spool in the per-user data directory when unset."""
        if self.spool_dir is not None:
            return Path(self.spool_dir)
        return default_spool_dir(self.store_url)


# -- loading: what the environment and the TOML file may say, and how mistakes read ------

_ENV_PREFIX = "CONSENT_"
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


def _env_names(model: type[BaseModel], prefix: str = _ENV_PREFIX) -> list[str]:
    """Every variable that names a setting (groups spelled out, mappings by their name)."""
    names = []
    for name, field in model.model_fields.items():
        group = _model_of(field.annotation)
        if group is not None and prefix == _ENV_PREFIX:
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


def _environment_problems(model: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """Unknown ``CONSENT_*`` names (with the likely one meant) and list or mapping settings
    given as plain text. pydantic-settings ignores the first and answers the second with
    a JSON decode error naming neither the variable nor the fix."""
    problems = []
    known = None
    for name, value in sorted(environ.items()):
        upper = name.upper()  # pydantic-settings matches names case-insensitively
        if not upper.startswith(_ENV_PREFIX) or upper in _NOT_SETTINGS:
            continue
        if upper.startswith(_NOT_SETTINGS_PREFIXES):
            continue
        parts = upper[len(_ENV_PREFIX) :].split(_ENV_DELIMITER)
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


def _toml_error(path: Path, exc: ValueError) -> str:
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


def _name_the_file(exc: ValidationError, path: Path) -> ValidationError:
    """``exc`` with the TOML file named in its title, when values from the file fail.

    The errors themselves stay as they are (same locations, types and messages), so code
    that reads ``exc.errors()`` sees no difference; the input stays hidden.
    """
    try:  # read as the settings were (tomllib, or tomli on Python 3.10)
        data = TomlConfigSettingsSource(ConsentSettings, toml_file=path).toml_data
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


def _notice_once(key: str, message: str) -> None:
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


def _settings_file() -> Path | None:
    """The TOML file in effect: `ConsentSettings.from_toml`'s, else ``CONSENT_CONFIG_FILE``."""
    path = _toml_file.get()
    if path is None and os.environ.get("CONSENT_CONFIG_FILE"):
        path = Path(os.environ["CONSENT_CONFIG_FILE"])
    return path


class ConsentSettings(BaseSettings):
    """Everything an operator can configure. See the README for the generated table."""

    model_config = SettingsConfigDict(
        env_prefix="CONSENT_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        # A start-up error must never print the secret key it complains about; every
        # message names the field and the offending character instead of the input.
        hide_input_in_errors=True,
    )

    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs the consent cookie. Unset: a random per-process key "
        "(demo only: cookies break on restart and across processes).",
    )
    secret_key_fallbacks: list[SecretStr] = Field(
        default_factory=list,
        description="Older keys still accepted when reading cookies (key rotation).",
    )
    cookie_name: str = Field(default="consent", description="Name of the consent cookie.")
    cookie_lifetime_days: int = Field(
        default=DEFAULT_COOKIE_LIFETIME_DAYS,
        ge=1,
        le=MAX_COOKIE_LIFETIME_DAYS,
        description="How long a choice is kept, in days (at most 13 months).",
    )
    cookie_domain: str | None = Field(
        default=None, description="`Domain` attribute of the consent cookie (unset: host-only)."
    )
    cookie_path: str = Field(default="/", description="`Path` attribute of the consent cookie.")
    cookie_samesite: Literal["lax", "strict"] = Field(
        default="lax", description="`SameSite` attribute of the consent cookie."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="`Secure` attribute; unset: on when the request came over https.",
    )
    revision: int = Field(
        default=1,
        ge=1,
        le=2**31 - 1,  # stored with every record (a PostgreSQL integer)
        description="Policy revision. Raise it when the policy changes: every earlier choice "
        "becomes undecided and the banner asks again.",
    )
    categories: list[Category] = Field(
        default_factory=default_categories,
        description="Consent categories, exactly one of them `required` (replaces the "
        "defaults; to keep them, use `extra_categories` and `category_overrides`).",
    )
    extra_categories: list[Category] = Field(
        default_factory=list,
        description="Categories added after `categories`, keeping the defaults (e.g. a "
        "`videos` category for embeds).",
    )
    category_overrides: dict[str, CategoryOverride] = Field(
        default_factory=dict,
        description="Changes to single categories by key that keep the rest: `cookies` and "
        "`scripts` are added, `label`/`description` mappings merged per language, other "
        "fields replaced.",
    )
    strict_categories: bool = Field(
        default=False,
        description="Raise instead of logging once when page markup or `allows()` names a "
        "category that is neither configured nor a known alias (for test suites).",
    )
    builtin_cookie_patterns: bool = Field(
        default=True,
        description="Also sort cookies by the built-in table derived from the Open Cookie "
        "Database (each by the category covering its purpose).",
    )
    unclassified_cookies: Literal["allow", "block"] = Field(
        default="allow",
        description="What happens to a `Set-Cookie` no category claims: `allow` (with one "
        "warning per cookie name) or `block`.",
    )
    filter_request_cookies: bool = Field(
        default=False,
        description="Hide cookies of categories the visitor has not granted from the host app.",
    )
    expire_cookie_domains: list[str] = Field(
        default_factory=list,
        description="Domains (besides host-only) on which cookies of declined categories are "
        "expired. Empty (the default): every domain from the request's host up to its "
        "registrable domain (Public Suffix List), so `www.example.com` expires them on "
        "`www.example.com` and `example.com`, where analytics scripts set them site-wide. "
        "When set, these domains are used instead, for every host.",
    )
    path: str = Field(
        default="/_consent", description="Mount point of the consent endpoints and assets."
    )
    exclude_paths: list[str] = Field(
        default_factory=list,
        description="Path prefixes whose HTML is not rewritten and gets no banner (cookies are "
        "still filtered there).",
    )
    honour_gpc: bool = Field(
        default=True,
        description="Honour Global Privacy Control (`Sec-GPC: 1`): `gpc` categories stay off "
        "unless switched on explicitly.",
    )
    trusted_origins: list[str] = Field(
        default_factory=list,
        description="Extra origins (`https://example.com`) allowed to post choices, e.g. when a "
        "proxy rewrites the Host header.",
    )
    max_body_bytes: int = Field(
        default=8192,
        ge=512,
        le=1_048_576,
        description="Largest accepted body for `POST /_consent`, in bytes.",
    )
    max_cookie_header_bytes: int = Field(
        default=8192,
        ge=1024,
        le=65_536,
        description="Longest `Cookie` request header read, in bytes; cookies past it are "
        "ignored (the consent cookie too: the visitor is then undecided). Bounds the work a "
        "cookie flood can cause.",
    )
    cookie_host_prefix: bool = Field(
        default=True,
        description="On secure requests, name the consent cookie `__Host-<cookie_name>` when "
        "`cookie_domain` is unset and `cookie_path` is `/`: browsers then refuse a cookie of "
        "that name planted by a sibling subdomain (cookie tossing).",
    )

    banner: BannerSettings = Field(
        default_factory=BannerSettings, description="Banner and preferences page."
    )
    records: RecordsSettings = Field(
        default_factory=RecordsSettings, description="Proof-of-consent records."
    )

    def __init__(self, **values: Any) -> None:
        """Read and validate; every mistake is one clear error naming where it came from.

        Unknown ``CONSENT_*`` variables and list or mapping settings given as plain text
        raise `pydantic_settings.SettingsError` (a ValueError) naming each variable; an
        unreadable TOML file names the file and position (``consent.toml:3:7: ...``);
        `pydantic.ValidationError` names the TOML file when its values are at fault.
        No message repeats a value of a secret.
        """
        problems = _environment_problems(type(self), os.environ)
        if problems:
            raise SettingsError("; ".join(problems))
        try:
            super().__init__(**values)
        except ValidationError as exc:
            path = _settings_file()
            if path is None:
                raise
            named = _name_the_file(exc, path)
            if named is exc:
                raise
            raise named from None
        except SettingsError as exc:
            field = re.search(r'^error parsing value for field "([^"]+)"', str(exc))
            if field is None:  # ours (the TOML file): already says where and what
                raise
            # What the checks above did not foresee: still name the variable and the fix.
            name = f"{_ENV_PREFIX}{field[1].upper()}"
            raise SettingsError(
                f"{name}: cannot be read ({exc}); lists and mappings take JSON, e.g. "
                f"CONSENT_EXCLUDE_PATHS='[\"/admin\"]'"
            ) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> ConsentSettings:
        """Settings read from a TOML file (environment variables and ``overrides`` win)."""
        token = _toml_file.set(Path(path))
        try:
            return cls(**overrides)
        finally:
            _toml_file.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = _settings_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            if not toml_path.is_file():
                named = "settings file" if _toml_file.get() else "CONSENT_CONFIG_FILE"
                raise SettingsError(f"{named}: no such file {str(toml_path)!r}")
            try:
                toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
            except ValueError as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
                raise SettingsError(_toml_error(toml_path, exc)) from None
            except OSError as exc:
                raise SettingsError(f"{toml_path}: {exc.strerror or exc}") from None
            sources.append(toml)
        return tuple(sources)

    # Runs first (validators run in the order written): a stray control character is
    # named as such, before any field's own check.
    @field_validator("*")
    @classmethod
    def _check_text(cls, value: object, info: ValidationInfo) -> object:
        check_setting_text(info.field_name or "settings", value)
        return value

    @field_validator("cookie_name")
    @classmethod
    def _check_cookie_name(cls, value: str) -> str:
        _check_cookie_attribute("cookie_name", value)
        if not _COOKIE_NAME.fullmatch(value):
            raise ValueError("must be a valid cookie name (letters, digits, `-`, `_`, ...)")
        return value

    @field_validator("cookie_domain", "expire_cookie_domains")
    @classmethod
    def _check_domains(
        cls, value: str | list[str] | None, info: ValidationInfo
    ) -> str | list[str] | None:
        field = info.field_name or "cookie_domain"
        for domain in [value] if isinstance(value, str) else value or []:
            _check_cookie_attribute(field, domain)
            if not _DOMAIN.fullmatch(domain):
                raise ValueError(f"{field}: {domain!r} is not a domain name")
        return value

    @field_validator("cookie_path", "path")
    @classmethod
    def _check_path(cls, value: str, info: ValidationInfo) -> str:
        field = info.field_name or "path"
        if field == "cookie_path":
            _check_cookie_attribute(field, value)
        _check_site_path(field, value)
        if not _URL_PATH.fullmatch(value):
            raise ValueError(f"{field}: {value!r} must be an absolute URL path starting with `/`")
        return value

    @field_validator("path")
    @classmethod
    def _check_mount(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value:
            raise ValueError("must not be `/`: the consent endpoints need their own path")
        return value

    @field_validator("exclude_paths")
    @classmethod
    def _check_prefixes(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_site_path("exclude_paths", value)
        return values

    @field_validator("trusted_origins")
    @classmethod
    def _check_origins(cls, values: list[str]) -> list[str]:
        normalised = [value.rstrip("/").lower() for value in values]
        for value in normalised:
            if "\\" in value:
                raise ValueError("trusted_origins: '\\' is not allowed in an origin")
            if not _ORIGIN.fullmatch(value):
                raise ValueError(
                    f"trusted_origins: {value!r} is not an origin like `https://example.com`"
                )
        return normalised

    @model_validator(mode="after")
    def _resolve_categories(self) -> ConsentSettings:
        """Fold `extra_categories` and `category_overrides` into `categories`, then check
        the whole: unique keys, one required category, each purpose covered at most once.

        Folding leaves the two fields empty, so validating a dump again changes nothing.
        """
        categories = [*self.categories, *self.extra_categories]
        keys = [c.key for c in categories]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"categories: duplicate category keys: {', '.join(duplicates)}")
        unknown = sorted(set(self.category_overrides) - set(keys))
        if unknown:
            raise ValueError(
                f"category_overrides: no category {', '.join(map(repr, unknown))} "
                f"(configured: {', '.join(keys)})"
            )
        categories = [
            self.category_overrides[c.key].apply(c) if c.key in self.category_overrides else c
            for c in categories
        ]
        required = [c.key for c in categories if c.required]
        if len(required) != 1:
            found = ", ".join(required) if required else "none"
            raise ValueError(
                f"categories: exactly one category must be `required` (found: {found})"
            )
        try:
            check_purposes((c.key, c.covers) for c in categories)
        except ValueError as exc:
            raise ValueError(f"categories: {exc}") from None
        self.categories = categories
        self.extra_categories = []
        self.category_overrides = {}
        return self

    @model_validator(mode="after")
    def _check_secret(self) -> ConsentSettings:
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("secret_key: use at least 16 characters (32 random bytes is best)")
        return self

    # Last of the validators: said only of settings that are otherwise valid.
    @model_validator(mode="after")
    def _note_missing_policy(self) -> ConsentSettings:
        if self.banner.privacy_policy_url is None:
            _notice_once("privacy_policy_url", LOG_NO_PRIVACY_POLICY)
        return self

    # -- derived values ---------------------------------------------------------------

    @property
    def required_category(self) -> Category:
        """The one category that is always granted."""
        return next(c for c in self.categories if c.required)

    @property
    def optional_keys(self) -> tuple[str, ...]:
        """Keys of the categories a visitor decides on, in configured order."""
        return tuple(c.key for c in self.categories if not c.required)
