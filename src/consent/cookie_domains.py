"""`CookieDomains`: the ``Domain`` attributes that delete a declined cookie, per request host.

A browser deletes a cookie only on a ``Set-Cookie`` with the same name, path and domain
(a leading dot is irrelevant). Scripts set theirs host-only, on the full host
(``Domain=www.example.com``) or, most often, on the registrable domain: gtag.js's
``cookie_domain: 'auto'`` writes ``_ga`` on ``Domain=example.com``. So a declined cookie is
expired host-only and on every domain from the host up to its registrable domain
(``www.example.com`` and ``example.com``).

The registrable domain comes from the Public Suffix List, ICANN and private sections both
(``example.github.io`` is registrable, ``github.io`` never is: browsers refuse cookies on
it). The list is the snapshot bundled with the ``publicsuffixlist`` package, read from the
package's own file on first use: nothing is fetched at run time.

Hosts come from a request header, so anything odd (an IP literal, a single label such as
``localhost``, a public suffix itself, an over-long or non-ASCII host, garbage) gets
host-only expiry and never an error, and the work per host is bounded by
`MAX_HOST_LENGTH`. Results are cached per raw ``Host`` value (`BoundedCache`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from publicsuffixlist import PublicSuffixList

from consent.cache import BoundedCache

__all__ = [
    "CACHEABLE_HOST",
    "MAX_DOMAINS",
    "MAX_HOST_LENGTH",
    "CookieDomains",
    "derive_domains",
]

#: Longest host name DNS allows; a longer ``Host`` gets host-only expiry without a look-up.
MAX_HOST_LENGTH = 253
#: ``Domain`` attributes per host at most (a cookie costs one header each, plus host-only).
#: Deeper hosts keep the registrable domain, the host itself and the levels nearest the
#: registrable domain, where site-wide cookies live.
MAX_DOMAINS = 4
_CACHE_LIMIT = 1024
#: ``Host`` values longer than this are not cached (nor looked up: see `MAX_HOST_LENGTH`).
CACHEABLE_HOST = MAX_HOST_LENGTH + len(":65535")

# Lowercase ASCII labels of letters, digits, "-" and "_" (seen in real host names), at
# least two of them. "." is not in the label class, so matching is linear.
_HOST = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})+")
# A host whose last label is a number is an IPv4 address to a browser (or invalid).
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


@cache
def _public_suffix_list() -> PublicSuffixList:
    """The bundled list, parsed once per process (~50 ms) and read-only afterwards."""
    return PublicSuffixList()


def _host_name(authority: str) -> str | None:
    """The lowercase host name of a ``Host`` value, or None where only host-only fits."""
    if not authority or len(authority) > CACHEABLE_HOST or not authority.isascii():
        return None
    if authority.startswith("["):  # an IPv6 literal, with or without a port
        return None
    host, colon, port = authority.partition(":")
    if colon and not port.isdigit():  # a bare IPv6 address, or garbage
        return None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if len(host) > MAX_HOST_LENGTH or not _HOST.fullmatch(host):
        return None
    if _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2]):
        return None
    return host


def derive_domains(authority: str) -> tuple[str, ...]:
    """``Domain`` values for cookies of a request to ``authority`` (a ``Host`` value).

    From the registrable domain down to the host itself, without leading dots:
    ``www.example.com`` gives ``("example.com", "www.example.com")``. Empty for hosts
    that can only have host-only cookies. Never raises.
    """
    host = _host_name(authority)
    if host is None:
        return ()
    try:
        registrable = _public_suffix_list().privatesuffix(host)
    except Exception:  # a hostile Host must never fail a request
        return ()
    if not registrable or not host.endswith(registrable):
        return ()
    labels = host.split(".")
    extra = len(labels) - (registrable.count(".") + 1)  # labels left of the registrable
    chain = [".".join(labels[i:]) for i in range(extra, -1, -1)]  # registrable .. host
    if len(chain) > MAX_DOMAINS:
        chain = [*chain[: MAX_DOMAINS - 1], host]
    return tuple(chain)


class CookieDomains:
    """The ``Domain`` values that expire declined cookies for a request's ``Host``.

    ``override`` (the operator's ``expire_cookie_domains``) replaces the derivation for
    every host when not empty.
    """

    __slots__ = ("_cache", "_override")

    def __init__(self, override: Sequence[str] = ()) -> None:
        self._override: tuple[str, ...] | None = tuple(override) or None
        self._cache: BoundedCache[bytes, tuple[str, ...]] = BoundedCache(_CACHE_LIMIT)
        if self._override is None:
            _public_suffix_list()  # parsed now, at start-up, not on a visitor's request

    def key(self, host: bytes | None) -> bytes:
        """``host`` as a cache key for what depends on it: ``b""`` wherever the answer is
        the same as for no host at all (an override, no ``Host``, an over-long one)."""
        if host is None or self._override is not None or len(host) > CACHEABLE_HOST:
            return b""
        return host

    def for_host(self, host: bytes) -> tuple[str, ...]:
        """``Domain`` values for a raw ``Host`` header value (cached)."""
        if self._override is not None:
            return self._override
        domains = self._cache.get(host)
        if domains is None:
            domains = derive_domains(host.decode("latin-1"))
            if len(host) <= CACHEABLE_HOST:
                self._cache.set(host, domains)
        return domains
