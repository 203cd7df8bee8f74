"""The cookie declaration: every category, the services in it and the cookies they may set.

``GET /_consent/cookies`` answers it as a page in the visitor's language (negotiated as
for the preferences page) or, to ``Accept: application/json``, as JSON; the template
helpers of `consent.integrations.jinja` and `consent.integrations.django` embed its tables
in the operator's own privacy policy. Everything comes from the configuration:

- each category: its label, description, whether it is required, and the operator's own
  cookie patterns (``cookies``), declared as this site's;
- each service placed in it (the built-in catalogue and the operator's, a service of an
  uncovered purpose is not offered, so not declared): label, provider, privacy policy, and
  the cookies it declares, with the purpose its kind stands for;
- the consent cookie itself, under the required category, with its configured lifetime.

The built-in cookie table (some 1,800 well-known names from the Open Cookie Database) is
not listed: one sentence says that such names are recognised too. Lifetimes are known
for the consent cookie and for the built-in services' cookies that
``data/cookie_lifetimes.json`` lists (what each provider documents); every other cookie
reads "not stated".

Texts are the ``declaration.*`` ids of `consent.texts` (overridable with
``banner.texts``); units of time are formatted here, with each shipped language's plural
forms. The template is ``cookies.html`` (overridable from ``banner.template_dir``): one
macro renders the tables, for the page and for the template helpers alike.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
)
from markupsafe import Markup
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from consent.assets import StaticAssets, respond
from consent.cache import BoundedCache
from consent.catalogue import TextCatalogue
from consent.i18n import LocaleNegotiator
from consent.runtime import HOST_PREFIX, RequestView
from consent.services import Service, ServiceCatalogue
from consent.settings import ConsentSettings

__all__ = [
    "DECLARATION_CACHE_CONTROL",
    "OVERRIDDEN_DECLARATION_CSP",
    "CookieDeclaration",
    "DeclarationPage",
    "Lifetime",
    "accept_language",
    "builtin_lifetimes",
    "environment_declaration",
    "format_lifetime",
    "wants_json",
]

#: The declaration is the same for every visitor of a language: shared caches may keep it
#: a little while (a changed configuration shows within minutes).
DECLARATION_CACHE_CONTROL = b"public, max-age=300"
_VARY = b"Accept, Accept-Language"
_JSON_TYPE = "application/json"
#: Where the per-response nonce goes in a cached page (NUL never occurs in a text).
_NONCE = "\x00consent-nonce\x00"
_NONCE_B = _NONCE.encode()
_CACHE_LIMIT = 64  # locales remembered (negotiated ones, so a handful)


# -- lifetimes ------------------------------------------------------------------------------

_DURATION = re.compile(
    r"P(?:(?P<date>[0-9]{1,4})(?P<date_unit>[YMD])|T(?P<time>[0-9]{1,4})(?P<time_unit>[HM]))"
)
_DATE_UNITS = {"Y": "year", "M": "month", "D": "day"}
_TIME_UNITS = {"H": "hour", "M": "minute"}


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long a cookie lives: ``amount`` ``unit`` (``year``, ``month``, ``day``, ``hour``,
    ``minute``), or until the browser is closed (``unit == "session"``)."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Lifetime:
        """``"P2Y"``, ``"PT30M"``, ... (one ISO 8601 component) or ``"session"``."""
        if text == "session":
            return cls(0, "session")
        match = _DURATION.fullmatch(text)
        if match is None or int(match["date"] or match["time"]) < 1:
            raise ValueError(f"lifetime {text!r}: expected `session` or P<n>Y|M|D, PT<n>H|M")
        if match["date"]:
            return cls(int(match["date"]), _DATE_UNITS[match["date_unit"]])
        return cls(int(match["time"]), _TIME_UNITS[match["time_unit"]])

    @property
    def iso(self) -> str:
        """The ISO 8601 duration (``"P2Y"``), or ``"session"``."""
        if self.unit == "session":
            return "session"
        if self.unit in ("hour", "minute"):
            return f"PT{self.amount}{self.unit[0].upper()}"
        return f"P{self.amount}{self.unit[0].upper()}"


@cache
def builtin_lifetimes() -> Mapping[str, Mapping[str, Lifetime]]:
    """``{service key: {declared cookie: Lifetime}}`` from ``data/cookie_lifetimes.json``."""
    path = resources.files("consent").joinpath("data/cookie_lifetimes.json")
    raw = json.loads(path.read_text("utf-8"))["services"]
    return {
        key: {name: Lifetime.parse(value) for name, value in entry["cookies"].items()}
        for key, entry in raw.items()
    }


# Units of time per shipped language: (one, other), or Polish (one, few, many).
_UNITS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "minute": ("minute", "minutes"),
        "hour": ("hour", "hours"),
        "day": ("day", "days"),
        "month": ("month", "months"),
        "year": ("year", "years"),
    },
    "de": {
        "minute": ("Minute", "Minuten"),
        "hour": ("Stunde", "Stunden"),
        "day": ("Tag", "Tage"),
        "month": ("Monat", "Monate"),
        "year": ("Jahr", "Jahre"),
    },
    "fr": {
        "minute": ("minute", "minutes"),
        "hour": ("heure", "heures"),
        "day": ("jour", "jours"),
        "month": ("mois", "mois"),
        "year": ("an", "ans"),
    },
    "es": {
        "minute": ("minuto", "minutos"),
        "hour": ("hora", "horas"),
        "day": ("día", "días"),
        "month": ("mes", "meses"),
        "year": ("año", "años"),
    },
    "it": {
        "minute": ("minuto", "minuti"),
        "hour": ("ora", "ore"),
        "day": ("giorno", "giorni"),
        "month": ("mese", "mesi"),
        "year": ("anno", "anni"),
    },
    "nl": {
        "minute": ("minuut", "minuten"),
        "hour": ("uur", "uur"),
        "day": ("dag", "dagen"),
        "month": ("maand", "maanden"),
        "year": ("jaar", "jaar"),
    },
    "pl": {
        "minute": ("minuta", "minuty", "minut"),
        "hour": ("godzina", "godziny", "godzin"),
        "day": ("dzień", "dni", "dni"),
        "month": ("miesiąc", "miesiące", "miesięcy"),
        "year": ("rok", "lata", "lat"),
    },
    "pt": {
        "minute": ("minuto", "minutos"),
        "hour": ("hora", "horas"),
        "day": ("dia", "dias"),
        "month": ("mês", "meses"),
        "year": ("ano", "anos"),
    },
}


def _plural_form(language: str, n: int) -> int:
    """Index into a `_UNITS` tuple for the whole number ``n`` (CLDR plural rules)."""
    if language == "pl":
        if n == 1:
            return 0
        return 1 if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else 2
    if language in ("fr", "pt"):
        return 0 if n in (0, 1) else 1
    return 0 if n == 1 else 1


def format_lifetime(lifetime: Lifetime | None, locale: str, texts: Mapping[str, str]) -> str:
    """``lifetime`` for people in ``locale`` ("2 years", "2 lata"); None: "not stated"."""
    if lifetime is None:
        return texts["declaration.not_stated"]
    if lifetime.unit == "session":
        return texts["declaration.session"]
    language = locale.split("-", 1)[0].lower()
    if language not in _UNITS:
        language = "en"
    forms = _UNITS[language][lifetime.unit]
    word = forms[_plural_form(language, lifetime.amount)]
    return f"{lifetime.amount}\u00a0{word}"


# -- the declaration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OwnCookie:
    """A cookie of this site: the consent cookie, or an operator's category pattern."""

    name: str
    purpose: str  # a text id
    lifetime: Lifetime | None


