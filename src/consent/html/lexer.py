"""The lexical layer of the HTML pipeline: tag patterns, attributes, edits within a tag.

Everything here is stateless and knows nothing of consent: regular expressions that read
tags the way the HTML tokenizer's tag states do (every input has exactly one way to match,
so an unfinished tag at the end of a chunk fails in linear time), the candidate search of
the fast path, attribute parsing with lazily decoded values, and `Edits`, a list of
replacements applied to one tag.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterable
from functools import cache
from typing import Any, NamedTuple

__all__ = [
    "ANY_END",
    "Attr",
    "Edits",
    "Inert",
    "Needles",
    "SparseTags",
    "fast",
    "foreign_runs",
    "in_quoted_value",
    "master",
    "parse_attrs",
    "sparse",
    "tag_body",
    "tag_end",
]


def tag_body(possessive: bool) -> bytes:
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
POSSESSIVE = sys.version_info >= (3, 11)
TAG_BODY = tag_body(POSSESSIVE)
PLUS = b"+" if POSSESSIVE else b""
NAME_END = rb"(?![^\t\n\f\r />])"
TAG_NAME = rb"[A-Za-z][^\t\n\f\r />]*" + (b"+" if POSSESSIVE else NAME_END)


def alternation(names: Iterable[bytes]) -> bytes:
    return b"|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))


@cache
def master(starts: frozenset[bytes], ends: frozenset[bytes]) -> re.Pattern[bytes]:
    """Skip text and uninteresting markup in one C-level match; stop at an interesting tag.

    Group ``skip`` ends where Python must look: at an interesting start (``s``) or end (``e``)
    tag, or at a construct that is unfinished in this chunk.
    """
    start_names = b"(?i:" + alternation(starts) + b")" + NAME_END
    skip_start = b"(?!" + start_names + b")" if starts else b""
    if ends:
        end_names = b"(?i:" + alternation(ends) + b")" + NAME_END
        skip_end = b"(?!" + end_names + b")"
    else:
        end_names = b"(?!)"  # keeps group "e" defined
        skip_end = b""
    end_tag = b"|/(?P<e>" + end_names + b")" + TAG_BODY + b">"
    skip = (
        rb"[^<]*"
        + PLUS
        + rb"(?:<(?:"
        + skip_start
        + TAG_NAME
        + TAG_BODY
        + rb">"
        + rb"|/(?:"
        + skip_end
        + TAG_NAME
        + TAG_BODY
        + rb">|>|(?![A-Za-z>])[^>]*>)"
        + rb"|!(?:--(?:-?>|.*?--!?>)|"
        + rb"(?!--)"  # outside SVG/MathML "<![CDATA[" is a bogus comment like "<!x>"
        + rb"[^>]*>)"
        + rb"|\?[^>]*>"
        + rb"|(?=[^A-Za-z!/?]))[^<]*"
        + PLUS
        + rb")*"
        + PLUS
    )
    interesting = rb"<(?:(?P<s>" + start_names + rb")(?P<b>" + TAG_BODY + rb")>" + end_tag + rb")"
    return re.compile(rb"(?P<skip>" + skip + rb")(?:" + interesting + rb")?", re.S)


def caseless(names: Iterable[bytes]) -> bytes:
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
def fast(
    starts: frozenset[bytes],
    ends: frozenset[bytes],
    inert: Inert | None = None,
    passed: frozenset[bytes] = frozenset(),
) -> re.Pattern[bytes]:
    """Find the next interesting construct by search alone, without tokenizing what lies between.

    Candidates: start tags named like one of ``starts``, interesting end tags, ``<!``, ``<?``,
    and ``</`` followed by a byte that is not a letter. A ``</`` at the very end of the buffer
    is no candidate: `Tokenizer._tail` holds it back like any unfinished tag (and at the end
    of the input it is text either way). `Tokenizer._run` proves a candidate is real markup;
    when it cannot, the exact pattern of `master` takes over.

    ``re`` tries this at every ``<`` of the page, so the common ``<a``, ``</p>``, ``<p>`` and
    ``<span`` must fail in few steps: each branch starts with one byte or one class, which
    ``re`` checks without entering the branch (a lookahead or a group would be entered). So
    the first and second letters of a name are checked by classes and the rest by a trie of
    the remainders: a name such as ``<imdy`` gets through, and `Tokenizer._run` checks the
    name. The match has no groups (the byte after ``<`` tells the kind) and ends right after
    the name. Names of one letter (``a``) are searched for by `sparse` only.

    A start tag named one of ``passed`` that ``inert`` describes (`quoted_attributes`) is
    no candidate: its handler would leave it as it is (an image from the site itself), so it
    is passed over in C, as an ordinary tag is. (The name is told by a lookbehind after it.)
    """
    assert all(len(name) >= 2 for name in starts)
    end = b"/(?:" + (caseless(ends) + _DELIMITER + b"|" if ends else b"") + b"[^A-Za-z])"
    start = _letters(0, starts) + b"]" + _letters(1, starts) + b"]"
    start += caseless({n[2:] for n in starts}) + _DELIMITER
    if inert is not None and passed and POSSESSIVE:
        named = b"|".join(b"(?<=<" + caseless({name}) + b")" for name in sorted(passed))
        start += b"(?!(?:" + named + b")" + quoted_attributes(inert) + b">)"
    return re.compile(b"<(?:" + start + b"|" + end + rb"|!|\?)")


#: Start tags that matter only when they hold one of some strings: ``(name, strings)``.
SparseTags = frozenset[tuple[bytes, tuple[bytes, ...]]]
#: Strings grouped by their first byte: ``(first byte, strings)``, single bytes first.
Needles = tuple[tuple[bytes, tuple[bytes, ...]], ...]


@cache
def sparse(wanted: SparseTags) -> tuple[re.Pattern[bytes], Needles]:
    """The search for start tags that matter only when they hold one of some strings, and
    those strings by first byte (each looked for with `bytes.find`: a class search in ``re``
    is many times slower).

    ``wanted`` pairs a name with the strings one of which its tag must hold (a link matters
    only with a query: a ``?``, literal or as a character reference). The pattern finds such
    a tag whose whole tag, read as the tokenizer reads it (`tag_rest_without`), holds the
    first byte of one, or that is unfinished. Pages hold many links and few of them carry a
    query, and reading each one costs; so the tokenizer runs this only over stretches that
    hold one of the strings at all (``&`` alone would not do: ``&amp;`` is in most text).
    """
    branches = []
    for strings in sorted({strings for _, strings in wanted}):
        names = frozenset(name for name, want in wanted if want == strings)
        branch = _letters(0, names) + b"]" + caseless({n[1:] for n in names}) + _DELIMITER
        first = bytes(sorted({string[0] for string in strings}))
        branches.append(branch + b"(?!" + tag_rest_without(first) + b")")
    every = {string for _, strings in wanted for string in strings}
    firsts = sorted({string[:1] for string in every}, key=lambda b: (b not in every, b))
    needles = tuple(
        (first, tuple(sorted(s for s in every if s.startswith(first)))) for first in firsts
    )
    return re.compile(b"<(?:" + b"|".join(branches) + b")"), needles


_DELIMITER = rb"(?=[\t\n\f\r />])"


class Inert(NamedTuple):
    """What makes a start tag one a handler leaves as it is, in any context: none of the
    bytes ``without`` in it, none of the strings ``never`` (ASCII letters in any case), and
    (for `quoted_attributes`) every attribute value quoted."""

    without: bytes
    never: tuple[bytes, ...]


def _class_escape(data: bytes) -> bytes:
    """``data``'s bytes for a ``[...]`` class (letters and digits as they are)."""
    return b"".join(re.escape(bytes([c])) for c in data)


