"""`PreferencesPage`: ``GET /_consent/preferences``, the banner's form as a whole page.

It works without JavaScript (and shows the visitor's consent id); with
``part=banner`` it answers only the banner, pre-ticked, which banner.js fetches to
reopen the choice in place.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from consent.assets import respond
from consent.banner import BannerRenderer
from consent.decision import safe_next
from consent.i18n import LocaleNegotiator
from consent.runtime import RequestView

__all__ = ["OVERRIDDEN_PREFERENCES_CSP", "PREFERENCES_CSP", "PreferencesPage"]

#: The shipped preferences page: nothing inline, nothing from elsewhere, never framed
#: (no clickjacked consent). An operator's own template only keeps the framing rule.
PREFERENCES_CSP = (
    b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
OVERRIDDEN_PREFERENCES_CSP = b"frame-ancestors 'none'"
#: Longest query string read: the page takes only a few short fields.
_MAX_QUERY = 4096


class PreferencesPage:
    """Answers the preferences page for one request's `RequestView`."""

    __slots__ = ("_csp", "locales", "renderer")

    def __init__(self, renderer: BannerRenderer, locales: LocaleNegotiator) -> None:
        self.renderer = renderer
        self.locales = locales
        own_page = renderer.overrides_template("preferences.html")
        self._csp = OVERRIDDEN_PREFERENCES_CSP if own_page else PREFERENCES_CSP

    async def __call__(self, scope: Scope, receive: Receive, send: Send, view: RequestView) -> None:
        """``GET /_consent/preferences[?next=/path][&saved=1][&part=banner]``."""
        query = _query(scope)
        locale = self.locales.negotiate(view.locale_header)
        next_path = safe_next(query.get("next"))
        if query.get("part") == "banner":
            body = self.renderer.reopened_banner(view.consent, locale, next_path=next_path)
        else:
            body = self.renderer.preferences_page(
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
            (b"content-security-policy", self._csp),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        await respond(send, 200, headers, body, head=scope["method"] == "HEAD")


def _query(scope: Scope) -> dict[str, str]:
    """The first value of each query parameter (bounded: it is only ever a few short fields)."""
    raw = scope.get("query_string", b"")[:_MAX_QUERY].decode("latin-1")
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        values.setdefault(name, value)
    return values
