"""`BannerRenderer`: templates to bytes (banner, head tags, settings control, placeholder,
preferences page).

Built once per middleware from its collaborators: the `TextCatalogue` (what every
text says) and the `StaticAssets` (the hashed URLs of the CSS and JS). Templates are
loaded and compiled in ``__init__``. Per request the banner costs a cache lookup plus
two ``bytes.replace`` calls: rendered markup is cached with opaque markers where the
visitor's ``next`` path and the CSP nonce go, and the markers are substituted (escaped)
on the way out.

Templates (``banner.html``, ``notice.html``, ``settings_button.html``, ``preferences.html``,
``placeholder.html``, ``_categories.html``, ``_choices_icon.html``) can be overridden from
``banner.template_dir``. Their context: ``t`` (texts by id, see `consent.texts`),
``lang``, ``endpoint``, ``preferences_url``, ``privacy_url``, ``css_url``,
``categories`` (``key``, ``label``, ``description``, ``required``, ``checked`` and
``services``: ``key``, ``label``, ``provider``, ``policy_url``, ``checked``),
``gpc``, ``open``, ``settings_link``, ``settings_position`` (``bottom-left``, ...),
``hidden``, ``next_path``, ``next_query``, ``exempt`` (labels of what runs unasked where
the law exempts it, or ""), ``gpc_honored`` (an opt-out by Global Privacy Control took
effect), ``opt_out`` (the notice) and ``privacy_choices`` (the settings control is "Your
Privacy Choices"); the preferences page's ``title``; the preferences page also gets
``consent_id``, ``saved``, ``form_next`` and ``nonce``, the placeholder ``text``,
``link``, ``service`` (a known service or None), ``once_url``, ``js_url`` and
``nonce_attribute`` (its ``css_url`` is ``placeholder.css``; ``next_path``, ``once_url``
and ``nonce_attribute`` are markers too). In the banner and the settings control,
``next_path``/``next_query`` are markers filled in per request: print them as they are,
never transform them (``next_query`` is already URL-encoded).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

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

from consent.assets import StaticAssets
from consent.cache import BoundedCache
from consent.catalogue import TextCatalogue
from consent.categories import GOOGLE_CONSENT_SIGNALS
from consent.decision import safe_next
from consent.guard import GUARD_TABLE
from consent.purposes import PurposeMap
from consent.services import ServiceCatalogue
from consent.settings import ConsentSettings
from consent.state import Consent
from consent.storage import storage_patterns

__all__ = ["BannerRenderer"]

_TEMPLATES = (
    "banner.html",
    "notice.html",
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
# A placeholder's: its *Load this once* link, and the nonce attribute of its tags.
_ONCE = "\x00consent-once\x00"
_NONCE_ATTRIBUTE = _NONCE.decode()
_ONCE_B = _ONCE.encode()
_MARKERS = re.compile(
    b"(" + b"|".join(re.escape(m) for m in (_NEXT_B, _NEXT_QUERY_B, _ONCE_B, _NONCE)) + b")"
)

_CACHE_LIMIT = 256  # distinct (locale, grants, gpc) combinations; cleared when full


def _html(text: str) -> str:
    return str(escape(text))


def _attribute(text: str) -> str:
    """``text`` escaped for a double-quoted attribute value (as `consent.html.lexer.quote`)."""
    return html.escape(text, quote=True)


def _ascii(markup: str) -> bytes:
    """``markup`` as ASCII, other characters as numeric references.

    Injected markup lands in pages of any charset (windows-1252, Shift_JIS, ...); ASCII
    reads the same in all of them, and the references decode to the right characters.
    """
    return markup.encode("ascii", "xmlcharrefreplace")


_BANNER_SCRIPT = b'<script id="consent-js" '


class BannerRenderer:
    """Renders everything the visitor sees of the consent manager, as bytes ready to send.

    Markup injected into pages is ASCII (see `_ascii`); the preferences page is UTF-8.
    """

    def __init__(
        self,
        settings: ConsentSettings,
        *,
        catalogue: TextCatalogue,
        assets: StaticAssets,
        services: ServiceCatalogue | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.assets = assets
        # The services listed under their categories (the middleware passes its runtime's).
        if services is None:
            services = ServiceCatalogue.from_settings(
                settings.categories, settings.services, builtin=settings.builtin_services
            )
        self.services = services
        self.endpoint_path = settings.path  # validated without a trailing slash
        self.preferences_url = self.endpoint_path + "/preferences"
        banner = settings.banner

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
        self._template_dir = banner.template_dir
        self._css_url = assets.url("banner.css")
        self._head: BoundedCache[tuple[object, ...], tuple[bytes, bytes]] = BoundedCache(
            _CACHE_LIMIT
        )
        # The banner split at its markers (see `_fill_next`).
        self._body: BoundedCache[tuple[object, ...], list[bytes]] = BoundedCache(_CACHE_LIMIT)
        self._placeholders: BoundedCache[tuple[object, ...], str] = BoundedCache(_CACHE_LIMIT)
        self._srcdocs: BoundedCache[tuple[object, ...], tuple[bytes, ...]]
        self._srcdocs = BoundedCache(_CACHE_LIMIT)
        self._srcdoc_fills: BoundedCache[tuple[str | None, ...], dict[bytes, bytes]]
        self._srcdoc_fills = BoundedCache(_CACHE_LIMIT)
        signals = {c.key: list(c.signals) for c in settings.categories if c.signals}
        self._gcm_map = json.dumps(signals, separators=(",", ":"))
        # Vendors' web-storage keys banner.js removes for categories not granted, each filed
        # by the category covering its purpose (an uncovered purpose's key is never granted,
        # so its keys always go).
        purposes = PurposeMap.of(settings.categories)
        storage = storage_patterns(purposes.by_purpose)
        self._required = frozenset(c.key for c in settings.categories if c.required)
        # What the guard's stand-in for an iframe added later links: its stylesheet, and the
        # preferences page (the full placeholder needs the visitor's language: docs/guard.md).
        self._guard_placeholder = _html(f"{assets.url('placeholder.css')} {self.preferences_url}")
        self._sale_or_sharing = frozenset(
            c.key for c in settings.categories if not c.required and c.sale_or_sharing
        )
        self._storage_attribute = (
            f' data-storage="{_html(json.dumps(storage, separators=(",", ":")))}"'
            if storage
            else ""
        )

    def overrides_template(self, name: str) -> bool:
        """Whether the operator's ``banner.template_dir`` holds its own ``name``."""
        return self._template_dir is not None and Path(self._template_dir, name).is_file()

    def _categories(self, consent: Consent, locale: str, *, current: bool) -> list[dict[str, Any]]:
        """Category rows; ``current`` pre-ticks the visitor's grants (they decided already).

        Each row lists its services: ticked with their category, or when granted one by one
        (also while undecided: "Always allow YouTube").
        """
        texts = self.catalogue.texts(locale)
        rows: list[dict[str, Any]] = []
        for category in self.settings.categories:
            key = category.key
            if category.required:
                checked = True
            elif (current and consent.decided) or key in consent.defaults:
                # what runs now, unasked where the policy allows it (the visitor may object)
                checked = key in consent.granted
            else:
                # An undecided visitor: only earlier choices of an older policy revision,
                # and never a sale/sharing purpose their browser asked us to leave off.
                checked = key in consent.previous and not (consent.gpc and category.sale_or_sharing)
            rows.append(
                {
                    "key": key,
                    "label": texts[f"category.{key}.label"],
                    "description": texts[f"category.{key}.description"],
                    "required": category.required,
                    "checked": checked,
                    "services": [
                        {
                            "key": service.key,
                            "label": service.label_for(locale),
                            "provider": service.provider,
                            "policy_url": service.policy_url,
                            "checked": checked or service.key in consent.services,
                        }
                        for service in self.services.in_category(key)
                    ],
                }
            )
        return rows

    def _context(self, locale: str, **extra: Any) -> dict[str, Any]:
        return {
            "t": self.catalogue.texts(locale),
            "lang": locale,
            "endpoint": self.endpoint_path,
            "preferences_url": self.preferences_url,
            "privacy_url": self.settings.banner.privacy_policy_url,
            "css_url": self._css_url,
            "settings_position": self.settings.banner.settings_button_position,
            **extra,
        }

    # -- page injection -------------------------------------------------------------------

    def head_html(self, consent: Consent, *, nonce: str | None, reload: bool = False) -> bytes:
        """The tags that go first in ``<head>``: Consent Mode, the banner CSS and JS, and
        the runtime guard when the assets hold its host table.

        ``reload``: the page's CSP was narrowed for this visitor, so a grant made on it
        reloads the page (``data-reload`` on the banner script) rather than activating
        elements the browser would refuse.

        The Consent Mode script is synchronous on purpose: it must run before any
        Google tag further down the page.
        """
        key = (
            consent.revision,
            consent.decided,
            consent.granted,
            consent.denied,
            consent.gpc,
            consent.services,
        )
        cached = self._head.get(key)
        if cached is None:
            template = self._render_head(consent)
            cached = self._head.set(key, (template, template.replace(_NONCE, b"")))
        template, without_nonce = cached
        html = template.replace(_NONCE, _nonce_attribute(nonce)) if nonce else without_nonce
        if reload:
            html = html.replace(_BANNER_SCRIPT, _BANNER_SCRIPT + b"data-reload ", 1)
        return html

    def _render_head(self, consent: Consent) -> bytes:
        categories = self.settings.categories
        granted_signals = {
            signal for c in categories if c.key in consent.granted for signal in c.signals
        }
        signals = " ".join(s for s in GOOGLE_CONSENT_SIGNALS if s in granted_signals)
        state = json.dumps(
            {
                "revision": consent.revision,
                "decided": consent.decided,
                "granted": [c.key for c in categories if c.key in consent.granted],
                "denied": [c.key for c in categories if c.key in consent.denied],
                "gpc": consent.gpc,
                # every category and service key allowed, for banner.js to restore by
                "allowed": sorted(consent.allowed),
            },
            separators=(",", ":"),
        )
        nonce = _NONCE.decode()
        assets = self.assets
        html = (
            f'<script id="consent-gcm" src="{_html(assets.url("gcm.js"))}" '
            f'data-granted="{_html(signals)}" data-decided="{int(consent.decided)}"{nonce}>'
            "</script>"
            f'<link id="consent-css" rel="stylesheet" href="{_html(self._css_url)}"'
            f"{nonce}>"
            f'<script id="consent-js" src="{_html(assets.url("banner.js"))}" defer '
            f'data-endpoint="{_html(self.endpoint_path)}" data-state="{_html(state)}" '
            f'data-gcm="{_html(self._gcm_map)}"{self._storage_attribute}{nonce}></script>'
        )
        if GUARD_TABLE in assets:
            # The runtime guard (docs/guard.md): synchronous, so it is in place before any
            # script of the page runs (this whole block goes first in <head>); the host
            # table first, which the guard reads from its element. The visitor's keys are
            # this response's; later grants reach it through `consent:change`.
            allowed = " ".join(sorted(consent.allowed | self._required))
            html += (
                f'<script id="consent-hosts" src="{_html(assets.url(GUARD_TABLE))}"{nonce}>'
                f'</script><script id="consent-guard" src="{_html(assets.url("guard.js"))}" '
                f'data-allowed="{_html(allowed)}" data-placeholder="{self._guard_placeholder}"'
                f"{nonce}></script>"
            )
        return _ascii(html)

    def body_html(
        self, consent: Consent, locale: str, *, next_path: str, nonce: str | None
    ) -> bytes:
        """What goes right after ``<body>``: the banner, or the "Cookie settings" control.

        The markup holds no script or style, so ``nonce`` is not needed (accepted so
        every injection point has the same signature).
        """
        key: tuple[object, ...]
        honored = self.gpc_honored(consent)
        if not consent.pending:
            if not self.settings.banner.show_settings_button:
                return b""
            key = ("settings", locale, consent.model, honored)
        elif consent.model == "opt_in":
            key = ("banner", locale, consent.gpc, consent.previous, consent.services)
            key += (consent.defaults,)
        else:
            key = ("notice", locale, consent.model, honored)
        cached = self._body.get(key)
        if cached is None:
            if not consent.pending:
                markup = self._render_settings(consent, locale, hidden=False)
            elif consent.model == "opt_in":
                markup = self._render_banner(consent, locale, reopen=False)
            else:
                markup = self._render(
                    "notice.html",
                    locale,
                    opt_out=consent.model == "opt_out",
                    gpc_honored=honored,
                    settings_link=self.settings.banner.show_settings_button,
                    hidden=True,
                    privacy_choices=consent.model == "opt_out",
                )
            cached = self._body.set(key, _MARKERS.split(markup))
        return _fill_next(cached, next_path)

    def gpc_honored(self, consent: Consent) -> bool:
        """Whether Global Privacy Control opted this visitor out of sale/sharing under an
        opt-out policy (California wants that said where the visitor can see it)."""
        return (
            consent.gpc
            and consent.model != "opt_in"
            and bool(self._sale_or_sharing - consent.granted)
        )

    def _render_settings(self, consent: Consent, locale: str, *, hidden: bool) -> bytes:
        return self._render(
            "settings_button.html",
            locale,
            hidden=hidden,
            privacy_choices=consent.model == "opt_out",
            gpc_honored=self.gpc_honored(consent),
        )

    def _exempt_labels(self, consent: Consent, locale: str) -> str:
        """The labels of what runs unasked under an opt-in policy's exemptions."""
        if consent.model != "opt_in" or not consent.defaults:
            return ""
        texts = self.catalogue.texts(locale)
        labels = [
            texts[f"category.{c.key}.label"]
            for c in self.settings.categories
            if c.key in consent.defaults
        ]
        labels += [s.label_for(locale) for s in self.services if s.key in consent.defaults]
        return ", ".join(labels)

    def reopened_banner(self, consent: Consent, locale: str, *, next_path: str) -> bytes:
        """The banner alone, pre-ticked with the visitor's grants (banner.js reopens it)."""
        markup = self._render_banner(consent, locale, reopen=True)
        return _fill_next(_MARKERS.split(markup), next_path)

    def _render_banner(self, consent: Consent, locale: str, *, reopen: bool) -> bytes:
        return self._render(
            "banner.html",
            locale,
            categories=self._categories(consent, locale, current=reopen),
            gpc=consent.gpc,
            open=reopen,
            settings_link=self.settings.banner.show_settings_button and not reopen,
            hidden=True,
            exempt=self._exempt_labels(consent, locale),
            privacy_choices=consent.model == "opt_out",
            gpc_honored=self.gpc_honored(consent),
        )

    def _render(self, template: str, locale: str, **extra: Any) -> bytes:
        context = self._context(locale, next_path=_NEXT, next_query=_NEXT_QUERY, **extra)
        return _ascii(self._templates[template].render(context))

    # -- iframe placeholder ---------------------------------------------------------------

    def placeholder_html(
        self,
        key: str,
        locale: str,
        *,
        source: str | None = None,
        next_path: str | None = None,
        once_path: str | None = None,
        anchor: str = "",
        nonce: str | None = None,
    ) -> str:
        """The ``srcdoc`` document shown instead of an iframe blocked for ``key``.

        ``key`` is a service (YouTube: its name, its provider and privacy policy, *Load this
        once* and *Always allow YouTube*) or a category (what it waits for, a link to the
        preferences page, *Load this once*). ``next_path`` is the page (without
        ``consent-once``) that *Always allow* and the preferences page come back to,
        ``once_path`` the same page loading this embed once (a link, see `consent.pages`),
        ``anchor`` the iframe's id, so both come back to the embed itself. Without
        ``next_path`` there is no *Always allow*, without ``once_path`` no *Load this once*.

        Both work without JavaScript (they navigate the top window); ``placeholder.js`` does
        them in place. The document is the page's own origin, so the page's CSP applies: its
        stylesheet and script carry ``nonce``. Returned unescaped: the caller escapes it into
        the attribute (``&`` and ``"``). ASCII, like everything injected.
        """
        # Cached per key and language (pages differ far more than embeds do): the page's
        # paths, the anchor and the nonce are filled in per iframe, as the banner's are.
        marks = (next_path is not None, once_path is not None, nonce is not None)
        cache_key = (key, locale, source, *marks)
        cached = self._placeholders.get(cache_key)
        if cached is None:
            markup = self._placeholder(key, locale, source, *marks)
            cached = self._placeholders.set(cache_key, markup)
        if not any(marks):
            return cached
        fragment = "#" + quote(anchor, safe=_FRAGMENT_SAFE) if anchor else ""
        markup = cached
        if next_path is not None:
            back = safe_next(next_path) + fragment
            markup = markup.replace(_NEXT_QUERY, quote(back, safe="/"))
            markup = markup.replace(_NEXT, _ascii_text(back))
        if once_path is not None:
            markup = markup.replace(_ONCE, _ascii_text(safe_next(once_path) + fragment))
        if nonce is not None:
            markup = markup.replace(_NONCE_ATTRIBUTE, _nonce_attribute(nonce).decode("ascii"))
        return markup

    def placeholder_srcdoc(
        self,
        key: str,
        locale: str,
        *,
        next_path: str | None = None,
        once_path: str | None = None,
        anchor: str = "",
        nonce: str | None = None,
    ) -> bytes:
        """`placeholder_html` as the value of a ``srcdoc`` attribute: escaped, ASCII bytes.

        The same bytes as escaping `placeholder_html`'s answer, made without escaping a whole
        document per iframe: the escaped render is cached in pieces around the per-request
        markers, and only the few short values that go between them are escaped (escaping
        works character by character, so the pieces escape alike either way).
        """
        marks = (next_path is not None, once_path is not None, nonce is not None)
        cache_key = ("srcdoc", key, locale, *marks)
        pieces = self._srcdocs.get(cache_key)
        if pieces is None:
            markup = self._placeholder(key, locale, None, *marks)
            escaped = _ascii(_attribute(markup))
            pieces = self._srcdocs.set(cache_key, tuple(_MARKERS.split(escaped)))
        if len(pieces) == 1:
            return pieces[0]
        values = self._srcdoc_values(next_path, once_path, nonce)
        if anchor:
            # Escaping goes character by character, so the page's part is escaped once per
            # response and the fragment's part is added per iframe.
            text, query = _fragment_forms(anchor)
            values = {
                _NEXT_B: values[_NEXT_B] + text,
                _NEXT_QUERY_B: values[_NEXT_QUERY_B] + query,
                _ONCE_B: values[_ONCE_B] + text,
                _NONCE: values[_NONCE],
            }
        filled = list(pieces)
        filled[1::2] = [values[marker] for marker in pieces[1::2]]
        return b"".join(filled)

    def _srcdoc_values(
        self, next_path: str | None, once_path: str | None, nonce: str | None
    ) -> dict[bytes, bytes]:
        """What `placeholder_srcdoc` puts at each marker, escaped, before any fragment
        (the same for every iframe of a response)."""
        key = (next_path, once_path, nonce)
        values = self._srcdoc_fills.get(key)
        if values is None:
            back = safe_next(next_path) if next_path is not None else ""
            once = safe_next(once_path) if once_path is not None else ""
            values = {
                _NEXT_B: _attribute(_ascii_text(back)).encode("ascii"),
                _NEXT_QUERY_B: quote(back, safe="/").encode("ascii"),
                _ONCE_B: _attribute(_ascii_text(once)).encode("ascii"),
                _NONCE: _attribute(_nonce_attribute(nonce).decode("ascii")).encode("ascii"),
            }
            values = self._srcdoc_fills.set(key, values)
        return values

    def _placeholder(
        self,
        key: str,
        locale: str,
        source: str | None,
        with_next: bool,
        with_once: bool,
        with_nonce: bool,
    ) -> str:
        texts = self.catalogue.texts(locale)
        found = self.services.get(key)
        service: dict[str, str] | None = None
        if found is not None:
            label, provider = found.label_for(locale), found.provider
            service = {
                "key": found.key,
                "label": label,
                "provider": provider,
                "policy_url": found.policy_url,
                "text": texts["placeholder.text_service"].replace("{provider}", provider),
                "policy_link": texts["placeholder.text_policy"].replace("{provider}", provider),
                "always": texts["placeholder.text_always"].replace("{service}", label),
            }
        label = texts.get(f"category.{key}.label", key)
        if source:
            text = texts["placeholder.text_source"].replace("{source}", source)
        else:
            text = texts["placeholder.text"]
        link = self.preferences_url + ("?next=" + _NEXT_QUERY if with_next else "")
        markup = self._templates["placeholder.html"].render(
            self._context(
                locale,
                text=text.replace("{category}", label),
                link=link,
                service=service,
                next_path=_NEXT if with_next else None,
                once_url=_ONCE if with_once else None,
                css_url=self.assets.url("placeholder.css"),
                js_url=self.assets.url("placeholder.js"),
                nonce_attribute=_NONCE_ATTRIBUTE if with_nonce else "",
            )
        )
        return _ascii(markup).decode("ascii")

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
        texts = self.catalogue.texts(locale)
        opt_out = consent.model == "opt_out"
        # Posting returns here with a confirmation; the page then links back to ``next``.
        form_next = f"{self.preferences_url}?saved=1&next={quote(next_path, safe='/')}"
        html = self._templates["preferences.html"].render(
            self._context(
                locale,
                categories=self._categories(consent, locale, current=True),
                gpc=consent.gpc,
                gpc_honored=self.gpc_honored(consent),
                exempt=self._exempt_labels(consent, locale),
                title=texts["notice.privacy_choices" if opt_out else "preferences.title"],
                consent_id=consent.id,
                saved=saved,
                next_path=next_path,
                next_query=quote(next_path, safe="/"),
                form_next=form_next,
                nonce=nonce,
            )
        )
        return html.encode()