def _none_of(never: tuple[bytes, ...]) -> bytes:
    """A lookahead: none of ``never`` (any case) before the next ``>``. Each byte is looked
    at once (a lazy scan would try every string at every byte)."""
    rests: dict[bytes, list[bytes]] = {}
    for item in never:
        rests.setdefault(item[:1].lower(), []).append(item[1:])
    firsts = b"".join(_class_escape(f + f.upper() if f.isalpha() else f) for f in rests)
    steps = [b"[^>" + firsts + b"]++"]
    for first, tails in rests.items():
        head = b"[" + first + first.upper() + b"]" if first.isalpha() else re.escape(first)
        steps.append(head + b"(?!" + caseless(tails) + b")")
    return b"(?=(?:" + b"|".join(steps) + b")*+>)"


@cache
def quoted_attributes(inert: Inert | None = None) -> bytes:
    """A start tag's attributes, after its name and up to its ``>``, with every value quoted:
    then a "/" right before the ``>`` makes the tag self-closing (in an unquoted value it
    would be part of the value). With ``inert``, only tags it describes (names and values
    also hold no ``<`` or ``>``, so the tag ends at the first ``>``)."""
    if inert is None:
        name = rb"[^\t\n\f\r />][^\t\n\f\r />=]*+"
        value = rb"(?:\"[^\"]*+\"|'[^']*+')"
        ahead = b""
    else:
        excluded = _class_escape(inert.without + b"<>\"'")
        name = rb"[^\t\n\f\r />=" + excluded + rb"][^\t\n\f\r />=" + excluded + rb"]*+"
        value = rb"(?:\"[^" + excluded + rb"]*+\"|'[^" + excluded + rb"]*+')"
        ahead = _none_of(inert.never) if inert.never else b""
    return (
        ahead
        + rb"(?:[\t\n\f\r /]++|"
        + name
        + rb"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
        + value
        + rb"|(?![\t\n\f\r ]*+=)))*+"
    )


