"""Streaming HTML rewriter: makes non-consented scripts, iframes and pixels inert.

Bytes in, bytes out, independent of ASGI. The rewriter follows the HTML tokenizer as far as it
matters for telling real tags from text: comments (with the ``<!-->`` oddities), bogus comments,
CDATA in SVG/MathML, attribute quoting, script data with its escaped and double-escaped states,
RAWTEXT/RCDATA elements, ``<plaintext>``, and SVG/MathML with their breakout tags and HTML
integration points. ``<noscript>`` content is treated as markup: a browser without JavaScript
parses it that way, so pixels and iframes in it are blocked too.

Speed comes from not visiting ordinary tags at all. A search pattern (run in C) jumps to the next
candidate: ``<script``, ``<iframe``, ``<img``, an element that switches the tokenizer's state,
``<!``, ``<?``, and ``<head>``/``<body>`` until the injection is done. A candidate is proven to
be markup with two ``rfind`` calls (see `_in_quoted_value`); only when that proof fails, because
a quoted attribute value may contain ``>``, is the stretch tokenized exactly, tag by tag, by one
precise pattern (`_master`). Start tags already decided for the same grants, and inline
scripts with the same text, are reused from a per-process cache; unchanged stretches of the
page go out as views of the input, so the output is copied once.

Output never depends on how the input is split into chunks. Memory stays bounded: the rewriter
holds back only an unfinished construct at the end of a chunk, with these limits:

* a tag longer than ``TAG_LIMIT`` bytes is passed through unchanged (never rewritten), whether it
  arrives whole or in pieces; the tokenizer state it implies (script, RAWTEXT, ...) still applies;
* an inline script's text is buffered up to ``SCRIPT_LIMIT`` bytes to decide whether it names a
  tracker host; a longer script is decided on its first ``SCRIPT_LIMIT`` bytes, then streamed;
* at most ``WHITESPACE_LIMIT`` bytes of whitespace after ``<head>``/``<body>`` are held while
  checking whether the page already carries our injection.

Idempotent: rewriting the output again with the same grants yields the same bytes. Pages that
already carry the injection (the first element after ``<head>``/``<body>`` has an ``id`` starting
with ``consent-``) are not injected again.
"""

from __future__ import annotations

import html
import re
import sys
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from consent.blocking import BlockingRules

__all__ = ["SCRIPT_LIMIT", "TAG_LIMIT", "WHITESPACE_LIMIT", "HtmlRewriter", "PageInjection"]

TAG_LIMIT = 64 * 1024
SCRIPT_LIMIT = 256 * 1024
WHITESPACE_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class PageInjection:
    """Markup inserted into full documents (never into fragments)."""

    head: bytes = b""  # first thing inside <head>: Consent Mode must run before any Google tag
    body: bytes = b""  # right after the <body ...> start tag: the banner, in the first paint


# --- Regular expressions -----------------------------------------------------------------------


def _tag_body(possessive: bool) -> bytes:
    """The inside of a tag after its name, as the tokenizer's attribute states read it.

    A quote opens a value only right after ``=``; an ``=`` that starts a name belongs to the
    name. Every input has exactly one way to match (possessive quantifiers, or lookaheads that
    pin each greedy run before Python 3.11), so an unfinished tag at the end of a chunk fails in
    linear time instead of backtracking exponentially.
    """
    if possessive:
        return (
            rb"(?:[\t\n\f\r /]++"
            rb"|[^\t\n\f\r />][^\t\n\f\r />=]*+"
            rb"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
            rb"(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+|(?=>))"
            rb"|(?![\t\n\f\r ]*=)))*+"
        )
    return (
        rb"(?:[\t\n\f\r /]+(?![\t\n\f\r /])"
        rb"|[^\t\n\f\r />][^\t\n\f\r />=]*(?![^\t\n\f\r />=])"
        rb"(?:[\t\n\f\r ]*=[\t\n\f\r ]*"
        rb"(?:\"[^\"]*\"|'[^']*'|[^\t\n\f\r >\"'][^\t\n\f\r >]*(?![^\t\n\f\r >])|(?=>))"
        rb"|(?![\t\n\f\r ]*=)))*"
    )


# Possessive quantifiers (Python 3.11+) make the same patterns faster.
_POSSESSIVE = sys.version_info >= (3, 11)
_TAG_BODY = _tag_body(_POSSESSIVE)
_PLUS = b"+" if _POSSESSIVE else b""
_NAME_END = rb"(?![^\t\n\f\r />])"
_TAG_NAME = rb"[A-Za-z][^\t\n\f\r />]*" + (b"+" if _POSSESSIVE else _NAME_END)

# Start tags that switch the tokenizer out of markup, or that we rewrite.
_RAW_ELEMENTS = frozenset(
    {b"style", b"xmp", b"iframe", b"noembed", b"noframes", b"textarea", b"title"}
)
_BASE_STARTS = frozenset(
    {b"script", b"img", b"image", b"plaintext", b"svg", b"math"} | _RAW_ELEMENTS
)
# Start tags that end SVG/MathML content ("breakout" tags of the tree builder).
_BREAKOUT = frozenset(
    b"b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img "
    b"li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul "
    b"var font".split()
)


def _alternation(names: Iterable[bytes]) -> bytes:
    return b"|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))


@cache
def _master(starts: frozenset[bytes], ends: frozenset[bytes], foreign: bool) -> re.Pattern[bytes]:
    """Skip text and uninteresting markup in one C-level match; stop at an interesting tag.

    Group ``skip`` ends where Python must look: at an interesting start (``s``) or end (``e``)
    tag, or at a construct that is unfinished in this chunk.
    """
    start_names = b"(?i:" + _alternation(starts) + b")" + _NAME_END
    skip_start = b"(?!" + start_names + b")" if starts else b""
    if ends:
        end_names = b"(?i:" + _alternation(ends) + b")" + _NAME_END
        skip_end = b"(?!" + end_names + b")"
    else:
        end_names = b"(?!)"  # keeps group "e" defined
        skip_end = b""
    end_tag = b"|/(?P<e>" + end_names + b")" + _TAG_BODY + b">"
    # In SVG/MathML a CDATA section runs to "]]>"; in HTML "<![CDATA[" is a bogus comment.
    cdata = rb"\[CDATA\[.*?\]\]>|(?!--|\[CDATA\[)" if foreign else rb"(?!--)"
    skip = (
        rb"[^<]*"
        + _PLUS
        + rb"(?:<(?:"
        + skip_start
        + _TAG_NAME
        + _TAG_BODY
        + rb">"
        + rb"|/(?:"
        + skip_end
        + _TAG_NAME
        + _TAG_BODY
        + rb">|>|(?![A-Za-z>])[^>]*>)"
        + rb"|!(?:--(?:-?>|.*?--!?>)|"
        + cdata
        + rb"[^>]*>)"
        + rb"|\?[^>]*>"
        + rb"|(?=[^A-Za-z!/?]))[^<]*"
        + _PLUS
        + rb")*"
        + _PLUS
    )
    interesting = rb"<(?:(?P<s>" + start_names + rb")(?P<b>" + _TAG_BODY + rb")>" + end_tag + rb")"
    return re.compile(rb"(?P<skip>" + skip + rb")(?:" + interesting + rb")?", re.S)