#: A path that reads the same escaped for HTML and percent-encoded for a query.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.~-]*")


def _fill_next(pieces: list[bytes], next_path: str) -> bytes:
    """Markup split at its markers (`_MARKERS`) with the page's path put in: a join of the
    pieces rather than a replace per marker, each of which would copy the whole banner."""
    next_path = safe_next(next_path)
    if _PLAIN_PATH.fullmatch(next_path):  # the usual path: the same bytes at every marker
        return next_path.encode("ascii").join(pieces[::2])
    values = {_NEXT_B: _ascii(_html(next_path)), _NEXT_QUERY_B: quote(next_path, safe="/").encode()}
    filled = list(pieces)
    filled[1::2] = [values[marker] for marker in pieces[1::2]]
    return b"".join(filled)


#: What a fragment keeps as it is (RFC 3986); anything else in an id is percent-encoded.
_FRAGMENT_SAFE = "!$&'()*+,;=:@/?-._~"


_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")


def _fragment_forms(anchor: str) -> tuple[bytes, bytes]:
    """``#anchor`` as `placeholder_srcdoc` writes it: in a link's text form and in a query."""
    if _PLAIN_ID.fullmatch(anchor):  # the usual id: nothing to escape
        return b"#" + anchor.encode("ascii"), b"%23" + anchor.encode("ascii")
    fragment = "#" + quote(anchor, safe=_FRAGMENT_SAFE)
    text = _attribute(_ascii_text(fragment)).encode("ascii")
    return text, quote(fragment, safe="/").encode("ascii")


def _ascii_text(value: str) -> str:
    """``value`` escaped for an attribute of an ASCII document."""
    return _html(value).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _nonce_attribute(nonce: str | None) -> bytes:
    if not nonce:
        return b""
    return b' nonce="' + _ascii(_html(nonce)) + b'"'
