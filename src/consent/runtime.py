"""Everything derived once from the settings and shared by the middleware and endpoints.

Built in `ConsentMiddleware.__init__`, never per request: the codec, the cookie
classifier, the consent cookie's attribute string and the headers that expire
cookies of declined categories (on the domains of each request's host, see
`consent.cookie_domains`).
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from functools import partial

from starlette.requests import cookie_parser
from starlette.types import Scope

from consent.blocking import BlockingRules
from consent.body_codec import DECODABLE
from consent.cache import MISSING, BoundedCache
from consent.categories import CookieClassifier
from consent.cookie_domains import CACHEABLE_HOST, CookieDomains
from consent.jurisdictions import Geolocator
from consent.policies import PolicyBook
from consent.purposes import PurposeMap
from consent.services import ServiceCatalogue
from consent.settings import ConsentSettings
from consent.state import Consent, ConsentCodec

__all__ = [
    "EPHEMERAL_KEY_WARNING",
    "ConsentRuntime",
    "CookieState",
    "RequestCookies",
    "RequestView",
]

logger = logging.getLogger("consent")

EPHEMERAL_KEY_WARNING = (
    "asgi-consent: no secret_key configured; using a random per-process key. Consent "
    "cookies will not survive a restart and differ between processes. Set "
    "CONSENT_SECRET_KEY in production."
)
LOG_UNCLASSIFIED = (
    "cookie %r matches no consent category, so it is %s (unclassified_cookies = %r). To "
    "classify it, list it in a category's `cookies`: in TOML `[category_overrides.%s]` "
    "`cookies = [%r]` (or the category that fits), or with CONSENT_CATEGORY_OVERRIDES__%s__COOKIES"
)
LOG_DROPPED = "dropped Set-Cookie %r: category %r not granted"
LOG_LONG_COOKIE_HEADER = (
    "a Cookie header of %d bytes was cut to max_cookie_header_bytes=%d; cookies past the cut "
    "were ignored (logged once)"
)

#: Cookie headers up to this size are cached (bounds the cache's memory).
_CACHEABLE_COOKIE_HEADER = 2048
_COOKIE_STATE_CACHE_LIMIT = 4096
#: Browsers send a handful of ``Accept-Encoding`` spellings; longer values are not cached.
_CACHEABLE_ACCEPT_ENCODING = 256
_ACCEPT_ENCODING_CACHE_LIMIT = 256
#: Undecided states hold no signature that could expire; refresh them now and then anyway.
_UNDECIDED_STATE_TTL = 3600.0
#: Cookies of declined categories expired per response, at most (the rest on later requests).
MAX_EXPIRED_PER_RESPONSE = 16
#: ... and the ``Set-Cookie`` headers doing it. Each cookie takes one header host-only plus
#: one per domain (up to `consent.cookie_domains.MAX_DOMAINS`), so counting cookies alone
#: no longer bounds the header block: 16 cookies on ``shop.eu.example.co.uk`` would be 64
#: headers, some 6 KB, past the 4 KB that proxies commonly allow for a whole response head
#: (nginx's default ``proxy_buffer_size`` is one page). 32 headers stay near 3 KB, the most
#: that 16 cookies on one configured domain took before, and cover 10 cookies on a
#: ``www.`` host. Cookies are expired whole, on all their domains at once; the rest wait for
#: the next request, which still carries them.
MAX_EXPIRY_HEADERS_PER_RESPONSE = 32
HOST_PREFIX = "__Host-"
_EXPIRED = "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
_SECONDS_PER_DAY = 86_400


class RequestCookies(dict[str, str]):
    """A request's cookies by name, with the ``Set-Cookie`` suffixes (``""`` for host-only,
    ``"; Domain=example.com"``, ...) that expire a cookie for the request's host.

    `ConsentRuntime.expired_cookie_headers` reads the suffixes from here, so any caller
    passing a request's cookies expires them on the right domains.
    """

    __slots__ = ("expire_suffixes",)

    def __init__(self, cookies: Mapping[str, str], expire_suffixes: tuple[str, ...]) -> None:
        super().__init__(cookies)
        self.expire_suffixes = expire_suffixes


class CookieState:
    """Everything derived from one ``Cookie`` header (and the GPC flag, the scheme and the
    host, whose domains the expiry headers name).

    Browsers repeat the same header on every request, so instances are cached
    by the raw header: the hot path is then one dict lookup. Shared between
    requests, hence never mutated after construction.
    """

    __slots__ = (
        "consent",
        "cookies",
        "expired_headers",
        "expires_at",
        "filtered_header",
        "gpc_opt_out",
        "keep_cookie",
    )

    def __init__(
        self,
        consent: Consent,
        cookies: Mapping[str, str],
        expired_headers: tuple[tuple[bytes, bytes], ...],
        filtered_header: bytes | None,
        expires_at: float,
        keep_cookie: Callable[[bytes], bool],
        gpc_opt_out: frozenset[str] = frozenset(),
    ) -> None:
        self.consent = consent
        # Sale/sharing categories Global Privacy Control opts out of, not stored yet (the
        # middleware stores and records that on the first page: `consent.policies`).
        self.gpc_opt_out = gpc_opt_out
        self.keep_cookie = keep_cookie  # whether one Set-Cookie value may reach the browser
        self.cookies = cookies
        self.expired_headers = expired_headers  # Set-Cookie headers deleting declined cookies
        # The Cookie header without them (None: unchanged, or `filter_request_cookies` is off).
        self.filtered_header = filtered_header
        self.expires_at = expires_at


class RequestView:
    """The few facts about one request the middleware needs, read in one pass."""

    __slots__ = (
        "accept_encoding",
        "consent",
        "cookie_state",
        "fetch_dest",
        "host",
        "if_none_match",
        "locale_header",
        "secure",
    )

    def __init__(
        self,
        cookie_state: CookieState,
        locale_header: str | None,
        if_none_match: bytes | None = None,
        accept_encoding: bytes | None = None,
        fetch_dest: bytes | None = None,
        secure: bool = False,
        host: bytes | None = None,
    ) -> None:
        self.cookie_state = cookie_state
        self.consent = cookie_state.consent  # the visitor's consent for this request
        self.locale_header = locale_header
        self.if_none_match = if_none_match
        self.accept_encoding = accept_encoding
        self.fetch_dest = fetch_dest
        self.secure = secure  # the consent cookie is (or would be) sent with `Secure`
        self.host = host  # the Host header (the first, should there be several)

    @property
    def cookies(self) -> Mapping[str, str]:
        """The request's cookies, by name (read-only)."""
        return self.cookie_state.cookies