# SVG and MathML ("foreign content"): CDATA sections are real, <script> and <style> hold markup,
# breakout tags end it; inside an HTML integration point (<foreignObject>, <mi>, ...) the HTML
# rules apply again.
_FOREIGN_ROOTS = frozenset({b"svg", b"math"})
_INTEGRATION = {
    b"svg": frozenset({b"foreignobject", b"desc", b"title"}),
    b"math": frozenset({b"mi", b"mo", b"mn", b"ms", b"mtext", b"annotation-xml"}),
}
_INTEGRATION_NAMES = _INTEGRATION[b"svg"] | _INTEGRATION[b"math"]
_IP = b""  # namespace marker of an integration point: HTML inside
_FOREIGN_STARTS = _BASE_STARTS | _BREAKOUT | _INTEGRATION_NAMES
# End tags of HTML elements (not also SVG/MathML names) that close foreign content left open
# inside them, as in "<div><svg>...</div>"; "</p>" and "</br>" always do.
_HTML_ENDS = frozenset(
    b"p br div span li ul ol dl dt dd table tbody thead tfoot tr td th section article aside "
    b"header footer main nav figure figcaption button label form body html blockquote "
    b"em strong b i u small h1 h2 h3 h4 h5 h6 pre code details summary picture video audio "
    b"noscript select option".split()
)
_FOREIGN_ENDS = frozenset({b"svg", b"math", b"template"}) | _HTML_ENDS | _INTEGRATION_NAMES
_FOREIGN = _master(_FOREIGN_STARTS, _FOREIGN_ENDS, True)
# CDATA is still recognised right inside an integration point (an SVG/MathML element).
_INTEGRATION_POINT = _master(_FOREIGN_STARTS, _FOREIGN_ENDS, True)


def _caseless(names: Iterable[bytes]) -> bytes:
    """A case-insensitive alternation of ``names`` as a trie of ``[xX]`` classes.

    Faster in ``re`` than ``(?i:a|b|...)``: most ``<`` fail on their first letter.
    """
    tree: dict[int, dict[int, Any]] = {}
    for name in names:
        node = tree
        for char in name.lower():
            node = node.setdefault(char, {})
        node[-1] = {}

    def emit(node: dict[int, Any]) -> bytes:
        alternatives = []
        for char in sorted(k for k in node if k >= 0):
            letter = bytes([char])
            head = b"[" + letter + letter.upper() + b"]" if letter.isalpha() else re.escape(letter)
            alternatives.append(head + emit(node[char]))
        if not alternatives:
            return b""
        group = b"(?:" + b"|".join(alternatives) + b")"
        return group + b"?" if -1 in node else group

    return emit(tree)


@cache
def _fast(starts: frozenset[bytes], ends: frozenset[bytes]) -> re.Pattern[bytes]:
    """Find the next interesting construct by search alone, without tokenizing what lies between.

    Candidates: start tags named like one of ``starts``, interesting end tags, ``<!``, ``<?``,
    and ``</`` followed by a byte that is not a letter. A ``</`` at the very end of the buffer
    is no candidate: `HtmlRewriter._tail` holds it back like any unfinished tag (and at the end
    of the input it is text either way). `HtmlRewriter._run` proves a candidate is real markup;
    when it cannot, the exact pattern of `_master` takes over.

    ``re`` tries this at every ``<`` of the page, so the common ``<a``, ``</p>``, ``<p>`` and
    ``<span`` must fail in few steps: each branch starts with one byte or one class, which
    ``re`` checks without entering the branch (a lookahead or a group would be entered). So
    the first and second letters of a name are checked by classes and the rest by a trie of
    the remainders: a name such as ``<imdy`` gets through, and `HtmlRewriter._run` checks the
    name. The match has no groups (the byte after ``<`` tells the kind) and ends right after
    the name.
    """
    assert all(len(name) >= 2 for name in starts)
    delimiter = rb"(?=[\t\n\f\r />])"
    end = b"/(?:" + (_caseless(ends) + delimiter + b"|" if ends else b"") + b"[^A-Za-z])"

    def letters(index: int) -> bytes:
        found = {bytes([n[index]]) for n in starts}
        return b"[" + b"".join(re.escape(c) for c in sorted(found | {c.upper() for c in found}))

    start = letters(0) + b"]" + letters(1) + b"]" + _caseless({n[2:] for n in starts}) + delimiter
    return re.compile(b"<(?:" + start + b"|" + end + rb"|!|\?)")


_TAG_OPEN = re.compile(rb"</?[A-Za-z]")
_TAIL_OPEN = re.compile(rb"<(?:/?[A-Za-z]|/?\Z)")
_COMMENT_FULL = re.compile(rb"<!--(?:-?>|.*?--!?>)", re.S)
_BEFORE_QUOTE = frozenset(b"=\t\n\f\r ")  # a quote after anything else opens no value
_SPACE_CHARS = b"\t\n\f\r "
_NOT_START = frozenset(b"/!?")  # the byte after "<" of a candidate that is no start tag
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_PARK_FROM = 512  # a held tail this long is not scanned again until it can change


def _in_quoted_value(buf: bytes, sync: int, gt: int) -> bool:
    """Whether the ``>`` at ``gt`` may lie inside a quoted attribute value.

    If it does, the last quote of that kind before it opened the value, and an opening quote
    always follows ``=`` and optional whitespace. Checking that is cheap and never misses. (It
    runs for every candidate, twice: hence the unrolled form, and the whitespace case, which is
    rare, left to `_opens_value`.)
    """
    lo = sync + 1
    opener = buf.rfind(b'"', lo, gt)
    if opener >= 0 and buf[opener - 1] in _BEFORE_QUOTE and _opens_value(buf, sync, opener):
        return True
    opener = buf.rfind(b"'", lo, gt)
    return opener >= 0 and buf[opener - 1] in _BEFORE_QUOTE and _opens_value(buf, sync, opener)


def _opens_value(buf: bytes, sync: int, opener: int) -> bool:
    """Whether the quote at ``opener`` follows ``=`` (whitespace between, none before ``sync``)."""
    return buf[sync:opener].rstrip(_SPACE_CHARS)[-1:] == b"="


def _tag_end(buf: bytes, body: int) -> int:
    """End of the start tag whose attributes begin at ``body``; -1 if it is unfinished.

    Usually the first ``>``: `_in_quoted_value` proves cheaply that it ends the tag. Otherwise
    the tag is matched as the tokenizer reads it.
    """
    gt = buf.find(b">", body)
    if gt >= 0 and not _in_quoted_value(buf, body, gt):
        return gt + 1
    m = _TAG_REST.match(buf, body)
    return -1 if m is None else m.end()


# A complete tag, for the "is our injection already there?" check and long-tag detection.
_ANY_START = re.compile(rb"<(" + _TAG_NAME + rb")" + _TAG_BODY + rb">")
_ANY_END = re.compile(rb"</(" + _TAG_NAME + rb")" + _TAG_BODY + rb">")
_TAG_REST = re.compile(_TAG_BODY + rb">")
_ATTR = re.compile(
    rb"[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r />=]*)"
    rb"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(\"[^\"]*\"|'[^']*'|[^\t\n\f\r >\"'][^\t\n\f\r >]*)?)?"
)
_SPACES = re.compile(rb"[\t\n\f\r ]*")
_ID_NAME = re.compile(rb"[iI][dD]")  # can an attribute named "id" be in here?
_COMMENT_END = re.compile(rb"--!?>")
_CDATA_END = re.compile(rb"\]\]>")
# Script data: "<!--" enters the escaped state (unless closed at once: "<!-->", "<!--->").
_SCRIPT_DATA = re.compile(rb"<!--(-*)(>)?|</(?i:script)[\t\n\f\r />]")
_SCRIPT_ESCAPED = re.compile(rb"-->|</(?i:script)[\t\n\f\r />]|<(?i:script)[\t\n\f\r />]")
_SCRIPT_DOUBLE = re.compile(rb"-->|</(?i:script)[\t\n\f\r />]")
_SCRIPT_HOLD = len(b"</script>")


# The end tag of each RAWTEXT/RCDATA element.
_RAW_ENDS = {
    name: re.compile(rb"</(?i:" + re.escape(name) + rb")[\t\n\f\r />]") for name in _RAW_ELEMENTS
}

