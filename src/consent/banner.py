"""The banner, the preferences page, iframe placeholders and the banner's static assets.

`BannerRenderer` is built once per middleware. Everything that does not depend on the
visitor is done in ``__init__``: templates are loaded and compiled, assets are read,
hashed and gzipped, and the per-locale text tables are merged lazily and cached. Per
request the banner costs a dict lookup plus two ``bytes.replace`` calls: rendered
markup is cached with opaque markers where the visitor's ``next`` path and the CSP
nonce go, and the markers are substituted (escaped) on the way out.

Templates (``banner.html``, ``settings_button.html``, ``preferences.html``,
``placeholder.html``, ``_categories.html``) can be overridden from
``banner.template_dir``. Their context: ``t`` (texts by id, see `consent.texts`),
``lang``, ``endpoint``, ``preferences_url``, ``privacy_url``, ``css_url``,
``categories`` (``key``, ``label``, ``description``, ``required``, ``checked``),
``gpc``, ``open``, ``settings_link``, ``hidden``, ``next_path`` and ``next_query``; the
preferences page also gets ``consent_id``, ``saved``, ``form_next`` and ``nonce``, the
placeholder ``text`` and ``link``. In the banner and the settings control,
``next_path``/``next_query`` are markers filled in per request: print them as they are,
never transform them (``next_query`` is already URL-encoded).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
)
from markupsafe import escape
from starlette.types import Receive, Scope, Send

from consent.categories import GOOGLE_CONSENT_SIGNALS
from consent.decision import safe_next
from consent.i18n import negotiate_locale
from consent.runtime import RequestView
from consent.settings import ConsentSettings
from consent.state import Consent
from consent.texts import UI_TEXT_IDS, UI_TEXTS

__all__ = ["BannerRenderer"]

#: Assets are immutable under their content-hashed names: cache them for a year.
STATIC_CACHE_CONTROL = b"public, max-age=31536000, immutable"
#: The shipped preferences page: nothing inline, nothing from elsewhere, never framed
#: (no clickjacked consent). An operator's own template only keeps the framing rule.
PREFERENCES_CSP = (
    b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
OVERRIDDEN_PREFERENCES_CSP = b"frame-ancestors 'none'"

_CONTENT_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
}
_ASSET_FILES = ("banner.js", "banner.css", "gcm.js")
_TEMPLATES = (
    "banner.html",
    "settings_button.html",
    "preferences.html",
    "placeholder.html",
)

# Markers stand where per-request values go in cached renders. NUL never occurs in
# a text or a label, and autoescaping leaves it alone.
_NEXT = "\x00consent-next\x00"
_NEXT_QUERY = "\x00consent-next-query\x00"
_NONCE = b"\x00consent-nonce\x00"
_NEXT_B = _NEXT.encode()
_NEXT_QUERY_B = _NEXT_QUERY.encode()

_CACHE_LIMIT = 256  # distinct (locale, grants, gpc) combinations; cleared when full


@dataclass(frozen=True, slots=True)
class _Asset:
    """One static file, ready to send as it is or gzipped."""

    body: bytes
    gzipped: bytes
    content_type: bytes
    etag: bytes
    etag_gzip: bytes


def _html(text: str) -> str:
    return str(escape(text))


def _ascii(markup: str) -> bytes:
    """``markup`` as ASCII, other characters as numeric references.

    Injected markup lands in pages of any charset (windows-1252, Shift_JIS, ...); ASCII
    reads the same in all of them, and the references decode to the right characters.
    """
    return markup.encode("ascii", "xmlcharrefreplace")


class BannerRenderer:
    """Renders everything the visitor sees of the consent manager.

    ``locale_for`` picks a visitor's language for the preferences page; by default
    it negotiates ``Accept-Language`` against ``banner.locales``.
    """

    def __init__(
        self,
        settings: ConsentSettings,
        *,
        endpoint_path: str,
        locale_for: Callable[[RequestView], str] | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint_path = endpoint_path.rstrip("/")
        self.preferences_url = self.endpoint_path + "/preferences"
        self._static_prefix = self.endpoint_path + "/static/"
        banner = settings.banner
        self._locales = tuple(banner.locales)
        self._locale_for = locale_for or self._negotiate
        self._overrides = _check_overrides(settings)

        loaders: list[BaseLoader] = []
        if banner.template_dir:
            loaders.append(FileSystemLoader(banner.template_dir))
        loaders.append(PackageLoader("consent", "templates"))
        self.environment = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        # Load every template now: a broken override fails at start-up, not per request.
        self._templates: dict[str, Template] = {
            name: self.environment.get_template(name) for name in _TEMPLATES
        }
        own_page = (
            banner.template_dir is not None
            and Path(banner.template_dir, "preferences.html").is_file()
        )
        self._preferences_csp = OVERRIDDEN_PREFERENCES_CSP if own_page else PREFERENCES_CSP

        self._assets: dict[str, _Asset] = {}
        self._asset_names: dict[str, str] = {}
        for name in _ASSET_FILES:
            self._load_asset(name)

        self._texts: dict[str, Mapping[str, str]] = {}
        self._head: dict[tuple[object, ...], bytes] = {}
        self._body: dict[tuple[object, ...], bytes] = {}
        self._placeholders: dict[tuple[object, ...], str] = {}
        signals = {
            c.key: list(c.google_consent_mode) for c in settings.categories if c.google_consent_mode
        }
        self._gcm_map = json.dumps(signals, separators=(",", ":"))

    # -- assets ---------------------------------------------------------------------------

    def _load_asset(self, name: str) -> None:
        body = (resources.files("consent") / "static" / "banner" / name).read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        stem, dot, suffix = name.rpartition(".")
        hashed = f"{stem}.{digest[:8]}.{suffix}"
        # mtime=0: the gzipped bytes (and so their length) do not change between starts
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        self._asset_names[name] = hashed
        self._assets[hashed] = _Asset(
            body=body,
            gzipped=gzipped,
            content_type=_CONTENT_TYPES[dot + suffix],
            etag=f'"{digest[:20]}"'.encode(),
            etag_gzip=f'"{digest[:20]}-gz"'.encode(),
        )

    def asset_url(self, name: str) -> str:
        """The content-hashed URL of a shipped asset, e.g. ``banner.js``."""
        try:
            return self._static_prefix + self._asset_names[name]
        except KeyError:
            raise KeyError(f"no banner asset called {name!r}") from None

    # -- texts ----------------------------------------------------------------------------

    def texts(self, locale: str) -> Mapping[str, str]:
        """Every text a visitor sees in ``locale``: shipped, then overridden, plus categories.

        This is what a decision record hashes as proof of the wording shown.
        """
        cached = self._texts.get(locale)
        if cached is not None:
            return cached
        base = locale.split("-", 1)[0].lower()
        lowered = locale.lower()
        merged = dict(UI_TEXTS["en"])
        merged.update(UI_TEXTS.get(base, {}))
        if lowered != base:
            merged.update(UI_TEXTS.get(lowered, {}))
        for category in self.settings.categories:
            merged[f"category.{category.key}.label"] = category.label_for(locale)
            merged[f"category.{category.key}.description"] = category.description_for(locale)
        merged.update(self._overrides.get(base, {}))
        if lowered != base:
            merged.update(self._overrides.get(lowered, {}))
        texts: Mapping[str, str] = MappingProxyType(merged)
        if len(self._texts) < _CACHE_LIMIT:
            self._texts[locale] = texts
        return texts

    def _categories(self, consent: Consent, locale: str, *, current: bool) -> list[dict[str, Any]]:
        """Category rows; ``current`` pre-ticks the visitor's grants (they decided already)."""
        texts = self.texts(locale)
        rows: list[dict[str, Any]] = []
        for category in self.settings.categories:
            key = category.key
            if category.required:
                checked = True
            elif current and consent.decided:
                checked = key in consent.granted
            else:
                # An undecided visitor: only earlier choices of an older policy revision,
                # and never a sale/sharing purpose their browser asked us to leave off.
                checked = key in consent.previous and not (consent.gpc and category.gpc)
            rows.append(
                {
                    "key": key,
                    "label": texts[f"category.{key}.label"],
                    "description": texts[f"category.{key}.description"],
                    "required": category.required,
                    "checked": checked,
                }
            )
        return rows

    def _context(self, locale: str, **extra: Any) -> dict[str, Any]:
        return {
            "t": self.texts(locale),
            "lang": locale,
            "endpoint": self.endpoint_path,
            "preferences_url": self.preferences_url,
            "privacy_url": self.settings.banner.privacy_policy_url,
            "css_url": self.asset_url("banner.css"),
            **extra,
        }

    # -- page injection -------------------------------------------------------------------

    def head_html(self, consent: Consent, *, nonce: str | None) -> bytes:
        """The tags that go first in ``<head>``: Consent Mode, the banner CSS and JS.

        The Consent Mode script is synchronous on purpose: it must run before any
        Google tag further down the page.
        """
        key = (consent.revision, consent.decided, consent.granted, consent.denied, consent.gpc)
        cached = self._head.get(key)
        if cached is None:
            cached = self._render_head(consent)
            if len(self._head) >= _CACHE_LIMIT:
                self._head.clear()
            self._head[key] = cached
        return cached.replace(_NONCE, _nonce_attribute(nonce))

    def _render_head(self, consent: Consent) -> bytes:
        categories = self.settings.categories
        granted_signals = {
            signal
            for c in categories
            if c.key in consent.granted
            for signal in c.google_consent_mode
        }
        signals = " ".join(s for s in GOOGLE_CONSENT_SIGNALS if s in granted_signals)
        state = json.dumps(
            {
                "revision": consent.revision,
                "decided": consent.decided,
                "granted": [c.key for c in categories if c.key in consent.granted],
                "denied": [c.key for c in categories if c.key in consent.denied],
                "gpc": consent.gpc,
            },
            separators=(",", ":"),
        )
        nonce = _NONCE.decode()
        html = (
            f'<script id="consent-gcm" src="{_html(self.asset_url("gcm.js"))}" '
            f'data-granted="{_html(signals)}" data-decided="{int(consent.decided)}"{nonce}>'
            "</script>"
            f'<link id="consent-css" rel="stylesheet" href="{_html(self.asset_url("banner.css"))}"'
            f"{nonce}>"
            f'<script id="consent-js" src="{_html(self.asset_url("banner.js"))}" defer '
            f'data-endpoint="{_html(self.endpoint_path)}" data-state="{_html(state)}" '
            f'data-gcm="{_html(self._gcm_map)}"{nonce}></script>'
        )
        return _ascii(html)

    def body_html(
        self, consent: Consent, locale: str, *, next_path: str, nonce: str | None
    ) -> bytes:
        """What goes right after ``<body>``: the banner, or the "Cookie settings" control.

        The markup holds no script or style, so ``nonce`` is not needed (accepted so
        every injection point has the same signature).
        """
        show_settings = self.settings.banner.show_settings_button
        key: tuple[object, ...]
        if consent.decided:
            if not show_settings:
                return b""
            key = ("settings", locale)
        else:
            key = ("banner", locale, consent.gpc, consent.previous)
        cached = self._body.get(key)
        if cached is None:
            if consent.decided:
                cached = self._render("settings_button.html", locale, hidden=False)
            else:
                cached = self._render_banner(consent, locale, reopen=False)
            if len(self._body) >= _CACHE_LIMIT:
                self._body.clear()
            self._body[key] = cached
        return _fill_next(cached, next_path)

    def _render_banner(self, consent: Consent, locale: str, *, reopen: bool) -> bytes:
        return self._render(
            "banner.html",
            locale,
            categories=self._categories(consent, locale, current=reopen),
            gpc=consent.gpc,
            open=reopen,
            settings_link=self.settings.banner.show_settings_button and not reopen,
            hidden=True,
        )

    def _render(self, template: str, locale: str, **extra: Any) -> bytes:
        context = self._context(locale, next_path=_NEXT, next_query=_NEXT_QUERY, **extra)
        return _ascii(self._templates[template].render(context))

    # -- iframe placeholder ---------------------------------------------------------------

    def placeholder_html(
        self,
        category_key: str,
        locale: str,
        *,
        source: str | None = None,
        next_path: str | None = None,
    ) -> str:
        """The ``srcdoc`` document shown instead of a blocked iframe (no script, no inline style).

        Returned unescaped: the caller escapes it into the attribute (``&`` and ``"``).
        It styles itself with the already cached banner CSS, which CSP ``style-src
        'self'`` allows, unlike an inline ``<style>``.
        """
        key = (category_key, locale, source, next_path)
        cached = self._placeholders.get(key)
        if cached is not None:
            return cached
        texts = self.texts(locale)
        label = texts.get(f"category.{category_key}.label", category_key)
        if source:
            text = texts["placeholder.text_source"].replace("{source}", source)
        else:
            text = texts["placeholder.text"]
        link = self.preferences_url
        if next_path is not None:
            link += "?next=" + quote(safe_next(next_path), safe="/")
        markup = self._templates["placeholder.html"].render(
            self._context(locale, text=text.replace("{category}", label), link=link)
        )
        document = _ascii(markup).decode("ascii")
        if len(self._placeholders) >= _CACHE_LIMIT:
            self._placeholders.clear()
        self._placeholders[key] = document
        return document

    # -- preferences page -----------------------------------------------------------------

    def preferences_page(
        self,
        consent: Consent,
        locale: str,
        *,
        next_path: str,
        nonce: str | None,
        saved: bool,
    ) -> bytes:
        """The full preferences page: the same form as the banner, usable without JS."""
        next_path = safe_next(next_path)
        # Posting returns here with a confirmation; the page then links back to ``next``.
        form_next = f"{self.preferences_url}?saved=1&next={quote(next_path, safe='/')}"
        html = self._templates["preferences.html"].render(
            self._context(
                locale,
                categories=self._categories(consent, locale, current=True),
                gpc=consent.gpc,
                consent_id=consent.id,
                saved=saved,
                next_path=next_path,
                next_query=quote(next_path, safe="/"),
                form_next=form_next,
                nonce=nonce,
            )
        )
        return html.encode()

    async def preferences_endpoint(
        self, scope: Scope, receive: Receive, send: Send, view: RequestView
    ) -> None:
        """``GET /_consent/preferences[?next=/path][&saved=1][&part=banner]``.

        ``part=banner`` answers only the banner markup, pre-ticked with the visitor's
        grants: banner.js fetches it to reopen the choice in place.
        """
        query = _query(scope)
        locale = self._locale_for(view)
        next_path = safe_next(query.get("next"))
        if query.get("part") == "banner":
            body = _fill_next(self._render_banner(view.consent, locale, reopen=True), next_path)
        else:
            body = self.preferences_page(
                view.consent,
                locale,
                next_path=next_path,
                nonce=None,
                saved=query.get("saved") == "1",
            )
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"vary", b"Cookie, Accept-Language"),
            (b"content-language", locale.encode("ascii", "replace")),
            (b"content-security-policy", self._preferences_csp),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        await _respond(send, 200, headers, body, head=scope["method"] == "HEAD")

    def _negotiate(self, view: RequestView) -> str:
        return negotiate_locale(
            view.locale_header, self._locales, self.settings.banner.default_locale
        )

    # -- static assets --------------------------------------------------------------------

    async def static_endpoint(
        self, scope: Scope, receive: Receive, send: Send, view: RequestView
    ) -> None:
        """``GET /_consent/static/<name>.<hash>.<ext>``: only the precomputed names exist."""
        path: str = scope["path"]
        asset = None
        if path.startswith(self._static_prefix):
            asset = self._assets.get(path[len(self._static_prefix) :])
        head = scope["method"] == "HEAD"
        if asset is None:
            body = b"Not Found"
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ]
            await _respond(send, 404, headers, body, head=head)
            return
        accept_encoding = b""
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = value
            elif name == b"if-none-match":
                if_none_match = value
        gzipped = _accepts_gzip(accept_encoding)
        etag = asset.etag_gzip if gzipped else asset.etag
        headers = [
            (b"cache-control", STATIC_CACHE_CONTROL),
            (b"etag", etag),
            (b"vary", b"Accept-Encoding"),
        ]
        if if_none_match is not None and _etag_matches(if_none_match, etag):
            await _respond(send, 304, headers, b"", head=True)
            return
        body = asset.gzipped if gzipped else asset.body
        headers += [
            (b"content-type", asset.content_type),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
        ]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        await _respond(send, 200, headers, body, head=head)


