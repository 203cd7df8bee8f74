"""Consent categories and the classification of cookie names into them.

A `Category` is what a visitor grants or declines. Cookie names are sorted
into categories by the operator's own patterns first, then by a built-in table
derived from the Open Cookie Database (see ``data/NOTICE``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Annotated, Literal, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from consent.cache import MISSING, BoundedCache
from consent.purposes import PURPOSES, Purpose, PurposeMap, purposes_of_key

__all__ = [
    "GOOGLE_CONSENT_SIGNALS",
    "Category",
    "CategoryOverride",
    "CookieClassifier",
    "LocalizedText",
    "check_setting_text",
    "default_categories",
    "localize",
]

#: Category keys travel in cookies, URLs and form fields: keep them to a short slug.
CATEGORY_KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"

GoogleSignal = Literal[
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
]
#: Google Consent Mode v2 signal names a category may grant.
GOOGLE_CONSENT_SIGNALS: tuple[GoogleSignal, ...] = get_args(GoogleSignal)

#: A text in one language, or a mapping of language tag to text (``"en"`` is the fallback).
LocalizedText = Union[str, dict[str, str]]  # noqa: UP007 - pydantic needs a runtime union on 3.9-style

# RFC 6265 cookie-name token, plus "*" for our wildcard.
_COOKIE_PATTERN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_SCRIPT_PATTERN = re.compile(r"^[a-z0-9*](?:[a-z0-9.*-]*[a-z0-9])?(?:/[^\s\"'<>]*)?$")
_CONTROL_NAMES = {"\n": "newline", "\r": "carriage return", "\t": "tab", "\x00": "NUL"}


_PROSE_WHITESPACE = frozenset("\n\r\t")


def check_setting_text(field: str, value: object, *, prose: bool = False) -> None:
    """Raise ValueError naming ``field`` if any text in ``value`` is unfit for a setting.

    Settings end up in headers, URLs and markup. A control character (most often a
    trailing newline from a file or a here-doc) can split a header, and makes a
    value differ from what the operator sees; a lone surrogate (an environment
    variable that is not UTF-8) cannot be encoded at all. Lists, tuples and
    mappings are walked, keys included; a secret is checked without being quoted.
    ``prose`` texts (labels, descriptions, banner texts) only ever reach escaped
    markup, so they may hold line breaks and tabs (a TOML multi-line string does).
    """
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        for ch in value:
            category = unicodedata.category(ch)
            if category == "Cc" and not (prose and ch in _PROSE_WHITESPACE):
                name = _CONTROL_NAMES.get(ch)
                label = f"U+{ord(ch):04X}" + (f" ({name})" if name else "")
                raise ValueError(f"{field}: control character {label} is not allowed")
            if category == "Cs":
                raise ValueError(f"{field}: U+{ord(ch):04X} is a lone surrogate, not text")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_setting_text(field, key)  # keys are ids or locales, never prose
            check_setting_text(field, item, prose=prose)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_setting_text(field, item, prose=prose)


def localize(text: LocalizedText, locale: str) -> str:
    """Pick ``text`` for ``locale`` (``"de-AT"`` falls back to ``"de"``, then ``"en"``)."""
    if isinstance(text, str):
        return text
    if locale in text:
        return text[locale]
    base = locale.split("-", 1)[0]
    if base in text:
        return text[base]
    return text.get("en") or next(iter(text.values()), "")


#: Google Consent Mode signals and the GPC flag a category gets from each purpose it covers.
PURPOSE_SIGNALS: dict[str, tuple[GoogleSignal, ...]] = {
    "necessary": ("security_storage",),
    "preferences": ("functionality_storage", "personalization_storage"),
    "analytics": ("analytics_storage",),
    "marketing": ("ad_storage", "ad_user_data", "ad_personalization"),
}
#: Purposes that are a sale or sharing of personal data (what GPC opts out of).
GPC_PURPOSES = frozenset({"marketing"})


class Category(BaseModel):
    """A choice the visitor grants or declines, with the purposes, cookies and hosts it covers.

    Only ``key`` is needed for a category that covers one built-in purpose: ``label``,
    ``description``, ``google_consent_mode`` and ``gpc`` then come from that purpose (the
    texts in every shipped language), so ``statistics`` reads "Statistik" to a German visitor.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(pattern=CATEGORY_KEY_PATTERN)] = Field(
        description="Short slug stored in the consent cookie and used in forms and markup."
    )
    label: LocalizedText = Field(
        default="",
        description="Name shown in the banner (text or locale mapping). Unset: the label of "
        "the one purpose the category covers, in every shipped language.",
    )
    description: LocalizedText = Field(
        default="",
        description="What the category is for, shown under its toggle. Unset: the description "
        "of the one purpose it covers, in every shipped language.",
    )
    required: bool = Field(
        default=False, description="The necessary category: always on, cannot be declined."
    )
    preselected: bool = Field(
        default=False,
        description="Pre-ticked toggle. Only allowed on the required category: consent to an "
        "optional purpose must be an explicit opt-in.",
    )
    purposes: tuple[Purpose, ...] | None = Field(
        default=None,
        description="Built-in purposes (`necessary`, `preferences`, `analytics`, `marketing`) "
        "whose known trackers and cookies this category decides. Unset: the purpose its key "
        "names (`statistics`, `functional`, `ads` and other common names count), plus "
        "`necessary` for the required category.",
    )
    cookies: tuple[str, ...] = Field(
        default=(), description="Cookie-name patterns (exact names, `*` as wildcard)."
    )
    scripts: tuple[str, ...] = Field(
        default=(),
        description="Script/iframe hosts (`host` matches subdomains too, or `host/path-prefix`).",
    )
    google_consent_mode: tuple[GoogleSignal, ...] | None = Field(
        default=None,
        description="Google Consent Mode v2 signals granted with this category. Unset: those "
        "of its purposes.",
    )
    gpc: bool | None = Field(
        default=None,
        description="Sale/sharing purpose: stays off under Global Privacy Control (`Sec-GPC: 1`) "
        "unless the visitor switches it on explicitly. Unset: on when it covers `marketing`.",
    )

    # Runs first (validators run in the order written), so a stray control character
    # is named as such rather than as a pattern mismatch.
    @field_validator("*")
    @classmethod
    def _check_text(cls, value: object, info: ValidationInfo) -> object:
        field = info.field_name or "category"
        check_setting_text(field, value, prose=field in ("label", "description"))
        return value

    @field_validator("cookies")
    @classmethod
    def _check_cookie_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            if not _COOKIE_PATTERN.fullmatch(pattern) or pattern == "*":
                raise ValueError(f"invalid cookie-name pattern {pattern!r}")
        return patterns

    @field_validator("scripts")
    @classmethod
    def _check_script_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(p.strip().lower() for p in patterns)
        for pattern in normalised:
            if not _SCRIPT_PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"invalid script pattern {pattern!r}: expected `host` or `host/path-prefix`"
                )
        return normalised

    @field_validator("purposes")
    @classmethod
    def _check_purposes(cls, purposes: tuple[Purpose, ...] | None) -> tuple[Purpose, ...] | None:
        if purposes is not None and len(set(purposes)) != len(purposes):
            raise ValueError("purposes: each purpose at most once")
        return purposes

    @model_validator(mode="after")
    def _no_preselected_optional(self) -> Category:
        if self.preselected and not self.required:
            raise ValueError(
                f"optional category {self.key!r} cannot be preselected: "
                "consent must be an explicit opt-in"
            )
        if not self.required and "necessary" in self.covers:
            raise ValueError(
                f"category {self.key!r} covers `necessary` but is not `required`: what a site "
                "needs to work cannot be declined (give it other `purposes`)"
            )
        if not self.label_for("en") and self._texts_purpose() is None:
            raise ValueError(
                f"category {self.key!r}: `label` is required (it covers no single "
                "built-in purpose whose texts could be used)"
            )
        return self

    @property
    def covers(self) -> tuple[Purpose, ...]:
        """The built-in purposes this category decides (set, or derived from its key)."""
        if self.purposes is None:
            return purposes_of_key(self.key, required=self.required)
        if self.required and "necessary" not in self.purposes:
            return ("necessary", *self.purposes)
        return self.purposes

    @property
    def signals(self) -> tuple[GoogleSignal, ...]:
        """Consent Mode signals granted with this category."""
        if self.google_consent_mode is not None:
            return self.google_consent_mode
        return tuple(dict.fromkeys(s for p in self.covers for s in PURPOSE_SIGNALS[p]))

    @property
    def sale_or_sharing(self) -> bool:
        """Whether GPC keeps this category off (``gpc``, or derived from its purposes)."""
        if self.gpc is not None:
            return self.gpc
        return not GPC_PURPOSES.isdisjoint(self.covers)

    def _texts_purpose(self) -> Purpose | None:
        """The purpose whose shipped texts stand in for missing ones: the one optional
        purpose covered (or ``necessary`` for a required category covering nothing else)."""
        optional = [p for p in self.covers if p != "necessary"]
        if len(optional) == 1:
            return optional[0]
        return "necessary" if not optional and self.required else None

    def label_for(self, locale: str) -> str:
        """The label in ``locale`` (with fallbacks)."""
        return localize(self._text("label", self.label), locale)

    def description_for(self, locale: str) -> str:
        """The description in ``locale`` (with fallbacks)."""
        return localize(self._text("description", self.description), locale)

    def _text(self, field: str, own: LocalizedText) -> LocalizedText:
        if own if isinstance(own, str) else any(own.values()):
            return own
        purpose = self._texts_purpose()
        return "" if purpose is None else purpose_text(purpose, field)


