"""Everything derived once from the settings and shared by the middleware and endpoints.

Built in `ConsentMiddleware.__init__`, never per request: the codec, the cookie
classifier, the consent cookie's attribute string and the headers that expire
cookies of declined categories.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from collections.abc import Iterable, Mapping

from starlette.requests import cookie_parser
from starlette.types import Scope

from consent.categories import CookieClassifier
from consent.settings import ConsentSettings
from consent.state import Consent, ConsentCodec

__all__ = ["EPHEMERAL_KEY_WARNING", "ConsentRuntime", "CookieState", "RequestView"]

logger = logging.getLogger("consent")

EPHEMERAL_KEY_WARNING = (
    "asgi-consent: no secret_key configured; using a random per-process key. Consent "
    "cookies will not survive a restart and differ between processes. Set "
    "CONSENT_SECRET_KEY in production."
)
LOG_UNCLASSIFIED = "cookie %r matches no consent category; allowed (unclassified_cookies=allow)"
LOG_DROPPED = "dropped Set-Cookie %r: category %r not granted"

#: Cookie headers up to this size are cached (bounds the cache's memory).
_CACHEABLE_COOKIE_HEADER = 2048
_COOKIE_STATE_CACHE_LIMIT = 4096
#: Undecided states hold no signature that could expire; refresh them now and then anyway.
_UNDECIDED_STATE_TTL = 3600.0
_EXPIRED = "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
_SECONDS_PER_DAY = 86_400


class CookieState:
    """Everything derived from one ``Cookie`` header (and the GPC flag).

    Browsers repeat the same header on every request, so instances are cached
    by the raw header: the hot path is then one dict lookup. Shared between
    requests, hence never mutated after construction.
    """

    __slots__ = ("consent", "cookies", "expired_headers", "expires_at", "filtered_header")

    def __init__(
        self,
        consent: Consent,
        cookies: Mapping[str, str],
        expired_headers: tuple[tuple[bytes, bytes], ...],
        filtered_header: bytes | None,
        expires_at: float,
    ) -> None:
        self.consent = consent
        self.cookies = cookies
        self.expired_headers = expired_headers  # Set-Cookie headers deleting declined cookies
        self.filtered_header = filtered_header  # Cookie header without them; None: unchanged
        self.expires_at = expires_at


class RequestView:
    """The few facts about one request the middleware needs, read in one pass."""

    __slots__ = ("cookie_state", "if_none_match", "locale_header")

    def __init__(
        self,
        cookie_state: CookieState,
        locale_header: str | None,
        if_none_match: bytes | None = None,
    ) -> None:
        self.cookie_state = cookie_state
        self.locale_header = locale_header
        self.if_none_match = if_none_match

    @property
    def consent(self) -> Consent:
        """The visitor's consent for this request."""
        return self.cookie_state.consent

    @property
    def cookies(self) -> Mapping[str, str]:
        """The request's cookies, by name (read-only)."""
        return self.cookie_state.cookies


