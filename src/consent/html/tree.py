"""What the tokenizer must know of the tree a browser builds: SVG and MathML, and doubt.

A token stream cannot know everything a browser's tree builder knows, and what it
does not know decides whether ``<style>`` starts raw text or markup, and whether
``<![CDATA[`` hides everything up to ``]]>``. Guessing wrong fails open: a tracker
tag the browser parses as markup would pass as text. So this module follows the
WHATWG rules for foreign content (SVG and MathML, integration points, breakout
tags, the end-tag walk) as far as a token stream can be sure, and says when it
is not sure.

`ForeignStack` models the *deepest* reading: every foreign element and integration
point the browser may still have open. When an end tag could close foreign content
through an HTML ancestor we never tracked (``<a><svg></a>``: it does; ``<svg></div>``
without an open ``div``: it does not), the stack keeps everything and records a
*floor*: entries below it may already be gone in some reading. From then on the
stack is *doubtful*, and the tokenizer reads ambiguous constructs both ways
(`consent.html.tokenizer`). Doubt ends when the stack empties for every reading
(a breakout tag pops all foreign content when no integration point is open).

References: HTML Standard, 13.2.6.5 "The rules for parsing tokens in foreign
content", 13.2.6 tree construction dispatcher, 13.2.4.3 "The stack of open elements"
(special category, scopes).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BREAKOUT", "SVG_INTEGRATION", "VOID", "ForeignStack"]

SVG = "svg"
MATH = "math"

#: Start tags that end foreign content ("breakout" tags of the tree builder).
BREAKOUT = frozenset(
    b"b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img "
    b"li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul "
    b"var".split()
)
#: HTML elements without an end tag: they never stay open.
VOID = frozenset(
    b"area base basefont bgsound br col embed frame hr image img input keygen link meta param "
    b"source track wbr".split()
)
#: Integration points: elements of one namespace whose content is parsed as HTML.
#: SVG's HTML integration points (lower case).
SVG_INTEGRATION = frozenset({b"foreignobject", b"desc", b"title"})
_TEXT_INTEGRATION = frozenset({b"mi", b"mo", b"mn", b"ms", b"mtext"})
_NOT_HTML_IN_TEXT_POINT = frozenset({b"mglyph", b"malignmark"})
_HTML_ENCODINGS = ("text/html", "application/xhtml+xml")
#: SVG element names spelled with capitals (``foreignObject``, ``clipPath``...), lower case.
#: Chromium gives an end tag SVG's spelling only when the current node is SVG, then compares
#: exactly: below a MathML element, ``</foreignObject>`` matches no ``foreignObject``.
_SVG_CAPITALISED = frozenset(
    b"altglyph altglyphdef altglyphitem animatecolor animatemotion animatetransform clippath "
    b"feblend fecolormatrix fecomponenttransfer fecomposite feconvolvematrix fediffuselighting "
    b"fedisplacementmap fedistantlight fedropshadow feflood fefunca fefuncb fefuncg fefuncr "
    b"fegaussianblur feimage femerge femergenode femorphology feoffset fepointlight "
    b"fespecularlighting fespotlight fetile feturbulence foreignobject glyphref lineargradient "
    b"radialgradient textpath".split()
)


@dataclass(slots=True)
class _Entry:
    """One open element of foreign content (an integration point or not)."""

    name: bytes  # lower-case tag name
    namespace: str  # SVG or MATH: the element's own namespace
    integration: bool = False  # its start tags (and text) are parsed as HTML
    text_point: bool = False  # a MathML text integration point (mi, mo, ...)
    #: HTML elements opened inside an integration point, innermost last (may be too many:
    #: implied end tags are not modelled, which only keeps the point open for longer). An
    #: empty tuple until the first: most foreign elements never hold one.
    children: list[bytes] | tuple[()] = ()


class ForeignStack:
    """The open foreign elements of the deepest reading, and how sure we are of them."""

    __slots__ = ("_diverged", "_entries", "_floor", "_kept", "_pin", "doubted")

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        # Some readings of the page have only the entries from this index up (they handed
        # an end tag to the HTML rules, which closed everything below).
        self._floor = 0
        # While another reading sees raw text, nothing below this depth is closed: that
        # reading sees no tags, so its elements stay open whatever we read meanwhile.
        self._pin = 0
        self._kept = False  # the pin kept open something our reading closed
        # A shallower reading opened foreign elements of its own (not ours): it is no
        # longer some prefix of our stack, and no end tag may close ours below the floor.
        self._diverged = False
        #: Whether the stack was ever doubtful: some markup was read both ways (and may have
        #: been blocked where a browser sees text). Operators can fix the cause.
        self.doubted = False

    # -- questions the tokenizer asks --------------------------------------------------------

    def __bool__(self) -> bool:
        """Whether any reading may be inside SVG or MathML."""
        return bool(self._entries)

    @property
    def doubtful(self) -> bool:
        """Whether some reading may be outside the current element, in plain HTML."""
        return 0 < self._floor >= len(self._entries)

    @property
    def depth(self) -> int:
        """How many foreign elements the deepest reading has open."""
        return len(self._entries)

    def pin(self) -> int:
        """Keep everything open now until `unpin`; returns the previous pin."""
        previous = self._pin
        self._pin = max(previous, len(self._entries))
        if not previous:
            self._kept = False
        return previous

    def unpin(self, previous: int) -> None:
        """End a `pin`: what was kept open only for it may be closed in our own reading."""
        if self._pin > previous:
            self._pin = previous
            if self._kept and self._entries:
                self._floor = max(self._floor, len(self._entries))
                self.doubted = True

    def push_doubtful(self, name: bytes) -> None:
        """``<svg>``/``<math>`` where some parsers ignore the tag (inside ``<select>``)."""
        self.start_tag(name, self_closing=False)
        if self._entries:
            self._floor = len(self._entries)
            self.doubted = True

    def start_tags_are_html(self) -> bool:
        """Whether the next start tag is handled by the HTML rules (raw text, breakouts ...).

        True outside foreign content and inside an integration point.
        """
        entries = self._entries
        return not entries or entries[-1].integration or bool(entries[-1].children)

    def current_node_is_html(self) -> bool:
        """Whether the current node is an HTML element (then ``<![CDATA[`` is a bogus comment)."""
        entries = self._entries
        return not entries or bool(entries[-1].children)

    # -- tokens ------------------------------------------------------------------------------

    def start_tag(self, name: bytes, *, self_closing: bool, encoding: str | None = None) -> None:
        """A start tag ``name`` (lower case); ``encoding``: an annotation-xml's ``encoding``."""
        entries = self._entries
        if not entries:
            if name in (b"svg", b"math") and not self_closing:
                entries.append(_Entry(name, SVG if name == b"svg" else MATH))
            return
        top = entries[-1]
        if top.children or (
            top.integration and not (top.text_point and name in _NOT_HTML_IN_TEXT_POINT)
        ):
            # The current node is HTML (opened in an integration point, or by a breakout
            # while another reading keeps the foreign elements open): the HTML rules apply.
            self._html_start_tag(top, name, self_closing=self_closing)
            return
        if name in BREAKOUT:
            self.break_out(name, self_closing=self_closing)
            return
        if top.namespace == MATH and top.name == b"annotation-xml" and name == b"svg":
            # The one start tag an annotation-xml hands to the HTML rules: a real SVG root.
            if not self_closing:
                self._push_root(name)
            return
        if self_closing:
            return  # foreign elements may close themselves
        # A reading already back in plain HTML reads this element as HTML, not foreign:
        # it stays in plain HTML, so the doubt rises with the new entry.
        doubtful = self.doubtful
        if doubtful:
            self._note_shallower_push(name)
        namespace = top.namespace
        entry = _Entry(name, namespace)
        if namespace == SVG:
            entry.integration = name in SVG_INTEGRATION
        elif name in _TEXT_INTEGRATION:
            entry.integration = entry.text_point = True
        elif name == b"annotation-xml":
            value = (encoding or "").strip("\t\n\f\r ").lower()
            entry.integration = value in _HTML_ENCODINGS
        entries.append(entry)
        if doubtful:
            self._floor = len(entries)

    def break_out(self, name: bytes, *, self_closing: bool) -> None:
        """A breakout start tag (also ``<font color|face|size>``) in foreign content.

        Foreign elements close up to the nearest integration point, where the tag is then
        an HTML element; with none open, foreign content has ended.
        """
        self._break_out()
        if self._entries:
            self._html_start_tag(self._entries[-1], name, self_closing=self_closing)

    def end_tag(self, name: bytes) -> None:
        """An end tag ``name`` (lower case)."""
        entries = self._entries
        if not entries:
            return
        top = entries[-1]
        if top.children:
            # The current node is HTML: the HTML rules apply, and they never close an
            # integration point (its elements are "special": the walk stops there).
            if top.children[-1] == name:
                top.children.pop()  # (a list: only a list is ever non-empty)
            elif any(entry.name == name for entry in entries):
                # But fewer HTML elements may be open in some reading (implied end tags are
                # not modelled: <table> closes a <p>, </table> its <tbody>): there the
                # integration point is current, and this tag closes foreign content.
                self._floor = len(entries)
                self.doubted = True
            return
        if name in (b"p", b"br"):
            # Foreign content ends up to the nearest integration point; the HTML rules then
            # handle the tag without touching foreign content again.
            if not top.integration:
                self._break_out()
            return
        for index in range(len(entries) - 1, -1, -1):
            if entries[index].name == name:
                self._close_down_to(index)
                return
        # No foreign element of that name: the HTML rules handle the tag with HTML
        # ancestors we never saw. They may close everything (``<a><svg></a>``) or nothing.
        self._floor = len(entries)
        self.doubted = True

    # -- internals -------------------------------------------------------------------------

    def _close_down_to(self, index: int) -> None:
        """An end tag that matches our entry ``index`` by name."""
        entries = self._entries
        if self._capitals_differ(entries[-1], entries[index]):
            # The standard closes down to it, Chromium closes nothing (the HTML rules then
            # ignore the tag): keep the deepest reading, and say that some reading may
            # already be shallower, even back in plain HTML.
            self._floor = len(entries)
            self.doubted = True
        elif index < self._pin:
            self._kept = True  # a reading in raw text keeps it open: so do we
        elif index >= self._floor:
            del entries[index:]
            if not entries:
                self._floor = 0
                self._diverged = False
        elif len(entries) == self._floor and not self._diverged:
            # The other readings hold a part of our stack (plain HTML, or a prefix): those
            # that hold the match close down to it as ours does, the others stay where they
            # are, shallower still.
            del entries[index:]
            self._floor = len(entries)
        # Otherwise some readings keep foreign elements we would close, and hand the tag to
        # the HTML rules instead: keep the deepest reading, close nothing.

    def _push_root(self, name: bytes) -> None:
        """An ``<svg>`` or ``<math>`` root where the HTML rules apply. A reading outside the
        current element may read the tag otherwise (an SVG element where ours opens a MathML
        root): the doubt goes on with it."""
        doubtful = self.doubtful
        if doubtful:
            self._note_shallower_push(name)
        self._entries.append(_Entry(name, SVG if name == b"svg" else MATH))
        if doubtful:
            self._floor = len(self._entries)

    def _note_shallower_push(self, name: bytes) -> None:
        """A start tag ``name`` while doubtful: whether a shallower reading (one holding the
        first k entries of ours) opens a foreign element other than our entry k there (a
        real ``<svg>`` root where ours has a ``foreignObject``). Then it is no prefix of
        ours any more (`_diverged`)."""
        entries = self._entries
        for k in range(min(self._floor, len(entries))):
            top = entries[k - 1] if k else None
            if top is None or top.integration or top.children:
                if name not in (b"svg", b"math"):
                    continue  # an HTML element: that reading opens no foreign one
                opened = (name, SVG if name == b"svg" else MATH)
            else:
                opened = (name, top.namespace)
            if (entries[k].name, entries[k].namespace) != opened:
                self._diverged = True
                return

    @staticmethod
    def _capitals_differ(top: _Entry, match: _Entry) -> bool:
        """Whether an end tag matching ``match`` by the standard matches nothing in Chromium:
        an SVG element spelled with capitals, while the current node ``top`` is not SVG."""
        return top.namespace != SVG and match.namespace == SVG and match.name in _SVG_CAPITALISED

    def _html_start_tag(self, top: _Entry, name: bytes, *, self_closing: bool) -> None:
        if name in (b"svg", b"math"):
            if not self_closing:
                self._push_root(name)
        elif name not in VOID:
            if not top.children:
                top.children = []
            top.children.append(name)  # "<div/>" is not self-closing in HTML

    def _break_out(self) -> None:
        """Pop foreign elements until an integration point (or nothing) is current."""
        entries = self._entries
        while len(entries) > self._pin and not entries[-1].integration:
            entries.pop()
        if len(entries) == self._pin and entries and not entries[-1].integration:
            self._kept = True
        if not entries:
            self._floor = 0  # no reading keeps anything once no integration point is open
            self._diverged = False
        elif self._floor > len(entries):
            self._floor = len(entries)