#: What icons, sprites and charts are mostly made of (`foreign_runs` looks for these first).
_COMMON_FOREIGN = frozenset(
    b"path g circle rect line polyline polygon ellipse symbol defs stop lineargradient "
    b"radialgradient clippath mask pattern text tspan".split()
)


@cache
def foreign_runs(
    stops: frozenset[bytes], guarded: frozenset[bytes], inert: Inert | None
) -> tuple[re.Pattern[bytes], re.Pattern[bytes]] | None:
    """Markup inside SVG/MathML that leaves the stack of open foreign elements as it found
    it, and a whole ``<svg>`` element made of it; None before Python 3.11.

    The run: text, and elements (three deep) that close themselves or are closed by their
    own end tag after text and such elements, every value quoted (`quoted_attributes`),
    named none of ``stops`` (lower case); a tag named one of ``guarded`` (the handler's)
    only when ``inert`` describes it. A self-closing foreign element never stays open, and
    an element whose own end tag follows its text and children is closed by it, whatever
    else is open: so a match changes nothing a tokenizer must know, and ``re`` reads an
    icon sprite's ``<symbol>``, ``<path/>`` and ``</symbol>`` in C. Unquoted values,
    unfinished tags and anything else (comments, CDATA, other end tags) end it. The
    island: ``<svg>``, such a run, ``</svg>``: in plain HTML it opens foreign content and
    closes it again.
    """
    if not POSSESSIVE:
        return None  # (without possessive quantifiers a failed match could backtrack far)
    name = rb"[A-Za-z][^\t\n\f\r />]*+"
    ordinary = b"(?!" + caseless(stops | guarded) + _DELIMITER + b")"
    if inert is not None and guarded:
        # A guarded name passes when its attributes are inert (checked ahead, then read as
        # any quoted attributes: inert ones are among them).
        check = b"(?=" + caseless(guarded) + _DELIMITER + quoted_attributes(inert) + b">)"
        ordinary = b"(?:" + check + b"|" + ordinary + b")"
    common = _COMMON_FOREIGN - stops - guarded
    if common:
        # The names most SVG is made of pass by one literal look first: they pass the
        # lookaheads above too, so nothing else changes (a third less time on a sprite).
        longest_first: list[bytes] = sorted(common, key=lambda n: (-len(n), n))
        literal = b"|".join(longest_first)
        ordinary = b"(?:(?=(?:" + literal + b")" + _DELIMITER + b")|" + ordinary + b")"
    attributes = quoted_attributes()
    text = rb"[^<]++"

    def element(group: bytes, start: bytes, inner: bytes) -> bytes:
        """A start tag that closes itself, or one followed by ``inner`` and its end tag."""
        # (A letter first: an end tag fails here, before the lookaheads on the name.)
        opened = b"<(?=[A-Za-z])" + start + b"(?P<" + group + b">" + name + b")" + attributes
        end = rb"</(?i:(?P=" + group + b"))" + _DELIMITER + TAG_BODY + rb">"
        return opened + rb"(?:(?<=/)>|(?<!/)>(?:" + inner + b")*+" + end + b")"

    deep = element(b"deep", ordinary, text)
    inner = element(b"inner", ordinary, text + b"|" + deep)
    content = text + b"|" + element(b"outer", ordinary, text + b"|" + inner)
    # The root: any values, but no "/" before its ">" (it does not close itself).
    island = (
        rb"<(?=[sS][vV][gG]" + _DELIMITER + rb")" + name + TAG_BODY + rb"(?<!/)>"
        rb"(?:" + content + rb")*+</[sS][vV][gG]" + _DELIMITER + TAG_BODY + rb">"
    )
    icon = _icon(stops, guarded, inert)
    if icon is not None:
        island = icon + b"|" + island
    return re.compile(b"(?:" + content + b")*+"), re.compile(island)


