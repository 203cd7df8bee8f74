"""Bounded streaming decode and re-encode of ``gzip``/``deflate`` response bodies.

An HTML body the app compressed must be decoded to be rewritten. A small body
can inflate enormously (a 1 MB gzip bomb holds 1 GB of zeros), so decoding never
produces more than ``slice_size`` bytes at a time: the caller rewrites and
re-encodes each slice before asking for the next, and memory stays bounded
whatever the ratio. A gzip body may hold several members (``cat a.gz b.gz``):
every member is decoded, so nothing after the first one slips through unread.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Iterator

__all__ = ["DECODABLE", "BodyDecoder", "BodyEncoder", "CorruptBodyError"]

logger = logging.getLogger("consent")

#: Content codings we can decode (and so rewrite); ``""`` is no coding at all.
DECODABLE = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_GZIP_MAGIC = b"\x1f"  # first byte of a gzip member header


class CorruptBodyError(Exception):
    """The body does not decode: it is not the coding its header claims."""


class BodyDecoder:
    """Plain bytes of an encoded body, in slices of at most ``slice_size`` bytes."""

    def __init__(self, coding: str, *, slice_size: int) -> None:
        self.coding = coding
        self._slice = slice_size
        self._gzip = coding in ("gzip", "x-gzip")
        self._inflater: zlib._Decompress | None = None
        if self._gzip:
            self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._ignore_rest = False
        self._deflate_head = b""

    def decode(self, data: bytes) -> Iterable[bytes]:
        """Plain slices of one body chunk (raises `CorruptBodyError` on a corrupt body).

        A plain chunk no longer than a slice comes back as it is (the usual case: no
        generator to drive); anything else is produced lazily, slice by slice.
        """
        if not data or self._ignore_rest:
            return ()
        if self.coding == "deflate" and self._inflater is None:
            # Two bytes tell a zlib header from raw deflate; a 1-byte first chunk waits.
            data = self._deflate_head + data
            if len(data) < 2:
                self._deflate_head = data
                return ()
            self._inflater = zlib.decompressobj(_deflate_wbits(data))
        if self._inflater is None:
            if len(data) <= self._slice:
                return (data,)
            return (data[i : i + self._slice] for i in range(0, len(data), self._slice))
        return self._decoded(data)

    def _decoded(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._inflate(data)
        except zlib.error as exc:
            raise CorruptBodyError(f"{self.coding} body does not decode: {exc}") from None

    def finish(self) -> Iterable[bytes]:
        """Whatever the decoder still holds once the body has ended."""
        if self._inflater is None and not self._deflate_head:
            return ()
        return self._finished()

    def _finished(self) -> Iterator[bytes]:
        try:
            if self._deflate_head and self._inflater is None:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # 1 byte: no zlib header
                yield from self._inflate(self._deflate_head)
            if self._inflater is None or self._ignore_rest:
                return
            rest = self._inflater.flush()
        except zlib.error as exc:
            raise CorruptBodyError(f"{self.coding} body does not decode: {exc}") from None
        for start in range(0, len(rest), self._slice):
            yield rest[start : start + self._slice]

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            inflater = self._inflater
            if inflater is None:  # set by decode() before this runs
                return
            if inflater.eof:
                if not self._next_member(pending):
                    return
                continue
            out = inflater.decompress(pending, self._slice)
            if out:
                yield out
            if inflater.eof:
                pending = inflater.unused_data
                if not pending:
                    return
                continue
            pending = inflater.unconsumed_tail
            if not pending and len(out) < self._slice:
                return

    def _next_member(self, rest: bytes) -> bool:
        """After a member ended: start the next one in ``rest``; False when there is none."""
        if not rest:
            return False
        if self._gzip and rest[:1] == _GZIP_MAGIC:
            self._inflater = zlib.decompressobj(_GZIP_WBITS)
            return True
        # Padding or trailing bytes after the last member: gzip(1) ignores them, and so do we
        # (they are not markup any browser renders).
        if rest.strip(b"\x00"):
            logger.debug("%d trailing bytes after the %s stream ignored", len(rest), self.coding)
        self._ignore_rest = True
        return False


def _deflate_wbits(data: bytes) -> int:
    """``deflate`` should be zlib-wrapped (RFC 9110), but some servers send raw deflate."""
    wrapped = len(data) > 1 and (data[0] & 0x0F) == 8 and (data[0] * 256 + data[1]) % 31 == 0
    return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS


class BodyEncoder:
    """Re-encodes rewritten bytes in the coding the app used (nothing for identity)."""

    def __init__(self, coding: str) -> None:
        self._deflater: zlib._Compress | None = None
        self._unflushed = False  # bytes went in since the last flush
        if coding in ("gzip", "x-gzip"):
            self._deflater = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)
        elif coding == "deflate":
            self._deflater = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS)

    def encode(self, data: bytes) -> bytes:
        """Encoded bytes for ``data`` (may be empty: the encoder buffers)."""
        if self._deflater is None or not data:
            return data
        self._unflushed = True
        return self._deflater.compress(data)

    def flush(self, *, final: bool) -> bytes:
        """Everything buffered: ``final`` ends the stream, else a sync flush for streaming."""
        if self._deflater is None or not (final or self._unflushed):
            return b""
        self._unflushed = False
        return self._deflater.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