# What the fast path does with a start tag, by name (`HtmlRewriter._scan`).
_KIND_ORDINARY, _KIND_IMG, _KIND_SCRIPT, _KIND_IFRAME, _KIND_RAW, _KIND_OTHER = range(6)
# How `HtmlRewriter._scan` returns.
_SCAN_RESUME, _SCAN_HOLD, _SCAN_EXACT, _SCAN_TAG = range(4)


def _kinds(starts: frozenset[bytes]) -> dict[bytes, int]:
    special = {b"img": _KIND_IMG, b"script": _KIND_SCRIPT, b"iframe": _KIND_IFRAME}
    return {
        name: special.get(name, _KIND_RAW if name in _RAW_ELEMENTS else _KIND_OTHER)
        for name in starts
    }


# Tokenizer states of the rewriter.
_DATA, _SCRIPT, _RAWTEXT, _PLAINTEXT, _COMMENT, _BOGUS, _CDATA, _LONG_TAG = range(8)
# Script data sub-states.
_ESC_NONE, _ESC_SINGLE, _ESC_DOUBLE = range(3)
# Injection progress.
_PENDING_NONE, _PENDING_HEAD, _PENDING_BODY = range(3)

# JavaScript MIME types (HTML standard) plus "module": other script types are data, never run.
_JS_TYPES = frozenset(
    {
        "",
        "module",
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
    }
)
_HTML_SPACE = "\t\n\f\r "
# Where a pre-blocked script keeps its URL: ours, Cookiebot's, vanilla-cookieconsent's.
_SCRIPT_SAVED_SRC = (b"data-consent-src", b"data-cookieblock-src", b"data-src")
_KEY_SPLIT = re.compile(r"[\s,;]+")
_IGNORE = "ignore"


class _Attr:
    """One attribute of a tag; spans index the tag's buffer, the value is decoded on demand."""

    __slots__ = ("_match", "_value")

    def __init__(self, match: re.Match[bytes]) -> None:
        self._match = match
        self._value: str | None = None

    @property
    def start(self) -> int:  # including the separators before the name
        return self._match.start()

    @property
    def name_start(self) -> int:
        return self._match.start(1)

    @property
    def name_end(self) -> int:
        return self._match.end(1)

    @property
    def end(self) -> int:
        return self._match.end()

    @property
    def raw(self) -> bytes:
        """The value as written, without its quotes (character references left alone)."""
        raw = self._match.group(2) or b""
        return raw[1:-1] if raw[:1] in (b'"', b"'") else raw

    @property
    def value(self) -> str:
        """The value with quotes removed and character references resolved."""
        if self._value is None:
            raw = self._match.group(2) or b""
            if raw[:1] in (b'"', b"'"):
                raw = raw[1:-1]
            value = raw.decode("latin-1")
            self._value = html.unescape(value) if "&" in value else value
        return self._value


def _match(pattern: re.Pattern[bytes], data: bytes, pos: int) -> re.Match[bytes]:
    """Match a pattern that cannot fail (every part is optional)."""
    m = pattern.match(data, pos)
    assert m is not None
    return m


def _parse_attrs(data: bytes, start: int, end: int) -> dict[bytes, _Attr]:
    """Attributes of a tag between its name and ``>``; the first of duplicates wins."""
    attrs: dict[bytes, _Attr] = {}
    for m in _ATTR.finditer(data, start, end):
        name = m.group(1).lower()
        if name not in attrs:
            attrs[name] = _Attr(m)
    return attrs


def _quote(value: str) -> bytes:
    """Our own attribute value, double-quoted and escaped, safe in any ASCII-compatible charset."""
    return b'"' + html.escape(value, quote=True).encode("ascii", "xmlcharrefreplace") + b'"'


def _requote(raw: bytes) -> bytes:
    """A value copied from the page, byte for byte, double-quoted."""
    return b'"' + raw.replace(b'"', b"&quot;") + b'"'


def _is_self_closing(data: bytes, body: int, gt: int) -> bool:
    """Whether a start tag ends in ``/>`` (and the slash is not part of an unquoted value)."""
    if data[gt - 1 : gt] != b"/":
        return False
    last = None
    for last in _ATTR.finditer(data, body, gt):  # noqa: B007 - only the last one matters
        pass
    return last is None or last.end() != gt or (last.group(2) or b'"')[:1] in (b'"', b"'")


class _Edits:
    """Replacements within one tag, applied in order of position."""

    __slots__ = ("data", "insert_at", "inserts", "spans")

    def __init__(self, data: bytes, insert_at: int) -> None:
        self.data = data
        self.insert_at = insert_at
        self.inserts: list[bytes] = []
        self.spans: list[tuple[int, int, bytes]] = []

    def add(self, name: str, value: str | bytes) -> None:
        """Insert an attribute after the tag name; bytes are copied from the page as they are."""
        quoted = _requote(value) if isinstance(value, bytes) else _quote(value)
        self.inserts.append(b" " + name.encode("ascii") + b"=" + quoted)

    def rename(self, attr: _Attr, name: bytes) -> None:
        self.spans.append((attr.name_start, attr.name_end, name))

    def replace(self, attr: _Attr, name: str, value: str | bytes) -> None:
        quoted = _requote(value) if isinstance(value, bytes) else _quote(value)
        self.spans.append((attr.name_start, attr.end, name.encode("ascii") + b"=" + quoted))

    def remove(self, attr: _Attr) -> None:
        follower = self.data[attr.end : attr.end + 1]
        keep = b"" if not follower or follower in b"\t\n\f\r />" else b" "
        self.spans.append((attr.start, attr.end, keep))

    def __bool__(self) -> bool:
        return bool(self.inserts or self.spans)

    def apply(self, start: int, end: int) -> bytes:
        """The tag ``data[start:end]`` with the edits applied."""
        spans = sorted(self.spans)
        if self.inserts:
            spans.append((self.insert_at, self.insert_at, b"".join(self.inserts)))
            spans.sort(key=lambda s: (s[0], s[1]))
        pieces: list[bytes] = []
        pos = start
        for a, b, text in spans:
            pieces.append(self.data[pos:a])
            pieces.append(text)
            pos = b
        pieces.append(self.data[pos:end])
        return b"".join(pieces)


# Rewritten start tags per (rules, granted set), shared by the rewriters of all requests: the
# same templates are served again and again, so most tags are decided once per process.
# Keys: a start tag; an inline script's start tag and text (a key never a single tag can be);
# "\0" + category + "\0" + start tag for a script decided by the category its text names.
# Values: the tag's kind (`_kinds`) and its replacement (None: unchanged).
# Bounded: longer keys than _CACHE_TAG (_CACHE_SCRIPT for a script with its text) are not
# kept, and a full table is simply cleared.
_CACHE_SIZE = 512
_CACHE_TAG = 512
_CACHE_SCRIPT = 2048
_Decided = dict[bytes, tuple[int, bytes | None]]
_CACHES: weakref.WeakKeyDictionary[BlockingRules, dict[frozenset[str], _Decided]]
_CACHES = weakref.WeakKeyDictionary()
_NEEDS_TEXT = b"\0needs text"  # replacement of an inline script decided by its text


def _tag_cache(rules: BlockingRules, granted: frozenset[str]) -> _Decided:
    per_rules = _CACHES.get(rules)
    if per_rules is None:
        per_rules = _CACHES[rules] = {}
    cache = per_rules.get(granted)
    if cache is None:
        if len(per_rules) >= 16:  # one table per combination of granted categories
            per_rules.clear()
        cache = per_rules[granted] = {}
    return cache