# Request headers read by `ConsentRuntime.read`, by their role.
_COOKIE, _GPC, _LANGUAGE, _IF_NONE_MATCH, _ACCEPT_ENCODING, _FETCH_DEST, _HOST = range(7)
_COUNTRY, _REGION = 7, 8  # only when `geolocation` names them
_SECURE_SCHEMES = ("https", "wss")
_ROLES = {
    b"cookie": _COOKIE,
    b"sec-gpc": _GPC,
    b"accept-language": _LANGUAGE,
    b"if-none-match": _IF_NONE_MATCH,
    b"accept-encoding": _ACCEPT_ENCODING,
    b"sec-fetch-dest": _FETCH_DEST,
    b"host": _HOST,
}


def names_for(settings: ConsentSettings, *, strict: bool) -> tuple[ServiceCatalogue, PurposeMap]:
    """The services ``settings`` offer, and the map of every name they understand."""
    services = ServiceCatalogue.from_settings(
        settings.categories, settings.services, builtin=settings.builtin_services
    )
    purposes = PurposeMap.of(settings.categories, strict=strict, services=services.category_of)
    return services, purposes


def classifier_for(
    settings: ConsentSettings, purposes: PurposeMap, services: ServiceCatalogue
) -> CookieClassifier:
    """Cookie names to category or service keys, as ``settings`` file them."""
    return CookieClassifier(
        settings.categories,
        builtin=settings.builtin_cookie_patterns,
        purposes=purposes,
        services=((s.key, s.cookies) for s in services),
    )


