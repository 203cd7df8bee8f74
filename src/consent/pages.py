"""How the HTML pages of one request are rewritten: locale, ETag variant, rewriter.

`PageRewriting` is built once per middleware from its collaborators (the blocking
policy, the `BannerRenderer`, the `LocaleNegotiator`); per request it hands out a
`PagePlan`, which negotiates the visitor's language once and builds a rewriter only
when the app really answers with a page.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.types import Scope

from consent.banner import BannerRenderer
from consent.html_response import HtmlPolicy
from consent.i18n import LocaleNegotiator
from consent.rewriter import BlockingPolicy, HtmlRewriter, PageInjection
from consent.runtime import RequestView

__all__ = ["PagePlan", "PageRewriting", "page_path"]

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
    ) -> None:
        self.blocking = blocking  # the consent rules, and the caches of what they decided
        self.banner = banner
        self.policy = HtmlPolicy()
        self.locales = locales
        self.multilingual = locales.multilingual
        # The rewritten page depends on the consent cookie, and on the language if several.
        self.vary = ("Cookie", "Accept-Language") if self.multilingual else ("Cookie",)

    def plan(self, view: RequestView, scope: Scope) -> PagePlan:
        """The plan for the pages of one request (cheap: work happens on first use)."""
        return PagePlan(self, view, scope)

    def locale_for(self, view: RequestView) -> str:
        """The visitor's language among the configured ones."""
        return self.locales.negotiate(view.locale_header)


class PagePlan:
    """How one request's HTML answer is rewritten; the language is negotiated once."""

    __slots__ = ("_locale", "_pages", "_scope", "_variant", "_view")

    def __init__(self, pages: PageRewriting, view: RequestView, scope: Scope) -> None:
        self._pages = pages
        self._view = view
        self._scope = scope
        self._locale: str | None = None
        self._variant: str | None = None

    @property
    def policy(self) -> HtmlPolicy:
        """Which responses are pages, and what happens to their headers."""
        return self._pages.policy

    @property
    def vary(self) -> tuple[str, ...]:
        """The request headers a rewritten page depends on."""
        return self._pages.vary

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
            granted = "+".join(sorted(consent.allowed))
            self._variant = f"{granted}|{int(consent.decided)}|{int(consent.gpc)}|{locale}"
        return self._variant

    def rewriter(self, nonce: str | None) -> HtmlRewriter:
        """A rewriter for this response, with this visitor's grants and banner."""
        consent = self._view.consent
        banner = self._pages.banner
        locale = self.locale
        next_path = page_path(self._scope)
        injection = PageInjection(
            head=banner.head_html(consent, nonce=nonce),
            body=banner.body_html(consent, locale, next_path=next_path, nonce=nonce),
        )

        def placeholder(key: str) -> str:
            return banner.placeholder_html(key, locale, next_path=next_path)

        return HtmlRewriter(
            self._pages.blocking, consent.allowed, injection=injection, placeholder=placeholder
        )


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
