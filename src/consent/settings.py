"""Configuration: one validated model, from Python, ``CONSENT_*`` variables or a TOML file.

Precedence (highest first): keyword arguments, environment variables, the TOML
file named by ``CONSENT_CONFIG_FILE`` (or passed to `ConsentSettings.from_toml`),
then the defaults below. Every mistake fails at start-up with the field's name.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Literal
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
from consent.csp import CspSettings
from consent.jurisdictions import GeolocationSettings
from consent.observations import ListenSettings
from consent.policies import (
    BUILTIN_POLICIES,
    DEFAULT_JURISDICTIONS,
    PolicySettings,
    check_jurisdiction_code,
)
from consent.purposes import check_purposes
from consent.records.locations import default_spool_dir, default_store_url, sqlite_path
from consent.services import Service, ServiceCatalogue
from consent.settings_loading import (
    ENV_PREFIX,
    environment_problems,
    name_the_file,
    notice_once,
    settings_file,
    toml_error,
    toml_file,
)

__all__ = ["MAX_COOKIE_LIFETIME_DAYS", "BannerSettings", "ConsentSettings", "RecordsSettings"]

#: 13 months (EDPB/CNIL guidance on how long a consent choice may be kept), in days.
MAX_COOKIE_LIFETIME_DAYS = 395
#: Six months whichever month they start in (184 days: July to January is the longest),
#: so that a refusal is not asked again within six months (the EU Digital Omnibus
#: proposal; CNIL: keep a refusal as long as a consent).
DEFAULT_COOKIE_LIFETIME_DAYS = 184


logger = logging.getLogger("consent.settings")

LOG_NO_PRIVACY_POLICY = (
    "banner.privacy_policy_url is unset: the banner and the preferences page show no "
    "privacy-policy link. Set it (CONSENT_BANNER__PRIVACY_POLICY_URL) to the page that gives "
    "the information GDPR Art. 13 requires where consent is asked."
)

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_DOMAIN = re.compile(r"^\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$"
)
# A BCP 47 shape (`de`, `pt-BR`, `zh-Hant-TW`): it goes into `lang` and Content-Language.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_POLICY_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
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
    services: list[Service] = Field(
        default_factory=list,
        description="Your own services (or built-in ones replaced by key): a vendor a visitor "
        "can allow on its own, inside the category covering its `purpose`.",
    )
    builtin_services: bool = Field(
        default=True,
        description="Offer the built-in catalogue of common services (YouTube, Google "
        "Analytics, Meta Pixel, ...) one by one inside their categories.",
    )
    consent_mode: Literal["basic", "advanced"] = Field(
        default="basic",
        description="Google Consent Mode: `basic` blocks Google's tags (gtag.js, Tag Manager) "
        "until their category is granted; `advanced` lets them load before consent with every "
        "signal denied (Google then sends cookieless pings), other trackers blocked as ever.",
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
    mode: Literal["enforce", "listen"] = Field(
        default="enforce",
        description="`listen`: classify and count (see `listen`) but block nothing: no markup, "
        "cookie or header of the app's responses changes. For watching a rollout first.",
    )
    listen: ListenSettings = Field(
        default_factory=ListenSettings,
        description="Listen-only mode: banner shown or not, sampling, path grouping.",
    )
    report_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for `GET <path>/report` (the listen-only counts); unset, "
        "the report answers 404.",
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

    geolocation: GeolocationSettings = Field(
        default_factory=GeolocationSettings,
        description="Where each visitor's jurisdiction comes from (a CDN's headers).",
    )
    policies: dict[str, PolicySettings] = Field(
        default_factory=dict,
        description="Consent policies by name, added to the built-in `opt_in`, `uk`, `us` "
        "and `notice` (a name of theirs replaces that one).",
    )
    jurisdictions: dict[str, str] = Field(
        default_factory=dict,
        description="Jurisdiction (`US`, `US-CA`, `GB`, `EU`, `EEA`) to policy name, added to "
        "the built-in table (a code of theirs replaces that row).",
    )
    default_policy: str = Field(
        default="opt_in",
        description="The policy of a visitor whose jurisdiction is unknown or not listed.",
    )
    click_ids: Literal["redirect", "strip", "keep"] = Field(
        default="redirect",
        description="Ad click identifiers (`gclid`, `fbclid`, ...) while marketing is not "
        "allowed: `redirect` a page visit to the clean URL and `strip` them from the query "
        "the app sees and from same-site links; `strip` only strips; `keep` passes them.",
    )
    runtime_guard: bool = Field(
        default=True,
        description="Load the runtime guard (`guard.js`, docs/guard.md) in pages: elements "
        "scripts add later are held to the visitor's choice before they fetch. Switch it "
        "off only if another script of yours already does this.",
    )
    csp: CspSettings = Field(
        default_factory=CspSettings,
        description="Consent-aware Content-Security-Policy: declined trackers' hosts removed "
        "from the app's policy per visitor, violation reports counted.",
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
        problems = environment_problems(type(self), os.environ)
        if problems:
            raise SettingsError("; ".join(problems))
        try:
            super().__init__(**values)
        except ValidationError as exc:
            path = settings_file()
            if path is None:
                raise
            named = name_the_file(type(self), exc, path)
            if named is exc:
                raise
            raise named from None
        except SettingsError as exc:
            field = re.search(r'^error parsing value for field "([^"]+)"', str(exc))
            if field is None:  # ours (the TOML file): already says where and what
                raise
            # What the checks above did not foresee: still name the variable and the fix.
            name = f"{ENV_PREFIX}{field[1].upper()}"
            raise SettingsError(
                f"{name}: cannot be read ({exc}); lists and mappings take JSON, e.g. "
                f"CONSENT_EXCLUDE_PATHS='[\"/admin\"]'"
            ) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> ConsentSettings:
        """Settings read from a TOML file (environment variables and ``overrides`` win)."""
        token = toml_file.set(Path(path))
        try:
            return cls(**overrides)
        finally:
            toml_file.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = settings_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            if not toml_path.is_file():
                named = "settings file" if toml_file.get() else "CONSENT_CONFIG_FILE"
                raise SettingsError(f"{named}: no such file {str(toml_path)!r}")
            try:
                toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
            except ValueError as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
                raise SettingsError(toml_error(toml_path, exc)) from None
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
        keys_set = set(keys)
        for service in self.services:
            if service.category is not None and service.category not in keys_set:
                raise ValueError(
                    f"services: {service.key!r} names the category {service.category!r}, "
                    f"which is not configured ({', '.join(keys)})"
                )
        try:
            ServiceCatalogue.from_settings(categories, self.services, builtin=self.builtin_services)
        except ValueError as exc:
            raise ValueError(f"services: {exc}") from None
        self.categories = categories
        self.extra_categories = []
        self.category_overrides = {}
        return self

    @field_validator("jurisdictions")
    @classmethod
    def _check_jurisdictions(cls, value: dict[str, str]) -> dict[str, str]:
        for code in value:
            check_jurisdiction_code(code)
        return value

    @field_validator("policies")
    @classmethod
    def _check_policy_names(cls, value: dict[str, PolicySettings]) -> dict[str, PolicySettings]:
        for name in value:
            if not _POLICY_NAME.fullmatch(name):
                raise ValueError(f"{name!r}: a policy name is letters, digits, `_` and `-`")
        return value

    @model_validator(mode="after")
    def _check_policies(self) -> ConsentSettings:
        known = self.all_policies
        for code, name in {**self.all_jurisdictions, "default_policy": self.default_policy}.items():
            if name not in known:
                field = code if code == "default_policy" else f"jurisdictions.{code}"
                raise ValueError(
                    f"{field}: no policy {name!r} (configured: {', '.join(sorted(known))})"
                )
        self.geolocation.headers()  # `headers` without a country header fails here
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
            notice_once("privacy_policy_url", LOG_NO_PRIVACY_POLICY)
        return self

    # -- derived values ---------------------------------------------------------------

    @property
    def required_category(self) -> Category:
        """The one category that is always granted."""
        return next(c for c in self.categories if c.required)

    @property
    def all_policies(self) -> dict[str, PolicySettings]:
        """The built-in policies with the configured ones added (or replacing them)."""
        return {**BUILTIN_POLICIES, **self.policies}

    @property
    def all_jurisdictions(self) -> dict[str, str]:
        """The built-in jurisdiction table with the configured rows added (or replacing)."""
        return {**DEFAULT_JURISDICTIONS, **self.jurisdictions}

    @property
    def optional_keys(self) -> tuple[str, ...]:
        """Keys of the categories a visitor decides on, in configured order."""
        return tuple(c.key for c in self.categories if not c.required)