def _icon(stops: frozenset[bytes], guarded: frozenset[bytes], inert: Inert | None) -> bytes | None:
    """The island most pages repeat (an icon: ``<svg ...><use href="#symbol"></use></svg>``,
    lower case, whitespace between), read by a narrow pattern before the general one, which
    costs half as much again per icon. It matches nothing the general one does not: the same
    root, and a ``<use>`` that the general one lets pass as it would (inert when guarded)."""
    use = b"use"
    if use in stops or (use in guarded and inert is None):
        return None
    attributes = quoted_attributes(inert if use in guarded else None)
    space = rb"[\t\n\f\r ]*+"
    return (
        rb"<svg"
        + _DELIMITER
        + TAG_BODY
        + rb"(?<!/)>"
        + space
        + rb"<use"
        + _DELIMITER
        + attributes
        + rb"(?:(?<=/)>|(?<!/)>"
        + space
        + rb"</use>)"
        + space
        + rb"</svg>"
    )


def _letters(index: int, names: frozenset[bytes]) -> bytes:
    """A class (its "]" left to the caller) of the ``index``-th letters of ``names``."""
    found = {bytes([n[index]]) for n in names}
    return b"[" + b"".join(re.escape(c) for c in sorted(found | {c.upper() for c in found}))


def tag_rest_without(excluded: bytes, possessive: bool = POSSESSIVE) -> bytes:
    """The rest of a start tag after its name, up to its ``>``, holding none of ``excluded``.

    `tag_body` with ``excluded`` taken out of every class that could match it: where the tag
    holds one, it cannot be read to its end, and where it holds none, it reads exactly as
    the tokenizer reads it (the same quotes, the same ``>``).
    """
    escaped = b"".join(re.escape(bytes([char])) for char in excluded)
    return tag_body(possessive).replace(b"[^", b"[^" + escaped) + b">"


