"""How the HTML pages of one request are rewritten: locale, ETag variant, rewriter.

`PageRewriting` is built once per middleware from its collaborators (the blocking
policy, the `BannerRenderer`, the `LocaleNegotiator`); per request it hands out a
`PagePlan`, which negotiates the visitor's language once and builds a rewriter only
when the app really answers with a page.

*Load this once* without JavaScript: a blocked iframe's placeholder links to its own page
with ``consent-once=<key>`` (a service or category key) and the iframe's id as fragment.
For that one response the iframes needing only that key (and what the visitor allows) load;
nothing else of the service does (no script, no image), nothing is granted, stored or
recorded, and the next plain load blocks them again. The parameter is honoured only on a
request from this very site (``Sec-Fetch-Site: same-origin``, or without that header a
same-host ``Referer``): a link from elsewhere cannot load an embed the visitor never asked
for. The keys are part of the ETag variant; such URLs vary on those two headers too. The
middleware takes the parameter out of the query the app sees (`without_once`): it is
addressed to us, like ``/_consent``, and an app must not have to know it (strict query
validation, caches and canonical URLs keyed by the query, pagination links that copy it).
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit

from starlette.types import Scope

from consent.banner import BannerRenderer
from consent.cache import BoundedCache
from consent.html.blocking import Placeholders
from consent.html_response import HtmlPolicy
from consent.i18n import LocaleNegotiator
from consent.rewriter import BlockingPolicy, HtmlRewriter, PageInjection
from consent.runtime import RequestView

__all__ = ["ONCE_PARAM", "PagePlan", "PageRewriting", "page_path", "without_once"]

logger = logging.getLogger("consent")

#: The query parameter of a placeholder's *Load this once* link (no JavaScript).
ONCE_PARAM = "consent-once"
_ONCE_B = ONCE_PARAM.encode()
_ONCE_LIMIT = 8  # keys loaded once in one response, at most (a link adds one at a time)
_ONCE_QUERIES = 256  # (keys loaded once, key) pairs whose query is kept
#: What a once-URL additionally depends on (whether it came from this site).
_ONCE_VARY = ("Sec-Fetch-Site", "Referer")

#: Characters kept as they are when a request path is written back into a link; everything
#: else (spaces, quotes, non-ASCII bytes) is percent-encoded, and existing escapes survive.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class PageRewriting:
    """Everything about rewriting pages that does not change per request."""

    def __init__(
        self,
        blocking: BlockingPolicy,
        banner: BannerRenderer,
        locales: LocaleNegotiator,
        *,
        vary: tuple[str, ...] = (),
        click_ids_key: str | None = None,
    ) -> None:
        self.blocking = blocking  # the consent rules, and the caches of what they decided
        self.banner = banner
        self.policy = HtmlPolicy()
        self.locales = locales
        self.multilingual = locales.multilingual
        # The rewritten page depends on the consent cookie, on the language if several, and
        # on ``vary`` (Sec-GPC, the CDN's location headers: whatever shapes the consent).
        own = ("Cookie", "Accept-Language") if self.multilingual else ("Cookie",)
        self.vary: tuple[str, ...] = own + vary
        # Same-site links lose ad click identifiers unless this key is allowed (None: keep).
        self.click_ids_key = click_ids_key
        # What *Load this once* may name: an optional category or a service.
        names = blocking.rules.purposes
        self.once_keys = (frozenset(names.keys) - blocking.rules.required) | set(names.services)
        # The query that loads ``key``'s embeds once beside those loaded once already: the
        # same for every page (only the path before it differs), so made once per pair.
        self._once_queries: BoundedCache[tuple[frozenset[str], str], str] = BoundedCache(
            _ONCE_QUERIES
        )
        self._doubt_logged = False

    def once_query(self, once: frozenset[str], key: str) -> str:
        """``consent-once=...`` for ``key`` and each key of ``once`` (sorted, escaped)."""
        query = self._once_queries.get((once, key))
        if query is None:
            keys = sorted(once | {key})
            query = "&".join(f"{ONCE_PARAM}={quote(k)}" for k in keys)
            self._once_queries.set((once, key), query)
        return query

    def note_doubt(self, path: str) -> None:
        """A page whose markup browsers read two ways (an ``<svg>`` left open in a link, a
        ``<select>`` in ``<noscript>``): markup after it was blocked as if it could fetch,
        which may hide text or scripts the page meant. Said once, so it can be fixed."""
        if self._doubt_logged:
            return
        self._doubt_logged = True
        logger.warning(
            "%s: browsers read part of this page two ways (an <svg> or <math> element not "
            "closed where browsers close it, often an icon inside a link, a <select> inside "
            "<noscript>, a <select> left open before an <input> or a table tag, or a CDATA "
            "section or comment in an SVG <script> ending in a quoted attribute value); markup "
            "after it was read both ways and may be blocked too eagerly. Close the element or "
            "move it out to fix it (said once).",
            path,
        )

    def plan(self, view: RequestView, scope: Scope) -> PagePlan:
        """The plan for the pages of one request (cheap: work happens on first use)."""
        return PagePlan(self, view, scope)

    def locale_for(self, view: RequestView) -> str:
        """The visitor's language among the configured ones."""
        return self.locales.negotiate(view.locale_header)

    def once_for(self, view: RequestView, scope: Scope) -> frozenset[str]:
        """The keys this request's ``consent-once`` asks to load once (see the module doc):
        known, not allowed anyway, and only on a request from this site."""
        query = scope.get("query_string")
        if not query or _ONCE_B not in query or not _from_this_site(scope):
            return frozenset()
        allowed = view.consent.allowed
        found: set[str] = set()
        for part in query.split(b"&"):
            name, _, value = part.partition(b"=")
            if name != _ONCE_B:
                continue
            key = unquote(value.decode("latin-1"))
            if key in self.once_keys and key not in allowed:
                found.add(key)
                if len(found) >= _ONCE_LIMIT:
                    break
        return frozenset(found)


