"""Same-site links without ad click identifiers: a handler around another handler.

`LinkCleaner` asks the tokenizer for ``<a>`` and ``<area>`` besides what the handler it
wraps asks for, and rewrites their ``href`` (and SVG's ``xlink:href``) through
`consent.click_ids.clean_link`. Pages hold many links and few carry a query, which needs a
``?``, literal or as a character reference (`QUERY_STRINGS`): links without one are not
even stopped at (`Handler.sparse`: the tokenizer's search reads such a tag whole and moves
on, in C). A link that holds one is first checked for the bytes a click identifier needs
(its name, a percent-encoded letter or ``_``, a character reference that may spell one, a
tab or newline: the URL parser drops them, joining a name); only then is it parsed.

Link decisions depend on the page's host, so none is kept in the shared decision cache.
"""

from __future__ import annotations

import html
import re
from functools import cache
from html.entities import html5

from consent.click_ids import NAME_HINT, clean_link
from consent.html.lexer import Inert, SparseTags, parse_attrs
from consent.html.tokenizer import Handler

__all__ = ["LINK_ELEMENTS", "LinkCleaner", "unescape_attribute"]

LINK_ELEMENTS = frozenset({b"a", b"area"})
#: What a link's tag holds when it carries a query: a "?", or a character reference that may
#: be one (``&#63;``, ``&#x3F;``, ``&quest;``; no other reference spells it).
QUERY_STRINGS = (b"?", b"&#", b"&quest;")
_LINK_ATTRS = (b"href", b"xlink:href")
#: Named character references that spell a letter, "_" or "%" (``&lowbar;``, ``&percnt;``...).
_SPELLING_REFS = sorted(
    name
    for name, text in html5.items()
    if name.endswith(";") and any(c.isascii() and (c.isalpha() or c in "_%") for c in text)
)
_HINT = re.compile(
    NAME_HINT.encode("ascii")
    + rb"|%&"  # a percent-encoding whose digits are references
    + rb"|&(?:#(?!0*38;|[xX]0*26;)|"  # any numeric reference but "&"
    + b"|".join(re.escape(name.encode("ascii")) for name in _SPELLING_REFS)
    + rb")|[\t\n\r]"
)
# HTML's character references, as `html.unescape` finds them.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
#: What ends an unquoted value, or would open a quoted one (other bytes are as the page had
#: them: an unquoted value is never empty and knows no other special character).
_UNQUOTED_UNSAFE = re.compile(r"[\t\n\f\r \"'`]")


def unescape_attribute(value: str) -> str:
    """Resolve character references in an attribute value as a browser does.

    Unlike `html.unescape`, a legacy reference without ``;`` followed by ``=`` or a letter or
    digit stays as written (HTML's rule for attributes): ``?a=1&region=eu`` keeps
    ``&region``, which `html.unescape` turns into ``®ion``.
    """
    if "&" not in value:
        return value
    return _CHARREF.sub(_resolve, value)


def _resolve(match: re.Match[str]) -> str:
    ref = match.group(1)
    if ref[0] == "#":
        return _numeric_reference(ref)
    if ref in html5:
        return html.unescape(match.group())
    for end in range(len(ref) - 1, 1, -1):  # the longest legacy name, as html.unescape
        if ref[:end] in html5:
            after = ref[end]
            if after == "=" or (after.isascii() and after.isalnum()):
                return match.group()
            return html5[ref[:end]] + ref[end:]
    return match.group()


def _numeric_reference(ref: str) -> str:
    """``#38``, ``#x26;`` as HTML reads them: unlike `html.unescape`, control characters
    and noncharacters are kept (a parse error, not a deletion); NUL, surrogates and numbers
    past Unicode are U+FFFD, and 0x80-0x9F are read as windows-1252 where it has a letter."""
    digits = ref[1:].rstrip(";")
    number = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits)
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return "\ufffd"
    if 0x80 <= number <= 0x9F:
        try:
            return bytes([number]).decode("cp1252")
        except UnicodeDecodeError:
            return chr(number)  # (0x81, 0x8D, 0x8F, 0x90, 0x9D: no letter there)
    return chr(number)


