"""Bounded streaming decode/encode of compressed bodies: every member, never too much at once."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.body_codec import BodyDecoder, BodyEncoder, CorruptBodyError

SLICE = 1024


def decode_all(coding: str, chunks: list[bytes], slice_size: int = SLICE) -> list[bytes]:
    decoder = BodyDecoder(coding, slice_size=slice_size)
    pieces: list[bytes] = []
    for chunk in chunks:
        pieces.extend(decoder.decode(chunk))
    pieces.extend(decoder.finish())
    return pieces


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("identity", lambda data: data),
        ("", lambda data: data),
    ],
)
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_every_coding_round_trips_in_bounded_slices(
    coding: str, encode: object, chunk: int
) -> None:
    plain = b"".join(b"<p>line %d</p>\n" % i for i in range(3000))
    pieces = decode_all(coding, split(encode(plain), chunk))  # type: ignore[operator]
    assert b"".join(pieces) == plain
    assert max(len(p) for p in pieces) <= SLICE


def test_every_gzip_member_is_decoded() -> None:
    first = gzip.compress(b"<p>harmless</p>")
    second = gzip.compress(b'<script src="https://connect.facebook.net/x.js"></script>')
    body = first + second
    for chunk in (1, 3, len(first), len(first) + 1, len(body)):
        assert b"".join(decode_all("gzip", split(body, chunk))) == (
            b'<p>harmless</p><script src="https://connect.facebook.net/x.js"></script>'
        )


def test_padding_after_the_last_member_is_ignored() -> None:
    body = gzip.compress(b"<p>a</p>") + b"\x00" * 64
    assert b"".join(decode_all("gzip", [body])) == b"<p>a</p>"


def test_a_bomb_never_yields_more_than_a_slice() -> None:
    bomb = gzip.compress(b"\x00" * (64 << 20), compresslevel=9)  # 64 MB in ~64 KB
    decoder = BodyDecoder("gzip", slice_size=256 * 1024)
    total = 0
    largest = 0
    for piece in decoder.decode(bomb):
        total += len(piece)
        largest = max(largest, len(piece))
    assert total == 64 << 20
    assert largest <= 256 * 1024


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_corrupt_body_raises_a_clear_error(coding: str) -> None:
    good = gzip.compress(b"<p>x</p>" * 100) if coding == "gzip" else zlib.compress(b"<p>x</p>")
    corrupt = good[:12] + bytes(b ^ 0xFF for b in good[12:40]) + good[40:]
    with pytest.raises(CorruptBodyError, match=coding):
        decode_all(coding, [corrupt])


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    cuts=st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=8),
)
def test_members_and_chunking_never_change_the_plain_bytes(
    members: list[bytes], cuts: list[int]
) -> None:
    body = b"".join(gzip.compress(m) for m in members)
    chunks: list[bytes] = []
    position = 0
    for index in range(10_000):
        if position >= len(body):
            break
        size = cuts[index % len(cuts)]
        chunks.append(body[position : position + size])
        position += size
    assert b"".join(decode_all("gzip", chunks, slice_size=97)) == b"".join(members)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "identity"])
def test_encoder_streams_and_finishes(coding: str) -> None:
    encoder = BodyEncoder(coding)
    parts = [encoder.encode(b"<p>one</p>"), encoder.flush(final=False)]
    parts += [encoder.encode(b"<p>two</p>"), encoder.flush(final=True)]
    assert b"".join(decode_all(coding, [b"".join(parts)])) == b"<p>one</p><p>two</p>"
    if coding != "identity":
        assert parts[1]  # a sync flush hands the first part to the browser at once
        assert encoder.flush(final=False) == b""  # nothing new: no empty flush blocks