class PagePlan:
    """How one request's HTML answer is rewritten; the language is negotiated once."""

    __slots__ = ("_locale", "_once", "_pages", "_scope", "_variant", "_view", "csp_narrowed")

    def __init__(self, pages: PageRewriting, view: RequestView, scope: Scope) -> None:
        self._pages = pages
        self._view = view
        self._scope = scope
        self._locale: str | None = None
        self._variant: str | None = None
        self._once: frozenset[str] | None = None
        #: The app's Content-Security-Policy was narrowed for this visitor (`consent.csp`):
        #: what they grant later needs a new response, so the banner reloads the page then.
        self.csp_narrowed = False

    @property
    def policy(self) -> HtmlPolicy:
        """Which responses are pages, and what happens to their headers."""
        return self._pages.policy

    @property
    def vary(self) -> tuple[str, ...]:
        """The request headers a rewritten page depends on."""
        if _ONCE_B in (self._scope.get("query_string") or b""):
            return self._pages.vary + _ONCE_VARY
        return self._pages.vary

    @property
    def once(self) -> frozenset[str]:
        """The keys whose iframes load in this response only (*Load this once*)."""
        if self._once is None:
            self._once = self._pages.once_for(self._view, self._scope)
        return self._once

    @property
    def locale(self) -> str:
        """The visitor's language for the banner."""
        if self._locale is None:
            self._locale = self._pages.locale_for(self._view)
        return self._locale

    @property
    def variant(self) -> str:
        """What the rewritten body depends on, for a consent-specific ETag."""
        if self._variant is None:
            consent = self._view.consent
            locale = self.locale if self._pages.multilingual else ""
            # `allowed` follows from these two: the short sets, not the expanded one.
            granted = "+".join(sorted(consent.granted))
            if consent.services:
                granted += "/" + "+".join(sorted(consent.services))
            self._variant = f"{granted}|{int(consent.decided)}|{int(consent.gpc)}|{locale}"
            if self.once:
                self._variant += "|once=" + "+".join(sorted(self.once))
        return self._variant

    def rewriter(self, nonce: str | None) -> HtmlRewriter:
        """A rewriter for this response, with this visitor's grants and banner."""
        consent = self._view.consent
        banner = self._pages.banner
        locale = self.locale
        scope = self._scope
        query = scope.get("query_string") or b""
        if _ONCE_B in query:
            scope = {**scope, "query_string": without_once(query)}
        # Choices come back to the page itself, not to what it loaded once.
        next_path = page_path(scope)
        injection = PageInjection(
            head=banner.head_html(consent, nonce=nonce, reload=self.csp_narrowed),
            body=banner.body_html(consent, locale, next_path=next_path, nonce=nonce),
        )
        once = self.once
        separator = "&" if "?" in next_path else "?"
        once_paths: dict[str, str] = {}

        def once_path(key: str) -> str:
            """This page loading ``key``'s embeds once (and those loaded once already)."""
            path = once_paths.get(key)
            if path is None:
                query = self._pages.once_query(once, key)
                path = once_paths[key] = next_path + separator + query
            return path

        def placeholder(key: str, anchor: str) -> bytes:
            return banner.placeholder_srcdoc(
                key,
                locale,
                next_path=next_path,
                once_path=once_path(key),
                anchor=anchor,
                nonce=nonce,
            )

        key = self._pages.click_ids_key
        host = self._view.host
        clean_links_for = None
        if key is not None and host and key not in consent.allowed:
            clean_links_for = host.decode("latin-1")
        return HtmlRewriter(
            self._pages.blocking,
            consent.allowed,
            injection=injection,
            placeholder=Placeholders(placeholder, once=once, anchored=consent.services),
            clean_links_for=clean_links_for,
        )


def without_once(query: bytes) -> bytes:
    """``query`` without its ``consent-once`` parameters, byte for byte otherwise."""
    if _ONCE_B not in query:
        return query
    return b"&".join(p for p in query.split(b"&") if p.partition(b"=")[0] != _ONCE_B)


def _from_this_site(scope: Scope) -> bool:
    """Whether a request comes from a page of this site (a click in a placeholder), not from
    a link elsewhere: ``Sec-Fetch-Site: same-origin``, or without it a same-host ``Referer``."""
    site: bytes | None = None
    referer: bytes | None = None
    host: bytes | None = None
    for name, value in scope.get("headers") or ():
        name = name.lower()
        if name == b"sec-fetch-site":
            site = value
        elif name == b"referer":
            referer = value
        elif name == b"host" and host is None:
            host = value
    if site is not None:
        return site.strip().lower() == b"same-origin"
    if referer is None or host is None:
        return False
    try:
        parts = urlsplit(referer.decode("latin-1").strip())
    except ValueError:
        return False
    own = host.decode("latin-1").strip().lower()
    return parts.scheme in ("http", "https") and parts.netloc.lower() == own != ""


def page_path(scope: Scope) -> str:
    """The request's path and query as the browser sent them, for a link back to the page.

    Built from ``raw_path`` so that escaped ``%3F``, ``%23``, ``%25`` and ``%2F`` keep their
    meaning (the decoded ``path`` would turn ``/a%3Fb`` into a query); bytes a link cannot
    hold are percent-encoded.
    """
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw and b"?" not in raw:
        path = quote(raw, safe=_PATH_SAFE)
    else:
        path = quote(scope.get("path") or "/", safe=_PATH_SAFE)
    query = scope.get("query_string")
    if query:
        path += "?" + quote(query, safe=_QUERY_SAFE)
    return path
