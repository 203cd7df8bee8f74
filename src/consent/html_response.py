"""Which responses are HTML pages we rewrite, and how their headers change.

Rules (SPEC section 5), all on header names compared case-insensitively:

* rewritten: ``text/html`` bodies (any status but those below) in a coding we decode;
* headers only: a ``HEAD`` answer gets the headers its ``GET`` would get (``Vary``, the
  consent-specific ``ETag``, no ``Content-Length`` that would describe another body);
* untouched: 1xx/204/304, a slice of a body (``206``, any ``Content-Range``), a download
  (``Content-Disposition: attachment``), non-HTML, and codings we cannot decode (the
  middleware narrows ``Accept-Encoding`` so a well-behaved app never sends those).

``Cache-Control: no-transform`` binds intermediaries, not the app's own middleware, so such
pages are rewritten like any other; ``exclude_paths`` is the operator's opt-out.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import re
from collections.abc import Sequence
from typing import Protocol

from consent.body_codec import DECODABLE
from consent.headers import HeaderList, merge_vary, replace

__all__ = [
    "LOG_UNSUPPORTED_ENCODING",
    "HtmlPolicy",
    "PageVariant",
    "Treatment",
    "consent_etag",
    "csp_nonce",
    "prepare_headers",
    "set_content_length",
    "strip_etag_suffix",
    "variant_etag",
]

logger = logging.getLogger("consent")

LOG_UNSUPPORTED_ENCODING = (
    "HTML with Content-Encoding %r passes through unrewritten: the app ignored the narrowed "
    "Accept-Encoding; let it compress with gzip, or compress after this middleware"
)

_NONCE = re.compile(r"'nonce-([A-Za-z0-9+/_=-]{1,128})'")
_ETAG_SUFFIX = re.compile(r'-c[0-9a-f]{10}"$')
#: Headers that describe the app's bytes and would be wrong for the rewritten body.
_STALE_AFTER_REWRITE = frozenset(
    {
        b"content-length",
        b"content-md5",
        b"digest",
        b"content-digest",
        b"repr-digest",
        b"accept-ranges",
    }
)
_WARNED_ENCODINGS_LIMIT = 16


class Treatment(enum.Enum):
    """What happens to one response."""

    UNTOUCHED = "untouched"  # not a page we rewrite
    HEADERS = "headers"  # an HTML answer without a body to see (HEAD): headers only
    REWRITE = "rewrite"  # an HTML body: rewritten as a stream


class HtmlPolicy:
    """Sorts response starts into a `Treatment`; one per middleware (it owns its warnings)."""

    def __init__(self) -> None:
        self._warned_encodings: set[str] = set()

    def treatment(
        self, headers: Sequence[tuple[bytes, bytes]], *, status: int, method: str
    ) -> tuple[Treatment, str]:
        """How to handle a response with ``headers`` (names in any case), and its coding."""
        if status < 200 or status in (204, 206, 304):
            return Treatment.UNTOUCHED, ""
        html = False
        coding = ""
        for raw_name, value in headers:
            name = raw_name.lower()
            if name == b"content-type":
                html = html or value.lstrip()[:9].lower() == b"text/html"
            elif name == b"content-encoding":
                coding = value.decode("latin-1").strip().lower()
            elif name == b"content-range" or (
                name == b"content-disposition" and value.lstrip()[:10].lower() == b"attachment"
            ):
                return Treatment.UNTOUCHED, ""
        if not html:
            return Treatment.UNTOUCHED, ""
        if coding not in DECODABLE:
            self._warn_encoding(coding)
            return Treatment.UNTOUCHED, ""
        if method == "HEAD":
            return Treatment.HEADERS, coding
        return Treatment.REWRITE, coding

    def _warn_encoding(self, coding: str) -> None:
        warned = self._warned_encodings
        if coding not in warned and len(warned) < _WARNED_ENCODINGS_LIMIT:
            warned.add(coding)
            logger.warning(LOG_UNSUPPORTED_ENCODING, coding)


class PageVariant(Protocol):
    """What a rewritten page depends on (`consent.pages.PagePlan`)."""

    @property
    def vary(self) -> Sequence[str]:
        """The request headers the rewritten page depends on."""

    @property
    def variant(self) -> str:
        """The consent variant the rewritten body is specific to (asked for an ETag only)."""


def prepare_headers(headers: HeaderList, page: PageVariant) -> None:
    """Headers of a rewritten page (names in lowercase), changed in place.

    ``Vary`` gains ``page.vary``; the ``ETag`` becomes specific to ``page.variant``;
    headers describing the app's own bytes (length, digests, ranges) go.
    """
    merge_vary(headers, page.vary)
    headers[:] = [(name, value) for name, value in headers if name not in _STALE_AFTER_REWRITE]
    for index, (name, value) in enumerate(headers):
        if name == b"etag":
            etag = consent_etag(value.decode("latin-1"), page.variant).encode("latin-1")
            headers[index] = (name, etag)


def set_content_length(headers: HeaderList, length: int) -> None:
    """Exactly one ``Content-Length`` header (names in lowercase)."""
    replace(headers, b"content-length", str(length).encode("ascii"))


def csp_nonce(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The nonce of the response's Content-Security-Policy, for our injected tags."""
    for name, value in headers:
        if name == b"content-security-policy":
            match = _NONCE.search(value.decode("latin-1"))
            if match:
                return match.group(1)
    return None


def consent_etag(etag: str, variant: str) -> str:
    """``etag`` made specific to one consent variant (the body differs per variant)."""
    token = _variant_token(variant)
    if etag.endswith('"'):
        return f'{etag[:-1]}-c{token}"'
    return etag


@functools.lru_cache(maxsize=256)
def _variant_token(variant: str) -> str:
    """A short hash of a variant: there are few (grant sets times languages), pages many."""
    return hashlib.sha256(variant.encode()).hexdigest()[:10]


def variant_etag(if_none_match: str, variant: str) -> str | None:
    """The first tag in ``if_none_match`` that we made for this very variant, or ``None``:
    the ETag a 304 must carry when the app's own 304 names none (RFC 9110, 15.4.5)."""
    token = consent_etag('"', variant)
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag.endswith(token):
            return tag
    return None


def strip_etag_suffix(if_none_match: str, variant: str) -> str:
    """An ``If-None-Match`` value as the host app knows it.

    Tags made for this very variant lose our suffix (so the app can answer 304);
    tags of another variant are dropped (the visitor's page must be rebuilt).
    """
    token = consent_etag('"', variant)
    kept = []
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if not _ETAG_SUFFIX.search(tag):
            kept.append(tag)
        elif tag.endswith(token):
            kept.append(tag[: -len(token)] + '"')
    return ", ".join(kept)