@dataclass(frozen=True, slots=True)
class _DeclaredCategory:
    key: str
    required: bool
    own: tuple[_OwnCookie, ...]
    services: tuple[Service, ...]


def _environment(template_dir: str | None) -> Environment:
    loaders: list[BaseLoader] = []
    if template_dir:
        loaders.append(FileSystemLoader(template_dir))
    loaders.append(PackageLoader("consent", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


class CookieDeclaration:
    """The declaration of one configuration, per locale as JSON, a page or a fragment.

    Built once (by the consent endpoints, or by a template helper); every rendering is
    cached per locale. ``services`` are the offered ones (a `ServiceCatalogue`), so a
    service of a purpose no category covers is not declared.
    """

    def __init__(
        self,
        settings: ConsentSettings,
        services: ServiceCatalogue,
        catalogue: TextCatalogue,
        *,
        css_url: str = "",
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.locales = LocaleNegotiator(settings.banner.locales, settings.banner.default_locale)
        self.css_url = css_url
        self.preferences_url = settings.path + "/preferences"
        self.builtin = settings.builtin_cookie_patterns
        self._lifetimes = builtin_lifetimes() if settings.builtin_services else {}
        self._categories = tuple(
            _DeclaredCategory(
                key=category.key,
                required=category.required,
                own=self._own_cookies(category.key, category.cookies, category.required),
                services=tuple(services.in_category(category.key)),
            )
            for category in settings.categories
        )
        self._template = _environment(settings.banner.template_dir).get_template("cookies.html")
        self._documents: BoundedCache[str, dict[str, Any]] = BoundedCache(_CACHE_LIMIT)
        self._json: BoundedCache[str, bytes] = BoundedCache(_CACHE_LIMIT)
        self._pages: BoundedCache[str, bytes] = BoundedCache(_CACHE_LIMIT)
        self._fragments: BoundedCache[str, Markup] = BoundedCache(_CACHE_LIMIT)

    @classmethod
    def from_settings(cls, settings: ConsentSettings) -> CookieDeclaration:
        """The declaration of ``settings`` without a middleware (for template helpers)."""
        services = ServiceCatalogue.from_settings(
            settings.categories, settings.services, builtin=settings.builtin_services
        )
        return cls(settings, services, TextCatalogue(settings))

    def _own_cookies(
        self, key: str, patterns: Sequence[str], required: bool
    ) -> tuple[_OwnCookie, ...]:
        own: list[_OwnCookie] = []
        if required:
            settings = self.settings
            lifetime = Lifetime(settings.cookie_lifetime_days, "day")
            names = [settings.cookie_name]
            # Named `__Host-<name>` on https when it may be (see `ConsentRuntime`).
            if (
                settings.cookie_host_prefix
                and settings.cookie_domain is None
                and settings.cookie_path == "/"
                and settings.cookie_secure is not False
            ):
                names.append(HOST_PREFIX + settings.cookie_name)
            own += [_OwnCookie(name, "declaration.consent_cookie", lifetime) for name in names]
        label = f"category.{key}.label"
        own += [_OwnCookie(name, label, None) for name in dict.fromkeys(patterns)]
        return tuple(own)

    def negotiate(self, header: str | None) -> str:
        """The offered locale for an ``Accept-Language`` value (or a language tag)."""
        return self.locales.negotiate(header)

    # -- renderings -------------------------------------------------------------------------

    def document(self, locale: str) -> dict[str, Any]:
        """The JSON form in ``locale`` (also what the template renders)."""
        cached = self._documents.get(locale)
        if cached is None:
            cached = self._documents.set(locale, self._document(locale))
        return cached

    def _document(self, locale: str) -> dict[str, Any]:
        texts = self.catalogue.texts(locale)
        categories = []
        for category in self._categories:
            label = texts[f"category.{category.key}.label"]
            own = [
                {
                    "name": cookie.name,
                    "pattern": "*" in cookie.name,
                    "provider": None,  # this site
                    "purpose": texts[cookie.purpose],
                    "lifetime": None if cookie.lifetime is None else cookie.lifetime.iso,
                    "lifetime_text": format_lifetime(cookie.lifetime, locale, texts),
                }
                for cookie in category.own
            ]
            services = []
            for service in category.services:
                purpose = texts.get(f"declaration.kind.{service.kind}", label)
                known = self._lifetimes.get(service.key, {})
                cookies = []
                for name in service.cookies:
                    lifetime = known.get(name)
                    cookies.append(
                        {
                            "name": name,
                            "pattern": "*" in name,
                            "provider": service.provider,
                            "purpose": purpose,
                            "lifetime": None if lifetime is None else lifetime.iso,
                            "lifetime_text": format_lifetime(lifetime, locale, texts),
                        }
                    )
                services.append(
                    {
                        "key": service.key,
                        "label": service.label_for(locale),
                        "provider": service.provider,
                        "policy_url": service.policy_url or None,
                        "kind": service.kind,
                        "purpose": purpose,
                        "cookies": cookies,
                    }
                )
            categories.append(
                {
                    "key": category.key,
                    "label": label,
                    "description": texts[f"category.{category.key}.description"],
                    "required": category.required,
                    "cookies": own,
                    "services": services,
                }
            )
        return {
            "locale": locale,
            "categories": categories,
            # Names of the built-in table are recognised too, but not listed.
            "builtin_cookie_patterns": self.builtin,
        }

    def json_bytes(self, locale: str) -> bytes:
        """The JSON form, encoded."""
        cached = self._json.get(locale)
        if cached is None:
            body = json.dumps(self.document(locale), ensure_ascii=False, separators=(",", ":"))
            cached = self._json.set(locale, body.encode())
        return cached

    def _render(self, locale: str, *, fragment: bool, nonce: str) -> str:
        return self._template.render(
            t=self.catalogue.texts(locale),
            lang=locale,
            declaration=self.document(locale),
            fragment=fragment,
            nonce=nonce,
            css_url=self.css_url,
            preferences_url=self.preferences_url,
            privacy_url=self.settings.banner.privacy_policy_url,
        )

    def page(self, locale: str, *, nonce: str) -> bytes:
        """The whole page (UTF-8); ``nonce`` goes on its one inline ``<style>``."""
        cached = self._pages.get(locale)
        if cached is None:
            cached = self._pages.set(
                locale, self._render(locale, fragment=False, nonce=_NONCE).encode()
            )
        return cached.replace(_NONCE_B, nonce.encode("ascii"))

    def fragment(self, locale: str) -> Markup:
        """The tables alone (no style, no script), for the operator's privacy policy."""
        cached = self._fragments.get(locale)
        if cached is None:
            markup = Markup(self._render(locale, fragment=True, nonce=""))  # noqa: S704 - autoescaped template
            cached = self._fragments.set(locale, markup)
        return cached


# -- for template helpers ---------------------------------------------------------------------


@cache
def environment_declaration() -> CookieDeclaration:
    """The declaration of the settings the environment gives (``CONSENT_*`` variables and
    ``CONSENT_CONFIG_FILE``), read once: what `ConsentMiddleware` without settings uses."""
    return CookieDeclaration.from_settings(ConsentSettings())


def accept_language(request: Any) -> str | None:
    """The ``Accept-Language`` of a request of any framework, or of an ASGI scope."""
    if request is None:
        return None
    headers = getattr(request, "headers", None)
    if headers is not None and callable(getattr(headers, "get", None)):
        value = headers.get("accept-language")
        if isinstance(value, str):
            return value
    meta = getattr(request, "META", None)  # Django
    if isinstance(meta, Mapping):
        value = meta.get("HTTP_ACCEPT_LANGUAGE")
        return value if isinstance(value, str) else None
    scope = getattr(request, "scope", request)
    if isinstance(scope, Mapping):
        for name, raw in scope.get("headers") or ():
            if isinstance(name, bytes) and name.lower() == b"accept-language":
                return bytes(raw).decode("latin-1")
    return None


# -- GET /_consent/cookies --------------------------------------------------------------------


def _declaration_csp(nonce: str) -> bytes:
    """The shipped page's policy: its stylesheet under the consent path and one inline
    style with the response's nonce, nothing else (no script at all)."""
    return (
        "default-src 'none'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self'; form-action 'none'; "
        "frame-ancestors 'self'; base-uri 'none'"
    ).encode("ascii")


#: An operator's own ``cookies.html`` keeps only the framing rule (it may load anything).
OVERRIDDEN_DECLARATION_CSP = b"frame-ancestors 'self'"


class DeclarationPage:
    """Answers ``GET /_consent/cookies``: the page, or JSON to ``Accept: application/json``."""

    __slots__ = ("_own_template", "declaration")

    def __init__(self, declaration: CookieDeclaration) -> None:
        self.declaration = declaration
        template_dir = declaration.settings.banner.template_dir
        self._own_template = (
            template_dir is not None and Path(template_dir, "cookies.html").is_file()
        )

    @classmethod
    def build(
        cls,
        settings: ConsentSettings,
        services: ServiceCatalogue,
        catalogue: TextCatalogue,
        assets: ASGIApp,
    ) -> DeclarationPage:
        """The page of a middleware's configuration (its text catalogue and assets)."""
        if not isinstance(assets, StaticAssets):  # a stand-in: the shipped names still hold
            assets = StaticAssets(settings.path)
        css_url = assets.url("banner.css")
        return cls(CookieDeclaration(settings, services, catalogue, css_url=css_url))

    async def __call__(self, scope: Scope, receive: Receive, send: Send, view: RequestView) -> None:
        declaration = self.declaration
        locale = declaration.negotiate(view.locale_header)
        headers = [
            (b"cache-control", DECLARATION_CACHE_CONTROL),
            (b"vary", _VARY),
            (b"content-language", locale.encode("ascii", "replace")),
            (b"x-content-type-options", b"nosniff"),
        ]
        if wants_json(Headers(scope=scope).get("accept", "")):
            body = declaration.json_bytes(locale)
            headers.append((b"content-type", b"application/json"))
        else:
            nonce = secrets.token_urlsafe(16)
            body = declaration.page(locale, nonce=nonce)
            csp = OVERRIDDEN_DECLARATION_CSP if self._own_template else _declaration_csp(nonce)
            headers += [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-security-policy", csp),
                (b"referrer-policy", b"same-origin"),
            ]
        headers.append((b"content-length", str(len(body)).encode()))
        await respond(send, 200, headers, body, head=scope["method"] == "HEAD")


def wants_json(accept: str) -> bool:
    """Whether an ``Accept`` value prefers JSON: ``application/json`` named with a quality
    above 0 and at least that of ``text/html`` (wildcards choose HTML, as browsers send)."""
    json_q = html_q = 0.0
    for part in accept[:1024].split(","):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        if media not in (_JSON_TYPE, "text/html"):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media == _JSON_TYPE:
            json_q = max(json_q, quality)
        else:
            html_q = max(html_q, quality)
    return json_q > 0 and json_q >= html_q
