"""Everything derived once from the settings and shared by the middleware and endpoints.

Built in `ConsentMiddleware.__init__`, never per request: the codec, the cookie
classifier, the consent cookie's attribute string and the headers that expire
cookies of declined categories.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from collections.abc import Iterable, Mapping

from starlette.requests import cookie_parser
from starlette.types import Scope

from consent.categories import CookieClassifier
from consent.settings import ConsentSettings
from consent.state import Consent, ConsentCodec

__all__ = ["NO_SECRET_WARNING", "ConsentRuntime", "RequestView"]

logger = logging.getLogger("consent")

NO_SECRET_WARNING = (
    "asgi-consent: no secret_key configured; using a random per-process key. Consent "
    "cookies will not survive a restart and differ between processes. Set "
    "CONSENT_SECRET_KEY in production."
)
LOG_UNCLASSIFIED = "cookie %r matches no consent category; allowed (unclassified_cookies=allow)"
LOG_DROPPED = "dropped Set-Cookie %r: category %r not granted"

_EXPIRED = "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
_SECONDS_PER_DAY = 86_400


class RequestView:
    """The few facts about a request the middleware needs, read in one pass over the headers."""

    __slots__ = ("consent", "cookies", "locale_header")

    def __init__(self, consent: Consent, cookies: dict[str, str], locale_header: str | None):
        self.consent = consent
        self.cookies = cookies
        self.locale_header = locale_header


class ConsentRuntime:
    """Precomputed state for one configured middleware."""

    def __init__(self, settings: ConsentSettings) -> None:
        self.settings = settings
        keys = [] if settings.secret_key is None else [settings.secret_key.get_secret_value()]
        if not keys:
            warnings.warn(NO_SECRET_WARNING, RuntimeWarning, stacklevel=3)
            logger.warning(NO_SECRET_WARNING)
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
        self._cookie_name_bytes = settings.cookie_name.encode("latin-1")
        self._block_unclassified = settings.unclassified_cookies == "block"
        self._warned_unclassified: set[str] = set()
        self.endpoint_path = settings.path
        self._endpoint_prefix = settings.path + "/"
        self.exclude_prefixes = tuple(settings.exclude_paths)
        self._cookie_attrs = self._consent_cookie_attributes(settings)
        self._expire_suffixes = ("",) + tuple(
            f"; Domain={domain}" for domain in settings.expire_cookie_domains
        )

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
        cookie_parts: list[bytes] = []
        gpc = False
        locale_header: str | None = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie_parts.append(value)
            elif name == b"sec-gpc":
                gpc = value.strip() == b"1"
            elif name == b"accept-language":
                locale_header = value.decode("latin-1")
        cookies: dict[str, str] = {}
        if cookie_parts:
            cookies = cookie_parser(b"; ".join(cookie_parts).decode("latin-1"))
        gpc = gpc and self.settings.honour_gpc
        consent = self.codec.loads(cookies.get(self.cookie_name), gpc=gpc)
        return RequestView(consent, cookies, locale_header)

    def hidden_request_cookies(self, view: RequestView) -> bool:
        """Whether any request cookie belongs to a category the visitor has not granted."""
        return any(not self.cookie_allowed(name, view.consent) for name in view.cookies)

    def filtered_cookie_header(self, view: RequestView) -> bytes:
        """The request's ``Cookie`` header without cookies the visitor has not granted."""
        kept = [
            f"{name}={value}"
            for name, value in view.cookies.items()
            if self.cookie_allowed(name, view.consent)
        ]
        return "; ".join(kept).encode("latin-1")

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
        if name == self.cookie_name:
            return True
        key = self.classifier.classify(name)
        if key is None:
            if self._block_unclassified:
                logger.debug(LOG_DROPPED, name, None)
                return False
            if name not in self._warned_unclassified and len(self._warned_unclassified) < 1024:
                self._warned_unclassified.add(name)
                logger.warning(LOG_UNCLASSIFIED, name)
            return True
        if key in consent.granted:
            return True
        logger.debug(LOG_DROPPED, name, key)
        return False

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

    def state_json(
        self, consent: Consent, locale: str
    ) -> Mapping[str, object]:
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
