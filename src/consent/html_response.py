"""HTML responses: decide whether to rewrite, fix the headers, stream the body through.

Rules (SPEC section 5): only ``text/html`` responses outside ``exclude_paths``;
HEAD, 204, 304 and anything else pass untouched; gzip and deflate bodies are
decoded and re-encoded, other encodings pass with a one-time warning. The
start message is held back until the first body chunk tells whether the body
comes in one piece (then ``Content-Length`` is set) or streams (then it is
removed), as Starlette's GZip middleware does.
"""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import Message

from consent.rewriter import HtmlRewriter

__all__ = [
    "LOG_UNSUPPORTED_ENCODING",
    "BodyCodec",
    "consent_etag",
    "csp_nonce",
    "is_rewritable",
    "strip_etag_suffix",
]

logger = logging.getLogger("consent")

LOG_UNSUPPORTED_ENCODING = "HTML with Content-Encoding %r passes through unrewritten"
_warned_encodings: set[str] = set()

_NONCE = re.compile(r"'nonce-([A-Za-z0-9+/_=-]{1,128})'")
_ETAG_SUFFIX = re.compile(r'-c[0-9a-f]{10}"$')


def is_rewritable(message: Message, *, method: str) -> tuple[bool, str]:
    """Whether a response start belongs to an HTML body we rewrite, and its encoding."""
    if method == "HEAD" or message.get("status", 200) in (204, 304):
        return False, ""
    content_type = b""
    encoding = b""
    for name, value in message.get("headers", ()):
        lowered = name.lower()
        if lowered == b"content-type":
            content_type = value
        elif lowered == b"content-encoding":
            encoding = value
    if content_type[:9].lower() != b"text/html":
        return False, ""
    coding = encoding.decode("latin-1").strip().lower()
    if coding in ("", "identity", "gzip", "x-gzip", "deflate"):
        return True, coding
    if coding not in _warned_encodings and len(_warned_encodings) < 16:
        _warned_encodings.add(coding)
        logger.warning(LOG_UNSUPPORTED_ENCODING, coding)
    return False, ""


def csp_nonce(headers: MutableHeaders) -> str | None:
    """The nonce of the response's Content-Security-Policy, for our injected tags."""
    for policy in headers.getlist("content-security-policy"):
        match = _NONCE.search(policy)
        if match:
            return match.group(1)
    return None


def consent_etag(etag: str, variant: str) -> str:
    """``etag`` made specific to one consent variant (the body differs per variant)."""
    token = hashlib.sha256(variant.encode()).hexdigest()[:10]
    if etag.endswith('"'):
        return f'{etag[:-1]}-c{token}"'
    return etag


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


class BodyCodec:
    """Streaming decode/encode of a gzip or deflate body around the rewriter."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._decoder: zlib._Decompress | None = None
        self._encoder: zlib._Compress | None = None
        if coding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._encoder = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._encoder = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS)

    def decode(self, data: bytes) -> bytes:
        """Plain bytes of a body chunk (raises ``zlib.error`` on a corrupt body)."""
        if self.coding == "deflate" and self._decoder is None and data:
            # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
            wrapped = (
                (data[0] & 0x0F) == 8 and len(data) > 1 and (data[0] * 256 + data[1]) % 31 == 0
            )
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._decoder is None:
            return data
        return self._decoder.decompress(data)

    def encode(self, data: bytes, *, final: bool) -> bytes:
        """Encoded bytes of a rewritten chunk; ``final`` closes the stream."""
        if self._encoder is None:
            return data
        out = self._encoder.compress(data)
        if final:
            return out + self._encoder.flush(zlib.Z_FINISH)
        # Sync flush so every chunk reaches the browser at once (streaming stays streaming).
        return out + self._encoder.flush(zlib.Z_SYNC_FLUSH) if data else out


RewriterFactory = Callable[[str | None], HtmlRewriter]
