"""Services: the vendors inside a category (YouTube, Hotjar, ...), granted whole or one by one.

A visitor may want YouTube's videos without every other embed of ``preferences``. Each
`Service` names its provider, purpose, hosts, cookies and privacy policy; it belongs to the
category that covers its purpose (or one named explicitly). A built-in catalogue
(``data/services.json``) covers the common ones; operators add their own with the
``services`` setting (a service with a built-in key replaces it).

A service is allowed when it is granted itself or its category is. A service whose
category is not configured (its purpose is covered by no category) is left out: its hosts
stay blocked under that purpose, as every tracker of an uncovered purpose does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consent.categories import CATEGORY_KEY_PATTERN, Category, LocalizedText, localize
from consent.purposes import Purpose, PurposeMap

__all__ = ["SERVICE_KINDS", "Service", "ServiceCatalogue", "builtin_services"]

ServiceKind = Literal[
    "video",
    "map",
    "audio",
    "social",
    "analytics",
    "advertising",
    "tag-manager",
    "chat",
    "payment",
    "security",
    "other",
]
SERVICE_KINDS: tuple[str, ...] = get_args(ServiceKind)
_CODE_PATTERN = r"^[a-z0-9]{1,8}$"


class Service(BaseModel):
    """A third-party service a visitor can allow on its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(pattern=CATEGORY_KEY_PATTERN)] = Field(
        description="Short slug used in forms, markup (`data-consent`) and `allows()`."
    )
    code: Annotated[str, Field(pattern=_CODE_PATTERN)] | None = Field(
        default=None,
        description="Its name in the consent cookie (keeps the cookie small); unset: the key. "
        "Never change it once visitors have granted the service.",
    )
    label: LocalizedText = Field(description="Name shown to visitors (usually the brand).")
    provider: str = Field(description="Who runs it (the company a visitor's data goes to).")
    purpose: Purpose | None = Field(
        default=None, description="The built-in purpose it serves; decides its category."
    )
    category: str | None = Field(
        default=None, description="The category key it belongs to (overrides `purpose`)."
    )
    kind: ServiceKind = Field(default="other", description="What it is, for the texts shown.")
    policy_url: str = Field(default="", description="The provider's privacy policy (https).")
    hosts: tuple[str, ...] = Field(
        default=(), description="Hosts or `host/path-prefix` patterns it loads from."
    )
    cookies: tuple[str, ...] = Field(
        default=(), description="Cookie names it sets (`*` as wildcard), for the declaration."
    )

    @field_validator("policy_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError("policy_url must be an https:// URL")
        return value

    @property
    def cookie_code(self) -> str:
        """The service's name in the consent cookie."""
        return self.code or self.key

    def label_for(self, locale: str) -> str:
        """The label in ``locale`` (with fallbacks)."""
        return localize(self.label, locale)


@cache
def builtin_services() -> tuple[Service, ...]:
    """The shipped catalogue (``data/services.json``), validated once."""
    text = resources.files("consent").joinpath("data/services.json").read_text("utf-8")
    return tuple(Service.model_validate(entry) for entry in json.loads(text)["services"])


class ServiceCatalogue:
    """The services of one configuration, each placed in its category."""

    def __init__(
        self,
        categories: Sequence[Category],
        services: Iterable[Service],
        purposes: PurposeMap,
    ) -> None:
        keys = {c.key for c in categories}
        placed: dict[str, tuple[Service, str]] = {}
        for service in services:
            category = service.category
            if category is None and service.purpose is not None:
                category = purposes.key_of(service.purpose)
            if category is None or category not in keys:
                placed.pop(service.key, None)  # an uncovered purpose: not offered
                continue
            placed[service.key] = (service, category)
        self._services = {key: service for key, (service, _) in placed.items()}
        self._category = {key: category for key, (_, category) in placed.items()}
        self._by_code = {s.cookie_code: key for key, s in self._services.items()}
        if len(self._by_code) != len(self._services):
            raise ValueError("two services share a cookie `code`")
        clash = sorted(keys & set(self._services))
        if clash:
            raise ValueError(f"a service key must not be a category key: {', '.join(clash)}")

    @classmethod
    def from_settings(
        cls, categories: Sequence[Category], services: Iterable[Service], *, builtin: bool
    ) -> ServiceCatalogue:
        """Built-ins (unless switched off) then the operator's, which replace same keys."""
        purposes = PurposeMap.of(categories)
        chosen = [*(builtin_services() if builtin else ()), *services]
        return cls(categories, chosen, purposes)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def __len__(self) -> int:
        return len(self._services)

    def get(self, key: str) -> Service | None:
        """The service called ``key``, if offered."""
        return self._services.get(key)

    @property
    def category_of(self) -> Mapping[str, str]:
        """``{service key: category key}``."""
        return self._category

    def in_category(self, category: str) -> list[Service]:
        """The services of ``category``, in catalogue order."""
        return [s for key, s in self._services.items() if self._category[key] == category]

    def codes(self, keys: Iterable[str]) -> list[str]:
        """Cookie codes of the service ``keys`` (sorted, unknown keys dropped)."""
        return sorted(self._services[k].cookie_code for k in keys if k in self._services)

    def keys_of_codes(self, codes: Iterable[str]) -> frozenset[str]:
        """Service keys of cookie ``codes`` (codes no longer offered are dropped)."""
        return frozenset(self._by_code[c] for c in codes if c in self._by_code)