class ConsentRuntime:
    """Precomputed state for one configured middleware."""

    def __init__(self, settings: ConsentSettings) -> None:
        self.settings = settings
        keys = [] if settings.secret_key is None else [settings.secret_key.get_secret_value()]
        if not keys:
            warnings.warn(EPHEMERAL_KEY_WARNING, RuntimeWarning, stacklevel=3)
            logger.warning(EPHEMERAL_KEY_WARNING)
            keys = [secrets.token_urlsafe(32)]
        keys += [k.get_secret_value() for k in settings.secret_key_fallbacks]
        self.required_key = settings.required_category.key
        self.optional_keys = settings.optional_keys
        self.codec = ConsentCodec(
            keys,
            max_age=settings.cookie_lifetime_days * _SECONDS_PER_DAY,
            revision=settings.revision,
            required_key=self.required_key,
            optional_keys=self.optional_keys,
        )
        self.classifier = CookieClassifier(
            settings.categories, builtin=settings.builtin_cookie_patterns
        )
        self.cookie_name = settings.cookie_name
        self._honour_gpc = settings.honour_gpc
        self._cookie_states: dict[tuple[bytes, bool], CookieState] = {}
        self._block_unclassified = settings.unclassified_cookies == "block"
        self._warned_unclassified: set[str] = set()
        self.endpoint_path = settings.path
        self._endpoint_prefix = settings.path + "/"
        self.exclude_prefixes = tuple(settings.exclude_paths)
        self._cookie_attrs = self._consent_cookie_attributes(settings)
        domains = settings.expire_cookie_domains
        self._expire_suffixes = ("", *(f"; Domain={domain}" for domain in domains))

    @staticmethod
    def _consent_cookie_attributes(settings: ConsentSettings) -> str:
        parts = [
            f"Max-Age={settings.cookie_lifetime_days * _SECONDS_PER_DAY}",
            f"Path={settings.cookie_path}",
            f"SameSite={settings.cookie_samesite.capitalize()}",
            "HttpOnly",
        ]
        if settings.cookie_domain:
            parts.append(f"Domain={settings.cookie_domain}")
        return "; ".join(parts)

    # -- requests -----------------------------------------------------------------------

    def is_endpoint(self, path: str) -> bool:
        """Whether ``path`` belongs to the consent endpoints."""
        return path == self.endpoint_path or path.startswith(self._endpoint_prefix)

    def read(self, scope: Scope) -> RequestView:
        """Consent, cookies and language of a request (one pass over its headers)."""
        cookie_header = b""
        gpc = False
        locale_header: str | None = None
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie_header = value if not cookie_header else cookie_header + b"; " + value
            elif name == b"sec-gpc":
                gpc = value.strip() == b"1" and self._honour_gpc
            elif name == b"accept-language":
                locale_header = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value
        key = (cookie_header, gpc)
        state = self._cookie_states.get(key)
        if state is None or state.expires_at <= time.time():
            state = self._cookie_state(cookie_header, gpc)
            if len(cookie_header) <= _CACHEABLE_COOKIE_HEADER:
                if len(self._cookie_states) >= _COOKIE_STATE_CACHE_LIMIT:
                    self._cookie_states.clear()
                self._cookie_states[key] = state
        return RequestView(state, locale_header, if_none_match)

    def _cookie_state(self, cookie_header: bytes, gpc: bool) -> CookieState:
        cookies = cookie_parser(cookie_header.decode("latin-1")) if cookie_header else {}
        consent = self.codec.loads(cookies.get(self.cookie_name), gpc=gpc)
        expires_at = time.time() + _UNDECIDED_STATE_TTL
        if consent.given_at is not None:
            expires_at = consent.given_at.timestamp() + self.codec.max_age
        hidden = [name for name in cookies if not self.cookie_allowed(name, consent)]
        filtered_header: bytes | None = None
        if hidden:
            filtered_header = "; ".join(
                f"{name}={value}" for name, value in cookies.items() if name not in hidden
            ).encode("latin-1")
        return CookieState(
            consent,
            cookies,
            tuple(self.expired_cookie_headers(cookies, consent)),
            filtered_header,
            expires_at,
        )

    # -- cookies --------------------------------------------------------------------------

    def cookie_allowed(self, name: str, consent: Consent) -> bool:
        """Whether a cookie called ``name`` may exist for this visitor."""
        if name == self.cookie_name:
            return True
        key = self.classifier.classify(name)
        if key is None:
            return not self._block_unclassified
        return key in consent.granted

    def set_cookie_allowed(self, header_value: bytes, consent: Consent) -> bool:
        """Whether one ``Set-Cookie`` value of the host app may reach the browser."""
        name = header_value.split(b"=", 1)[0].strip().decode("latin-1")
        allowed = self.cookie_allowed(name, consent)
        key = self.classifier.classify(name)  # memoised: a dict hit
        if not allowed:
            logger.debug(LOG_DROPPED, name, key)
        elif key is None and name != self.cookie_name and self._first_warning(name):
            logger.warning(LOG_UNCLASSIFIED, name)
        return allowed

    def _first_warning(self, name: str) -> bool:
        """True once per unclassified cookie name (bounded, so hostile names cannot grow it)."""
        if name in self._warned_unclassified or len(self._warned_unclassified) >= 1024:
            return False
        self._warned_unclassified.add(name)
        return True

    def expired_cookie_headers(
        self, names: Iterable[str], consent: Consent
    ) -> list[tuple[bytes, bytes]]:
        """``Set-Cookie`` headers that delete every cookie in ``names`` of a non-granted category.

        One header for the host-only cookie and one per configured domain, because
        a browser only deletes a cookie when name, domain and path all match.
        """
        headers: list[tuple[bytes, bytes]] = []
        for name in names:
            if name == self.cookie_name:
                continue
            key = self.classifier.classify(name)
            if key is None or key in consent.granted:
                continue
            for suffix in self._expire_suffixes:
                headers.append((b"set-cookie", f"{name}{_EXPIRED}{suffix}".encode("latin-1")))
        return headers

    def consent_cookie_header(self, consent: Consent, *, secure: bool) -> tuple[bytes, bytes]:
        """The ``Set-Cookie`` header that stores ``consent``."""
        value = self.codec.dumps(consent)
        secure_attr = secure if self.settings.cookie_secure is None else self.settings.cookie_secure
        header = f"{self.cookie_name}={value}; {self._cookie_attrs}"
        if secure_attr:
            header += "; Secure"
        return (b"set-cookie", header.encode("latin-1"))

    def state_json(self, consent: Consent, locale: str) -> Mapping[str, object]:
        """The ``GET /_consent`` document."""
        return {
            "id": consent.id,
            "revision": consent.revision,
            "decided": consent.decided,
            "granted": [c.key for c in self.settings.categories if c.key in consent.granted],
            "denied": [c.key for c in self.settings.categories if c.key in consent.denied],
            "gpc": consent.gpc,
            "categories": [
                {
                    "key": c.key,
                    "label": c.label_for(locale),
                    "description": c.description_for(locale),
                    "required": c.required,
                }
                for c in self.settings.categories
            ],
        }