def _attribute_value(value: str, quote: bytes) -> bytes:
    """``value`` written back for an attribute quoted with ``quote`` (b"" when unquoted).

    Lone surrogates stand for the page's own non-ASCII bytes (see `LinkCleaner`): they go
    back as those bytes; other non-ASCII characters came from references and go back as
    references.
    """
    # "<" and ">" too: a tag guarded against another reading of the page (see
    # `consent.html.tokenizer`) has them escaped, and must keep them so.
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote == b'"':
        text = text.replace('"', "&quot;")
    elif quote == b"'":
        text = text.replace("'", "&#39;")
    elif text:
        text = _UNQUOTED_UNSAFE.sub(lambda m: f"&#{ord(m.group())};", text)
    else:
        quote = b'"'  # an unquoted value cannot be empty
    if not text.isascii():
        text = "".join(
            c if c < "\x80" or "\udc80" <= c <= "\udcff" else f"&#{ord(c)};" for c in text
        )
    return quote + text.encode("ascii", "surrogateescape") + quote


@cache
def _without_queries(inert: Inert | None) -> Inert | None:
    """``inert`` for a link cleaner: a link is cleaned only when it holds a "?" or "&"."""
    return None if inert is None else Inert(inert.without + b"?&", inert.never)


@cache
def _with_links(names: frozenset[bytes], sparse: SparseTags) -> tuple[frozenset[bytes], SparseTags]:
    """A link cleaner's ``names`` and ``sparse`` over its inner handler's: the same sets for
    every response (the tokenizer's patterns are cached by them). Links without a query
    pass unseen: the tokenizer does not stop at them."""
    links = LINK_ELEMENTS - names
    return names | LINK_ELEMENTS, sparse | {(name, QUERY_STRINGS) for name in links}


class LinkCleaner:
    """A `consent.html.tokenizer.Handler` that cleans links, then defers to ``inner``."""

    __slots__ = ("_host", "_inner", "_inner_names", "decided", "inert", "names", "sparse")

    def __init__(self, inner: Handler, page_host: str) -> None:
        self._inner = inner
        self._inner_names = inner.names
        self._host = page_host
        self.names, self.sparse = _with_links(inner.names, inner.sparse)
        self.decided = inner.decided
        self.inert = _without_queries(inner.inert)

    @property
    def blocks_nothing(self) -> bool:
        """Never: a link hidden from our reading of the page must not keep its click id."""
        return False

    def start_tag(self, name: bytes, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        if name not in LINK_ELEMENTS:
            return self._inner.start_tag(name, tag, body, foreign=foreign)
        cleaned = None
        if (b"?" in tag or b"&" in tag) and _HINT.search(tag, body) is not None:
            cleaned = self._clean(tag, body)
        if name not in self._inner_names:
            return cleaned
        judged = self._inner.start_tag(name, cleaned or tag, body, foreign=foreign)
        return cleaned if judged is None else judged

    def _clean(self, tag: bytes, body: int) -> bytes | None:
        """The tag with click identifiers gone from its links, or None if it has none."""
        attrs = parse_attrs(tag, body, len(tag) - 1)
        spans: list[tuple[int, int, bytes]] = []
        for attr_name in _LINK_ATTRS:
            attr = attrs.get(attr_name)
            if attr is None or attr.value_start < 0:
                continue
            # Non-ASCII bytes as lone surrogates: the page's encoding is not ours to know, and
            # they must come back as they were.
            href = unescape_attribute(attr.raw.decode("ascii", "surrogateescape"))
            cleaned = clean_link(href, self._host)
            if cleaned is None:
                continue
            quote = tag[attr.value_start : attr.value_start + 1]
            quote = quote if quote in (b'"', b"'") else b""
            spans.append((attr.value_start, attr.end, _attribute_value(cleaned, quote)))
        if not spans:
            return None
        pieces: list[bytes] = []
        pos = 0
        for start, end, text in sorted(spans):
            pieces += (tag[pos:start], text)
            pos = end
        pieces.append(tag[pos:])
        return b"".join(pieces)

    def script(self, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        return self._inner.script(tag, body, foreign=foreign)

    def script_text(self, tag: bytes, text: bytes, *, foreign: bool, exact: bool = True) -> bytes:
        return self._inner.script_text(tag, text, foreign=foreign, exact=exact)

    def long_tag(self, name: bytes, head: bytes, *, foreign: bool) -> bytes:
        """A link too long to hold streams past as it is (its href is not here yet)."""
        if name in LINK_ELEMENTS and name not in self._inner_names:
            return head
        return self._inner.long_tag(name, head, foreign=foreign)

    def remember(self, key: bytes, done: bytes | None) -> None:
        self._inner.remember(key, done)

    def recall(self, key: bytes) -> bytes | None:
        return self._inner.recall(key)