class _HeldScript:
    """An inline script's start tag, held back until its text tells us its category."""

    __slots__ = ("content", "tag")

    def __init__(self, tag: bytes) -> None:
        self.tag = tag
        self.content = bytearray()


# Sub-states of the long-tag lexer: the tokenizer's tag states, stepped run by run.
_L_NAME, _L_BEFORE, _L_ATTR, _L_AFTER, _L_VALUE, _L_DQ, _L_SQ, _L_UNQ = range(8)
_LONG_STEPS: dict[int, re.Pattern[bytes]] = {
    _L_NAME: re.compile(rb"[^\t\n\f\r />]*"),  # tag name
    _L_BEFORE: re.compile(rb"[\t\n\f\r /]*"),  # before an attribute name
    _L_ATTR: re.compile(rb"[^\t\n\f\r />=]*"),  # attribute name
    _L_AFTER: re.compile(rb"[\t\n\f\r ]*"),  # after an attribute name
    _L_VALUE: re.compile(rb"[\t\n\f\r ]*"),  # before an attribute value
    _L_DQ: re.compile(rb'[^"]*'),
    _L_SQ: re.compile(rb"[^']*"),
    _L_UNQ: re.compile(rb"[^\t\n\f\r >]*"),
}


class HtmlRewriter:
    """Rewrite one HTML response body for one visitor's consent, chunk by chunk.

    ``granted`` holds the category keys the visitor allows (required categories are added).
    ``placeholder(key)`` returns a full HTML document shown in a blocked iframe (``srcdoc``).
    """

    #: Find candidates by search and prove them, rather than tokenizing every tag. Both give
    #: the same output; the switch exists so tests can compare them.
    fast_path = True

    def __init__(
        self,
        rules: BlockingRules,
        granted: Iterable[str],
        *,
        injection: PageInjection | None = None,
        placeholder: Callable[[str], str] | None = None,
    ) -> None:
        self._rules = rules
        self._granted = frozenset(granted) | rules.required
        self._cache = _tag_cache(rules, self._granted)
        self._injection = injection
        self._placeholder = placeholder
        self._placeholders: dict[str, str] = {}
        self._buf = b""
        self._parked: list[bytes] | None = None  # chunks waiting for the ">" of a held tag
        self._parked_size = 0
        self._parked_tag = True  # parked for a ">" (or for a non-space byte)
        self._closed = False
        self._state = _DATA
        # Open <svg>/<math> elements and integration points in them: (tag name, namespace).
        self._fstack: list[tuple[bytes, bytes]] = []
        self._template = 0
        self._escape = _ESC_NONE
        self._raw_name = b""
        self._held: _HeldScript | None = None
        self._long_state = _L_NAME
        self._long_name = b""
        self._long_end_tag = False
        self._long_slash = False
        active = injection is not None and bool(injection.head or injection.body)
        self._want_head = active  # still looking for <head>
        self._want_body = active  # still looking for <body>
        self._pending = _PENDING_NONE
        self._head_placed = False  # head injection emitted (or found already there)
        self._injected = False
        # Start tags of interest (by kind), candidate search and exact pattern for this state;
        # `_choose_pattern` replaces them as the state changes.
        self._kinds, self._fast, self._pattern = _html_patterns(False, active, active)

    @property
    def injected(self) -> bool:
        """Whether the body injection (the banner) was inserted by this rewriter."""
        return self._injected

    def feed(self, chunk: bytes) -> bytes:
        """Rewrite ``chunk``; return what is ready (an unfinished construct is held back)."""
        if self._closed:
            raise RuntimeError("HtmlRewriter.feed() after close()")
        if not chunk:
            return b""
        if self._parked is not None:
            # Nothing can change until the held construct can end: a ">" for an unfinished
            # tag, anything but whitespace after <head>/<body>. Park the chunk instead of
            # scanning the held bytes again, which keeps tiny chunks linear.
            self._parked.append(bytes(chunk))
            self._parked_size += len(chunk)
            wakes = b">" in chunk if self._parked_tag else bool(chunk.strip(_SPACE_CHARS))
            if not wakes and self._parked_size <= TAG_LIMIT:
                return b""
            buf = b"".join(self._parked)
            self._parked = None
        else:
            buf = self._buf + chunk if self._buf else bytes(chunk)
        out, keep = self._run(buf, final=False)
        held = self._buf = buf[keep:]
        if len(held) >= _PARK_FROM and self._state == _DATA:
            if _TAG_OPEN.match(held):
                self._parked, self._parked_size, self._parked_tag = [held], len(held), True
            elif self._pending and not held.strip(_SPACE_CHARS):
                self._parked, self._parked_size, self._parked_tag = [held], len(held), False
        return b"".join(out)

    def close(self) -> bytes:
        """Flush everything held back; the rewriter cannot be fed afterwards."""
        if self._closed:
            return b""
        self._closed = True
        buf, self._buf = self._buf, b""
        if self._parked is not None:
            buf, self._parked = b"".join(self._parked), None
        if not buf and not self._pending and self._held is None:
            return b""  # the usual end: nothing held back
        out, keep = self._run(buf, final=True)
        out.append(buf[keep:])
        if self._held is not None:
            out.append(self._release_held())
        return b"".join(out)

    # --- main loop ---------------------------------------------------------------------------

    def _run(self, buf: bytes, final: bool) -> tuple[list[bytes | memoryview], int]:
        """Process ``buf``; return the output pieces and where the held-back tail starts.

        Unchanged stretches are views of ``buf``: copying them into slices first would copy
        the page twice (the pieces, then their join) and allocate as much again.
        """
        out: list[bytes | memoryview] = []
        view = memoryview(buf)
        last = 0  # buf[last:pos] is processed but not yet appended to out
        pos = 0
        exact_until = 0  # below this position the fast path found a hazard: tokenize exactly
        size = len(buf)
        fast_path = self.fast_path
        while pos < size or (final and self._pending):
            state = self._state
            if state == _DATA:
                if self._pending:
                    verdict = self._resolve_pending(buf, pos, final)
                    if verdict is None:
                        break
                    inserted = self._injection_bytes(verdict)
                    if inserted:
                        out.append(view[last:pos])
                        out.append(inserted)
                        last = pos
                    continue
                if pos < exact_until or self._fstack or not fast_path:
                    # Exact tokenizing: skip uninteresting markup tag by tag, in C.
                    m = _match(self._pattern, buf, pos)
                    at = m.end("skip")
                    if m.start("s") >= 0:
                        name, body, end = m.group("s").lower(), m.start("b"), m.end()
                    elif m.start("e") >= 0:
                        self._end_tag(m.group("e").lower())
                        pos = m.end()
                        continue
                    else:
                        if at >= size:
                            pos = size
                            break
                        step = self._unfinished(buf, at, final)
                        if step < 0:
                            pos = at
                            break
                        pos = step
                        continue
                else:
                    pos, last, outcome, at, body, end = self._scan(buf, view, pos, last, out, final)
                    if outcome == _SCAN_HOLD:
                        break
                    if outcome == _SCAN_EXACT:
                        exact_until = end
                        continue
                    if outcome == _SCAN_RESUME:
                        continue
                    name = buf[at + 1 : body].lower()
                replacement = self._start_tag(name, buf, at, body, end)
                if replacement is not None:
                    out.append(view[last:at])
                    if self._held is None:
                        out.append(replacement)
                    last = end
                pos = end
            elif state == _SCRIPT:
                upto = self._script_data(buf, pos, final)
                held = self._held
                if held is not None:
                    # Collect the text of an inline script we cannot decide on yet.
                    held.content += buf[pos:upto]
                    last = upto
                    if self._state != _SCRIPT or len(held.content) > SCRIPT_LIMIT:
                        out.append(self._release_held())
                if upto == pos and self._state == _SCRIPT:
                    break
                pos = upto
            elif state == _RAWTEXT:
                found = _RAW_ENDS[self._raw_name].search(buf, pos)
                if found is not None:
                    pos = found.start()
                    self._state = _DATA
                else:
                    pos = max(pos, size - len(self._raw_name) - 3) if not final else size
                    break
            elif state == _COMMENT:
                found = _COMMENT_END.search(buf, pos)
                if found is not None:
                    pos = found.end()
                    self._state = _DATA
                else:
                    pos = max(pos, size - 3) if not final else size
                    break
            elif state == _CDATA:
                found = _CDATA_END.search(buf, pos)
                if found is not None:
                    pos = found.end()
                    self._state = _DATA
                else:
                    pos = max(pos, size - 2) if not final else size
                    break
            elif state == _BOGUS:
                gt = buf.find(b">", pos)
                if gt >= 0:
                    pos = gt + 1
                    self._state = _DATA
                else:
                    pos = size
            elif state == _LONG_TAG:
                pos = self._long_tag(buf, pos)
            else:  # _PLAINTEXT: everything after <plaintext> is text
                pos = size
        hold = min(pos, size)
        out.append(view[last:hold] if out else buf[last:hold])  # all of buf: no copy at all
        return out, hold

    def _scan(
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, int, int, int, int]:
        """The fast path of the DATA state: search for candidates, prove they are markup.

        Most candidates are ordinary or already decided tags: this loop handles those itself
        and returns only when the tokenizer state changes or a tag needs `_start_tag`.
        Returns ``(pos, last, outcome, at, body, end)``: `_SCAN_RESUME` (go on at ``pos``),
        `_SCAN_HOLD` (hold back ``buf[pos:]``), `_SCAN_EXACT` (tokenize exactly up to
        ``end``) or `_SCAN_TAG` (``buf[at:end]`` is a start tag whose name ends at ``body``).
        """
        search = self._fast.search
        kinds = self._kinds
        cached = self._cache.get
        iframes_cached = self._placeholder is None  # placeholders vary by request
        before_quote = _BEFORE_QUOTE
        # Where the next "'" is (len(buf): none): most pages use few single quotes outside
        # scripts, so most "'" searches can be skipped.
        apostrophe = -1
        while True:
            found = search(buf, pos)
            if found is None:
                if final:
                    return len(buf), last, _SCAN_HOLD, 0, 0, 0
                tail = self._tail(buf, pos)
                if tail < 0:
                    return pos, last, _SCAN_EXACT, 0, 0, len(buf)
                return tail, last, _SCAN_HOLD, 0, 0, 0
            at, body = found.span()
            # Prove the candidate is markup. buf[pos:at] holds only text and ordinary tags
            # (the search found nothing before), and a tag ends at its first ">" unless that
            # ">" sits in a quoted value: so "at" is outside any tag when the last ">" before
            # it is not in a quoted value and no tag opens after it. Otherwise tokenize this
            # stretch exactly. The quote test is `_in_quoted_value`, unrolled: a quote can
            # open a value only after "=" or whitespace, and most last quotes close one.
            gt = buf.rfind(b">", pos, at)
            if gt >= 0:
                sync = gt + 1
                quote = buf.rfind(b'"', pos + 1, gt)
                if quote < 0 or buf[quote - 1] not in before_quote:
                    if apostrophe <= pos:
                        apostrophe = buf.find(b"'", pos + 1)
                        if apostrophe < 0:
                            apostrophe = len(buf)
                    quote = buf.rfind(b"'", pos + 1, gt) if apostrophe < gt else -1
                if quote >= 0 and buf[quote - 1] in before_quote and _in_quoted_value(buf, pos, gt):
                    return pos, last, _SCAN_EXACT, 0, 0, body
            else:
                sync = pos
            # (Without a "<" after the last ">", no tag can open there: one find saves the
            # pattern search.)
            if sync < at and buf.find(b"<", sync, at) >= 0 and _TAG_OPEN.search(buf, sync, at):
                return pos, last, _SCAN_EXACT, 0, 0, body
            kind = buf[at + 1]
            if kind in _NOT_START:
                if kind == 0x2F and buf[at + 2] in _LETTERS:  # "</name": end tag
                    tag = _ANY_END.match(buf, at)
                    if tag is not None:
                        self._end_tag(tag.group(1).lower())  # may switch patterns
                        return tag.end(), last, _SCAN_RESUME, 0, 0, 0
                else:
                    step = self._declaration(buf, at)
                    if step >= 0:
                        pos = step
                        continue
                step = self._unfinished(buf, at, final)
                if step < 0:
                    return at, last, _SCAN_HOLD, 0, 0, 0
                return step, last, _SCAN_RESUME, 0, 0, 0
            # A start tag; the search stopped right after its name. Start tags decided before
            # (by any request) are cached with their kind; a cached tag is a whole tag, so if
            # the bytes up to the first ">" are one, the tag ends there.
            end = buf.find(b">", body) + 1
            entry = cached(buf[at:end]) if 0 < end - at <= _CACHE_TAG else None
            if entry is None:
                # The tag ends at the first ">" unless a quote may open a value before that
                # (`_tag_end`, unrolled).
                if end:
                    quote = buf.rfind(b'"', body + 1, end)
                    if quote < 0 or buf[quote - 1] not in before_quote:
                        if apostrophe <= body:
                            apostrophe = buf.find(b"'", body + 1)
                            if apostrophe < 0:
                                apostrophe = len(buf)
                        quote = buf.rfind(b"'", body + 1, end) if apostrophe < end else -1
                    if quote >= 0 and buf[quote - 1] in before_quote:
                        end = _tag_end(buf, body)
                        if 0 < end - at <= _CACHE_TAG:
                            entry = cached(buf[at:end])
                else:
                    end = -1
                if end < 0:
                    step = self._unfinished(buf, at, final)
                    if step < 0:
                        return at, last, _SCAN_HOLD, 0, 0, 0
                    return step, last, _SCAN_RESUME, 0, 0, 0
            # Others are known by name. What follows is what `_start_tag` does for the common
            # tags outside SVG/MathML, minus the dispatch.
            if entry is None:
                name = buf[at + 1 : body]
                kind = kinds.get(name, -1)
                if kind < 0:
                    kind = kinds.get(name.lower(), _KIND_ORDINARY)
                if kind == _KIND_RAW:
                    self._remember(buf[at:end], _KIND_RAW, None)
                elif kind == _KIND_ORDINARY:
                    pos = end  # a name that only looked interesting: skip the tag
                    continue
                else:
                    name = name.lower()
                    if name == b"body" or name == b"head":  # (never candidates in <template>)
                        # Where the injection goes: what `_start_tag` and `_run` do, here.
                        self._other_start_tag(name, buf, body, end)
                        pos = end
                        if self._pending:
                            verdict = self._resolve_pending(buf, end, final)
                            if verdict is None:
                                return end, last, _SCAN_RESUME, 0, 0, 0
                            inserted = self._injection_bytes(verdict)
                            if inserted:
                                out.append(view[last:end])
                                out.append(inserted)
                                last = end
                            search = self._fast.search
                            kinds = self._kinds
                        continue
                    return pos, last, _SCAN_TAG, at, body, end
                done = None
            else:
                kind, done = entry
            if kind == _KIND_IMG:
                if done is not None:
                    out.append(view[last:at])
                    out.append(done)
                    last = end
                pos = end
            elif kind == _KIND_SCRIPT:
                # Its text usually ends in this buffer without "<!--" (which needs the
                # escaped states): find the end tag right here.
                close = _SCRIPT_DATA.search(buf, end)
                if close is None or buf[close.start() + 1] != 0x2F:  # not "</"
                    return pos, last, _SCAN_TAG, at, body, end  # `_script_data` takes it
                upto = close.start()
                # Past "</script>" too: the text after it is usually not markup.
                after = close.end() if buf[close.end() - 1] == 0x3E else upto
                if done is _NEEDS_TEXT:
                    # An inline script decided by its whole text, as `_release_held` would,
                    # without holding a copy of it; the same script (tag and text) is
                    # usually on every page of the site. (Without text, the key would be
                    # the tag's own.)
                    whole = buf[at:upto]
                    entry = cached(whole) if upto > end else None
                    if entry is None:
                        done = self._decide_script(buf[at:end], buf[end:upto][:SCRIPT_LIMIT])
                        if upto > end:
                            self._remember(whole, _KIND_SCRIPT, done, _CACHE_SCRIPT)
                    else:
                        done = entry[1]
                if done is not None:
                    out.append(view[last:at])
                    out.append(done)
                    last = end
                pos = after
            else:  # raw text: <style>, <title>, ..., or an <iframe>
                if kind == _KIND_IFRAME:
                    if not iframes_cached:  # placeholders vary by request
                        return pos, last, _SCAN_TAG, at, body, end
                    if done is not None:
                        out.append(view[last:at])
                        out.append(done)
                        last = end
                name = buf[at + 1 : body].lower()
                close = _RAW_ENDS[name].search(buf, end)
                if close is None:
                    self._state = _RAWTEXT
                    self._raw_name = name
                    return end, last, _SCAN_RESUME, 0, 0, 0
                pos = close.end() if buf[close.end() - 1] == 0x3E else close.start()

    @staticmethod
    def _tail(buf: bytes, pos: int) -> int:
        """Where to hold back a candidate-free stretch ``buf[pos:]``; -1: tokenize it exactly.

        Text after the last ``>`` goes out; an unfinished tag after it is held back.
        """
        gt = buf.rfind(b">", pos)
        if gt >= 0 and _in_quoted_value(buf, pos, gt):
            return -1
        lt = buf.find(b"<", gt + 1 if gt >= 0 else pos)
        tag = _TAIL_OPEN.search(buf, lt) if lt >= 0 else None
        if tag is None:
            return len(buf)
        return tag.start() if len(buf) - tag.start() <= TAG_LIMIT else -1

    def _declaration(self, buf: bytes, pos: int) -> int:
        """Skip a complete comment, doctype or bogus comment at ``pos``; -1 if unfinished."""
        kind = buf[pos + 1 : pos + 2]
        if kind == b"!" and buf.startswith(b"<!--", pos):
            m = _COMMENT_FULL.match(buf, pos)
            return m.end() if m is not None else -1
        if kind == b"!" and buf[pos + 2 : pos + 4] in (b"-", b""):
            return -1  # "<!" or "<!-" might still become "<!--"
        if kind == b"/" and buf[pos + 2 : pos + 3] == b">":
            return pos + 3  # "</>" is dropped by the tokenizer
        gt = buf.find(b">", pos + 2)
        return gt + 1 if gt >= 0 else -1

    def _unfinished(self, buf: bytes, pos: int, final: bool) -> int:
        """At ``<`` that the master pattern could not finish: enter a state or wait for more.

        Returns the next position, or -1 to hold back ``buf[pos:]`` until more input arrives.
        """
        size = len(buf)
        if final:
            return size  # end of file inside a construct: the tokenizer emits nothing more
        nxt = buf[pos + 1 : pos + 2]
        if nxt == b"!":
            head = buf[pos : pos + 9]
            if head.startswith(b"<!--"):
                if size - pos < 6:
                    return -1  # "<!-->" and "<!--->" are complete comments
                self._state = _COMMENT
                return pos + 4
            if self._fstack and b"<![CDATA["[: len(head)] == head:
                if len(head) < 9:
                    return -1
                self._state = _CDATA
                return pos + 9
            if len(head) < 4:
                return -1  # might still become "<!--"
            self._state = _BOGUS
            return pos + 2
        if nxt == b"?":
            self._state = _BOGUS
            return pos + 2
        if nxt == b"/":
            third = buf[pos + 2 : pos + 3]
            if not third:
                return -1
            if not third.isalpha():
                self._state = _BOGUS  # "</>" is always complete, so this is "</ ..."
                return pos + 2
        elif not nxt:
            return -1
        # An unfinished tag: wait for the rest, or give up on rewriting it past TAG_LIMIT.
        if size - pos <= TAG_LIMIT:
            return -1
        return self._start_long_tag(buf, pos)

    # --- tags --------------------------------------------------------------------------------

    def _start_tag(
        self, name: bytes, buf: bytes, start: int, body: int, end: int, *, rewrite: bool = True
    ) -> bytes | None:
        """Handle an interesting start tag ``buf[start:end]``; return its replacement or None.

        A tag longer than TAG_LIMIT is never rewritten, but still has its effect on the
        tokenizer state, whether it arrived whole or was followed by `_long_tag`.
        """
        rewrite = rewrite and end - start <= TAG_LIMIT
        stack = self._fstack
        if stack and stack[-1][1] != _IP:
            # SVG/MathML content: only nesting, integration points and breakouts matter.
            space = stack[-1][1]
            kind = space if name in _FOREIGN_ROOTS else _IP if name in _INTEGRATION[space] else None
            # Attributes of a tag past TAG_LIMIT are not looked at, however it arrived.
            attrs = _parse_attrs(buf, body, end - 1) if rewrite else {}
            if kind is not None:
                if name == b"annotation-xml":
                    encoding = attrs.get(b"encoding")
                    value = encoding.value.strip(_HTML_SPACE).lower() if encoding else ""
                    if value not in ("text/html", "application/xhtml+xml"):
                        return None
                if not _is_self_closing(buf, body, end - 1):
                    stack.append((name, kind))
                    self._pattern = self._choose_pattern()
                return None
            if name not in _BREAKOUT:
                return None
            if name == b"font" and not (b"color" in attrs or b"face" in attrs or b"size" in attrs):
                return None
            stack.clear()  # a breakout tag ends foreign content: reprocess it as HTML
            self._pattern = self._choose_pattern()
        if name == b"image":
            name = b"img"
        if name == b"script":
            self._state = _SCRIPT
            self._escape = _ESC_NONE
            if not rewrite:
                return None
            tag = buf[start:end]
            entry = self._cache.get(tag)
            if entry is None:
                edits = self._script_edits(buf, body, end - 1)
                done = _NEEDS_TEXT if edits is None else edits.apply(start, end) if edits else None
                self._remember(tag, _KIND_SCRIPT, done)
            else:
                done = entry[1]
            if done is _NEEDS_TEXT:
                self._held = _HeldScript(tag)
                return b""
            return done
        if name in _RAW_ELEMENTS:
            self._state = _RAWTEXT
            self._raw_name = name
            if name != b"iframe" or not rewrite:
                return None
        elif name != b"img" or not rewrite:
            return self._other_start_tag(name, buf, body, end)
        if name == b"iframe" and self._placeholder is not None:  # placeholders vary by request
            edits = self._embed_edits(buf, body, end - 1, iframe=True)
            return edits.apply(start, end) if edits else None
        tag = buf[start:end]
        entry = self._cache.get(tag)
        if entry is not None:
            return entry[1]
        iframe = name == b"iframe"
        edits = self._embed_edits(buf, body, end - 1, iframe=iframe)
        done = edits.apply(start, end) if edits else None
        self._remember(tag, _KIND_IFRAME if iframe else _KIND_IMG, done)
        return done

    def _remember(self, key: bytes, kind: int, done: bytes | None, limit: int = _CACHE_TAG) -> None:
        if len(key) <= limit:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = (kind, done)

    def _other_start_tag(self, name: bytes, buf: bytes, body: int, end: int) -> bytes | None:
        """Start tags that only change the state: plaintext, svg/math, template, head, body."""
        stack = self._fstack
        if name == b"plaintext":
            self._state = _PLAINTEXT
        elif name in _FOREIGN_ROOTS:
            if not _is_self_closing(buf, body, end - 1):
                stack.append((name, name))
                self._pattern = self._choose_pattern()
        elif stack:
            pass  # inside an integration point: no document structure to track
        elif name == b"template":
            self._template += 1
            self._pattern = self._choose_pattern()
        elif name == b"head":
            if self._want_head and not self._template:
                self._want_head = False
                self._pending = _PENDING_HEAD  # `_injection_bytes` switches the patterns
        elif name == b"body" and self._want_body and not self._template:
            self._want_head = self._want_body = False
            self._pending = _PENDING_BODY
        return None

    def _end_tag(self, name: bytes) -> None:
        stack = self._fstack
        if stack:
            if any(entry[0] == name for entry in stack):
                while stack.pop()[0] != name:
                    pass
            elif stack[-1][1] != _IP and (
                name in _HTML_ENDS or (name == b"template" and self._template)
            ):
                stack.clear()  # it closes an HTML element around the foreign content
        if not stack and name == b"template":
            self._template = max(0, self._template - 1)
        self._pattern = self._choose_pattern()

    def _choose_pattern(self) -> re.Pattern[bytes]:
        stack = self._fstack
        if stack:
            return _INTEGRATION_POINT if stack[-1][1] == _IP else _FOREIGN
        self._kinds, self._fast, pattern = _html_patterns(
            bool(self._template), self._want_head, self._want_body
        )
        return pattern

    # --- long tags ---------------------------------------------------------------------------

    def _start_long_tag(self, buf: bytes, pos: int) -> int:
        """Give up on rewriting a tag past TAG_LIMIT; follow it to its end unchanged."""
        end_tag = buf[pos + 1 : pos + 2] == b"/"
        name_start = pos + (2 if end_tag else 1)
        name_end = _match(_LONG_STEPS[_L_NAME], buf, name_start).end()
        self._long_name = buf[name_start:name_end].lower()
        self._long_end_tag = end_tag
        self._long_state = _L_NAME
        self._long_slash = False
        self._state = _LONG_TAG
        return name_start

    def _long_tag(self, buf: bytes, pos: int) -> int:
        """Step the tokenizer's tag states over ``buf[pos:]``; on ``>`` apply the tag's effect."""
        size = len(buf)
        state = self._long_state
        slash = self._long_slash
        while True:
            run = _match(_LONG_STEPS[state], buf, pos).end()
            if state == _L_BEFORE and run > pos:
                slash = buf[run - 1] == 0x2F  # "/" right before ">": a self-closing tag
            pos = run
            if pos >= size:
                self._long_state = state
                self._long_slash = slash
                return size
            char = buf[pos]
            pos += 1
            if char == 0x3E and state not in (_L_DQ, _L_SQ):  # ">"
                self._long_slash = slash and state == _L_BEFORE
                self._state = _DATA
                self._finish_long_tag()
                return pos
            slash = char == 0x2F
            if state == _L_NAME:
                state = _L_BEFORE  # whitespace or "/" after the tag name
            elif state == _L_ATTR:
                state = _L_VALUE if char == 0x3D else _L_BEFORE if slash else _L_AFTER
            elif state == _L_BEFORE:
                state = _L_ATTR  # this character starts an attribute name, even "="
            elif state == _L_AFTER:
                state = _L_BEFORE if slash else _L_VALUE if char == 0x3D else _L_ATTR
            elif state == _L_VALUE:
                state = _L_DQ if char == 0x22 else _L_SQ if char == 0x27 else _L_UNQ
            else:  # closing quote, or whitespace after an unquoted value
                state = _L_BEFORE

    def _finish_long_tag(self) -> None:
        name = self._long_name
        if self._long_end_tag:
            if name in (_FOREIGN_ENDS if self._fstack else (b"template",)):
                self._end_tag(name)
            return
        # Same effect as a long tag that arrived whole: a stand-in without attributes.
        stand_in = b"<" + name + (b" />" if self._long_slash else b">")
        self._start_tag(name, stand_in, 0, len(name) + 1, len(stand_in), rewrite=False)

    # --- script data -------------------------------------------------------------------------

    def _script_data(self, buf: bytes, pos: int, final: bool) -> int:
        """Scan script text from ``pos``; return how far it is certainly script text.

        Switches to DATA at the ``</script`` that really ends the element (the escaped and
        double-escaped states of the tokenizer decide which one that is).
        """
        size = len(buf)
        while True:
            escape = self._escape
            if escape == _ESC_NONE:
                m = _SCRIPT_DATA.search(buf, pos)
            elif escape == _ESC_SINGLE:
                m = _SCRIPT_ESCAPED.search(buf, pos)
            else:
                m = _SCRIPT_DOUBLE.search(buf, pos)
            if m is None:
                return size if final else max(pos, size - _SCRIPT_HOLD)
            token = m.group()
            if token[:2] == b"</":
                if escape == _ESC_DOUBLE:
                    self._escape = _ESC_SINGLE
                    pos = m.end()
                    continue
                self._state = _DATA
                return m.start()
            if token[:4] == b"<!--":
                if m.end() == size and m.group(2) is None and not final:
                    return m.start()  # "<!--" or "<!---" at the end: is a ">" coming?
                if m.group(2) is None:
                    self._escape = _ESC_SINGLE
            elif token == b"-->":
                self._escape = _ESC_NONE
            else:  # "<script" in the escaped state
                self._escape = _ESC_DOUBLE
            pos = m.end()

    def _release_held(self) -> bytes:
        """Decide a held inline script on its first SCRIPT_LIMIT bytes of text; let it go."""
        held = self._held
        assert held is not None
        self._held = None
        content = bytes(held.content)
        return self._decide_script(held.tag, content[:SCRIPT_LIMIT]) + content

    def _decide_script(self, tag: bytes, text: bytes) -> bytes:
        """An inline script's start tag, decided on (the first SCRIPT_LIMIT bytes of) its text."""
        category = self._rules.category_of_inline_script(text)
        key = b"\0" + (category or "").encode() + b"\0" + tag
        entry = self._cache.get(key)
        if entry is None:
            name = _ANY_START.match(tag)
            body = name.end(1) if name is not None else len(tag) - 1
            edits = self._script_edits(tag, body, len(tag) - 1, (category,))
            done = edits.apply(0, len(tag)) if edits else None
            self._remember(key, _KIND_SCRIPT, done)
        else:
            done = entry[1]
        return tag if done is None else done

    # --- decisions ---------------------------------------------------------------------------

    def _keys(self, value: str) -> list[str | None]:
        return [self._rules.alias(name) for name in _KEY_SPLIT.split(value.strip()) if name]

    def _allowed(self, keys: list[str | None]) -> bool:
        return all(key is not None and key in self._granted for key in keys)

    def _marker(self, attrs: dict[bytes, _Attr]) -> list[str | None] | None:
        """Category keys an element is labelled with: ours, Cookiebot's or vanilla-cc's."""
        for name in (b"data-consent", b"data-cookieconsent", b"data-category"):
            attr = attrs.get(name)
            if attr is not None:
                keys = self._keys(attr.value)
                if keys:
                    return keys
        return None

    def _script_edits(
        self, data: bytes, body: int, gt: int, text: tuple[str | None] | None = None
    ) -> _Edits | None:
        """Edits for a script start tag; ``None`` when its inline text is needed to decide.

        ``text`` holds the category its inline text names, once known.
        """
        attrs = _parse_attrs(data, body, gt)
        edits = _Edits(data, body)
        cookiebot = attrs.get(b"data-cookieconsent")
        if cookiebot is not None and cookiebot.value.strip(_HTML_SPACE).lower() == _IGNORE:
            return edits
        type_attr = attrs.get(b"type")
        if type_attr is not None:
            kind = type_attr.value.strip(_HTML_SPACE).lower()
            # Parameters ("text/javascript; charset=utf-8") stop browsers that follow the
            # standard, not all of them: such a script might run, so treat it as one.
            runs = kind in _JS_TYPES or kind.partition(";")[0].rstrip(_HTML_SPACE) in _JS_TYPES
        else:
            language = attrs.get(b"language")
            lang = language.value.strip(_HTML_SPACE).lower() if language else ""
            kind = ""
            runs = not lang or "text/" + lang in _JS_TYPES
        keys = self._marker(attrs)
        if runs:
            if keys is None:
                src = attrs.get(b"src")
                if src is not None:
                    category = self._rules.category_of_url(src.value)
                else:
                    if text is None:
                        return None
                    category = text[0]
                if category is None:
                    return edits
                keys = [category]
            if self._allowed(keys):
                return edits
            # Block: the browser does not run (or fetch) a script of type text/plain.
            if type_attr is None:
                edits.add("type", "text/plain")
            else:
                edits.replace(type_attr, "type", "text/plain")
            self._label(edits, attrs, keys)
            if type_attr is not None and b"data-consent-type" not in attrs:
                edits.add("data-consent-type", type_attr.raw)
            return edits
        if kind == "text/plain" and keys is not None and self._allowed(keys):
            # Pre-blocked and now granted: hand it back to the browser to run natively.
            saved = attrs.get(b"data-consent-type")
            if saved is not None and type_attr is not None:
                edits.replace(type_attr, "type", saved.raw)
                edits.remove(saved)
            elif type_attr is not None:
                edits.remove(type_attr)
            if b"src" not in attrs:
                self._restore_src(edits, attrs, _SCRIPT_SAVED_SRC)
        return edits

    def _embed_edits(self, data: bytes, body: int, gt: int, *, iframe: bool) -> _Edits:
        """Edits for an ``<iframe>`` or ``<img>``: move ``src`` aside, or give it back."""
        attrs = _parse_attrs(data, body, gt)
        edits = _Edits(data, body)
        cookiebot = attrs.get(b"data-cookieconsent")
        if cookiebot is not None and cookiebot.value.strip(_HTML_SPACE).lower() == _IGNORE:
            return edits
        keys = self._marker(attrs)
        src = attrs.get(b"src")
        # Pre-blocked: by us (data-consent-src), by Cookiebot (data-cookieblock-src), or with
        # the data-src convention (Klaro and others) when labelled with a category.
        saved = attrs.get(b"data-consent-src") or attrs.get(b"data-cookieblock-src")
        if saved is None and src is None and keys is not None:
            saved = attrs.get(b"data-src")
        if saved is None:
            if src is None or not src.value.strip(_HTML_SPACE):
                return edits
            if keys is None:
                category = self._rules.category_of_url(src.value)
                if category is None:
                    return edits
                keys = [category]
            if self._allowed(keys):
                return edits
            edits.rename(src, b"data-consent-src")
            srcset = attrs.get(b"srcset")
            if srcset is not None and not iframe and b"data-consent-srcset" not in attrs:
                edits.rename(srcset, b"data-consent-srcset")
            self._label(edits, attrs, keys)
            if iframe and self._placeholder is not None and b"srcdoc" not in attrs:
                key = next((k for k in keys if k is not None and k not in self._granted), None)
                if key is not None:
                    edits.add("srcdoc", self._placeholder_for(key))
            return edits
        if keys is None:
            category = self._rules.category_of_url(saved.value)
            if category is None:
                return edits
            keys = [category]
        if not self._allowed(keys):
            return edits
        if src is not None:
            edits.remove(src)  # a stand-in image or "about:blank"
        edits.rename(saved, b"src")
        saved_set = attrs.get(b"data-consent-srcset")
        if saved_set is not None and not iframe:
            srcset = attrs.get(b"srcset")
            if srcset is not None:
                edits.remove(srcset)
            edits.rename(saved_set, b"srcset")
        srcdoc = attrs.get(b"srcdoc")
        if iframe and srcdoc is not None:
            edits.remove(srcdoc)  # the placeholder shown while blocked: srcdoc wins over src
        return edits

    @staticmethod
    def _restore_src(edits: _Edits, attrs: dict[bytes, _Attr], names: tuple[bytes, ...]) -> None:
        for name in names:
            attr = attrs.get(name)
            if attr is not None:
                edits.rename(attr, b"src")
                return

    def _label(self, edits: _Edits, attrs: dict[bytes, _Attr], keys: list[str | None]) -> None:
        if b"data-consent" in attrs:
            return
        missing = [k for k in keys if k is not None and k not in self._granted]
        if missing:
            edits.add("data-consent", " ".join(dict.fromkeys(missing)))

    def _placeholder_for(self, key: str) -> str:
        text = self._placeholders.get(key)
        if text is None:
            assert self._placeholder is not None
            text = self._placeholders[key] = self._placeholder(key)
        return text

    # --- injection ---------------------------------------------------------------------------

    def _resolve_pending(self, buf: bytes, pos: int, final: bool) -> bool | None:
        """After ``<head>``/``<body>``: inject (True), skip (False) or wait for input (None).

        Skips when the next element carries an ``id`` starting with ``consent-``: the page
        already went through a rewriter (cached output, a second middleware).
        """
        size = len(buf)
        first = _match(_SPACES, buf, pos).end()
        present = False
        if first - pos > WHITESPACE_LIMIT:
            pass  # too far to look: inject
        elif first >= size:
            if not final:
                return None
        elif buf[first] == 0x3C:  # "<"
            if buf[first + 1 : first + 2].isalpha():  # a start tag
                body = _match(_LONG_STEPS[_L_NAME], buf, first + 1).end()
                end = _tag_end(buf, body)
                if end < 0:
                    if not final and size - first <= TAG_LIMIT:
                        return None
                # Most first elements have no "id" at all: skip parsing their attributes.
                elif end - first <= TAG_LIMIT and _ID_NAME.search(buf, body, end):
                    ident = _parse_attrs(buf, body, end - 1).get(b"id")
                    present = ident is not None and ident.value.startswith("consent-")
            elif first + 1 == size and not final:
                return None  # "<" at the end: a start tag may follow
        return not present

    def _injection_bytes(self, inject: bool) -> bytes:
        """Settle the pending injection point; return the bytes to insert there."""
        injection = self._injection
        assert injection is not None
        pending, self._pending = self._pending, _PENDING_NONE
        self._pattern = self._choose_pattern()
        placed_head = self._head_placed
        self._head_placed = True
        if pending == _PENDING_HEAD:
            return injection.head if inject else b""
        self._injected = inject
        if not inject:
            return b""
        return injection.body if placed_head else injection.head + injection.body


@cache
def _html_patterns(
    template: bool, want_head: bool, want_body: bool
) -> tuple[dict[bytes, int], re.Pattern[bytes], re.Pattern[bytes]]:
    """Interesting start tags (by kind), the fast and the exact pattern outside SVG/MathML."""
    # Templates are tracked: <head>/<body> inside them must not count, and "</template>"
    # closes SVG/MathML left open inside one.
    starts = _BASE_STARTS | {b"template"}
    ends: frozenset[bytes] = frozenset({b"template"}) if template else frozenset()
    if want_body and not template:
        starts = starts | ({b"head", b"body"} if want_head else {b"body"})
    return _kinds(starts), _fast(starts, ends), _master(starts, ends, False)