TAG_OPEN = re.compile(rb"</?[A-Za-z]")
TAIL_OPEN = re.compile(rb"<(?:/?[A-Za-z]|/?\Z)")
COMMENT_FULL = re.compile(rb"<!--(?:-?>|.*?--!?>)", re.S)
BEFORE_QUOTE = frozenset(b"=\t\n\f\r ")  # a quote after anything else opens no value
SPACE_CHARS = b"\t\n\f\r "
NOT_START = frozenset(b"/!?")  # the byte after "<" of a candidate that is no start tag
LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def in_quoted_value(buf: bytes, sync: int, gt: int) -> bool:
    """Whether the ``>`` at ``gt`` may lie inside a quoted attribute value.

    If it does, the last quote of that kind before it opened the value, and an opening quote
    always follows ``=`` and optional whitespace. Checking that is cheap and never misses. (It
    runs for every candidate, twice: hence the unrolled form, and the whitespace case, which is
    rare, left to `opens_value`.)
    """
    lo = sync + 1
    opener = buf.rfind(b'"', lo, gt)
    if opener >= 0 and buf[opener - 1] in BEFORE_QUOTE and opens_value(buf, sync, opener):
        return True
    opener = buf.rfind(b"'", lo, gt)
    return opener >= 0 and buf[opener - 1] in BEFORE_QUOTE and opens_value(buf, sync, opener)


def opens_value(buf: bytes, sync: int, opener: int) -> bool:
    """Whether the quote at ``opener`` follows ``=`` (whitespace between, none before ``sync``)."""
    return buf[sync:opener].rstrip(SPACE_CHARS)[-1:] == b"="


def tag_end(buf: bytes, body: int) -> int:
    """End of the start tag whose attributes begin at ``body``; -1 if it is unfinished.

    Usually the first ``>``: `in_quoted_value` proves cheaply that it ends the tag. Otherwise
    the tag is matched as the tokenizer reads it.
    """
    gt = buf.find(b">", body)
    if gt >= 0 and not in_quoted_value(buf, body, gt):
        return gt + 1
    m = TAG_REST.match(buf, body)
    return -1 if m is None else m.end()


# A complete tag, for the "is our injection already there?" check and long-tag detection.
ANY_END = re.compile(rb"</(" + TAG_NAME + rb")" + TAG_BODY + rb">")
TAG_REST = re.compile(TAG_BODY + rb">")
ATTR = re.compile(
    rb"[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r />=]*)"
    rb"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(\"[^\"]*\"|'[^']*'|[^\t\n\f\r >\"'][^\t\n\f\r >]*)?)?"
)
SPACES = re.compile(rb"[\t\n\f\r ]*")
COMMENT_END = re.compile(rb"--!?>")
CDATA_END = re.compile(rb"\]\]>")
# Script data: "<!--" enters the escaped state (unless closed at once: "<!-->", "<!--->").
SCRIPT_DATA = re.compile(rb"<!--(-*)(>)?|</(?i:script)[\t\n\f\r />]")
SCRIPT_ESCAPED = re.compile(rb"-->|</(?i:script)[\t\n\f\r />]|<(?i:script)[\t\n\f\r />]")
SCRIPT_DOUBLE = re.compile(rb"-->|</(?i:script)[\t\n\f\r />]")
SCRIPT_HOLD = len(b"</script>")


class Attr:
    """One attribute of a tag; spans index the tag's buffer, the value is decoded on demand."""

    __slots__ = ("_m", "_value")

    def __init__(self, match: re.Match[bytes]) -> None:
        self._m = match
        self._value: str | None = None

    @property
    def start(self) -> int:  # including the separators before the name
        return self._m.start()

    @property
    def name(self) -> bytes:
        """The attribute's name, lower case."""
        return self._m.group(1).lower()

    @property
    def name_start(self) -> int:
        return self._m.start(1)

    @property
    def name_end(self) -> int:
        return self._m.end(1)

    @property
    def end(self) -> int:
        return self._m.end()

    @property
    def value_start(self) -> int:
        """Where the value starts, its opening quote included; -1 when there is none."""
        return self._m.start(2)

    @property
    def raw(self) -> bytes:
        """The value as written, without its quotes (character references left alone)."""
        raw = self._m.group(2) or b""
        return raw[1:-1] if raw[:1] in (b'"', b"'") else raw

    @property
    def value(self) -> str:
        """The value with quotes removed and character references resolved."""
        if self._value is None:
            raw = self._m.group(2) or b""
            if raw[:1] in (b'"', b"'"):
                raw = raw[1:-1]
            value = raw.decode("latin-1")
            self._value = html.unescape(value) if "&" in value else value
        return self._value