def _check_overrides(settings: ConsentSettings) -> dict[str, dict[str, str]]:
    """``banner.texts`` keyed by lower-case locale; unknown locales or ids fail at start-up."""
    known = set(UI_TEXT_IDS)
    for category in settings.categories:
        known.add(f"category.{category.key}.label")
        known.add(f"category.{category.key}.description")
    offered = {loc.lower() for loc in settings.banner.locales}
    offered |= {loc.split("-", 1)[0] for loc in offered}
    overrides: dict[str, dict[str, str]] = {}
    for locale, texts in settings.banner.texts.items():
        if locale.lower() not in offered:
            raise ValueError(f"banner.texts: locale {locale!r} is not offered in banner.locales")
        unknown = sorted(set(texts) - known)
        if unknown:
            raise ValueError(
                f"banner.texts.{locale}: unknown text id {unknown[0]!r} "
                f"(known ids: {', '.join(sorted(known))})"
            )
        overrides.setdefault(locale.lower(), {}).update(texts)
    return overrides


def _fill_next(markup: bytes, next_path: str) -> bytes:
    next_path = safe_next(next_path)
    return markup.replace(_NEXT_B, _ascii(_html(next_path))).replace(
        _NEXT_QUERY_B, quote(next_path, safe="/").encode()
    )


def _nonce_attribute(nonce: str | None) -> bytes:
    if not nonce:
        return b""
    return b' nonce="' + _ascii(_html(nonce)) + b'"'


def _query(scope: Scope) -> dict[str, str]:
    """The first value of each query parameter (bounded: it is only ever a few short fields)."""
    raw = scope.get("query_string", b"")[:4096].decode("latin-1")
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        values.setdefault(name, value)
    return values


def _accepts_gzip(header: bytes) -> bool:
    for part in header.decode("latin-1").lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() not in ("gzip", "x-gzip"):
            continue
        params = params.replace(" ", "")
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _etag_matches(header: bytes, etag: bytes) -> bool:
    if header.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in header.split(b","))


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, head: bool
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
