"""Where our markup goes into a page: right after ``<head>`` (after the page's encoding
declaration) and right after ``<body>``, unless a rewriter has put it there already.

Stateless questions about the bytes after an injection point; `consent.html.tokenizer`
asks them when it meets ``<head>`` or ``<body>`` and knows nothing of foreign content or
another reading there (it skips the encoding declaration only in plain HTML).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consent.html import lexer
from consent.html.lexer import COMMENT_FULL, L_NAME, LONG_STEPS, SPACES, parse_attrs, tag_end

__all__ = ["CHARSET_REACH", "WHITESPACE_LIMIT", "PageInjection", "charset_end", "ours_next"]

#: Browsers look for an encoding declaration in the first 1,024 bytes of a page.
CHARSET_REACH = 1024
#: How much whitespace after ``<head>``/``<body>`` is looked past for markup of ours.
WHITESPACE_LIMIT = 64 * 1024

_META = re.compile(rb"<(?i:meta)(?=[\t\n\f\r />])")
#: The usual first element after ``<head>``/``<body>``, read to its ">" exactly as the
#: tokenizer reads it, or not at all (group 1: its attributes). A value follows "=" right
#: after an attribute name ("=" anywhere else is part of a name): quoted, or unquoted up to
#: whitespace or ">". Anything else (a stray quote, spaces before "=") stops the match, and
#: the exact reading takes over.
_SIMPLE_FIRST = re.compile(
    rb"[\t\n\f\r ]*<" + lexer.TAG_NAME + rb"([^>\"'=]*(?:(?<=[^\t\n\f\r /\"'=])="
    rb"(?:[\t\n\f\r ]*(?:\"[^\"]*\"|'[^']*')|[^\t\n\f\r >\"'=]+(?=[\t\n\f\r >]))"
    rb"[^>\"'=]*)*)>"
)
#: Where an attribute named "id" may begin: a name starts after whitespace, "/" or a value's
#: closing quote and ends at whitespace, "/", "=" or ">" (so ``width=`` is none). The letters
#: come first, so ``re`` looks for them alone and checks the byte before only there.
_ID_ATTRIBUTE = re.compile(rb"[iI][dD](?<![^\t\n\f\r /\"'][iI][dD])(?![^\t\n\f\r /=>])")
#: The usual encoding declaration right after ``<head>``: ``<meta charset=...>`` holding
#: nothing else (what `charset_end` finds there tag by tag, in one match).
_CHARSET_FIRST = re.compile(
    rb"[\t\n\f\r ]*<(?i:meta)[\t\n\f\r /]+(?i:charset)[\t\n\f\r ]*=[\t\n\f\r ]*"
    rb"(?:\"[^\"]*\"|'[^']*'|[^\t\n\f\r >\"'][^\t\n\f\r >]*)[\t\n\f\r /]*>"
)


@dataclass(frozen=True, slots=True)
class PageInjection:
    """Markup inserted into full documents (never into fragments)."""

    # first thing inside <head> (after a <meta charset> that opens it): Consent Mode must
    # run before any Google tag
    head: bytes = b""
    body: bytes = b""  # right after the <body ...> start tag: the banner, in the first paint


def charset_end(buf: bytes, pos: int, final: bool) -> int | None:
    """Where the head injection goes: right after ``<meta charset>`` (or its
    ``http-equiv="content-type"`` form) when only whitespace, comments and other ``<meta>``
    tags without ``http-equiv`` come before it from ``pos``; else ``pos``. None: more input
    is needed to tell.

    Without a charset in the Content-Type header, browsers take the encoding from a
    declaration in the first 1,024 bytes (`CHARSET_REACH`) and guess otherwise: our head
    tags (a kilobyte or more) in front of ``<meta charset>`` could push it out. Nothing
    skipped can run a script, set a base URL or a policy, so Consent Mode still comes first.
    No ``<meta charset>`` of our own: the injection is ASCII and the response's encoding is
    not ours to declare (a page declaring another one would then have two).
    """
    first = _CHARSET_FIRST.match(buf, pos)
    if first is not None and first.end() <= pos + CHARSET_REACH:
        return first.end()  # the usual page: one match
    return charset_end_exactly(buf, pos, final)


def charset_end_exactly(buf: bytes, pos: int, final: bool) -> int | None:
    """`charset_end`, tag by tag (what its one match must agree with)."""
    reach = pos + CHARSET_REACH  # a declaration past it is past byte 1,024 anyway
    size = len(buf)
    at = pos
    while True:
        at = lexer.match(SPACES, buf, at).end()
        if at >= reach or (at < size and buf[at] != 0x3C):  # "<"
            return pos
        if size - at < 6 and not final:  # "<meta" + a delimiter, or "<!--"
            return None
        if buf.startswith(b"<!--", at):
            comment = COMMENT_FULL.match(buf, at)
            if comment is None:  # unfinished
                return pos if final or size >= reach else None
            at = comment.end()
            continue
        if _META.match(buf, at) is None:
            return pos
        end = tag_end(buf, at + 5)
        if end < 0:  # unfinished
            return pos if final or size >= reach else None
        if end > reach:
            return pos
        declared = _declares_charset(buf, at, end)
        if declared is not None:
            return end if declared else pos  # (a policy, a refresh, ...: ours stay before it)
        at = end


def _declares_charset(buf: bytes, at: int, end: int) -> bool | None:
    """Whether the ``<meta>`` tag ``buf[at:end]`` declares the encoding; None when it says
    nothing (no ``charset``, no ``http-equiv``), False for another ``http-equiv``."""
    attrs = parse_attrs(buf, at + 5, end - 1)
    if b"charset" in attrs:
        return True
    equiv = attrs.get(b"http-equiv")
    if equiv is None:
        return None
    content = attrs.get(b"content")
    return (
        equiv.value.strip().lower() == "content-type"
        and content is not None
        and "charset" in content.value.lower()
    )


def ours_next(buf: bytes, pos: int, final: bool, tag_limit: int) -> bool | None:
    """Whether the next element from ``pos`` is ours (an ``id`` starting with
    ``consent-``: the page went through a rewriter already); None: more input is needed to
    tell. A start tag longer than ``tag_limit`` is not read."""
    simple = _SIMPLE_FIRST.match(buf, pos)
    if simple is not None and not _ID_ATTRIBUTE.search(buf, simple.start(1), simple.end()):
        return False  # (a <meta>, a <title>, a <div class="x">: no id at all, one search)
    return ours_next_exactly(buf, pos, final, tag_limit)


def ours_next_exactly(buf: bytes, pos: int, final: bool, tag_limit: int) -> bool | None:
    """`ours_next`, tag by tag (what its one match must agree with)."""
    size = len(buf)
    first = lexer.match(SPACES, buf, pos).end()
    if first - pos > WHITESPACE_LIMIT:
        return False  # too far to look: inject
    if first >= size:
        return None if not final else False
    if buf[first] != 0x3C:  # "<"
        return False
    if not buf[first + 1 : first + 2].isalpha():  # not a start tag
        return None if first + 1 == size and not final else False
    body = lexer.match(LONG_STEPS[L_NAME], buf, first + 1).end()
    end = tag_end(buf, body)
    if end < 0:
        return None if not final and size - first <= tag_limit else False
    # Most first elements have no "id" at all: skip parsing their attributes.
    if end - first > tag_limit or not _ID_ATTRIBUTE.search(buf, body, end):
        return False
    ident = parse_attrs(buf, body, end - 1).get(b"id")
    return ident is not None and ident.value.startswith("consent-")