def match(pattern: re.Pattern[bytes], data: bytes, pos: int) -> re.Match[bytes]:
    """Match a pattern that cannot fail (every part is optional)."""
    m = pattern.match(data, pos)
    assert m is not None
    return m


def parse_attrs(data: bytes, start: int, end: int) -> dict[bytes, Attr]:
    """Attributes of a tag between its name and ``>``; the first of duplicates wins."""
    attrs: dict[bytes, Attr] = {}
    for m in ATTR.finditer(data, start, end):
        name = m.group(1).lower()
        if name not in attrs:
            attrs[name] = Attr(m)
    return attrs


def quote(value: str) -> bytes:
    """Our own attribute value, double-quoted and escaped, safe in any ASCII-compatible charset."""
    return b'"' + html.escape(value, quote=True).encode("ascii", "xmlcharrefreplace") + b'"'


def requote(raw: bytes) -> bytes:
    """A value copied from the page, byte for byte, double-quoted."""
    return b'"' + raw.replace(b'"', b"&quot;") + b'"'


def is_self_closing(data: bytes, body: int, gt: int) -> bool:
    """Whether a start tag ends in ``/>`` (and the slash is not part of an unquoted value)."""
    if data[gt - 1 : gt] != b"/":
        return False
    last = None
    for last in ATTR.finditer(data, body, gt):  # noqa: B007 - only the last one matters
        pass
    return last is None or last.end() != gt or (last.group(2) or b'"')[:1] in (b'"', b"'")


class Edits:
    """Replacements within one tag, applied in order of position."""

    __slots__ = ("data", "insert_at", "inserts", "spans")

    def __init__(self, data: bytes, insert_at: int) -> None:
        self.data = data
        self.insert_at = insert_at
        self.inserts: list[bytes] = []
        self.spans: list[tuple[int, int, bytes]] = []

    def add(self, name: str, value: str | bytes) -> None:
        """Insert an attribute after the tag name; bytes are copied from the page as they are."""
        quoted = requote(value) if isinstance(value, bytes) else quote(value)
        self.inserts.append(b" " + name.encode("ascii") + b"=" + quoted)

    def rename(self, attr: Attr, name: bytes) -> None:
        self.spans.append((attr.name_start, attr.name_end, name))

    def replace(self, attr: Attr, name: str, value: str | bytes) -> None:
        quoted = requote(value) if isinstance(value, bytes) else quote(value)
        self.spans.append((attr.name_start, attr.end, name.encode("ascii") + b"=" + quoted))

    def remove(self, attr: Attr) -> None:
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


# Sub-states of the long-tag lexer: the tokenizer's tag states, stepped run by run.
L_NAME, L_BEFORE, L_ATTR, L_AFTER, L_VALUE, L_DQ, L_SQ, L_UNQ = range(8)
LONG_STEPS: dict[int, re.Pattern[bytes]] = {
    L_NAME: re.compile(rb"[^\t\n\f\r />]*"),  # tag name
    L_BEFORE: re.compile(rb"[\t\n\f\r /]*"),  # before an attribute name
    L_ATTR: re.compile(rb"[^\t\n\f\r />=]*"),  # attribute name
    L_AFTER: re.compile(rb"[\t\n\f\r ]*"),  # after an attribute name
    L_VALUE: re.compile(rb"[\t\n\f\r ]*"),  # before an attribute value
    L_DQ: re.compile(rb'[^"]*'),
    L_SQ: re.compile(rb"[^']*"),
    L_UNQ: re.compile(rb"[^\t\n\f\r >]*"),
}