def blocking_rules_for(
    settings: ConsentSettings, purposes: PurposeMap, services: ServiceCatalogue
) -> BlockingRules:
    """URLs and inline scripts to category or service keys, as ``settings`` file them
    (services' hosts, Consent Mode "advanced" included): one recipe for the middleware,
    ``consent explain`` and the benchmarks, so they cannot drift apart."""
    return BlockingRules.from_categories(
        settings.categories,
        purposes=purposes,
        google_tags_first=settings.consent_mode == "advanced",
        services=((s.key, s.hosts) for s in services),
    )


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
        self.services, self.purposes = names_for(settings, strict=settings.strict_categories)
        self.purposes.warn_uncovered()
        self.policies = PolicyBook(
            settings.all_policies,
            settings.all_jurisdictions,
            settings.default_policy,
            categories=settings.categories,
            purposes=self.purposes,
        )
        self.geolocator = Geolocator(settings.geolocation)
        self._roles = dict(_ROLES)
        if self.geolocator.country_header is not None:
            self._roles[self.geolocator.country_header.encode("latin-1")] = _COUNTRY
        if self.geolocator.region_header is not None:
            self._roles[self.geolocator.region_header.encode("latin-1")] = _REGION
        self._resolver = self.geolocator.resolver
        #: The key that lets ad click identifiers through (None: `click_ids = "keep"`).
        self.click_ids_key = (
            None if settings.click_ids == "keep" else self.purposes.key_of("marketing")
        )
        self.codec = ConsentCodec(
            keys,
            max_age=settings.cookie_lifetime_days * _SECONDS_PER_DAY,
            revision=settings.revision,
            required_key=self.required_key,
            optional_keys=self.optional_keys,
            names=self.purposes,
            services=self.services,
        )
        self.classifier = classifier_for(settings, self.purposes, self.services)
        self.cookie_name = settings.cookie_name
        # `__Host-` cookies must be Secure, host-only and on `/`: browsers enforce all three.
        self._host_prefixed = (
            settings.cookie_host_prefix
            and settings.cookie_domain is None
            and settings.cookie_path == "/"
            and settings.cookie_secure is not False
        )
        self._cookie_secure = settings.cookie_secure
        self._filter_request_cookies = settings.filter_request_cookies
        self._our_names = frozenset({self.cookie_name, HOST_PREFIX + self.cookie_name})
        self._honour_gpc = settings.honour_gpc
        # Keyed by Cookie header, GPC, scheme, host (see `CookieDomains.key`), jurisdiction.
        self._cookie_states: BoundedCache[tuple[bytes, bool, bool, bytes, str], CookieState] = (
            BoundedCache(_COOKIE_STATE_CACHE_LIMIT)
        )
        self._max_cookie_header = settings.max_cookie_header_bytes
        self._warned_long_cookie_header = False
        self._block_unclassified = settings.unclassified_cookies == "block"
        self._warned_unclassified: set[str] = set()
        self.endpoint_path = settings.path
        self.exclude_prefixes = tuple(settings.exclude_paths)
        self._cookie_attrs = self._consent_cookie_attributes(settings)
        # Declined cookies are expired host-only and on the host's domains up to its
        # registrable domain, or on `expire_cookie_domains` when the operator set them.
        self._cookie_domains = CookieDomains(settings.expire_cookie_domains)
        self._keyed_by_host = not settings.expire_cookie_domains  # else one answer for all
        self._default_suffixes = self._expire_suffixes(b"")
        # Where the real consent cookie lives (None: host-only), never expired as a copy.
        self._own_domain = _domain_of(
            f"; Domain={settings.cookie_domain}" if settings.cookie_domain else ""
        )
        self._narrowed_codings: BoundedCache[bytes, bytes | None] = BoundedCache(
            _ACCEPT_ENCODING_CACHE_LIMIT
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

    def is_secure(self, scope: Scope) -> bool:
        """Whether the consent cookie goes out with ``Secure`` for this request."""
        if self._cookie_secure is not None:
            return self._cookie_secure
        return scope.get("scheme") in _SECURE_SCHEMES

    def consent_cookie_name(self, *, secure: bool) -> str:
        """The consent cookie's name: ``__Host-`` prefixed on secure requests when allowed."""
        if secure and self._host_prefixed:
            return HOST_PREFIX + self.cookie_name
        return self.cookie_name

    def read(self, scope: Scope) -> RequestView:
        """Consent, cookies and language of a request (one pass over its headers).

        Header names are compared in lowercase: ASGI servers send them so, but a
        hand-built scope or an unusual server need not.
        """
        cookie_header = b""
        gpc = False
        locale_header: str | None = None
        if_none_match: bytes | None = None
        accept_encoding: bytes | None = None
        fetch_dest: bytes | None = None
        host: bytes | None = None
        country: bytes | None = None
        region: bytes | None = None
        roles = self._roles
        for name, value in scope["headers"]:
            role = roles.get(name)
            if role is None and (name.islower() or (role := roles.get(name.lower())) is None):
                continue
            if role == _COOKIE:
                cookie_header = value if not cookie_header else cookie_header + b"; " + value
            elif role == _HOST:  # in every request: asked second
                host = value if host is None else host  # the first, should there be several
            elif role == _GPC:
                gpc = value.strip() == b"1" and self._honour_gpc
            elif role == _LANGUAGE:
                locale_header = value.decode("latin-1")
            elif role == _IF_NONE_MATCH:
                if_none_match = value
            elif role == _ACCEPT_ENCODING:
                accept_encoding = value
            elif role == _FETCH_DEST:
                fetch_dest = value
            elif role == _COUNTRY:
                country = value if country is None else country
            else:
                region = value if region is None else region
        secure = self.is_secure(scope)
        state = self._state_of(scope, cookie_header, gpc, secure, host, country, region)
        return RequestView(
            state, locale_header, if_none_match, accept_encoding, fetch_dest, secure, host
        )

    def _state_of(
        self,
        scope: Scope,
        cookie_header: bytes,
        gpc: bool,
        secure: bool,
        host: bytes | None,
        country: bytes | None,
        region: bytes | None,
    ) -> CookieState:
        """The judged cookies of a request, from the cache when the same header (on the same
        host, scheme and jurisdiction) was judged before and has not expired."""
        jurisdiction = ""
        if country is not None:
            jurisdiction = self.geolocator.from_headers(country, region)
        elif self._resolver is not None:
            jurisdiction = self.geolocator.from_scope(scope)
        # `CookieDomains.key`, inline: this runs on every request.
        host_key = (
            host
            if host is not None and self._keyed_by_host and len(host) <= CACHEABLE_HOST
            else b""
        )
        key = (cookie_header, gpc, secure, host_key, jurisdiction)
        state = self._cookie_states.get(key)
        if state is None or state.expires_at <= time.time():
            state = self._cookie_state(cookie_header, gpc, secure, host_key, jurisdiction)
            if len(cookie_header) <= _CACHEABLE_COOKIE_HEADER:
                self._cookie_states.set(key, state)
        return state

    def _cookie_state(
        self, cookie_header: bytes, gpc: bool, secure: bool, host: bytes, jurisdiction: str = ""
    ) -> CookieState:
        """Parse and judge one ``Cookie`` header: linear in its length, which is bounded."""
        if len(cookie_header) > self._max_cookie_header:
            cookie_header = self._cut_cookie_header(cookie_header)
        text = cookie_header.decode("latin-1")
        suffixes = self._expire_suffixes(host)
        cookies = RequestCookies(cookie_parser(text) if text else {}, suffixes)
        name = self.consent_cookie_name(secure=secure)
        values = _values_of(text, name)
        consent = (
            self.codec.loads_many(values, gpc=gpc) if values else self.codec.loads(None, gpc=gpc)
        )
        policy = self.policies.for_jurisdiction(jurisdiction)
        consent = self.policies.apply(consent, policy, jurisdiction)
        expires_at = time.time() + _UNDECIDED_STATE_TTL
        if consent.given_at is not None:
            expires_at = consent.given_at.timestamp() + self.codec.max_age
        filtered_header: bytes | None = None
        if self._filter_request_cookies:
            kept = [name for name in cookies if self.cookie_allowed(name, consent)]
            if len(kept) < len(cookies):
                filtered_header = "; ".join(f"{n}={cookies[n]}" for n in kept).encode("latin-1")
        expired = self.expired_cookie_headers(cookies, consent)
        if len(values) > 1:
            expired.extend(self._expired_duplicates(name, suffixes))
        keep_cookie = partial(self.set_cookie_allowed, consent=consent)
        return CookieState(
            consent,
            cookies,
            tuple(expired),
            filtered_header,
            expires_at,
            keep_cookie,
            gpc_opt_out=self.policies.gpc_opt_out(consent),
        )

    def _cut_cookie_header(self, cookie_header: bytes) -> bytes:
        if not self._warned_long_cookie_header:
            self._warned_long_cookie_header = True
            logger.warning(LOG_LONG_COOKIE_HEADER, len(cookie_header), self._max_cookie_header)
        cut = cookie_header.rfind(b";", 0, self._max_cookie_header + 1)
        return cookie_header[: max(cut, 0)]

    def _expire_suffixes(self, host: bytes) -> tuple[str, ...]:
        """``""`` (host-only) and ``"; Domain=..."`` for each domain of ``host``."""
        domains = self._cookie_domains.for_host(host)
        return ("", *(f"; Domain={domain}" for domain in domains))

    def _expired_duplicates(
        self, name: str, suffixes: tuple[str, ...]
    ) -> list[tuple[bytes, bytes]]:
        """Delete planted copies of the consent cookie on the host's parent domains (never
        the real one: host-only, or on `cookie_domain`)."""
        if name[:7].lower() == "__host-":  # exists host-only alone: no copy can be planted
            return []
        planted = tuple(s for s in suffixes if _domain_of(s) != self._own_domain)
        return _expiry_headers(name, planted)

    def narrowed_accept_encoding(self, value: bytes) -> bytes | None:
        """``Accept-Encoding`` without the codings we cannot decode; None if nothing changes.

        An HTML page compressed with brotli or zstd could not be rewritten: asking the app
        only for what we can decode keeps its trackers from passing unseen.
        """
        cached = self._narrowed_codings.get(value, MISSING)
        if cached is not MISSING:
            return cached
        kept = []
        for part in value.split(b","):
            coding = part.split(b";", 1)[0].strip().lower()
            if coding and coding.decode("latin-1") in DECODABLE:
                kept.append(part.strip())
        narrowed = b", ".join(kept) or b"identity"
        result = None if narrowed == value.strip() else narrowed
        if len(value) <= _CACHEABLE_ACCEPT_ENCODING:
            self._narrowed_codings.set(value, result)
        return result

    # -- cookies --------------------------------------------------------------------------

    def cookie_allowed(self, name: str, consent: Consent) -> bool:
        """Whether a cookie called ``name`` may exist for this visitor."""
        if name in self._our_names:
            return True
        key = self.classifier.classify(name)
        if key is None:
            return not self._block_unclassified
        return key in consent.allowed

    def set_cookie_allowed(self, header_value: bytes, consent: Consent) -> bool:
        """Whether one ``Set-Cookie`` value of the host app may reach the browser."""
        name = header_value.split(b"=", 1)[0].strip().decode("latin-1")
        if name in self._our_names:
            return True
        key = self.classifier.classify(name)
        allowed = not self._block_unclassified if key is None else key in consent.allowed
        if key is None and self._first_warning(name):
            # Said once per name, allowed or dropped: a dropped session or CSRF cookie
            # breaks sign-in silently otherwise.
            required = self.required_key
            verdict, mode = (
                ("dropped", "block") if self._block_unclassified else ("allowed", "allow")
            )
            logger.warning(LOG_UNCLASSIFIED, name, verdict, mode, required, name, required.upper())
        elif not allowed:
            logger.debug(LOG_DROPPED, name, key)
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

        One header for the host-only cookie and one per domain, because a browser only
        deletes a cookie when name, domain and path all match: a request's cookies
        (`RequestView.cookies`) are expired on the domains of its host (or on
        `expire_cookie_domains`); other names host-only or on `expire_cookie_domains`. At
        most `MAX_EXPIRED_PER_RESPONSE` cookies and `MAX_EXPIRY_HEADERS_PER_RESPONSE`
        headers per response: the browser deletes those, so the next request carries the
        rest (a flood of cookie names cannot inflate a response).
        """
        suffixes = (
            names.expire_suffixes if isinstance(names, RequestCookies) else self._default_suffixes
        )
        headers: list[tuple[bytes, bytes]] = []
        expired = 0
        for name in names:
            if name in self._our_names:
                continue
            key = self.classifier.classify(name)
            if key is None or key in consent.allowed:
                continue
            expired += 1
            lines = _expiry_headers(name, suffixes)
            if (
                expired > MAX_EXPIRED_PER_RESPONSE
                or len(headers) + len(lines) > MAX_EXPIRY_HEADERS_PER_RESPONSE
            ):
                break
            headers.extend(lines)
        return headers

    def with_policy(self, consent: Consent, jurisdiction: str) -> Consent:
        """``consent`` (as stored) with what the policy of ``jurisdiction`` allows unasked."""
        policy = self.policies.for_jurisdiction(jurisdiction)
        return self.policies.apply(consent, policy, jurisdiction)

    def consent_cookie_header(self, consent: Consent, *, secure: bool) -> tuple[bytes, bytes]:
        """The ``Set-Cookie`` header that stores ``consent`` (``secure``: see `is_secure`)."""
        value = self.codec.dumps(consent)
        header = f"{self.consent_cookie_name(secure=secure)}={value}; {self._cookie_attrs}"
        if secure:
            header += "; Secure"
        return (b"set-cookie", header.encode("latin-1"))

    def state_json(self, consent: Consent, locale: str) -> Mapping[str, object]:
        """The ``GET /_consent`` document; no consent id (page scripts have no use for it).

        ``allowed`` lists every category and service key the visitor allows (a service is
        allowed on its own or with its category): what ``window.consent.allows`` reads.
        """
        allowed = consent.allowed
        return {
            "revision": consent.revision,
            "decided": consent.decided,
            "granted": [c.key for c in self.settings.categories if c.key in consent.granted],
            "denied": [c.key for c in self.settings.categories if c.key in consent.denied],
            "gpc": consent.gpc,
            "allowed": sorted(allowed),
            "jurisdiction": consent.jurisdiction,
            "policy": consent.policy,
            "model": consent.model,
            "categories": [
                {
                    "key": c.key,
                    "label": c.label_for(locale),
                    "description": c.description_for(locale),
                    "required": c.required,
                }
                for c in self.settings.categories
            ],
            "services": [
                {
                    "key": service.key,
                    "category": self.services.category_of[service.key],
                    "label": service.label_for(locale),
                    "granted": service.key in allowed,
                }
                for service in self.services
            ],
        }


def _domain_of(suffix: str) -> str | None:
    """The domain an expiry suffix names, as browsers compare it (None: host-only)."""
    return suffix.partition("=")[2].lstrip(".").lower() or None


def _expiry_headers(name: str, suffixes: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    """The ``Set-Cookie`` headers deleting cookie ``name`` host-only and on each domain.

    Browsers only take a prefixed name with the attributes its prefix demands: a
    ``__Secure-`` cookie is deleted only by a ``Secure`` header, and a ``__Host-`` one
    exists only host-only, ``Secure`` and on ``/``.
    """
    prefix = name[:9].lower()
    if prefix.startswith("__host-"):
        return [(b"set-cookie", f"{name}{_EXPIRED}; Secure".encode("latin-1"))]
    secure = "; Secure" if prefix == "__secure-" else ""
    return [
        (b"set-cookie", f"{name}{_EXPIRED}{suffix}{secure}".encode("latin-1"))
        for suffix in suffixes
    ]


def _values_of(cookie_header: str, name: str) -> list[str]:
    """Every value of cookie ``name`` in a ``Cookie`` header (browsers may send several)."""
    probe = name + "="
    if probe not in cookie_header:
        return []
    values = []
    for part in cookie_header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            values.append(value.strip())
    return values
