"""Where a visitor is, from the headers a CDN adds to every request.

The CDN knows the visitor's country (and often their state or province) before the
first byte reaches the app, so the very first response can follow the right law. These
headers are trusted only when the operator names their CDN (`GeolocationSettings.source`):
without a CDN in front that overwrites them, any client can send ``CF-IPCountry: US`` and
choose its own law. The default, ``none``, resolves nobody: every visitor gets
``default_policy``.

A resolver of the operator's own (``geolocation.resolver = "package.module:function"``)
is called with the ASGI scope and returns a code (``"US-CA"``, ``"DE"``) or None; it runs
on every request, so it should be fast (a GeoIP database lookup is).

Codes are ISO 3166-1 countries, optionally with an ISO 3166-2 subdivision (``US-CA``).
Anything else (Cloudflare's ``XX`` and ``T1`` included) reads as unknown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ImportString, field_validator
from starlette.types import Scope

from consent.cache import MISSING, BoundedCache

__all__ = ["PRESETS", "GeolocationSettings", "Geolocator", "Resolver"]

logger = logging.getLogger("consent")

Resolver = Callable[[Scope], "str | None"]
Source = Literal["none", "cloudflare", "cloudfront", "vercel", "fastly", "akamai", "headers"]

#: Country and subdivision headers each CDN sets (lowercase, as ASGI servers pass them).
#: Cloudflare: ``CF-IPCountry`` always, ``CF-Region-Code`` with the "Add visitor location
#: headers" managed transform. CloudFront: both once the origin request policy includes
#: them. Vercel: always. Fastly adds none by itself: set these two from
#: ``client.geo.country_code`` and ``client.geo.region`` in VCL. Akamai: one
#: ``X-Akamai-Edgescape`` header (``country_code=US,region_code=CA,...``).
PRESETS: dict[str, tuple[str, str | None]] = {
    "cloudflare": ("cf-ipcountry", "cf-region-code"),
    "cloudfront": ("cloudfront-viewer-country", "cloudfront-viewer-country-region"),
    "vercel": ("x-vercel-ip-country", "x-vercel-ip-country-region"),
    "fastly": ("fastly-geo-country", "fastly-geo-region"),
    "akamai": ("x-akamai-edgescape", None),
}

_COUNTRY = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[A-Z0-9]{1,3}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
#: Codes that are not a place: unknown, Tor, anonymous proxy, satellite provider.
_NOWHERE = frozenset({"XX", "T1", "A1", "A2", "O1", "ZZ"})
_CACHE_LIMIT = 1024
LOG_BAD_RESOLVER_ANSWER = (
    "geolocation.resolver returned %r, which is no jurisdiction code (`US`, `US-CA`): the "
    "visitor gets the default policy (logged once)"
)


class GeolocationSettings(BaseModel):
    """Where the visitor's jurisdiction comes from (``[geolocation]`` in TOML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source = Field(
        default="none",
        description="The CDN whose location headers are trusted: `cloudflare`, `cloudfront`, "
        "`vercel`, `fastly`, `akamai`, `headers` (the two headers below) or `none` (every "
        "visitor gets `default_policy`). Only name a CDN that overwrites these headers: "
        "without one, any client can choose its own law.",
    )
    country_header: str | None = Field(
        default=None,
        description="Request header with the visitor's ISO 3166 country (`US`); for "
        '`source = "headers"`, or to replace a CDN\'s.',
    )
    region_header: str | None = Field(
        default=None,
        description="Request header with the visitor's subdivision (`CA` or `US-CA`); optional.",
    )
    resolver: ImportString[Any] | None = Field(
        default=None,
        description="`package.module:function` called with the ASGI scope, returning a "
        "jurisdiction code or None; replaces the headers.",
    )

    @field_validator("country_header", "region_header")
    @classmethod
    def _check_header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an HTTP header name")
        return value.lower() if value is not None else None

    @field_validator("resolver")
    @classmethod
    def _check_resolver(cls, value: Any) -> Any:
        if value is not None and not callable(value):
            raise ValueError("must name a function (`package.module:function`)")
        return value

    def headers(self) -> tuple[str | None, str | None]:
        """The country and subdivision header names to read (None: not read)."""
        if self.source == "none" or self.resolver is not None:
            return None, None
        country, region = PRESETS.get(self.source, (None, None))
        country = self.country_header or country
        region = self.region_header or region
        if self.source == "headers" and country is None:
            raise ValueError('geolocation: source = "headers" needs `country_header`')
        return country, region


class Geolocator:
    """Turns the raw header values of one request into a jurisdiction code (cached)."""

    def __init__(self, settings: GeolocationSettings) -> None:
        self.country_header, self.region_header = settings.headers()
        self.resolver: Resolver | None = settings.resolver
        self._edgescape = settings.source == "akamai" and settings.country_header is None
        self._codes: BoundedCache[tuple[bytes | None, bytes | None], str] = BoundedCache(
            _CACHE_LIMIT
        )
        self._warned = False

    @property
    def active(self) -> bool:
        """Whether any visitor's jurisdiction can be known."""
        return self.country_header is not None or self.resolver is not None

    @property
    def vary(self) -> tuple[str, ...]:
        """The request headers a response decided by jurisdiction depends on."""
        return tuple(h for h in (self.country_header, self.region_header) if h is not None)

    def from_headers(self, country: bytes | None, region: bytes | None) -> str:
        """The code for these header values: ``"US-CA"``, ``"DE"``, or ``""`` (unknown)."""
        key = (country, region)
        code = self._codes.get(key, MISSING)
        if code is MISSING:
            code = self._parse(country, region)
            if (country is None or len(country) <= 256) and (region is None or len(region) <= 64):
                self._codes.set(key, code)
        return code

    def from_scope(self, scope: Scope) -> str:
        """What the operator's resolver says, as a code (``""`` when unknown or invalid)."""
        assert self.resolver is not None
        try:
            answer = self.resolver(scope)
        except Exception:
            logger.exception("geolocation.resolver failed; the visitor gets the default policy")
            return ""
        if answer is None:
            return ""
        code = _normal_code(str(answer))
        if code is None:
            if not self._warned:
                self._warned = True
                logger.warning(LOG_BAD_RESOLVER_ANSWER, str(answer)[:40])
            return ""
        return code

    def _parse(self, country: bytes | None, region: bytes | None) -> str:
        if country is None:
            return ""
        text = country.decode("latin-1").strip()
        if self._edgescape:
            fields = dict(
                part.strip().partition("=")[::2] for part in text.split(",") if "=" in part
            )
            text = fields.get("country_code", "")
            region_text = fields.get("region_code", "")
        else:
            region_text = region.decode("latin-1").strip() if region is not None else ""
        text = text.upper()
        if not _COUNTRY.fullmatch(text) or text in _NOWHERE:
            return ""
        region_text = region_text.upper()
        if region_text.startswith(text + "-"):  # some send the full ISO 3166-2 code
            region_text = region_text[len(text) + 1 :]
        if _REGION.fullmatch(region_text):
            return f"{text}-{region_text}"
        return text


def _normal_code(value: str) -> str | None:
    value = value.strip().upper()
    country, _, region = value.partition("-")
    if not _COUNTRY.fullmatch(country) or country in _NOWHERE:
        return None
    if region and not _REGION.fullmatch(region):
        return None
    return value
