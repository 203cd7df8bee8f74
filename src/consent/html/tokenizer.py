"""The streaming HTML tokenizer: finds the start tags a handler asked for, passes the rest on.

Bytes in, bytes out, chunk by chunk, output independent of how the input is split.
The tokenizer knows nothing of consent. It follows the WHATWG tokenizer where it
matters for telling real tags from text (comments, bogus comments, CDATA, attribute
quoting, script data with its escape states, RAWTEXT/RCDATA, ``<plaintext>``) and
asks `consent.html.tree.ForeignStack` about SVG and MathML.

**Fail closed.** Where browsers could read the same bytes in two ways, both readings
are made safe rather than one guessed:

* ``<noscript>`` is raw text for a browser with scripting on and markup without it;
* a raw-text element (``<style>``, ``<xmp>``, ...) is markup in SVG/MathML, and inside
  ``<select>`` older parsers ignore its start tag;
* ``<![CDATA[`` hides everything to ``]]>`` in foreign content and ends at the first
  ``>`` in HTML, and foreign content may or may not have ended (`ForeignStack.doubtful`);
* a ``<script>`` in an integration point that some reading may have closed is script
  data in HTML and an SVG script, its text markup, in that reading.

In each case the tokenizer reads the bytes as markup (the reading that reveals every
tag) and remembers the *terminator* of the other reading (``</noscript``, ``</style``,
``]]>``). Where a terminator sits inside a tag, comment or raw text of our reading,
it would let the other reading leave its raw text in the middle of our construct, so
its first byte is escaped (``<`` as ``&lt;``, ``>`` as ``&gt;``): attribute values read
the same, comments and raw text change harmlessly, and both readings now see the
same tags. Where a terminator sits between tags, both readings agree from there on.

**Speed.** Plain HTML (no foreign content, no second reading) is not tokenized tag
by tag: a compiled search (`consent.html.lexer.fast`) jumps from candidate to
candidate (the start tags of interest and the few that change the tokenizer's state),
and each candidate is proven to be markup with two ``rfind`` calls. Start tags decided
before come from the handler's cache in one dict lookup. Unchanged stretches leave as
views of the input, so the page is copied once.

Memory stays bounded: only an unfinished construct at the end of a chunk is held
back, up to `TAG_LIMIT` bytes for a tag, `SCRIPT_LIMIT` for an inline script whose
text decides it, `WHITESPACE_LIMIT` after ``<head>``/``<body>``. A longer tag is
neutralised as it streams past (see `Handler.long_tag`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple, Protocol

from consent.html import lexer
from consent.html.injection import (
    CHARSET_REACH,
    WHITESPACE_LIMIT,
    PageInjection,
    charset_end,
    ours_next,
)
from consent.html.lexer import (
    ANY_END,
    BEFORE_QUOTE,
    COMMENT_END,
    COMMENT_FULL,
    L_AFTER,
    L_ATTR,
    L_BEFORE,
    L_DQ,
    L_NAME,
    L_SQ,
    L_UNQ,
    L_VALUE,
    LETTERS,
    LONG_STEPS,
    NOT_START,
    SCRIPT_DATA,
    SCRIPT_DOUBLE,
    SCRIPT_ESCAPED,
    SCRIPT_HOLD,
    SPACE_CHARS,
    TAG_OPEN,
    TAG_REST,
    TAIL_OPEN,
    Inert,
    SparseTags,
    in_quoted_value,
    is_self_closing,
    parse_attrs,
    tag_end,
)
from consent.html.tree import BREAKOUT, SVG_INTEGRATION, ForeignStack

__all__ = [
    "CHARSET_REACH",
    "NEEDS_TEXT",
    "SCRIPT_LIMIT",
    "TAG_LIMIT",
    "UNDECIDED",
    "WHITESPACE_LIMIT",
    "Handler",
    "PageInjection",
    "Tokenizer",
]

TAG_LIMIT = 64 * 1024
SCRIPT_LIMIT = 256 * 1024

#: A handler's answer for a script whose inline text decides it (see `Handler.script`).
NEEDS_TEXT = b"\0needs text"
#: `Handler.recall`'s answer for a tag it has no decision for.
UNDECIDED: bytes | None = b"\0undecided"


class Handler(Protocol):
    """What the tokenizer hands start tags to. Replacements are whole tags, or None."""

    #: Start tags (lower-case names) handed to `start_tag`, besides ``script``.
    names: frozenset[bytes]
    #: ``(name, strings)``: a start tag ``name`` matters only when it holds one of
    #: ``strings``; plain HTML passes the others unseen (see `consent.html.lexer.sparse`).
    sparse: SparseTags
    #: Start tags decided before, by their exact bytes: the replacement, or None.
    decided: dict[bytes, bytes | None]
    #: Start tags of its names it leaves as they are in any context, and without asking
    #: (`lexer.Inert`): inside SVG/MathML they pass unseen. None: every one is asked about.
    inert: Inert | None

    @property
    def blocks_nothing(self) -> bool:
        """True when no tag will be neutralised: ambiguous readings need no guarding."""
        ...

    def start_tag(self, name: bytes, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """A start tag of interest (``tag[body:]`` is what follows its name)."""
        ...

    def script(self, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """A script start tag; `NEEDS_TEXT` when its inline text decides it."""
        ...

    def script_text(self, tag: bytes, text: bytes, *, foreign: bool, exact: bool = True) -> bytes:
        """The start tag of a script that needed its text, decided on that text (not
        ``exact``: the script may run other bytes of it, so any tracker it names decides)."""
        ...

    def long_tag(self, name: bytes, head: bytes, *, foreign: bool) -> bytes:
        """The first bytes of a tag too long to hold, made safe (see `TAG_LIMIT`)."""
        ...

    def remember(self, key: bytes, done: bytes | None) -> None:
        """Keep a decision in `decided` (the handler bounds it)."""
        ...

    def recall(self, key: bytes) -> bytes | None:
        """A decision no longer in `decided` but kept elsewhere (back in `decided` from
        now on), or `UNDECIDED`: asked after a miss in `decided`, before judging anew."""
        ...


# Tokenizer states.
_DATA, _SCRIPT, _RAWTEXT, _PLAINTEXT, _COMMENT, _BOGUS, _CDATA, _LONG_TAG = range(8)
# Script data sub-states.
_ESC_NONE, _ESC_SINGLE, _ESC_DOUBLE = range(3)
# Injection progress.
_PENDING_NONE, _PENDING_HEAD, _PENDING_BODY, _PENDING_SOME_BODY = range(4)
# What the fast path does with a start tag, by name.
_KIND_ORDINARY, _KIND_ELEMENT, _KIND_SCRIPT, _KIND_RAW, _KIND_OTHER, _KIND_INJECTION = range(6)
# How `Tokenizer._scan` returns (`_SCAN_SKIP`: a candidate passed over, within `_scan`).
_SCAN_RESUME, _SCAN_HOLD, _SCAN_EXACT, _SCAN_TAG, _SCAN_SKIP = range(5)

#: RAWTEXT and RCDATA elements (for our purposes the same: text up to their end tag).
RAW_ELEMENTS = frozenset(
    {b"style", b"xmp", b"iframe", b"noembed", b"noframes", b"textarea", b"title"}
)
#: Start tags the tokenizer itself must see: they change its state or the tree.
STATE_STARTS = RAW_ELEMENTS | {
    b"script",
    b"plaintext",
    b"svg",
    b"math",
    b"template",
    b"noscript",
    b"select",
    b"keygen",
}
_PARK_FROM = 512  # a held tail this long is not scanned again until it can change
#: States in which our reading sees text that another reading may see markup in.
_RAW_LIKE = frozenset({_SCRIPT, _RAWTEXT, _PLAINTEXT, _CDATA})
#: States in which another reading leaving its text makes us follow that reading instead.
_SWITCHING = _RAW_LIKE | {_COMMENT}
_CACHE_TAG = 512  # longer start tags are not cached
_CACHE_SCRIPT = 2048  # longer inline scripts (tag and text) are not cached
_CDATA_OPEN = b"<![CDATA["


@cache
def _raw_end(name: bytes) -> re.Pattern[bytes]:
    """The end tag of a RAWTEXT/RCDATA element ``name`` (what the tokenizer looks for)."""
    return re.compile(rb"</(?i:" + re.escape(name) + rb")[\t\n\f\r />]")


#: Terminators that end another reading's text with a ">" (CDATA, a comment): ``]]>``
#: and ``-->`` (which stands for ``--!>`` too). The others are end tags (``</name``).
_TEXT_TERMINATORS = {b"]]>": rb"\]\]>", b"-->": rb"--!?>"}


@cache
def _terminators(pending: frozenset[bytes]) -> re.Pattern[bytes]:
    """Where another reading leaves its text: ``</name`` + delimiter, ``]]>`` or ``-->``."""
    parts = []
    for item in sorted(pending):
        if item in _TEXT_TERMINATORS:
            parts.append(_TEXT_TERMINATORS[item])
        else:
            parts.append(rb"</(?i:" + re.escape(item) + rb")(?=[\t\n\f\r />])")
    return re.compile(b"|".join(parts))


@dataclass(frozen=True, slots=True)
class _Searches:
    """How the DATA state of plain HTML is searched, for one state of the tokenizer."""

    fast: re.Pattern[bytes]  # the candidate search (sparse names left to `sparse`)
    exact: re.Pattern[bytes]  # tag by tag, every name in it (`lexer.master`)
    sparse: tuple[re.Pattern[bytes], lexer.Needles] | None  # see `lexer.sparse`
    kinds: dict[bytes, int]  # what `Tokenizer._scan` does with each name (`_kinds`)
    runs: _ForeignRuns  # ordinary foreign markup, read in C (`_foreign_runs`)
    island: re.Pattern[bytes] | None  # a whole icon <svg> in plain HTML (None: not skipped)


@cache
def _searches(
    handled: frozenset[bytes],
    sparse: SparseTags,
    inert: Inert | None,
    wanted: frozenset[bytes],
    ends: frozenset[bytes],
) -> _Searches:
    """The searches for a handler's names and ``sparse`` ones, while ``wanted`` (``head``,
    ``body``) are still looked for and ``ends`` (``template``, ``select``) are open (with a
    select, the table tags that close it in some parsers too). The handler's elements it
    leaves alone (``inert``) are no candidates of the fast search (`Tokenizer._judge`)."""
    starts = STATE_STARTS | handled | wanted
    if b"select" in ends:
        starts |= _TABLE_TAGS
    dense = starts - {name for name, _ in sparse}
    kinds = _kinds(starts, handled)
    elements = frozenset(name for name in dense if kinds[name] == _KIND_ELEMENT)
    runs = _foreign_runs(handled, inert)
    return _Searches(
        fast=lexer.fast(dense, ends, inert, elements),
        exact=lexer.master(starts, ends),
        sparse=lexer.sparse(sparse) if sparse else None,
        kinds=kinds,
        runs=runs,
        island=None if b"svg" in handled else runs.island,  # (a handler that asks sees it)
    )


_HEAD_BODY = frozenset({b"head", b"body"})
_BODY = frozenset({b"body"})
_NONE: frozenset[bytes] = frozenset()
#: Tags that close a <select> in a table in older parsers ("in select in table").
_TABLE_TAGS = frozenset({b"caption", b"table", b"tbody", b"tfoot", b"thead", b"tr", b"td", b"th"})
#: Start tags that close an open <select> in older parsers (the table tags: in a table).
_CLOSE_A_SELECT = frozenset({b"input", b"keygen", b"textarea"}) | _TABLE_TAGS
_ENDS = {
    (template, select): frozenset(
        name for name, is_open in ((b"template", template), (b"select", select)) if is_open
    )
    | (_TABLE_TAGS if select else _NONE)
    for template in (False, True)
    for select in (False, True)
}


def _sparse_before(
    sparse: tuple[re.Pattern[bytes], lexer.Needles],
    found: re.Match[bytes] | None,
    buf: bytes,
    pos: int,
) -> re.Match[bytes] | None:
    """A sparse tag (`Handler.sparse`: a link) before the plain search's candidate ``found``,
    or ``found``.

    Sparse tags are looked for only where the stretch up to ``found`` may hold one of their
    strings (`lexer.sparse`, `_may_hold`). One that runs past ``found`` is no loss: ``found``
    then sits inside a tag, and `Tokenizer._scan` tokenizes the stretch exactly.
    """
    tags, needles = sparse
    limit = found.start() if found is not None else len(buf)
    for first, strings in needles:
        # Most stretches hold none of the first bytes: one find each, at memchr speed.
        at = buf.find(first, pos, limit)
        if at >= 0 and (strings[0] == first or _may_hold(buf, at, strings, limit)):
            return tags.search(buf, pos, limit) or found
    return found


#: How many of their first byte `_may_hold` looks past before it says a string may be there.
_FIRST_BYTE_TRIES = 4


def _may_hold(buf: bytes, at: int, strings: tuple[bytes, ...], limit: int) -> bool:
    """Whether ``buf[at:limit]``, which starts with the first byte of ``strings`` (all begin
    with it), may hold one of them: False only when it holds none.

    The first byte is found at `bytes.find`'s single-byte speed and the strings compared
    there: `bytes.find` for a longer string costs many times more per call. Past a few first
    bytes that begin none of them (``&amp;`` for ``&#``), the answer is "maybe".
    """
    first = strings[0][:1]
    for _ in range(_FIRST_BYTE_TRIES):
        for string in strings:
            if buf.startswith(string, at, limit):
                return True
        at = buf.find(first, at + 1, limit)
        if at < 0:
            return False
    return True


#: A start or end tag's "<", its "/" and its name, as the tokenizer reads a name.
_FOREIGN_TAG = re.compile(rb"<(/?)([A-Za-z][^\t\n\f\r />]*)")


#: Start tags that do more in foreign content than open an element (and go to the handler):
#: breakouts, ``font`` (with some attributes), ``annotation-xml`` (by its encoding), scripts,
#: raw-text names (Chromium's preload scanner reads them in any namespace), and ``select``
#: (an HTML select in a reading where the foreign content has ended).
_FOREIGN_SPECIAL = (
    BREAKOUT
    | RAW_ELEMENTS
    | {
        b"font",
        b"annotation-xml",
        b"script",
        b"noscript",
        b"select",
    }
)
#: Start tags that change how foreign content goes on: roots, integration points (and the
#: elements that only count inside one).
_FOREIGN_SHIFTS = frozenset(
    b"svg math annotation-xml foreignobject desc title mi mo mn ms mtext mglyph malignmark".split()
)


class _ForeignRuns(NamedTuple):
    """`lexer.foreign_runs` for one handler."""

    run: re.Pattern[bytes] | None  # markup that leaves the stack of foreign elements as it is
    island: re.Pattern[bytes] | None  # a whole <svg> of it
    stops: frozenset[bytes]  # start tags no run begins with


@cache
def _foreign_runs(handled: frozenset[bytes], inert: Inert | None) -> _ForeignRuns:
    """The runs for a handler's names: they go to the handler, unless ``inert`` describes
    the tag (the handler would leave it as it is)."""
    stops = _FOREIGN_SPECIAL | _FOREIGN_SHIFTS
    guarded = handled - stops
    patterns = lexer.foreign_runs(stops, guarded, inert)
    if inert is None:
        stops |= guarded
    if patterns is None:
        return _ForeignRuns(None, None, stops)
    return _ForeignRuns(*patterns, stops)


#: How far an ``<svg>`` island is looked for: an icon is short, and a failed look at a long
#: sprite must not cost as much as reading it.
_ISLAND_REACH = 4096


_SCRIPT_TOKENS = {_ESC_NONE: SCRIPT_DATA, _ESC_SINGLE: SCRIPT_ESCAPED, _ESC_DOUBLE: SCRIPT_DOUBLE}
_SCRIPT_END = len(b"</script")


class _OtherScript:
    """Another reading in script data (Chromium's preload scanner after an SVG ``<script>``,
    a browser with scripting off inside ``<noscript>``): its escape state, kept by reading
    the bytes it reads.

    Its ``</script`` ends it, unless it is double-escaped (``<!--`` then ``<script``): there a
    ``</script`` only takes it back to escaped. So whether a ``</script`` among the pending
    terminators ends that reading depends on every ``<!--``, ``-->`` and ``<script`` before
    it; taking the first one would follow a reading that is still in script data.
    """

    __slots__ = ("carry", "escape")

    def __init__(self, escape: int) -> None:
        self.escape = escape
        self.carry = b""  # the end of what was read, where a token may have been cut

    def read(self, data: bytes) -> None:
        """Read script data up to (not into) a ``</script`` the tokenizer looks at."""
        data = self.carry + data
        pos = 0
        size = len(data)
        while True:
            m = _SCRIPT_TOKENS[self.escape].search(data, pos)
            if m is None:
                break
            token = m.group()
            if token[:2] == b"</":  # one no terminator site saw: as `ends_at` would read it
                self.ends_at()
            elif token[:4] == b"<!--":
                if m.end() == size and m.group(2) is None:
                    pos = m.start()  # "<!--" at the end: is a ">" coming?
                    break
                if m.group(2) is None:
                    self.escape = _ESC_SINGLE
            elif token == b"-->":
                self.escape = _ESC_NONE
            else:  # "<script" in the escaped state
                self.escape = _ESC_DOUBLE
            pos = m.end()
        self.carry = data[max(pos, size - _SCRIPT_END) :]

    def ends_at(self) -> bool:
        """At a ``</script``: whether it ends the script (else it leaves double-escaping)."""
        self.carry = b""
        if self.escape == _ESC_DOUBLE:
            self.escape = _ESC_SINGLE
            return False
        return True


def _script_data_end(buf: bytes, start: int) -> int:
    """Where the script data starting at ``buf[start]`` ends (its ``</script``), as an HTML
    parser reads it (double-escaped ``</script``s do not end it); -1: not in ``buf``."""
    reading = _OtherScript(_ESC_NONE)
    read = start
    for found in _raw_end(b"script").finditer(buf, start):
        at = found.start()
        reading.read(buf[read:at])
        if reading.ends_at():
            return at
        read = at + _SCRIPT_END
    return -1


_SCRIPT_MARKUP = re.compile(rb"<!\[CDATA\[|<!--|</?([a-z][^\t\n\f\r />]*)", re.IGNORECASE)


def _after_hidden(buf: bytes, opener: bytes, at: int, *, cdata_to: bytes) -> int:
    """Where a comment or CDATA section whose opener ends at ``buf[at]`` is over (-1: not
    in ``buf``); a CDATA section ends at ``cdata_to`` (``]]>``, or ``>`` as a bogus comment)."""
    if opener != b"<!--":
        close = buf.find(cdata_to, at)
        return close if close < 0 else close + len(cdata_to)
    # The tokenizer's own comment: "<!-->" at once, else at "-->" or "--!>" (a parse error
    # that ends it too). One definition, so both readings end a comment at the same byte.
    comment = COMMENT_FULL.match(buf, at - len(opener))
    return -1 if comment is None else comment.end()


def _foreign_script_text(buf: bytes, start: int) -> tuple[int, bytes]:
    """An SVG script's text starting at ``buf[start]``, as the tree builder reads it, and
    where it ends: at the ``</script`` that closes it, outside tags, CDATA sections and
    comments (elements inside it, a ``<script>`` too, are closed first), or at a tag that
    breaks out of the SVG. Its text is that of its own children: text and CDATA sections
    (a ``</script>`` inside them included), not comments, nor the text of elements inside
    it; -1 and the text so far: its end is not in ``buf``."""
    pieces = []
    inside: list[bytes] = []  # elements open inside the script, innermost last
    pos = start
    while True:
        found = _SCRIPT_MARKUP.search(buf, pos)
        if not inside:
            pieces.append(buf[pos : found.start() if found else len(buf)])
        if found is None:
            return -1, b"".join(pieces)
        opener = found.group()
        if opener[:2] == b"<!":
            pos = _after_hidden(buf, opener, found.end(), cdata_to=b"]]>")
            if opener != b"<!--" and not inside:
                pieces.append(buf[found.end() : pos - 3 if pos >= 0 else len(buf)])
            if pos < 0:
                return -1, b"".join(pieces)
            continue
        name = found.group(1).lower()
        if opener[1:2] == b"/" and not inside and name == b"script":
            return found.start(), b"".join(pieces)
        end = tag_end(buf, found.end())  # a quoted value may hold "</script"
        if end < 0:
            return -1, b"".join(pieces)
        if opener[1:2] == b"/":
            if name in inside:
                del inside[len(inside) - 1 - inside[::-1].index(name) :]
        elif name in BREAKOUT and SVG_INTEGRATION.isdisjoint(inside):
            return found.start(), b"".join(pieces)  # it ends the SVG, script and all
        elif not is_self_closing(buf, found.end(), end - 1):
            inside.append(name)
        pos = end


def _markup_script_end(buf: bytes, start: int) -> int:
    """The first ``</script`` from ``buf[start]`` that our markup reading sees between its
    constructs (tags, comments, bogus comments): one inside them it escapes, so a reading in
    script data runs on past it to this one. -1: not in ``buf``."""
    pos = start
    while True:
        found = _SCRIPT_MARKUP.search(buf, pos)
        if found is None:
            return -1
        opener = found.group()
        if opener[:2] == b"<!":
            pos = _after_hidden(buf, opener, found.end(), cdata_to=b">")
        elif opener[1:2] == b"/" and found.group(1).lower() == b"script":
            return found.start()
        else:
            pos = tag_end(buf, found.end())
        if pos < 0:
            return -1


def _references_decoded(text: bytes) -> bytes:
    """``text`` with its character references decoded (bytes that are not UTF-8 kept)."""
    decoded = html.unescape(text.decode("utf-8", "surrogateescape"))
    return decoded.encode("utf-8", "surrogateescape")


def _hidden_text_may_run_on(buf: bytes, start: int, stop: int) -> bool:
    """Whether a CDATA section or a comment in the SVG script text ``buf[start:stop]`` may
    run on in the rewritten page: its end (``]]>``, ``-->``) lies in a construct of our
    reading, where it is escaped. Our reading takes ``<![CDATA[`` for a bogus comment that
    ends at the first ``>`` (as Chromium's preload scanner does), and leaves a comment where
    another reading's end tag lies in it (`_comment`). The section then goes on, for the
    readings that build a tree, over what was markup and text, and the script runs other
    text than it was judged by. Fail closed: a construct this cannot follow counts as one."""
    budget = [_SWITCH_TRIES]  # end tags in our comments still to try (`_switches_in_comment`)
    found = _HIDDEN.search(buf, start, stop)
    while found is not None:
        at = found.start()
        if found.group() == _CDATA_OPEN:
            close = buf.find(b"]]>", found.end())
            if close < 0:
                return False  # no end: it runs to the end in every reading anyway
            after = close + 3
            if _meets_in_a_construct(buf, buf.find(b">", at + 2) + 1, close, after, budget):
                return True
        else:
            comment = COMMENT_FULL.match(buf, at)
            if comment is None:
                return False  # (as a section without an end)
            after = comment.end()
            close = after - (4 if buf[after - 2] == 0x21 else 3)  # "--!>" or "-->"
            if _switches_in_comment(buf, at + 4, close, close, after, budget):
                return True
        found = _HIDDEN.search(buf, after, stop)
    return False


#: What hides markup from the tree builder inside an SVG script: CDATA sections, comments.
_HIDDEN = re.compile(rb"<!\[CDATA\[|<!--")
#: The end tags with which a reading pending beside ours may leave its raw text.
_READING_END = re.compile(
    rb"</(?:" + b"|".join(sorted(RAW_ELEMENTS | {b"script", b"noscript"})) + rb")", re.I
)
#: How many such end tags in our comments are tried per script before failing closed.
_SWITCH_TRIES = 8


def _meets_in_a_construct(buf: bytes, pos: int, close: int, end: int, budget: list[int]) -> bool:
    """Whether our reading, going on from ``pos`` in markup, meets the terminator of another
    reading (``buf[close:end]``: ``]]>``, ``-->``) inside a tag or raw text (escaped there),
    rather than in its text, at the end of a construct or in a comment (where `_markup` and
    `_comment` let the readings meet)."""
    while pos < end:
        lt = buf.find(b"<", pos, close)
        if lt < 0:
            return False  # the terminator in our text
        second = buf[lt + 1]  # (the terminator follows: there is a byte)
        is_end = second == 0x2F and buf[lt + 2] in LETTERS
        if buf.startswith(b"<!--", lt):
            comment = COMMENT_FULL.match(buf, lt)
            stop = close if comment is None else min(comment.end(), close)
            if _switches_in_comment(buf, lt + 4, stop, close, end, budget):
                return True
            if comment is None or comment.end() > close:
                return False  # the terminator in our comment: there the readings meet
            pos = comment.end()
            continue
        if second in LETTERS or is_end:
            name_end = lexer.match(LONG_STEPS[L_NAME], buf, lt + 1 + is_end).end()
            tag_close = tag_end(buf, name_end)
            name = buf[lt + 1 + is_end : name_end].lower()
            if tag_close < 0 or tag_close > end:
                return True  # unfinished, or around the terminator: escaped there
            if tag_close < end and not is_end and name in STATE_STARTS:
                return True  # it may switch our reading to raw text: fail closed
            pos = tag_close
        elif second in (0x21, 0x2F, 0x3F):  # "<!", "</", "<?": a bogus comment
            pos = buf.find(b">", lt + 2) + 1  # (at the terminator's ">" at the latest)
        else:
            pos = lt + 1
    return False


def _switches_in_comment(
    buf: bytes, body: int, stop: int, close: int, end: int, budget: list[int]
) -> bool:
    """Where another reading's end tag lies in our comment (``buf[body:stop]``; the preload
    scanner's ``</script``), we follow that reading from there and read markup (`_comment`).
    Which readings are pending is not known here, so each such end tag is tried: whether our
    reading then meets the terminator ``buf[close:end]`` in a construct. ``budget`` counts
    the tries left for the whole script: past it, fail closed (the walks stay linear)."""
    for switch in _READING_END.finditer(buf, body, stop):
        budget[0] -= 1
        if budget[0] < 0:
            return True
        if _meets_in_a_construct(buf, switch.start(), close, end, budget):
            return True
    return False


class _HeldScript:
    """An inline script's start tag, held back until its text tells us its category."""

    __slots__ = ("content", "tag", "text")

    def __init__(self, tag: bytes) -> None:
        self.tag = tag  # an HTML script (an SVG one is decided by its attributes alone)
        self.content = bytearray()
        #: Its whole text, where that reaches past `content` (see `_held_script_text`).
        self.text: bytes | None = None


class Tokenizer:
    """Rewrite one HTML body, chunk by chunk, through ``handler``; inject ``injection``."""

    #: Find candidates by search and prove them, rather than tokenizing every tag. Both give
    #: the same output; the switch exists so tests can compare them.
    fast_path = True

    def __init__(self, handler: Handler, *, injection: PageInjection | None = None) -> None:
        self._handler = handler
        self._decided = handler.decided
        # Whether ambiguous readings must be guarded (not when nothing is ever blocked).
        self._guarded = not handler.blocks_nothing
        self._injection = injection
        self._buf = b""
        self._parked: list[bytes] | None = None  # chunks waiting for the ">" of a held tag
        self._parked_size = 0
        self._parked_tag = True  # parked for a ">" (or for a non-space byte)
        self._closed = False
        self._state = _DATA
        self._escape = _ESC_NONE
        self._raw_name = b""
        self._raw_end: re.Pattern[bytes] | None = None
        self._foreign = ForeignStack()
        self._template = 0
        # The select state outside each open <template> (bit 1: some reading in a select,
        # bit 2: every reading), restored at its end tag: nothing inside a template's
        # content stays open after it (one byte per level keeps deep nesting cheap).
        self._outside_templates = bytearray()
        self._select = False  # some reading of the page is inside a <select>
        self._select_all = False  # every reading is
        self._select_doubted = False  # a select that only some readings open (see `doubted`)
        # Terminators of the other readings (see the module docstring), and the pin that
        # keeps their elements open in the tree meanwhile.
        self._pending: frozenset[bytes] = frozenset()
        self._pending_re: re.Pattern[bytes] | None = None
        self._pending_text = False  # a CDATA or comment reading is among them
        self._pin = 0
        self._pinned = False
        self._pinning: frozenset[bytes] = frozenset()  # the readings that hold the pin
        # The reading among them that is in script data, and how far into ``buf`` it has
        # read (-1: from the end of the tag being handled).
        self._other_script: _OtherScript | None = None
        self._script_read = 0
        self._script_ends: dict[int, bool] = {}  # its "</script"s in ``buf`` read so far
        self._held: _HeldScript | None = None
        self._foreign_texts: tuple[bytes, ...] = ()  # the SVG script being judged, its texts
        self._foreign_exact = True  # whether it runs one of them exactly
        self._long_state = L_NAME
        self._long_name = b""
        self._long_end_tag = False
        self._long_slash = False
        active = injection is not None and bool(injection.head or injection.body)
        self._want_head = active  # still looking for <head>
        self._want_body = active  # still looking for <body>
        self._injection_pending = _PENDING_NONE
        self._head_placed = False  # head injection emitted (or found already there)
        self._injected = False
        self._some_body = False  # the banner went after a <body> only some readings see
        self._kinds: dict[bytes, int] = {}
        # A tag past TAG_LIMIT streaming through: where it starts, its safe head, and where
        # that head ends (set by `_start_long_tag`, emitted by `_run`).
        self._long_head: tuple[int, bytes, int] | None = None
        self._apostrophe = -1  # where the next "'" of the current buffer is (see `_scan`)
        self._exact_until = 0  # below this position of it, tokenize exactly (`_data_run`)
        self._fast: re.Pattern[bytes]
        self._exact: re.Pattern[bytes]
        self._sparse: tuple[re.Pattern[bytes], lexer.Needles] | None
        self._runs: _ForeignRuns
        self._island_pattern: re.Pattern[bytes] | None
        self._choose_patterns()

    @property
    def doubted(self) -> bool:
        """Whether some markup was read two ways, treated as able to fetch and maybe blocked
        as text: after an SVG or MathML element whose end a browser may have seen elsewhere
        (an ``<svg>`` left open in a link, say), or in a ``<select>`` that only some
        readings open (one in ``<noscript>``, which is text with scripting on) or close (an
        ``<input>`` after a select left open closes it in older parsers only), or an SVG
        script whose CDATA section or comment ends in a tag of ours (escaped there, it runs
        on)."""
        return self._foreign.doubted or self._select_doubted

    @property
    def injected(self) -> bool:
        """Whether the body injection (the banner) was inserted after a ``<body>`` every
        reading of the page sees."""
        return self._injected

    # --- streaming -----------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        """Rewrite ``chunk``; return what is ready (an unfinished construct is held back)."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        if not chunk:
            return b""
        if self._parked is not None:
            # Nothing can change until the held construct can end: a ">" for an unfinished
            # tag, anything but whitespace after <head>/<body>. Park the chunk instead of
            # scanning the held bytes again, which keeps tiny chunks linear.
            self._parked.append(bytes(chunk))
            self._parked_size += len(chunk)
            wakes = b">" in chunk if self._parked_tag else bool(chunk.strip(SPACE_CHARS))
            if not wakes and self._parked_size <= TAG_LIMIT:
                return b""
            buf = b"".join(self._parked)
            self._parked = None
        else:
            buf = self._buf + chunk if self._buf else bytes(chunk)
        out, keep = self._run(buf, final=False)
        held = self._buf = buf[keep:]
        if len(held) >= _PARK_FROM and self._state == _DATA:
            if TAG_OPEN.match(held):
                self._parked, self._parked_size, self._parked_tag = [held], len(held), True
            elif self._injection_pending and not held.strip(SPACE_CHARS):
                self._parked, self._parked_size, self._parked_tag = [held], len(held), False
        return b"".join(out)

    def close(self) -> bytes:
        """Flush everything held back; no more input can be fed afterwards."""
        if self._closed:
            return b""
        self._closed = True
        buf, self._buf = self._buf, b""
        if self._parked is not None:
            buf, self._parked = b"".join(self._parked), None
        if not buf and not self._injection_pending and self._held is None:
            return b""  # the usual end: nothing held back
        out, keep = self._run(buf, final=True)
        out.append(buf[keep:])
        if self._held is not None:
            out.append(self._release_held())
        return b"".join(out)

    # --- the main loop -------------------------------------------------------------------

    def _run(self, buf: bytes, final: bool) -> tuple[list[bytes | memoryview], int]:
        """Process ``buf``; return the output pieces and where the held-back tail starts.

        Each state has its own step; a step returns ``(position, last, wait)``, ``wait``
        meaning ``buf[position:]`` waits for more input. Unchanged stretches are views of
        ``buf``: copying them into slices first would copy the page twice (the pieces, then
        their join) and allocate as much again.
        """
        out: list[bytes | memoryview] = []
        view = memoryview(buf)
        self._apostrophe = -1  # see `_scan`
        self._exact_until = 0
        last = 0  # buf[last:pos] is processed but not yet appended to out
        pos = 0
        size = len(buf)
        while pos < size or (final and self._injection_pending):
            state = self._state
            if state != _DATA:
                if state == _LONG_TAG:
                    pos, last, wait = self._long_tag_run(buf, view, pos, last, out, final)
                else:
                    pos, last, wait = self._text_state_run(state, buf, view, pos, last, out, final)
            elif self._injection_pending:
                pos, last, wait = self._injection_run(buf, view, pos, last, out, final)
            elif self._foreign or self._pending:
                skipped, last = self._foreign_skip(buf, view, pos, last, out)
                if skipped > pos:
                    pos = skipped
                    continue
                step, last = self._markup(buf, view, pos, last, out, final)
                pos, wait = (pos, True) if step < 0 else (step, False)
            else:
                pos, last, wait = self._data_run(buf, view, pos, last, out, final)
            if wait:
                break
        hold = min(pos, size)
        out.append(view[last:hold] if out else buf[last:hold])  # all of buf: no copy at all
        if self._other_script is not None:
            self._script_reading_moves_on(buf, hold)
        return out, hold

    def _injection_run(
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, bool]:
        """Right after ``<head>`` or ``<body>``: insert our markup (or wait to know where)."""
        step = self._inject(buf, view, pos, last, out, final)
        if step is None:
            return pos, last, True
        at, last = step
        return at, last, False

    def _data_run(
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, bool]:
        """The DATA state in HTML content, up to the next tag the handler must see.

        The fast path (`_scan`) finds candidates by search; below `_exact_until` (where it
        found a hazard), inside ``<select>`` (every candidate matters to its bookkeeping)
        and when tests switch it off, `_exact_step` tokenizes tag by tag.
        """
        if pos < self._exact_until or not self.fast_path or self._select:
            pos, outcome, at, body, end = self._exact_step(buf, pos, final)
        else:
            pos, last, outcome, at, body, end = self._scan(buf, view, pos, last, out, final)
            if outcome == _SCAN_EXACT:
                self._exact_until = end
                return pos, last, False
        if outcome != _SCAN_TAG:
            return pos, last, outcome == _SCAN_HOLD
        replacement = self._start_tag(buf[at + 1 : body].lower(), buf, at, body, end)
        if replacement is not None:
            out.append(view[last:at])
            if self._held is None:
                out.append(replacement)
            last = end
        return end, last, False

    def _exact_step(self, buf: bytes, pos: int, final: bool) -> tuple[int, int, int, int, int]:
        """Skip uninteresting markup tag by tag, in C, to the next interesting tag:
        ``(position, outcome, at, body, end)`` as `_scan` returns them."""
        m = lexer.match(self._exact, buf, pos)
        at = m.end("skip")
        if m.start("s") >= 0:
            return pos, _SCAN_TAG, at, m.start("b"), m.end()
        if m.start("e") >= 0:
            self._end_tag(m.group("e").lower())
            return m.end(), _SCAN_RESUME, 0, 0, 0
        if at >= len(buf):
            return len(buf), _SCAN_HOLD, 0, 0, 0
        step = self._unfinished(buf, at, final)
        if step < 0:
            return at, _SCAN_HOLD, 0, 0, 0
        return step, _SCAN_RESUME, 0, 0, 0

    def _long_tag_run(
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, bool]:
        """A tag past TAG_LIMIT streaming past: ``(position, last, wait)``."""
        size = len(buf)
        if self._long_head is not None:
            at, head, upto = self._long_head
            self._long_head = None
            out.append(view[last:at])
            out.append(head)
            last = upto
        more = False
        if not self._pending:
            pos = self._long_tag(buf, pos, size)
        else:
            # Another reading may leave its raw text inside this tag: escape its terminators
            # as the tag streams past, none cut in two at the end.
            start = pos
            upto = max(pos, size - self._pending_hold())
            stop = size if final else self._before_terminator(buf, pos, upto)
            pos = self._long_tag(buf, pos, max(stop, pos))
            last = self._patched(buf, view, last, start, pos, out)
            more = self._state == _LONG_TAG and pos < size  # the rest comes back with more
        if self._script_read < 0 and self._state != _LONG_TAG:
            self._script_read = pos  # a long foreign <script> start tag ended here
        return pos, last, more

    def _text_state_run(
        self,
        state: int,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, bool]:
        """Text of a raw-text, script, comment or CDATA state: ``(position, last, wait)``,
        waiting while the state goes on past the end of ``buf``.

        Another reading may leave its raw text inside ours: from there on it reads markup,
        and so must we (see `_switch_readings`).
        """
        other = None
        if self._pending_re is not None and state in _SWITCHING:
            other = self._pending_re.search(buf, pos)
        escape = self._escape  # (a script's, at ``pos``: `_text_run` reads on)
        upto, done = self._text_run(state, buf, pos, final)
        while other is not None and other.start() <= upto and not self._ends(buf, other):
            other = self._next_terminator(buf, other.end())
        if other is not None and other.start() <= upto:
            if state == _COMMENT and done and other.end() == upto:
                self._converge(other.group())  # a comment reading ends where ours does
            elif other.start() < upto or not done:
                if self._held is not None and state == _SCRIPT:
                    text = self._held_script_text(buf, pos, upto, done, final)
                    if text is None:  # its end is not here yet: wait for it
                        self._state, self._escape = _SCRIPT, escape
                        return pos, last, True
                    self._held.text = text
                upto, done = other.start(), True
                self._switch_readings(state, other.group(), escape, pos)
            else:
                self._converge(other.group())  # both end here: one end tag for both
        held = self._held
        if held is not None and state == _SCRIPT:
            # Collect the text of an inline script we cannot decide on yet.
            held.content += buf[pos:upto]
            last = upto
            if self._state != _SCRIPT or len(held.content) > SCRIPT_LIMIT:
                out.append(self._release_held())
        elif self._pending and state not in _RAW_LIKE:
            if not done and not final:
                upto = self._before_terminator(buf, pos, upto)
            last = self._patched(buf, view, last, pos, upto, out, closes=done)
        return upto, last, not done

    def _held_script_text(
        self, buf: bytes, pos: int, upto: int, done: bool, final: bool
    ) -> bytes | None:
        """The whole text of the held inline script, whose script data goes on at ``pos``
        while another reading leaves its raw text inside it (`_switch_readings`): we read
        markup from there, but that script still runs on to its ``</script`` (``upto`` when
        ``done``) and must be judged by all of it. None: wait for more of it."""
        held = self._held
        assert held is not None
        if done:
            return bytes(held.content) + buf[pos:upto]
        if final or len(held.content) + len(buf) - pos > SCRIPT_LIMIT:
            return (bytes(held.content) + buf[pos:])[:SCRIPT_LIMIT]
        return None

    def _text_run(self, state: int, buf: bytes, pos: int, final: bool) -> tuple[int, bool]:
        """Consume text of a non-markup state from ``pos``; return (where, state ended)."""
        size = len(buf)
        hold = self._pending_hold()
        if state == _SCRIPT:
            upto = self._script_data(buf, pos, final)
            return upto, self._state != _SCRIPT
        if state == _RAWTEXT:
            assert self._raw_end is not None
            found = self._raw_end.search(buf, pos)
            if found is not None:
                self._state = _DATA
                return found.start(), True
            keep = len(self._raw_name) + 3
        elif state == _COMMENT:
            found = COMMENT_END.search(buf, pos)
            if found is not None:
                self._state = _DATA
                return found.end(), True
            keep = 3
        elif state == _CDATA:
            found = lexer.CDATA_END.search(buf, pos)
            if found is not None:
                self._state = _DATA
                return found.end(), True
            keep = 2
        elif state == _BOGUS:
            gt = buf.find(b">", pos)
            if gt >= 0:
                self._state = _DATA
                return gt + 1, True
            keep = 0
        else:  # _PLAINTEXT: everything after <plaintext> is text (another reading aside)
            if self._pending_re is None:
                return size, False
            keep = hold
        if final:
            return size, False
        return max(pos, size - max(keep, hold)), False

    # --- the fast path -------------------------------------------------------------------

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
        sparse = self._sparse
        while True:
            found = search(buf, pos)
            if sparse is not None:
                found = _sparse_before(sparse, found, buf, pos)
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
            # stretch exactly. The quote test is `in_quoted_value`, unrolled: a quote can
            # open a value only after "=" or whitespace, and most last quotes close one.
            gt = buf.rfind(b">", pos, at)
            if gt >= 0:
                sync = gt + 1
                if self._may_open_value(buf, pos + 1, gt) and in_quoted_value(buf, pos, gt):
                    return pos, last, _SCAN_EXACT, 0, 0, body
            else:
                sync = pos
            # (Without a "<" after the last ">", no tag can open there: one find saves the
            # pattern search.)
            if sync < at and buf.find(b"<", sync, at) >= 0 and TAG_OPEN.search(buf, sync, at):
                return pos, last, _SCAN_EXACT, 0, 0, body
            if buf[at + 1] in NOT_START:
                pos, outcome = self._not_a_start_tag(buf, at, final)
                end = 0
            else:
                candidate = self._start_candidate(buf, view, at, body, last, out, final)
                pos, last, outcome, end = candidate
            if outcome != _SCAN_SKIP:
                return pos, last, outcome, at, body, end

    def _start_candidate(
        self,
        buf: bytes,
        view: memoryview,
        at: int,
        body: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, int, int]:
        """A start tag the fast path found at ``at`` (its name ends at ``body``), proved to be
        markup: ``(pos, last, outcome, end)``.

        Ordinary and decided tags are done here (`_SCAN_SKIP`: search on from ``pos``); a
        tag that changes the state or was not seen before goes to `_start_tag` (`_SCAN_TAG`,
        the tag ending at ``end``).
        """
        name = buf[at + 1 : body]
        kind = self._kinds.get(name, -1)
        if kind < 0:
            name = name.lower()
            kind = self._kinds.get(name, _KIND_ORDINARY)
        if name == b"svg" and (island := self._island(buf, at)) > 0:
            return island, last, _SCAN_SKIP, island  # an icon: in and out of SVG, no more
        end, decided = self._tag_end(buf, at, body)
        if end < 0:
            step = self._unfinished(buf, at, final)
            return (at, last, _SCAN_HOLD, 0) if step < 0 else (step, last, _SCAN_RESUME, 0)
        after = end
        if kind == _KIND_ORDINARY:
            return end, last, _SCAN_SKIP, end  # a name that only looked interesting
        if kind == _KIND_ELEMENT:
            if decided is UNDECIDED:
                decided = self._judge(name, buf, at, body, end)
        elif kind == _KIND_SCRIPT:
            if decided is not UNDECIDED:
                decided, after = self._decided_script(buf, at, end, decided)
        elif kind == _KIND_RAW and not self._select:  # no handler asked for it: skip its text
            step, outcome = self._skip_raw_text(name, buf, end)
            return step, last, outcome, end
        elif kind == _KIND_INJECTION and end - at <= TAG_LIMIT and not self._template:
            return self._injection_point(name, buf, view, end, last, out, final)
        else:
            decided = UNDECIDED  # it changes the tokenizer's state
        if decided is UNDECIDED:
            return at, last, _SCAN_TAG, end  # `_start_tag` takes it
        if decided is not None:
            out.append(view[last:at])
            out.append(decided)
            last = end
        return after, last, _SCAN_SKIP, end

    def _injection_point(
        self,
        name: bytes,
        buf: bytes,
        view: memoryview,
        end: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int, int, int]:
        """``<head>`` or ``<body>`` (ending at ``end``) found by the fast path: what
        `_html_start_tag` and then `_injection_run` do with it, in one step (every page has
        them): ``(pos, last, outcome, end)`` as `_start_candidate` returns them."""
        self._open_injection_point(name)
        if not self._injection_pending:
            return end, last, _SCAN_SKIP, end  # (one was found before)
        step = self._inject(buf, view, end, last, out, final)
        if step is None:
            return end, last, _SCAN_RESUME, end  # `_injection_run` waits for more input
        at, last = step
        return at, last, _SCAN_SKIP, end

    def _tag_end(self, buf: bytes, at: int, body: int) -> tuple[int, bytes | None]:
        """Where the start tag at ``at`` ends (-1: not in ``buf``), and what was decided for
        it before (`UNDECIDED`: nothing yet).

        A decided tag is a whole tag, so if the bytes up to the first ">" are one, the tag
        ends there; else it ends at that ">" unless a quote may open a value before it
        (`tag_end`, unrolled).
        """
        end = buf.find(b">", body) + 1
        if not end:
            return -1, UNDECIDED
        decided = UNDECIDED
        if end - at <= _CACHE_TAG:
            decided = self._decided.get(buf[at:end], UNDECIDED)
        if decided is UNDECIDED and self._may_open_value(buf, body + 1, end):
            end = tag_end(buf, body)
            if 0 < end - at <= _CACHE_TAG:
                decided = self._decided.get(buf[at:end], UNDECIDED)
        return end, decided

    def _judge(self, name: bytes, buf: bytes, at: int, body: int, end: int) -> bytes | None:
        """The handler's decision on an element not in the decision cache: plain HTML here
        (no foreign content, no select), and the element changes no state, so the handler
        judges it right away. `UNDECIDED` for a tag past TAG_LIMIT (`_start_tag` takes it).

        A tag the handler leaves alone (`Handler.inert`: an image from the site itself) never
        gets here: the fast search passes it over (`lexer.fast`), and it is not kept, as it
        would only push decisions that repeat out of the cache."""
        if end - at <= _CACHE_TAG:
            decided = self._handler.recall(buf[at:end])
            if decided is not UNDECIDED:
                return decided
        if end - at > TAG_LIMIT:
            return UNDECIDED
        return self._handler.start_tag(name, buf[at:end], body - at, foreign=False)

    def _island(self, buf: bytes, at: int) -> int:
        """Where an ``<svg>`` at ``at`` (in plain HTML) ends when it holds only markup that
        needs nothing (`lexer.foreign_runs`: an icon's paths, a ``<use>`` of a symbol on the
        page): then it opens and closes foreign content and changes nothing else. -1: not
        such an element (`_start_tag` takes it)."""
        island = self._island_pattern
        if island is None:
            return -1
        reach = at + _ISLAND_REACH
        if buf.find(b"</svg", at, reach) < 0 and buf.find(b"</SVG", at, reach) < 0:
            # No end within reach (a sprite, read run by run): one find at memchr speed
            # instead of a failed match over the whole reach. (An end in mixed case only
            # takes the slower, equally exact way.)
            return -1
        found = island.match(buf, at, reach)
        return -1 if found is None else found.end()

    def _skip_raw_text(self, name: bytes, buf: bytes, end: int) -> tuple[int, int]:
        """Skip a raw-text element no handler asked for, its start tag ending at ``end``:
        ``(position, outcome)``; when its text goes on past ``buf``, enter its state."""
        close = _raw_end(name).search(buf, end)
        if close is None:
            self._enter_raw(name)
            return end, _SCAN_RESUME
        return (close.end() if buf[close.end() - 1] == 0x3E else close.start()), _SCAN_SKIP

    def _not_a_start_tag(self, buf: bytes, at: int, final: bool) -> tuple[int, int]:
        """A candidate ``<!``, ``<?`` or ``</``: ``(position, outcome)``, the outcome
        `_SCAN_SKIP` (go on searching from there), `_SCAN_RESUME` or `_SCAN_HOLD`."""
        if buf[at + 1] == 0x2F and buf[at + 2] in LETTERS:  # "</name": end tag
            tag = ANY_END.match(buf, at)
            if tag is not None:
                self._end_tag(tag.group(1).lower())  # may switch patterns
                return tag.end(), _SCAN_RESUME
        elif (step := self._declaration(buf, at)) >= 0:
            return step, _SCAN_SKIP
        step = self._unfinished(buf, at, final)
        return (at, _SCAN_HOLD) if step < 0 else (step, _SCAN_RESUME)

    def _decided_script(
        self, buf: bytes, at: int, end: int, decided: bytes | None
    ) -> tuple[bytes | None, int]:
        """A script start tag decided before, ``buf[at:end]``: ``(its replacement, where its
        text ends)``, or `UNDECIDED` when `_script_start` must read its text.

        Its text usually ends in this buffer without ``<!--`` (which needs the escaped
        states): the end tag is found right here, and the search goes on past it (the text
        after a ``</script>`` is usually not markup).
        """
        close = SCRIPT_DATA.search(buf, end)
        if close is None or buf[close.start() + 1] != 0x2F:  # not "</"
            return UNDECIDED, -1
        upto = close.start()
        after = close.end() if buf[close.end() - 1] == 0x3E else upto
        if decided is NEEDS_TEXT:
            # Decided by its whole text, as `_release_held` would, without holding a copy of
            # it; the same script (tag and text) is usually on every page of the site.
            decided = self._script_by_text(buf[at:end], buf, end, upto)
        return decided, after

    def _may_open_value(self, buf: bytes, start: int, stop: int) -> bool:
        """Whether the last quote in ``buf[start:stop]`` may open an attribute value: it
        follows "=" or whitespace (most last quotes close one). If not, a ``>`` at ``stop``
        ends any tag open before it (`in_quoted_value` proves it when this says maybe).

        Where the next "'" is stays known (`_apostrophe`, ``len(buf)``: none): most pages
        hold few single quotes outside scripts, so most "'" searches are skipped, and a page
        of many short scans does not search the buffer again each time.
        """
        quote = buf.rfind(b'"', start, stop)
        if quote < 0 or buf[quote - 1] not in BEFORE_QUOTE:
            apostrophe = self._apostrophe
            if apostrophe < start:
                apostrophe = buf.find(b"'", start)
                self._apostrophe = apostrophe = apostrophe if apostrophe >= 0 else len(buf)
            quote = buf.rfind(b"'", start, stop) if apostrophe < stop else -1
        return quote >= 0 and buf[quote - 1] in BEFORE_QUOTE

    def _candidate(self, buf: bytes, pos: int) -> re.Match[bytes] | None:
        """The fast path's next candidate from ``pos`` (as `_scan` searches)."""
        found = self._fast.search(buf, pos)
        if self._sparse is not None:
            found = _sparse_before(self._sparse, found, buf, pos)
        return found

    @staticmethod
    def _tail(buf: bytes, pos: int) -> int:
        """Where to hold back a candidate-free stretch ``buf[pos:]``; -1: tokenize it exactly.

        Text after the last ``>`` goes out; an unfinished tag after it is held back.
        """
        gt = buf.rfind(b">", pos)
        if gt >= 0 and in_quoted_value(buf, pos, gt):
            return -1
        lt = buf.find(b"<", gt + 1 if gt >= 0 else pos)
        tag = TAIL_OPEN.search(buf, lt) if lt >= 0 else None
        if tag is None:
            return len(buf)
        return tag.start() if len(buf) - tag.start() <= TAG_LIMIT else -1

    def _declaration(self, buf: bytes, pos: int) -> int:
        """Skip a complete comment, doctype or bogus comment at ``pos``; -1 if unfinished."""
        kind = buf[pos + 1 : pos + 2]
        if kind == b"!" and buf.startswith(b"<!--", pos):
            m = COMMENT_FULL.match(buf, pos)
            return m.end() if m is not None else -1
        if kind == b"!" and buf[pos + 2 : pos + 4] in (b"-", b""):
            return -1  # "<!" or "<!-" might still become "<!--"
        if kind == b"/" and buf[pos + 2 : pos + 3] == b">":
            return pos + 3  # "</>" is dropped by the tokenizer
        gt = buf.find(b">", pos + 2)
        return gt + 1 if gt >= 0 else -1

    def _unfinished(self, buf: bytes, pos: int, final: bool) -> int:
        """At a ``<`` whose construct does not end in ``buf``: enter a state or wait for more.

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
        # An unfinished tag: wait for the rest, or stream it past TAG_LIMIT.
        if size - pos <= TAG_LIMIT:
            return -1
        return self._start_long_tag(buf, pos)

    # --- markup, tag by tag (foreign content, or another reading pending) --------------------

    def _foreign_skip(
        self, buf: bytes, view: memoryview, pos: int, last: int, out: list[bytes | memoryview]
    ) -> tuple[int, int]:
        """Read ordinary SVG/MathML markup (an icon, a formula) from ``pos`` in a tight loop;
        return ``(where `_markup` must take over, last)``.

        Only while ours is the one reading (no terminator of another to watch), start tags
        are foreign and no reading may have ignored the element inside a select (there an
        ``<input>`` closes the select: `_foreign_start_tag`): then text needs nothing, an
        end tag only closes elements of the stack, and most start tags only open one
        (`_foreign_start`). Anything else, or anything unfinished in ``buf``, is left to
        `_markup`, construct by construct.
        """
        stack = self._foreign
        if self._pending or not self.fast_path or stack.start_tags_are_html():
            return pos, last
        if self._select and stack.doubtful:
            return pos, last  # (some start tags close the select where the SVG was ignored)
        while True:
            lt = buf.find(b"<", pos)
            tag = _FOREIGN_TAG.match(buf, lt) if lt >= 0 else None
            if tag is None:
                return (pos if lt < 0 else lt), last
            name = tag.group(2).lower()
            if tag.group(1):  # an end tag
                whole = ANY_END.match(buf, lt)
                step = -1 if whole is None else whole.end()
                if step > 0:
                    self._end_tag(name)
            else:
                step, last = self._foreign_start(buf, view, tag, name, last, out)
            if step < 0:
                return lt, last
            pos = step
            if stack.start_tags_are_html():
                return pos, last

    def _foreign_start(
        self,
        buf: bytes,
        view: memoryview,
        tag: re.Match[bytes],
        name: bytes,
        last: int,
        out: list[bytes | memoryview],
    ) -> tuple[int, int]:
        """A start tag in `_foreign_skip`: ``(where its markup ends, last)``, -1 when it is
        one for `_markup` (`_FOREIGN_SPECIAL`, too long, unfinished).

        Markup that leaves the stack as it is (`lexer.foreign_run`: a sprite's
        ``<symbol>``, its paths and its end tag) is read in C; else the tag opens an element
        of the stack and goes to the handler if it asked for it.
        """
        handler = self._handler
        lt = tag.start()
        run, _, stops = self._runs
        if run is not None and name not in stops:
            found = run.match(buf, lt)
            if found is not None and found.end() > lt:
                return found.end(), last
        rest = TAG_REST.match(buf, tag.end()) if name not in _FOREIGN_SPECIAL else None
        if rest is None or rest.end() - lt > TAG_LIMIT:
            return -1, last
        end = rest.end()
        closing = buf[end - 2] == 0x2F and is_self_closing(buf, tag.end(), end - 1)
        self._foreign.start_tag(name, self_closing=closing)
        if name in handler.names:
            done = handler.start_tag(name, buf[lt:end], tag.end() - lt, foreign=True)
            if done is not None:
                out.append(view[last:lt])
                out.append(done)
                last = end
        return end, last

    def _markup(
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int]:
        """Tokenize one construct from ``pos`` in the DATA state, every tag visited.

        Used inside SVG/MathML (every tag counts for the tree) and while another reading
        is pending (its terminators must be found). Returns ``(next position, last)``;
        the position is -1 when ``buf[pos:]`` must wait for more input.
        """
        size = len(buf)
        lt = buf.find(b"<", pos)
        text_end = lt if lt >= 0 else size
        text_ends = self._pending_text
        if text_ends and pos < text_end:
            # A CDATA or comment reading ends in our text: from here on it reads what we read.
            assert self._pending_re is not None
            for found in self._pending_re.finditer(buf, pos, text_end):
                if found.group()[:2] != b"</":
                    self._converge(found.group())
                    return found.end(), last
        if lt < 0:
            if final or not text_ends:
                return size, last
            keep = size - 3  # "]]", "--" or "--!" may be the start of a terminator
            return (keep if keep > pos else -1), last
        if lt + 1 >= size:
            return (size, last) if final else (-1, last)
        nxt = buf[lt + 1]
        if nxt in LETTERS:
            return self._markup_start_tag(buf, view, lt, last, out, final)
        if nxt == 0x2F:  # "/"
            third = buf[lt + 2 : lt + 3]
            if third and third[0] in LETTERS:
                return self._markup_end_tag(buf, view, lt, last, out, final)
            if not third and not final:
                return -1, last
        elif nxt == 0x21:  # "!"
            return self._markup_declaration(buf, view, lt, last, out, final)
        elif nxt != 0x3F:  # not "?": a "<" in text
            return lt + 1, last
        return self._bogus_comment(buf, view, lt, last, out, final)

    def _markup_declaration(
        self,
        buf: bytes,
        view: memoryview,
        lt: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int]:
        """``<!`` in markup: a comment, CDATA (in foreign content) or a bogus comment."""
        size = len(buf)
        if not final and b"<!--".startswith(buf[lt : lt + 4]) and size - lt < 4:
            return -1, last  # "<!" or "<!-" might still become "<!--"
        if buf.startswith(b"<!--", lt):
            m = COMMENT_FULL.match(buf, lt)
            if m is None:
                if not final and size - lt < 6:
                    return -1, last
                self._state = _COMMENT
                return lt + 4, last
            return self._comment(buf, view, lt, m.end(), last, out)
        head = buf[lt : lt + len(_CDATA_OPEN)]
        if _CDATA_OPEN.startswith(head) and len(head) < len(_CDATA_OPEN):
            return (size, last) if final else (-1, last)
        if head == _CDATA_OPEN and self._foreign:
            if not self._foreign.current_node_is_html():
                if not self._guarded:
                    self._state = _CDATA  # text up to "]]>" for the tree builder
                    return lt + len(_CDATA_OPEN), last
                # The tree builder reads text up to "]]>", but Chromium's preload scanner
                # reads a comment that ends at the first ">" and fetches what follows (and
                # foreign content may have ended already). Read the bogus comment; keep the
                # CDATA reading's "]]>" from ending inside our constructs.
                self._add_pending(b"]]>")
            elif self._guarded:
                # An HTML element is current in our reading, but some reading may have closed
                # it (an <input> closes a <select>; implied end tags are not modelled) and
                # be back in the integration point, a foreign element: CDATA there.
                self._add_pending(b"]]>")
                self._foreign.doubted = True
        return self._bogus_comment(buf, view, lt, last, out, final)

    def _bogus_comment(
        self,
        buf: bytes,
        view: memoryview,
        lt: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int]:
        """A bogus comment in markup: ``<!...>``, ``<?...>``, ``</ ...>``."""
        gt = buf.find(b">", lt + 2)
        if gt < 0:
            if final:
                return len(buf), last
            self._state = _BOGUS
            return lt + 2, last
        return gt + 1, self._patched(buf, view, last, lt + 2, gt + 1, out, closes=True)

    def _markup_start_tag(
        self,
        buf: bytes,
        view: memoryview,
        lt: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int]:
        """`_markup` at a start tag ``buf[lt:]``: its terminators of other readings escaped."""
        size = len(buf)
        name_end = lexer.match(LONG_STEPS[L_NAME], buf, lt + 1).end()
        end = tag_end(buf, name_end)
        if end < 0:
            if final:  # the page ends in a tag: no reading may leave its text in there
                return size, self._patched(buf, view, last, lt + 1, size, out)
            return self._markup_unfinished(buf, lt, final), last
        tag = self._patch_tag(buf, lt, end)
        name = buf[lt + 1 : name_end].lower()
        if name == b"script" and self._script_is_markup():
            # An SVG script: its text is markup to the tree builder, but it runs. Judge it
            # by its text (held back until its end is here).
            close_at, texts, exact = self._markup_script_texts(buf, end)
            if close_at < 0 and not final and size - lt <= SCRIPT_LIMIT:
                return -1, last
            self._foreign_texts, self._foreign_exact = texts, exact
        replacement = self._start_tag(name, tag, 0, name_end - lt, end - lt, whole=tag)
        if self._script_read < 0:
            self._script_read = end  # a script reading starts after this tag
        if replacement is None and tag != buf[lt:end]:
            replacement = tag  # escaped for another reading (which may have met ours since)
        if replacement is not None:
            out.append(view[last:lt])
            if self._held is None:
                out.append(replacement)
            last = end
        return end, last

    def _markup_script_texts(self, buf: bytes, end: int) -> tuple[int, tuple[bytes, ...], bool]:
        """A script our reading takes as markup, its start tag ending at ``end``: where its
        text ends (-1: not in ``buf``), the texts to judge it by, and whether it runs one of
        them exactly.

        The tree builder's text is that of the script's own children, up to its end tag.
        Where some reading may take it for an HTML script, its script data may run on past
        the first ``</script`` (double-escaped, or one we escape). Those are raw bytes our
        reading edits as markup, and a ``srcdoc`` rewritten there is written out with its
        character references decoded (``&#x27;`` as ``'``): judged that way too, the text
        cannot come to name a tracker through an edit of ours. Where our escape lets a CDATA
        section or a comment run on (`_hidden_text_may_run_on`), the script runs some of the
        bytes after it, which ones is not known (a ``//`` that hid a call may be gone): any
        tracker they name decides it, and the page is reported as read two ways.
        """
        stack = self._foreign
        close_at, text = _foreign_script_text(buf, end)
        raw = stack.doubtful or stack.start_tags_are_html()
        if raw:
            ends = (close_at, _script_data_end(buf, end), _markup_script_end(buf, end))
            close_at = -1 if min(ends) < 0 else max(ends)
            text = buf[end:close_at] if close_at >= 0 else buf[end:]
        exact = True
        stop = close_at if close_at >= 0 else len(buf)
        if self._guarded and _hidden_text_may_run_on(buf, end, stop):  # (unguarded: no escapes)
            close_at, text, raw, exact = -1, buf[end:], True, False
            stack.doubted = True  # read two ways: the operator hears of it (`doubted`)
        text = text[:SCRIPT_LIMIT]
        if raw and b"&" in text:
            return close_at, (text, _references_decoded(text)), exact
        return close_at, (text,), exact

    def _markup_end_tag(
        self,
        buf: bytes,
        view: memoryview,
        lt: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int]:
        """`_markup` at an end tag ``buf[lt:]``, where another reading may leave its text."""
        m = ANY_END.match(buf, lt)
        if m is None:
            if final:  # as an unfinished start tag
                return len(buf), self._patched(buf, view, last, lt + 2, len(buf), out)
            return self._markup_unfinished(buf, lt, final), last
        name = m.group(1).lower()
        if name in self._pending and (name != b"script" or self._ends_at(buf, lt)):
            self._converge(name)  # the other reading leaves its raw text right here
        last = self._patched(buf, view, last, lt + 2, m.end(), out, closes=True)
        self._end_tag(name)
        return m.end(), last

    def _comment(
        self,
        buf: bytes,
        view: memoryview,
        lt: int,
        end: int,
        last: int,
        out: list[bytes | memoryview],
    ) -> tuple[int, int]:
        """A whole comment ``buf[lt:end]`` of our reading; returns ``(next position, last)``.

        Where another reading leaves its text inside it (``<script><!--</script>`` in an SVG
        that a browser may have closed already), that reading sees markup from there on:
        we follow it, and guard ours until its ``-->``. Escaping the terminator instead
        would change the other reading's script text, and its page.
        """
        pattern = self._pending_re
        if pattern is not None:
            found = pattern.search(buf, lt + 4, end)
            while found is not None and not self._ends(buf, found):
                found = pattern.search(buf, found.end(), end)
            if found is not None and found.end() < end:
                self._converge(found.group())
                self._add_pending(b"-->")
                return found.start(), last
        return end, self._patched(buf, view, last, lt + 4, end, out, closes=True)

    def _markup_unfinished(self, buf: bytes, lt: int, final: bool) -> int:
        if final:
            return len(buf)
        if len(buf) - lt <= TAG_LIMIT:
            return -1
        return self._start_long_tag(buf, lt)

    # --- other readings --------------------------------------------------------------------

    def _add_pending(self, terminator: bytes, *, pin: bool = True) -> None:
        """Another reading sees raw text up to ``terminator``: guard our constructs from it.

        ``pin``: that reading builds a tree (not only Chromium's preload scanner, which has
        none), so what is open now stays open in the tree until every such reading meets
        ours again (`_converge`).
        """
        if terminator in self._pending or not self._guarded:
            return
        if pin:
            # Every such reading keeps open what is open when it starts (a CDATA section
            # opened inside <noscript> keeps the <svg> it is in), until all have converged.
            previous = self._foreign.pin()
            if not self._pinned:
                self._pin = previous
                self._pinned = True
            self._pinning |= {terminator}
        self._set_pending(self._pending | {terminator})

    def _set_pending(self, pending: frozenset[bytes]) -> None:
        self._pending = pending
        self._pending_re = _terminators(pending) if pending else None
        self._pending_text = any(item in _TEXT_TERMINATORS for item in pending)
        if b"script" not in pending:
            self._other_script = None

    def _add_script_reading(self, escape: int, start: int, *, pin: bool = True) -> None:
        """Another reading is in script data from ``buf[start]`` (-1: after the tag being
        handled), in ``escape`` state. (One already there keeps its own state.) ``pin``: as
        for `_add_pending`; False when it is only Chromium's preload scanner."""
        if b"script" in self._pending or not self._guarded:
            return
        self._add_pending(b"script", pin=pin)
        self._other_script = _OtherScript(escape)
        self._script_read = start

    def _ends(self, buf: bytes, found: re.Match[bytes]) -> bool:
        """Whether a terminator found in ``buf`` ends its reading's text."""
        return (
            found.group()[:2] != b"</"
            or found.group()[2:].lower() != b"script"
            or (self._ends_at(buf, found.start()))
        )

    def _ends_at(self, buf: bytes, at: int) -> bool:
        """Whether the ``</script`` at ``buf[at]`` ends the other reading's script."""
        other = self._other_script
        if other is None:
            return True
        known = self._script_ends.get(at)
        if known is not None:
            return known  # read already (found again by another search)
        read = self._script_read
        if 0 <= read < at:
            other.read(buf[read:at])
        self._script_read = max(read, at + _SCRIPT_END)
        ends = self._script_ends[at] = other.ends_at()
        return ends

    def _script_reading_moves_on(self, buf: bytes, hold: int) -> None:
        """The next buffer starts at ``buf[hold]``: the script reading reads up to there, and
        what it knows of the ``</script``s held back moves with them."""
        assert self._other_script is not None
        read = self._script_read
        if read < 0:
            return  # it starts after a tag that is not over yet
        if read < hold:
            self._other_script.read(buf[read:hold])
        self._script_read = max(0, read - hold)
        ends = self._script_ends
        self._script_ends = {at - hold: end for at, end in ends.items() if at >= hold}

    def _next_terminator(self, buf: bytes, pos: int) -> re.Match[bytes] | None:
        assert self._pending_re is not None
        return self._pending_re.search(buf, pos)

    def _switch_readings(self, state: int, terminator: bytes, escape: int, start: int) -> None:
        """Another reading leaves its raw text at ``terminator``, inside our raw text.

        It reads markup from here while we still read text (an unclosed ``<script>`` in a
        ``<noscript>``, say): it becomes the reading we follow, and ours is the one in raw
        text now, guarded until its own end. Both readings keep their meaning: nothing is
        escaped.
        """
        self._converge(terminator)
        if state == _SCRIPT:
            self._add_script_reading(escape, start)  # in ``escape`` state at ``buf[start]``
        elif state == _RAWTEXT:
            self._add_pending(self._raw_name)
        elif state == _CDATA:
            self._add_pending(b"]]>")
        elif state == _COMMENT:
            self._add_pending(b"-->")
        # (_PLAINTEXT: our reading sees nothing but text from here: nothing to guard.)
        self._state = _DATA

    def _converge(self, terminator: bytes) -> None:
        """The reading with this terminator leaves its raw text: it reads what we read."""
        if terminator == b"]]>" or terminator[:1] == b"-":
            key = b"]]>" if terminator == b"]]>" else b"-->"
        else:  # "</name" as found, or the name
            key = terminator.lstrip(b"</").lower()
        self._set_pending(self._pending - {key})
        self._pinning -= {key}
        if not self._pinning and self._pinned:
            # (Readings still pending build no tree: Chromium's preload scanner in raw text
            # that foreign content opened. Our reading's elements close as they close.)
            self._foreign.unpin(self._pin)
            self._pinned = False

    def _pending_hold(self) -> int:
        """Bytes to hold back at the end of a chunk so no terminator is cut in two."""
        if not self._pending:
            return 0
        return max(len(item) for item in self._pending) + 3

    def _before_terminator(self, buf: bytes, pos: int, upto: int) -> int:
        """Where a comment or bogus comment cut at the end of a chunk may be emitted up to:
        ``upto``, or the start of a terminator (with its delimiter) that does not end before
        it. Escaped in one piece, it cannot be missed by two."""
        assert self._pending_re is not None
        for found in self._pending_re.finditer(buf, max(pos, upto - self._pending_hold())):
            if found.start() >= upto:
                break
            if found.end() >= upto:
                return found.start()
        return upto

    def _patch(self, data: bytes, start: int, end: int, *, closes: bool = False) -> bytes | None:
        """``data[start:end]`` with every terminator of another reading escaped; None: none.

        ``closes``: ``data[end - 1]`` is the ``>`` that ends our construct. A ``]]>`` or
        ``-->`` ending there ends the other reading's text at the same byte: the readings
        meet, nothing is escaped.
        """
        pattern = self._pending_re
        if pattern is None:
            return None
        pieces: list[bytes] = []
        pos = start
        for m in pattern.finditer(data, start, end):
            found = m.start()
            if data[found] == 0x3C and not self._ends(data, m):
                continue  # a "</script" that keeps the other reading in script: not its end
            if data[found] == 0x3C and closes and tag_end(data, m.end()) == end:
                # The other reading's end tag ends at our ">" (``<p </noscript>``): both
                # readings go on from the same byte, and it has left its text. They meet.
                self._converge(m.group())
                continue
            if data[found] == 0x3C:  # "</name": its "<"
                pieces.append(data[pos:found])
                pieces.append(b"&lt;")
                pos = found + 1
            elif closes and m.end() == end:
                self._converge(m.group())
            else:  # "]]>", "-->": its ">"
                pieces.append(data[pos : m.end() - 1])
                pieces.append(b"&gt;")
                pos = m.end()
        if not pieces:
            return None
        pieces.append(data[pos:end])
        return b"".join(pieces)

    def _patch_tag(self, buf: bytes, start: int, end: int) -> bytes:
        """The tag ``buf[start:end]``, terminators of other readings inside it escaped."""
        patched = self._patch(buf, start + 1, end, closes=True)
        if patched is None:
            return buf[start:end]
        return buf[start : start + 1] + patched

    def _patched(
        self,
        buf: bytes,
        view: memoryview,
        last: int,
        start: int,
        end: int,
        out: list[bytes | memoryview],
        *,
        closes: bool = False,
    ) -> int:
        """Emit ``buf[last:end]`` with terminators in ``buf[start:end]`` escaped; new last."""
        patched = self._patch(buf, max(start, last), end, closes=closes)
        if patched is None:
            return last
        out.append(view[last : max(start, last)])
        out.append(patched)
        return end

    # --- tags ----------------------------------------------------------------------------

    def _start_tag(
        self,
        name: bytes,
        buf: bytes,
        start: int,
        body: int,
        end: int,
        *,
        whole: bytes | None = None,
        judge: bool = True,
    ) -> bytes | None:
        """Handle a start tag ``buf[start:end]`` of interest; return its replacement or None.

        ``whole`` is the tag as it must be judged (escaped by `_patch_tag`), when not
        ``buf[start:end]``; ``judge=False`` applies only its effect on the tokenizer.
        """
        tag = whole if whole is not None else buf[start:end]
        body -= start
        stack = self._foreign
        if judge and len(tag) > TAG_LIMIT:
            # Too long to rewrite, however it arrived (output never depends on chunking):
            # made safe at its head, like one that streams past (`_start_long_tag`).
            replacement = self._long_head_of(name, tag[:body])
            self._start_tag(name, tag, 0, body, len(tag), judge=False)
            return None if replacement is None else replacement + tag[body:]
        if stack and not stack.start_tags_are_html():
            return self._foreign_start_tag(name, tag, body, judge=judge)
        if name == b"image":
            name = b"img"  # the tree builder renames it
        if name == b"script":
            markup = self._script_is_markup()
            if stack:  # in an integration point: its end tag closes it, not foreign content
                stack.start_tag(name, self_closing=False)
            return self._script_start(tag, body, foreign=False, judge=judge, markup=markup)
        replacement = self._handle(name, tag, body, foreign=False) if judge else None
        if name in RAW_ELEMENTS or name == b"noscript" or name == b"plaintext":
            if stack:
                stack.start_tag(name, self_closing=False)
            self._raw_start(name)
        elif name == b"svg" or name == b"math":
            closing = is_self_closing(tag, body, len(tag) - 1)
            if not closing:
                if self._select:
                    stack.push_doubtful(name)  # older parsers ignore it inside <select>
                else:
                    stack.start_tag(name, self_closing=False)
        else:
            self._html_start_tag(name, tag, body)
        return replacement

    def _html_start_tag(self, name: bytes, tag: bytes, body: int) -> None:
        """The bookkeeping of any other HTML start tag (in plain HTML or an integration point)."""
        stack = self._foreign
        if stack:
            stack.start_tag(name, self_closing=is_self_closing(tag, body, len(tag) - 1))
        if name == b"template":
            # Not counted where another reading sees this tag as text (<noscript> with
            # scripting on): no template opens there, so our markup still goes in where
            # that reading has the page's <body>.
            if not self._pending:
                self._outside_templates.append(self._select | self._select_all << 1)
                self._template += 1
                self._choose_patterns()
            # A <select> outside is not in scope inside, so one inside opens its own.
            self._select_all = False
        elif name == b"select":
            # A <select> inside a <select> closes it (and is ignored), in every parser; one
            # opened where some readings had closed theirs (an <input> does, in older ones)
            # or where another reading sees text (`_pending`: <noscript> with scripting on)
            # leaves some readings inside a select.
            if self._pending:
                self._select, self._select_all = True, False
                self._select_doubted = True
            elif not self._select:
                self._select = self._select_all = True
            elif self._select_all:
                self._select = self._select_all = False
            self._choose_patterns()
        elif name in _CLOSE_A_SELECT and self._select:
            self._some_leave_the_select()  # older parsers close it here, newer may not
        elif stack:
            pass  # <head>, <body> in foreign content: not the page's own
        elif name == b"head" or name == b"body":
            self._open_injection_point(name)

    def _foreign_start_tag(
        self, name: bytes, tag: bytes, body: int, *, judge: bool = True
    ) -> bytes | None:
        """A start tag handled by the foreign-content rules (inside SVG/MathML)."""
        stack = self._foreign
        closing = is_self_closing(tag, body, len(tag) - 1)
        breakout = name in BREAKOUT
        if name == b"font":
            attrs = parse_attrs(tag, body, len(tag) - 1)
            breakout = b"color" in attrs or b"face" in attrs or b"size" in attrs
        if breakout:
            stack.break_out(name, self_closing=closing)
            # Handled as HTML from here, in an integration point or outside.
            return self._handle(name, tag, body, foreign=False) if judge else None
        encoding = None
        if name == b"annotation-xml":
            attr = parse_attrs(tag, body, len(tag) - 1).get(b"encoding")
            encoding = attr.value if attr is not None else None
        elif name == b"select" and stack.doubtful:
            # Where the foreign content has ended (another reading), this opens an HTML
            # select, in which older parsers ignore raw-text and other start tags.
            self._select, self._select_all = True, False
            self._choose_patterns()
        elif stack.doubtful and self._select and name in _CLOSE_A_SELECT:
            # Where the foreign content was never opened (older parsers ignore an <svg> in a
            # <select>), this closes the select: a later <select> opens one there.
            self._some_leave_the_select()
        stack.start_tag(name, self_closing=closing, encoding=encoding)
        if name == b"script":
            return self._script_start(tag, body, foreign=True, judge=judge)
        if name in RAW_ELEMENTS or name == b"noscript":
            # Raw text to Chromium's preload scanner, which knows no namespaces (and to a
            # reading outside foreign content where that may have ended): watch its end.
            self._add_pending(name, pin=stack.doubtful)
        return self._handle(name, tag, body, foreign=True) if judge else None

    def _handle(self, name: bytes, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """The handler's replacement for a start tag it asked for (cached by its bytes)."""
        if name not in self._handler.names:
            return None
        if not foreign and len(tag) <= _CACHE_TAG:
            decided = self._decided.get(tag, UNDECIDED)
            if decided is UNDECIDED:
                decided = self._handler.recall(tag)
            if decided is not UNDECIDED:
                return decided
        return self._handler.start_tag(name, tag, body, foreign=foreign)

    def _script_is_markup(self) -> bool:
        """Whether our reading takes the text of a ``<script>`` here as markup.

        In SVG it is markup (an SVG script). So it is for an HTML script in an integration
        point where some reading may have closed that point (`ForeignStack.doubtful`): it is
        an SVG script there, and markup inside it may fetch (``<svg><foreignObject><select>
        <input></foreignObject><script><pre><script src=...>``: ``<input>`` closes the
        select in Chromium, so ``</foreignObject>`` is not ignored). Read as markup, with the
        script-data reading watched beside it, both readings are made safe.
        """
        stack = self._foreign
        if not stack:
            return False
        if not stack.start_tags_are_html():
            return True
        return stack.doubtful and stack.depth > 1

    def _script_start(
        self, tag: bytes, body: int, *, foreign: bool, judge: bool = True, markup: bool = False
    ) -> bytes | None:
        """A script start tag: judge it, and read its text as the parser will."""
        if foreign or markup:
            # Chromium's preload scanner reads script data after any <script> (it builds no
            # tree), and so does a reading outside SVG ("/>" means nothing in HTML), which
            # keeps open what it has open.
            self._add_script_reading(_ESC_NONE, -1, pin=markup or self._foreign.doubtful)
        else:
            self._state = _SCRIPT
            self._escape = _ESC_NONE
        if not judge:
            return None
        decided = UNDECIDED
        if not foreign and len(tag) <= _CACHE_TAG:
            decided = self._decided.get(tag, UNDECIDED)
            if decided is UNDECIDED:
                decided = self._handler.recall(tag)
        if decided is UNDECIDED:
            decided = self._handler.script(tag, body, foreign=foreign)
        if decided is not NEEDS_TEXT:
            return decided
        if foreign or markup:
            texts, self._foreign_texts = self._foreign_texts or (b"",), ()
            exact, self._foreign_exact = self._foreign_exact, True
            for text in texts:
                settled = self._handler.script_text(tag, text, foreign=foreign, exact=exact)
                if settled != tag:
                    return settled
            return None
        self._held = _HeldScript(tag)
        return b""

    def _raw_start(self, name: bytes) -> None:
        """``name`` starts raw text (or ``<plaintext>``) under the HTML rules."""
        doubtful = self._foreign.doubtful
        if not (doubtful or self._select or name == b"noscript"):
            if name == b"plaintext":
                self._state = _PLAINTEXT
            else:
                self._enter_raw(name)
            return
        if name == b"plaintext":
            return  # the reading that takes it sees only text from here: nothing to fear
        if name == b"textarea" and not doubtful:
            self._enter_raw(name)  # every parser reads <textarea> as RCDATA, in <select> too
            self._some_leave_the_select()  # older parsers close the select first
            return
        # One reading sees raw text (a browser with scripting on in <noscript>, a newer
        # parser in <select>, one outside foreign content), another markup: read markup
        # and watch the terminator of the raw text.
        self._add_pending(name)

    def _enter_raw(self, name: bytes) -> None:
        self._state = _RAWTEXT
        self._raw_name = name
        self._raw_end = _raw_end(name)

    def _end_tag(self, name: bytes) -> None:
        if self._foreign:
            self._foreign.end_tag(name)
        if name == b"template":
            if self._template:
                self._template -= 1
                self._leave_template(self._outside_templates.pop())
            self._choose_patterns()
        elif name == b"select" and self._select:
            if self._pending:
                self._select_all = False  # a reading that sees text here keeps its select
                self._select_doubted = True
            else:
                self._select = self._select_all = False
                self._choose_patterns()
        elif name in _TABLE_TAGS and self._select:
            self._some_leave_the_select()  # closes the select in a table, in older parsers

    def _some_leave_the_select(self) -> None:
        """A tag that closes the open select in some parsers and not in others: from here
        some readings are in a select and some are not, and the page is read two ways
        (`doubted`, so the operator hears of it once)."""
        if self._select_all:
            self._select_all = False
            self._select_doubted = True

    def _leave_template(self, outside: int) -> None:
        """The select state after ``</template>``: as it was before ``<template>``. Where
        another reading sees this end tag as text (`_pending`), the template and any select
        inside it stay open there: some readings may be in a select."""
        select, select_all = bool(outside & 1), bool(outside & 2)
        if self._pending and self._select and not select:
            select, select_all = True, False
            self._select_doubted = True
        elif self._pending:
            select_all = select_all and self._select_all
        self._select, self._select_all = select, select_all

    def _choose_patterns(self) -> None:
        """The candidate search and exact pattern for the current state of plain HTML."""
        wanted = _NONE
        if self._want_body and not self._template:
            wanted = _HEAD_BODY if self._want_head else _BODY
        ends = _ENDS[bool(self._template), self._select]
        handler = self._handler
        searches = _searches(handler.names, handler.sparse, handler.inert, wanted, ends)
        self._fast, self._exact = searches.fast, searches.exact
        self._sparse, self._kinds = searches.sparse, searches.kinds
        self._runs, self._island_pattern = searches.runs, searches.island

    # --- long tags -------------------------------------------------------------------------

    def _start_long_tag(self, buf: bytes, pos: int) -> int:
        """A tag past TAG_LIMIT: stream it through instead of holding it.

        It cannot be rewritten (its end is not here yet), so a start tag of interest is made
        safe at its head (`Handler.long_tag`: attributes that come first win); its effect on
        the tokenizer state applies when its ``>`` goes by (`_finish_long_tag`).
        """
        end_tag = buf[pos + 1 : pos + 2] == b"/"
        name_start = pos + (2 if end_tag else 1)
        name_end = lexer.match(LONG_STEPS[L_NAME], buf, name_start).end()
        name = buf[name_start:name_end].lower()
        self._long_name = name
        self._long_end_tag = end_tag
        self._long_state = L_NAME
        self._long_slash = False
        self._state = _LONG_TAG
        head = None if end_tag else self._long_head_of(name, buf[pos:name_end])
        if head is not None:
            self._long_head = (pos, head, name_end)
            return name_end
        return name_start

    def _long_head_of(self, name: bytes, head: bytes) -> bytes | None:
        """The safe head of a start tag too long to read, or None if it fetches nothing."""
        foreign = not self._foreign.start_tags_are_html()
        if name == b"image" and not foreign:
            name = b"img"
        if name in self._handler.names or name == b"script":
            return self._handler.long_tag(name, head, foreign=foreign)
        return None

    def _long_tag(self, buf: bytes, pos: int, size: int) -> int:
        """Step the tokenizer's tag states over ``buf[pos:size]``; on ``>`` apply the tag's
        effect."""
        state = self._long_state
        slash = self._long_slash
        while True:
            step = LONG_STEPS[state].match(buf, pos, size)
            assert step is not None  # (every pattern of LONG_STEPS matches the empty string)
            run = step.end()
            if state == L_BEFORE and run > pos:
                slash = buf[run - 1] == 0x2F  # "/" right before ">": a self-closing tag
            pos = run
            if pos >= size:
                self._long_state = state
                self._long_slash = slash
                return size
            char = buf[pos]
            pos += 1
            if char == 0x3E and state not in (L_DQ, L_SQ):  # ">"
                self._long_slash = slash and state == L_BEFORE
                self._state = _DATA
                self._finish_long_tag()
                return pos
            slash = char == 0x2F
            if state == L_NAME:
                state = L_BEFORE  # whitespace or "/" after the tag name
            elif state == L_ATTR:
                state = L_VALUE if char == 0x3D else L_BEFORE if slash else L_AFTER
            elif state == L_BEFORE:
                state = L_ATTR  # this character starts an attribute name, even "="
            elif state == L_AFTER:
                state = L_BEFORE if slash else L_VALUE if char == 0x3D else L_ATTR
            elif state == L_VALUE:
                state = L_DQ if char == 0x22 else L_SQ if char == 0x27 else L_UNQ
            else:  # closing quote, or whitespace after an unquoted value
                state = L_BEFORE

    def _finish_long_tag(self) -> None:
        name = self._long_name
        if self._long_end_tag:
            self._end_tag(name)
            return
        # The same effect as the tag arriving whole, without judging it again: a stand-in.
        stand_in = b"<" + name + (b" />" if self._long_slash else b">")
        self._start_tag(name, stand_in, 0, len(name) + 1, len(stand_in), judge=False)

    # --- script data ---------------------------------------------------------------------

    def _script_data(self, buf: bytes, pos: int, final: bool) -> int:
        """Scan script text from ``pos``; return how far it is certainly script text.

        Switches to DATA at the ``</script`` that really ends the element (the escaped and
        double-escaped states of the tokenizer decide which one that is).
        """
        size = len(buf)
        hold = max(SCRIPT_HOLD, self._pending_hold())
        while True:
            escape = self._escape
            if escape == _ESC_NONE:
                m = SCRIPT_DATA.search(buf, pos)
            elif escape == _ESC_SINGLE:
                m = SCRIPT_ESCAPED.search(buf, pos)
            else:
                m = SCRIPT_DOUBLE.search(buf, pos)
            if m is None:
                return size if final else max(pos, size - hold)
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

    def _script_by_text(self, tag: bytes, buf: bytes, start: int, end: int) -> bytes | None:
        """Decide an inline script found whole in ``buf`` (text ``buf[start:end]``)."""
        whole = tag + buf[start:end]
        cacheable = len(whole) <= _CACHE_SCRIPT and end > start
        if cacheable:
            decided = self._decided.get(whole, UNDECIDED)
            if decided is UNDECIDED:
                decided = self._handler.recall(whole)
            if decided is not UNDECIDED:
                return decided
        decided = self._handler.script_text(tag, buf[start:end][:SCRIPT_LIMIT], foreign=False)
        result = None if decided == tag else decided
        if cacheable:
            self._handler.remember(whole, result)
        return result

    def _release_held(self) -> bytes:
        """Decide a held inline script on its first SCRIPT_LIMIT bytes of text; let it go."""
        held = self._held
        assert held is not None
        self._held = None
        content = bytes(held.content)
        text = (content if held.text is None else held.text)[:SCRIPT_LIMIT]
        return self._handler.script_text(held.tag, text, foreign=False) + content

    # --- injection -------------------------------------------------------------------------

    def _resolve_injection(self, buf: bytes, pos: int, final: bool) -> tuple[bool, int] | None:
        """After ``<head>``/``<body>``: whether to inject and where, or None to wait for input.

        The place is ``pos``, but for the head injection after the page's encoding
        declaration when one opens ``<head>`` (`_after_charset`). Skips when the next
        element carries an ``id`` starting with ``consent-``: the page already went through
        a rewriter (cached output, a second middleware).
        """
        at = pos
        if self._injection_pending == _PENDING_HEAD:
            after = self._after_charset(buf, pos, final)
            if after is None:
                return None
            at = after
        present = ours_next(buf, at, final, TAG_LIMIT)
        if present is None:
            return None
        return not present, at

    def _after_charset(self, buf: bytes, pos: int, final: bool) -> int | None:
        """Where the head injection goes (`injection.charset_end`), or None to wait. Only in
        plain HTML with one reading: skipped bytes bypass the handler and the guards of
        other readings."""
        if self._foreign or self._pending or self._select or b"meta" in self._handler.names:
            return pos
        return charset_end(buf, pos, final)

    def _open_injection_point(self, name: bytes) -> None:
        """The page's own ``<head>`` or ``<body>``: our markup goes in right after it while
        it is still looked for (never inside a template).

        Where another reading sees the tag as text (``<noscript>``, which a browser with
        scripting never shows), the banner goes in for the readings that see the tag, once,
        and our markup is still looked for: it goes in again after a ``<head>`` or ``<body>``
        every reading sees (a browser without scripting may then show two banners).
        """
        if self._template:
            return
        if self._pending:
            if name == b"body" and self._want_body and not self._some_body:
                self._some_body = True
                self._injection_pending = _PENDING_SOME_BODY
            return
        if name == b"head":
            if self._want_head:
                self._want_head = False
                self._injection_pending = _PENDING_HEAD
        elif self._want_body:
            self._want_head = self._want_body = False
            self._injection_pending = _PENDING_BODY

    def _inject(
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        last: int,
        out: list[bytes | memoryview],
        final: bool,
    ) -> tuple[int, int] | None:
        """At a pending injection point ``pos``: our markup into ``out`` (or not, when it is
        there already); ``(where reading goes on, last)``, or None to wait for input."""
        verdict = self._resolve_injection(buf, pos, final)
        if verdict is None:
            return None
        inject, at = verdict  # buf[pos:at]: space, comments, <meta> tags
        inserted = self._injection_bytes(inject)
        if inserted:
            out.append(view[last:at])
            out.append(inserted)
            last = at
        return at, last

    def _injection_bytes(self, inject: bool) -> bytes:
        """Settle the pending injection point; return the bytes to insert there."""
        injection = self._injection
        assert injection is not None
        pending, self._injection_pending = self._injection_pending, _PENDING_NONE
        if pending == _PENDING_SOME_BODY:  # (settles nothing: see `_open_injection_point`)
            if not inject:
                return b""
            return injection.body if self._head_placed else injection.head + injection.body
        placed_head = self._head_placed
        self._head_placed = True
        if pending == _PENDING_HEAD:
            return injection.head if inject else b""
        self._injected = inject
        if not inject:
            return b""
        return injection.body if placed_head else injection.head + injection.body


@cache
def _kinds(starts: frozenset[bytes], handled: frozenset[bytes]) -> dict[bytes, int]:
    """What the fast path does with each candidate name (shared: never mutated)."""
    kinds = {}
    for name in starts:
        if name == b"script":
            kind = _KIND_SCRIPT
        elif name in RAW_ELEMENTS and name not in handled:
            kind = _KIND_RAW  # (an iframe is judged every time: `_start_tag` takes it)
        elif name in (b"head", b"body") and name not in handled:
            kind = _KIND_INJECTION  # (a candidate while our markup still has to go in)
        elif name in STATE_STARTS or name in (b"head", b"body", b"image"):
            kind = _KIND_OTHER
        elif name in handled:
            kind = _KIND_ELEMENT
        else:
            kind = _KIND_ORDINARY
        kinds[name] = kind
    return kinds