def purpose_text(purpose: str, field: str) -> dict[str, str]:
    """A purpose's shipped ``label`` or ``description``, ``{locale: text}``."""
    from consent.texts import DEFAULT_CATEGORY_TEXTS  # local: texts imports nothing from here

    return {loc: entry[field] for loc, entry in DEFAULT_CATEGORY_TEXTS[purpose].items()}


def default_categories() -> list[Category]:
    """The four default categories of SPEC section 4: one per purpose, every text shipped,
    written out in full (what a category left unset would derive from its purpose)."""
    categories = []
    for purpose in PURPOSES:
        required = purpose == "necessary"
        categories.append(
            Category(
                key=purpose,
                label=purpose_text(purpose, "label"),
                description=purpose_text(purpose, "description"),
                required=required,
                preselected=required,
                purposes=(purpose,),
                google_consent_mode=PURPOSE_SIGNALS[purpose],
                gpc=purpose in GPC_PURPOSES,
            )
        )
    return categories


class CategoryOverride(BaseModel):
    """Changes to one configured category that keep everything else it has.

    ``cookies`` and ``scripts`` are added to the category's own; a ``label`` or
    ``description`` mapping is merged language by language (so overriding the English
    label keeps the German one); the other fields replace.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: LocalizedText | None = None
    description: LocalizedText | None = None
    purposes: tuple[Purpose, ...] | None = None
    cookies: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    google_consent_mode: tuple[GoogleSignal, ...] | None = None
    gpc: bool | None = None

    def apply(self, category: Category) -> Category:
        """``category`` with these changes, validated again as a whole."""
        data = category.model_dump()
        for field in ("label", "description"):
            change: LocalizedText | None = getattr(self, field)
            if change is None:
                continue
            if isinstance(change, dict):
                base = category._text(field, getattr(category, field))
                base = {"en": base} if isinstance(base, str) else base
                data[field] = {**base, **change}
            else:
                data[field] = change
        for field in ("purposes", "google_consent_mode", "gpc"):
            if getattr(self, field) is not None:
                data[field] = getattr(self, field)
        data["cookies"] = (*category.cookies, *self.cookies)
        data["scripts"] = (*category.scripts, *self.scripts)
        return Category.model_validate(data)


@cache
def builtin_cookie_table() -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """The shipped cookie-name table: ``{purpose: {"exact": (...), "prefix": (...)}}``."""
    raw = json.loads(resources.files("consent").joinpath("data/cookies.json").read_text("utf-8"))
    return {
        key: {kind: tuple(names) for kind, names in entry.items()}
        for key, entry in raw["categories"].items()
    }


def _glob_to_regex(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


class CookieClassifier:
    """Sorts cookie names into category keys.

    Lookup order: the operator's exact names, the operator's wildcard patterns
    (in category order), then the built-in table (exact names, then the longest
    matching prefix). Everything is compiled once; results are memoised in a
    bounded dict because the same few names arrive on every request.
    """

    _CACHE_LIMIT = 4096

    def __init__(
        self,
        categories: Sequence[Category],
        *,
        builtin: bool = True,
        purposes: PurposeMap | None = None,
        services: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> None:
        self._exact: dict[str, str] = {}
        wildcards: list[tuple[str, str]] = []
        # The operator's category patterns first, then services' own cookies (so a visitor
        # who allows Google Analytics alone keeps `_ga`), then the built-in table.
        owners = [(c.key, c.cookies) for c in categories]
        for key, patterns in (*owners, *services):
            for pattern in patterns:
                if "*" in pattern:
                    wildcards.append((key, _glob_to_regex(pattern)))
                else:
                    self._exact.setdefault(pattern, key)
        self._wildcard: re.Pattern[str] | None = None
        self._wildcard_keys: list[str] = [key for key, _ in wildcards]
        if wildcards:
            self._wildcard = re.compile("|".join(f"({regex})" for _, regex in wildcards), re.DOTALL)
        self._builtin_exact: dict[str, str] = {}
        self._builtin_prefix: dict[str, str] = {}
        if builtin:
            if purposes is None:
                purposes = PurposeMap.of(categories)
            self._load_builtin(purposes)
        self._prefix_buckets = _prefix_buckets(self._builtin_prefix)
        self._cache: BoundedCache[str, str | None] = BoundedCache(self._CACHE_LIMIT)

    def _load_builtin(self, purposes: PurposeMap) -> None:
        """File each built-in name under the category covering its purpose (a purpose no
        category covers gets a key nobody can grant: its cookies are always dropped)."""
        for purpose, entry in builtin_cookie_table().items():
            key = purposes.key_of(purpose)
            for name in entry.get("exact", ()):
                self._builtin_exact.setdefault(name, key)
            for prefix in entry.get("prefix", ()):
                self._builtin_prefix.setdefault(prefix, key)

    def classify(self, name: str) -> str | None:
        """The category key of cookie ``name``, or ``None`` when unclassified."""
        key = self._cache.get(name, MISSING)
        if key is MISSING:
            return self._cache.set(name, self._lookup(name)[0])
        return key

    def explain(self, name: str) -> tuple[str | None, str]:
        """``(category, why)`` for cookie ``name``, for people (`consent explain`)."""
        return self._lookup(name)

    def _lookup(self, name: str) -> tuple[str | None, str]:
        key = self._exact.get(name)
        if key is not None:
            return key, "your cookie name"
        if self._wildcard is not None:
            match = self._wildcard.fullmatch(name)
            if match is not None and match.lastindex is not None:
                return self._wildcard_keys[match.lastindex - 1], "your cookie pattern"
        key = self._builtin_exact.get(name)
        if key is not None:
            return key, "built-in cookie table (Open Cookie Database, curated)"
        # Longest matching prefix: one small regex per first two characters (in C), so a
        # flood of unknown names costs a dict lookup and at most one short match each.
        bucket = self._prefix_buckets.get(name[:_BUCKET])
        if bucket is not None:
            match = bucket.match(name)
            if match is not None:
                prefix = match.group()
                return self._builtin_prefix[prefix], f"built-in cookie table, prefix {prefix}*"
        return None, "in no table"


#: Built-in prefixes are grouped by their first characters (the shortest prefix has 3).
_BUCKET = 2


def _prefix_buckets(prefixes: Iterable[str]) -> dict[str, re.Pattern[str]]:
    """Per leading ``_BUCKET`` characters, an alternation of prefixes, longest first."""
    grouped: dict[str, list[str]] = {}
    for prefix in sorted(prefixes, key=len, reverse=True):
        if len(prefix) < _BUCKET:
            raise ValueError(f"cookie prefix {prefix!r} is shorter than {_BUCKET} characters")
        grouped.setdefault(prefix[:_BUCKET], []).append(prefix)
    return {
        head: re.compile("|".join(re.escape(p) for p in group)) for head, group in grouped.items()
    }
