"""The differential oracle: html5lib's reading of a rewritten page, judged element by element.

Two checks, on trees built by html5lib (the WHATWG tree builder in pure Python):

* `fetches`: no element of the rewritten page can make a browser fetch from a tracker host, in
  any of the `READINGS` (scripting on and off for ``<noscript>``; the legacy tree builder and
  Chromium's) nor for Chromium's preload scanner (`SCANNERS`), which fetches from tokens the
  tree builder puts in SVG, MathML or CDATA. Template contents do not count, except
  declarative shadow roots, which browsers attach and load.
* `differences`: the rewritten page is the original apart from the edits of
  docs/blocking-contract.md. The tolerances are listed in `differences`' docstring.

URLs are normalised here the way a browser does (`url_target`), independently of the
rewriter's own code; only the question "which category is this host and path?" is asked of
`consent.blocking.BlockingRules`, with a URL already reduced to ``https://host/path``.

html5lib 1.1 gets a few things that decide what is live wrong or predates them, so every
reading patches them in (`_Parser`, `_Tree`): ``<template>`` (html5lib has no template
insertion mode and no template scope: ``</template>`` was ignored behind ``<div>`` or inside a
table, keeping live markup inside the template, and ``<div>`` in a template closed a ``<p>``
outside it), ``</p>`` and ``</br>`` breaking out of SVG/MathML, and an end tag in HTML content
closing an SVG element of that name (``</title>``), and the end of the page inside an open
``<template>``. The two Chromium readings also parse ``<select>`` content as ordinary body
content (customizable select: raw-text elements, SVG, ``<img>`` inside ``<select>``; a
``<select>`` bounds the scope of ``<p>``), and match end tags in SVG/MathML case-sensitively
(``</foreignObject>`` with ``<math>`` open inside closes nothing), as Chromium 156 was seen to
do; the two legacy readings are the standard before customizable select (Firefox and Safari
at the time of writing). chromium_sample.py checks the readings against Chromium; in offline
runs of 400 generated pages each (JavaScript on and off), its DOM was html5lib's tree in the
matching reading (declarative shadow roots aside, which the DOM moves out of the tree) and
every tracker host it contacted was flagged here.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

import html5lib
from html5lib._tokenizer import HTMLTokenizer
from html5lib.constants import namespaces, specialElements, tokenTypes
from html5lib.treebuilders.base import Marker, listElementsMap

from consent.blocking import BlockingRules

HTML_NS = namespaces["html"]
SVG_NS = namespaces["svg"]
MATHML_NS = namespaces["mathml"]
XLINK_HREF = "{" + namespaces["xlink"] + "}href"
_START_TAG = tokenTypes["StartTag"]
_END_TAG = tokenTypes["EndTag"]
_PREFIX = {HTML_NS: "html", SVG_NS: "svg", MATHML_NS: "math"}
_DOCTYPE = "<!DOCTYPE>"


# --- readings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One way a browser may build the tree."""

    name: str
    chromium: bool  # customizable select, and Chromium's end tags in SVG (see `_Parser`)
    scripting: bool  # JavaScript on: <noscript> content is raw text

    def __str__(self) -> str:
        return self.name


READINGS = (
    Reading("scripting off, legacy", chromium=False, scripting=False),
    Reading("scripting on, legacy", chromium=False, scripting=True),
    Reading("scripting off, Chromium", chromium=True, scripting=False),
    Reading("scripting on, Chromium", chromium=True, scripting=True),
)

# Elements whose text html5lib keeps as raw text (RAWTEXT/RCDATA/PLAINTEXT); noscript too when
# scripting is on. Script data is deliberately not here: a rewriter never edits script code.
_RAW_TEXT = frozenset(
    {"style", "xmp", "iframe", "noembed", "noframes", "plaintext", "textarea", "title"}
)
_IMPLIED_END_THOROUGH = frozenset(
    {"caption", "colgroup", "dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt"}
    | {"rtc", "tbody", "td", "tfoot", "th", "thead", "tr"}
)
_TABLE_PHASES = ("inTable", "inTableBody", "inRow", "inCell", "inCaption", "inColumnGroup")


class _Phase:
    """Wraps one html5lib phase object to add what html5lib 1.1 lacks (see the module doc)."""

    def __init__(self, parser: _Parser, name: str, inner: Any) -> None:
        self._parser = parser
        self._name = name
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:  # state of html5lib's own phase (originalPhase of "in table text")
            setattr(self._inner, name, value)

    def processStartTag(self, token: dict[str, Any]) -> Any:
        parser, name = self._parser, token["name"]
        if name == "template" and self._name in ("inHead", "inBody", *_TABLE_PHASES):
            # "in head" rules: insert, push a marker; "in template" is read as "in body",
            # except that end tags before the first start tag are ignored.
            parser.tree.insertElement(token)
            parser.tree.activeFormattingElements.append(Marker)
            parser.framesetOK = False
            parser.phase = parser.phases["inBody"]
            parser.template_fresh = True
            return None
        if name not in _TEMPLATE_HEAD_TAGS:
            parser.template_fresh = False
        if name in ("body", "frameset") and self._name == "inBody":
            elements = parser.tree.openElements
            if len(elements) < 2 or elements[1].name != "body" or parser.in_template():
                return None  # ignored, as the spec says (html5lib asserts a fragment here)
        if name in ("li", "dd", "dt") and self._name == "inBody":
            parser.list_item(token)
            return None
        if parser.chromium and self._name == "inBody":
            handled = parser.select_start_tag(token)
            if handled is not _NOT_HANDLED:
                return handled
        return self._inner.processStartTag(token)

    def processEOF(self) -> Any:
        parser = self._parser
        if self._name not in ("text", "inForeignContent") and parser.in_template():
            # "in template" at the end: close the templates, then the end in the mode that
            # resets to (html5lib's own loop would refuse to see "in body" twice).
            while parser.in_template():
                parser.end_template()
            while parser.phase.processEOF():
                pass
            return False
        return self._inner.processEOF()

    def processEndTag(self, token: dict[str, Any]) -> Any:
        parser, name = self._parser, token["name"]
        if name == "template" and self._name not in ("text", "inForeignContent"):
            parser.end_template()
            return None
        if parser.template_fresh and self._name == "inBody":
            return None  # "in template": any other end tag is ignored
        if self._name == "inForeignContent" and parser.chromium and name not in ("p", "br"):
            return parser.foreign_end_tag_case_sensitive(token)
        if parser.chromium and self._name == "inBody" and name == "select":
            if parser.tree.elementInScope("select"):
                parser.pop_until("select")
            return None
        if self._name == "inBody" and name not in self._explicit_end_tags():
            parser.any_other_end_tag(token)
            return None
        if self._name == "inForeignContent" and name in ("p", "br"):
            # Today's rule: </p> and </br> leave SVG/MathML like a breakout start tag.
            tree = parser.tree
            while not (
                tree.openElements[-1].namespace == HTML_NS
                or parser.isHTMLIntegrationPoint(tree.openElements[-1])
                or parser.isMathMLTextIntegrationPoint(tree.openElements[-1])
            ):
                tree.openElements.pop()
            # Reprocessed by the insertion mode's own rules (not dispatched to foreign content
            # again: an integration point is still foreign).
            return parser.phase.processEndTag(token)
        return self._inner.processEndTag(token)

    def _explicit_end_tags(self) -> Any:
        return type(self._inner).__dict__["endTagHandler"]  # the dispatcher, a dict


_NOT_HANDLED = object()
# "in template" mode hands these to "in head" and stays "in template".
_TEMPLATE_HEAD_TAGS = frozenset(
    {"base", "basefont", "bgsound", "link", "meta", "noframes", "script", "style", "title"}
)


_TEMPLATE = (HTML_NS, "template")
_ETreeBuilder: Any = html5lib.getTreeBuilder("etree", fullTree=True)


class _Tree(_ETreeBuilder):  # type: ignore[misc]
    """html5lib's etree builder, with ``<template>`` bounding every scope (as in the spec),
    and ``<select>`` too in the Chromium readings (``<p><select></p>`` keeps the ``<p>``)."""

    select_bounds_scope = False

    def elementInScope(self, target: Any, variant: str | None = None) -> bool:
        exact = hasattr(target, "nameTuple")
        if not exact and isinstance(target, str):
            target = (HTML_NS, target)
        elements, invert = listElementsMap[variant]
        if not invert:
            elements = elements | {_TEMPLATE}
            if self.select_bounds_scope and variant != "table":
                elements = elements | {(HTML_NS, "select")}
        for node in reversed(self.openElements):
            if (node == target) if exact else (node.nameTuple == target):
                return True
            if invert ^ (node.nameTuple in elements):
                return False
        return False


class _Parser(html5lib.HTMLParser):  # type: ignore[misc]
    def __init__(self, chromium: bool) -> None:
        super().__init__(tree=_Tree, namespaceHTMLElements=True)
        self.chromium = chromium
        self.tree.select_bounds_scope = chromium
        self.template_fresh = False  # "in template" mode: no start tag since <template>
        phases: dict[str, Any] = vars(self)["phases"]
        self.phases = {name: _Phase(self, name, phase) for name, phase in phases.items()}

    def reset(self) -> None:
        super().reset()
        self.template_fresh = False

    # <template>

    def in_template(self) -> bool:
        return any(e.name == "template" and e.namespace == HTML_NS for e in self.tree.openElements)

    def end_template(self) -> None:
        tree = self.tree
        if not self.in_template():
            return
        while (
            tree.openElements[-1].namespace == HTML_NS
            and tree.openElements[-1].name in _IMPLIED_END_THOROUGH
        ):
            tree.openElements.pop()
        self.pop_until("template")
        tree.clearActiveFormattingElements()
        self.template_fresh = False
        self.resetInsertionMode()

    def any_other_end_tag(self, token: dict[str, Any]) -> None:
        """ "in body", any other end tag: only an HTML element of that name closes (html5lib
        also closed an SVG ``<title>`` on ``</title>``)."""
        tree, name = self.tree, token["name"]
        for node in reversed(tree.openElements):
            if node.name == name and node.namespace == HTML_NS:
                tree.generateImpliedEndTags(exclude=name)
                while tree.openElements.pop() is not node:
                    pass
                return
            if node.nameTuple in specialElements or node.nameTuple == _TEMPLATE:
                return

    def list_item(self, token: dict[str, Any]) -> None:
        """ "in body" ``<li>``, ``<dd>``, ``<dt>``: with ``<template>`` special, as in the spec
        (html5lib closed an ``<li>`` outside a template from inside it)."""
        self.framesetOK = False
        stop = ("li",) if token["name"] == "li" else ("dd", "dt")
        for node in reversed(self.tree.openElements):
            if node.name in stop and node.namespace == HTML_NS:
                self.phase.processEndTag({"type": _END_TAG, "name": node.name, "data": []})
                break
            special = node.nameTuple in specialElements or node.nameTuple == _TEMPLATE
            if special and node.name not in ("address", "div", "p"):
                break
        if self.tree.elementInScope("p", variant="button"):
            self.phase.processEndTag({"type": _END_TAG, "name": "p", "data": []})
        self.tree.insertElement(token)

    def foreign_end_tag_case_sensitive(self, token: dict[str, Any]) -> Any:
        """Foreign content, any other end tag, as Chromium 156 does it: the tag name gets
        SVG's letter case only when the current node is SVG, then is compared exactly, so
        ``</foreignObject>`` with ``<math>`` open inside closes nothing and falls through to
        the HTML rules, where it is ignored."""
        tree = self.tree
        if tree.openElements[-1].namespace == SVG_NS:  # the token's name gets SVG's case
            self.phases["inForeignContent"].adjustSVGTagNames(token)
        name = token["name"]
        index = len(tree.openElements) - 1
        while index > 0:
            node = tree.openElements[index]
            if node.name == name:
                if self.phase is self.phases["inTableText"]:
                    self.phase.flushCharacters()
                    self.phase = self.phase.originalPhase
                while tree.openElements.pop() is not node:
                    pass
                return None
            index -= 1
            if tree.openElements[index].namespace == HTML_NS:
                return self.phase.processEndTag(token)
        return None

    def pop_until(self, name: str) -> None:
        while True:
            node = self.tree.openElements.pop()
            if node.name == name and node.namespace == HTML_NS:
                return

    def resetInsertionMode(self) -> None:
        """The spec's algorithm, with "in template" read as "in body"."""
        modes = {
            "td": "inCell",
            "th": "inCell",
            "tr": "inRow",
            "tbody": "inTableBody",
            "thead": "inTableBody",
            "tfoot": "inTableBody",
            "caption": "inCaption",
            "colgroup": "inColumnGroup",
            "table": "inTable",
            "template": "inBody",
            "head": "inHead",
            "body": "inBody",
            "frameset": "inFrameset",
        }
        if not self.chromium:
            modes["select"] = "inSelect"
        elements = self.tree.openElements
        for index in range(len(elements) - 1, -1, -1):
            node = elements[index]
            last = index == 0
            name = node.name
            if last and self.innerHTML:
                name = self.innerHTML
            elif node.namespace != HTML_NS:
                continue
            if name in modes and not (last and name in ("td", "th", "head")):
                self.phase = self.phases[modes[name]]
                return
            if name == "html":
                head = self.tree.headPointer
                self.phase = self.phases["beforeHead" if head is None else "afterHead"]
                return
            if last:
                self.phase = self.phases["inBody"]
                return
        self.phase = self.phases["inBody"]

    # customizable <select>: its content is body content; a few tags close it

    def select_start_tag(self, token: dict[str, Any]) -> Any:
        tree, name = self.tree, token["name"]
        in_select = tree.elementInScope("select")
        if name == "select":
            if in_select:
                self.pop_until("select")
                return None
            tree.reconstructActiveFormattingElements()
            tree.insertElement(token)
            self.framesetOK = False
            return None
        if name == "input" and in_select:
            self.pop_until("select")
            return _NOT_HANDLED
        if name in ("option", "optgroup", "hr") and in_select:
            tree.generateImpliedEndTags("optgroup" if name == "option" else None)
            if name == "hr":
                return _NOT_HANDLED
            tree.reconstructActiveFormattingElements()
            tree.insertElement(token)
            return None
        return _NOT_HANDLED


@cache
def _parser(chromium: bool) -> _Parser:
    return _Parser(chromium)


def parse(text: str, reading: Reading) -> ET.Element:
    """The document tree (a ``DOCUMENT_ROOT`` element) of ``text`` in ``reading``."""
    root: ET.Element = _parser(reading.chromium).parse(text, scripting=reading.scripting)
    return root


def parse_fragment(text: str, reading: Reading) -> ET.Element:
    """``text`` parsed as the content of a ``<div>`` (a ``DOCUMENT_FRAGMENT`` element)."""
    fragment: ET.Element = _parser(reading.chromium).parseFragment(
        text, container="div", scripting=reading.scripting
    )
    return fragment


def decode(data: bytes) -> str:
    """Pages are served and parsed as UTF-8 here (the rewriter only ever adds ASCII)."""
    return data.decode("utf-8", "replace")


# --- URLs as a browser reads them ---------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_C0_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_DOTS = re.compile("[\u3002\uff0e\uff61]")
_FORBIDDEN_HOST = frozenset(" #%/:<>?@[\\]^|\x00")
_ASCII_SPACE = "\t\n\f\r "


def url_target(value: str) -> tuple[str, str] | None:
    """``(host, path)`` an http(s) fetch of attribute value ``value`` would go to, else None.

    ``value`` is the attribute value as the tree holds it (character references already
    resolved by the parser). Then, as the URL standard: C0 controls and spaces trimmed, tabs
    and newlines removed anywhere, backslashes read as slashes, any number of slashes after
    the scheme (or at the start of a scheme-relative URL), userinfo and port dropped, the host
    percent-decoded and mapped by IDNA (full-width letters, ideographic full stops), lower-cased,
    a final dot dropped; the path with its dot segments resolved and percent-decoded (what the
    server sees). A URL with a scheme other than http(s), or a relative one, is not a tracker
    fetch (a live ``<base href>`` on a tracker host is reported on its own). ``https:host``
    without slashes counts as absolute: a page served over the other scheme reads it so.
    """
    url = value.strip(_C0_SPACE).translate(_TAB_NEWLINE)
    scheme = _SCHEME.match(url)
    if scheme:
        if url[: scheme.end()].lower() not in ("http:", "https:"):
            return None
        rest = url[scheme.end() :]
    elif url[:1] in ("/", "\\") and url[1:2] in ("/", "\\"):
        rest = url
    else:
        return None
    rest = rest.replace("\\", "/").lstrip("/")
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if 0 <= at < end:
            end = at
    authority, tail = rest[:end], rest[end:]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return None  # an IPv6 literal is never a tracker host name
    domain = _domain(host.partition(":")[0])
    if domain is None:
        return None
    for stop in "?#":
        tail = tail.partition(stop)[0]
    return domain, _path(tail)


def _domain(host: str) -> str | None:
    host = unquote(host, errors="replace")
    try:
        mapped = host.encode("idna").decode("ascii")
    except UnicodeError:  # an empty or overlong label: map by hand as UTS-46 would
        mapped = _DOTS.sub(".", unicodedata.normalize("NFKC", host))
    mapped = mapped.lower().rstrip(".")
    if not mapped or any(c in _FORBIDDEN_HOST for c in mapped):
        return None  # the browser's URL parser fails: nothing is fetched
    return mapped


def _path(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else [path]
    for index, raw in enumerate(segments):
        segment = unquote(raw, errors="replace")
        last = index == len(segments) - 1
        if segment == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        elif segment == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset``/``imagesrcset`` value, split as the HTML standard splits it."""
    urls: list[str] = []
    pos, size = 0, len(value)
    while True:
        while pos < size and (value[pos] in _ASCII_SPACE or value[pos] == ","):
            pos += 1
        if pos >= size:
            return urls
        start = pos
        while pos < size and value[pos] not in _ASCII_SPACE:
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        in_parens = False
        while pos < size:  # descriptors run to a comma outside parentheses
            char = value[pos]
            pos += 1
            if in_parens:
                in_parens = char != ")"
            elif char == "(":
                in_parens = True
            elif char == ",":
                break


class Trackers:
    """Which URLs load a tracker of a category the visitor has not granted."""

    def __init__(self, rules: BlockingRules, granted: frozenset[str]) -> None:
        self.rules = rules
        self.granted = granted

    def category(self, value: str) -> str | None:
        target = url_target(value)
        if target is None:
            return None
        host, path = target
        category = self.rules.category_of_url("https://" + host + quote(path, safe="/"))
        return self._blocked(category)

    def category_of_text(self, text: str) -> str | None:
        """A tracker host named anywhere in ``text`` (for "why may this element change?")."""
        return self._blocked(self.rules.category_of_inline_script(text))

    def _blocked(self, category: str | None) -> str | None:
        if category is None or category in self.rules.required or category in self.granted:
            return None
        return category


# --- what fetches --------------------------------------------------------------------------------

# (namespace, element): attributes read as one URL ("src"), a srcset ("srcset*") or a
# whitespace-separated list of URLs ("ping~"). The contract's table, plus what Chromium was seen
# to fetch beyond it: the background of tr/thead/tbody/tfoot (see chromium_sample.py).
_FETCHING: dict[tuple[str, str], tuple[str, ...]] = {
    (HTML_NS, "iframe"): ("src",),
    (HTML_NS, "frame"): ("src",),
    (HTML_NS, "img"): ("src", "srcset*"),
    (HTML_NS, "source"): ("src", "srcset*"),
    (HTML_NS, "video"): ("src", "poster"),
    (HTML_NS, "audio"): ("src",),
    (HTML_NS, "track"): ("src",),
    (HTML_NS, "embed"): ("src",),
    (HTML_NS, "object"): ("data",),
    (HTML_NS, "link"): ("href", "imagesrcset*"),
    (HTML_NS, "base"): ("href",),
    **{(SVG_NS, name): ("href", XLINK_HREF) for name in ("image", "use", "feImage")},
}
BEYOND_CONTRACT = frozenset({"tr", "thead", "tbody", "tfoot"})
#: What browsers fetch but the server does not rewrite, by design (docs/blocking-contract.md:
#: finding them would mean visiting every <a> and table cell of every page): ``ping`` (sent
#: only on a click) and the legacy ``background`` attribute. The oracle still knows them, so
#: that a test can say what is left to other defences (banner.js restores them; a CSP covers
#: them), but `fetches` does not count them as the rewriter's failures.
NOT_REWRITTEN: dict[tuple[str, str], tuple[str, ...]] = {
    (HTML_NS, "a"): ("ping~",),
    (HTML_NS, "area"): ("ping~",),
    **{(HTML_NS, name): ("background",) for name in ("body", "table", "td", "th")},
    **{(HTML_NS, name): ("background",) for name in ("tr", "thead", "tbody", "tfoot")},
}

_JS_TYPES = frozenset(
    {"module", "text/jscript", "text/livescript", "text/ecmascript", "text/x-ecmascript"}
    | {"text/javascript", "text/x-javascript", "application/javascript"}
    | {"application/x-javascript", "application/ecmascript", "application/x-ecmascript"}
    | {f"text/javascript1.{minor}" for minor in range(6)}
)


def runs_as_script(attrs: dict[str, str]) -> bool:
    """Whether a script element with ``attrs`` is JavaScript (classic or module).

    As "prepare the script element", except that MIME parameters (``;charset=...``) are
    ignored: a browser that accepted them would run the script, so the oracle assumes one does.
    """
    kind = attrs.get("type")
    if kind is None:
        language = attrs.get("language")
        if not language:
            return True
        kind = "text/" + language
    kind = kind.strip(_ASCII_SPACE).split(";")[0].strip(_ASCII_SPACE).lower()
    return kind == "" or kind in _JS_TYPES


@dataclass(frozen=True)
class Fetch:
    """An element of the rewritten page that still loads a tracker."""

    reading: str
    element: str
    attribute: str
    url: str
    category: str

    def __str__(self) -> str:
        return (
            f"{self.element} {self.attribute}={self.url!r} loads {self.category} ({self.reading})"
        )


def name_of(tag: str) -> tuple[str, str]:
    """``(namespace, local name)`` of an etree tag."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _label(namespace: str, local: str) -> str:
    return f"{_PREFIX.get(namespace, namespace)} <{local}>"


def live_elements(root: ET.Element) -> Iterator[ET.Element]:
    """Every element a browser loads from: all but the content of (non-shadow) templates."""
    for child in root:
        if not isinstance(child.tag, str) or child.tag == _DOCTYPE:
            continue
        yield child
        namespace, local = name_of(child.tag)
        if namespace == HTML_NS and local == "template":
            mode = (child.get("shadowrootmode") or "").lower()
            if mode not in ("open", "closed"):
                continue  # inert content; a declarative shadow root is attached and loads
        yield from live_elements(child)


def _urls(spec: str, value: str) -> list[str]:
    if spec.endswith("*"):
        return srcset_urls(value)
    if spec.endswith("~"):
        return value.split()
    return [value]


def fetches_in_tree(
    root: ET.Element,
    trackers: Trackers,
    reading: Reading,
    depth: int = 0,
    *,
    everything: bool = False,
) -> list[Fetch]:
    found: list[Fetch] = []
    for element in live_elements(root):
        namespace, local = name_of(element.tag)
        attrs = dict(element.attrib)
        specs = list(_FETCHING.get((namespace, local), ()))
        if everything:
            specs += NOT_REWRITTEN.get((namespace, local), ())
        if local == "script" and namespace in (HTML_NS, SVG_NS) and runs_as_script(attrs):
            sources = ["src"] if namespace == HTML_NS else ["href", XLINK_HREF]
            specs += sources
            if reading.scripting and not any(source in attrs for source in sources):
                found += _inline_script_fetch(element, trackers, reading)
        if namespace == HTML_NS and local == "input" and attrs.get("type", "").lower() == "image":
            specs.append("src")
        for spec in specs:
            attribute = spec.rstrip("*~")
            value = attrs.get(attribute)
            if value is None:
                continue
            for url in _urls(spec, value):
                category = trackers.category(url)
                if category is not None:
                    label = _label(namespace, local)
                    shown = "xlink:href" if attribute == XLINK_HREF else attribute
                    found.append(Fetch(reading.name, label, shown, url, category))
        if namespace == HTML_NS and local == "iframe" and "srcdoc" in attrs and depth < 2:
            inner_found = fetches(attrs["srcdoc"], trackers, depth + 1, everything=everything)
            in_tree = {f.url for f in inner_found if "preload scanner" not in f.reading}
            for inner in inner_found:
                if "preload scanner" in inner.reading and inner.url in in_tree:
                    continue
                found.append(
                    Fetch(
                        reading.name,
                        "html <iframe srcdoc> > " + inner.element,
                        inner.attribute,
                        inner.url,
                        inner.category,
                    )
                )
    return found


def child_text(element: ET.Element) -> str:
    """The text nodes directly inside ``element``: what a script element runs."""
    return (element.text or "") + "".join(child.tail or "" for child in element)


def _inline_script_fetch(element: ET.Element, trackers: Trackers, reading: Reading) -> list[Fetch]:
    """An inline script that runs and names a tracker in its text: it loads that tracker (the
    contract blocks such a script by its text). A script runs its child text content: the text
    nodes directly inside it (an SVG script may hold elements and comments too). Only readings
    with scripting on run it: with scripting off no script runs, wherever it stands (a
    ``<script>`` after ``<noscript>`` left open in ``<head>`` is an element only there)."""
    namespace, local = name_of(element.tag)
    text = child_text(element)
    category = trackers.category_of_text(text)
    if category is None:
        return []
    named = (url for url in _URL_IN_TEXT.findall(text) if trackers.category(url) == category)
    shown = next(named, " ".join(text.split())[:60])
    return [Fetch(reading.name, _label(namespace, local), "text", shown, category)]


_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>`]+")


def fetches(
    text: str, trackers: Trackers, depth: int = 0, *, everything: bool = False
) -> list[Fetch]:
    """Every tracker fetch of ``text`` in every reading (empty: the page is safe).

    ``everything`` also counts what the server leaves by design (`NOT_REWRITTEN`).
    """
    found: list[Fetch] = []
    for reading in READINGS:
        found += fetches_in_tree(
            parse(text, reading), trackers, reading, depth, everything=everything
        )
    for scanner in SCANNERS:
        found += speculative_fetches(text, trackers, scanner)
    return found


# --- Chromium's preload scanner ------------------------------------------------------------------


@dataclass(frozen=True)
class Scanner:
    """Chromium's speculative preload scanner: it reads tokens, not the tree."""

    name: str
    scripting: bool


SCANNERS = (
    Scanner("scripting off, Chromium preload scanner", scripting=False),
    Scanner("scripting on, Chromium preload scanner", scripting=True),
)
READING_NAMES = frozenset(r.name for r in READINGS) | {s.name for s in SCANNERS}

# (start tag): attributes the scanner preloads from (as in `_FETCHING`: "*" a srcset).
_SCANNED: dict[str, tuple[str, ...]] = {
    "img": ("src", "srcset*"),
    "source": ("srcset*",),
    "link": ("href", "imagesrcset*"),
    "video": ("poster",),
    "base": ("href",),  # the predicted base URL of every later preload
}


def speculative_fetches(text: str, trackers: Trackers, scanner: Scanner) -> list[Fetch]:
    """What Chromium 156's preload scanner fetches, as seen in Chromium (chromium_sample.py).

    It tokenizes without a tree: raw-text elements switch the tokenizer by name in any
    namespace, ``<![CDATA[`` is a bogus comment even in SVG/MathML, template content is
    skipped (not a declarative shadow root's), and the elements it preloads (``img``,
    ``source``, ``link``, ``input type=image``, ``video poster``, ``base href``) count wherever
    they stand, inside ``<svg>`` and ``<math>`` too. After an open ``<svg>`` start tag, even
    inside ``<foreignObject>`` or once the tree has left the SVG, ``<script>`` and ``<image>``
    are read as SVG elements (``href``, ``xlink:href``).
    """
    tokenizer = HTMLTokenizer(text)
    states = {
        "title": tokenizer.rcdataState,
        "textarea": tokenizer.rcdataState,
        "script": tokenizer.scriptDataState,
        "plaintext": tokenizer.plaintextState,
        **{
            name: tokenizer.rawtextState
            for name in ("style", "xmp", "iframe", "noembed", "noframes")
        },
    }
    if scanner.scripting:
        states["noscript"] = tokenizer.rawtextState
    found: list[Fetch] = []
    templates: list[bool] = []  # per open <template>: is its content skipped?
    svg = 0
    for token in tokenizer:
        kind = token["type"]
        if kind == _END_TAG:
            if token["name"] == "template" and templates:
                templates.pop()
            elif token["name"] == "svg" and svg:
                svg -= 1
            continue
        if kind != _START_TAG:
            continue
        name, attrs = token["name"], dict(token["data"])
        if name in states:
            tokenizer.state = states[name]
        if name == "template":  # a declarative shadow root is scanned, other content not
            templates.append(attrs.get("shadowrootmode", "").lower() not in ("open", "closed"))
            continue
        if name == "svg" and not token.get("selfClosing"):
            svg += 1
        if any(templates):
            continue
        element = f"<{name}> token" + (" after <svg>" if svg else "")
        for spec in _scanned_attributes(name, attrs, after_svg=bool(svg)):
            attribute = spec.rstrip("*")
            value = attrs.get(attribute)
            for url in _urls(spec, value) if value is not None else ():
                category = trackers.category(url)
                if category is not None:
                    found.append(Fetch(scanner.name, element, attribute, url, category))
    return found


def _scanned_attributes(name: str, attrs: dict[str, str], *, after_svg: bool) -> list[str]:
    """The attributes the preload scanner fetches from on a ``name`` start tag (``*``: a
    srcset), given whether an ``<svg>`` start tag is still open in its reading."""
    specs = list(_SCANNED.get(name, ()))
    if name == "image" and after_svg:
        specs += ["href", "xlink:href"]
    if name == "input" and attrs.get("type", "").lower() == "image":
        specs.append("src")
    if name == "script" and runs_as_script(attrs):
        specs += ["href", "xlink:href"] if after_svg else ["src"]
    return specs


# --- the document is unchanged apart from the contract's edits ------------------------------------

Placeholder = Callable[[str], str]


@dataclass
class _Context:
    trackers: Trackers
    placeholder: Placeholder | None
    reading: Reading
    markup_in_raw: bool  # raw text, comments, SVG/MathML text compared as markup
    depth: int = 0
    scripts_as_raw_text: bool = False  # script data compared like raw text (see `differences`)
    #: The text compared as markup ends inside a ``<script>``: another reading, which reads
    #: that text as markup, runs the script on past its end (`_reason`).
    script_cut: bool = False

    def deeper(self, *, script_cut: bool = False) -> _Context:
        return _Context(
            self.trackers,
            self.placeholder,
            self.reading,
            self.markup_in_raw,
            self.depth + 1,
            self.scripts_as_raw_text,
            script_cut,
        )


class DifferenceError(Exception):
    pass


def differences(
    original: bytes,
    rewritten: bytes,
    trackers: Trackers,
    placeholder: Placeholder | None,
    *,
    doubted: bool = False,
) -> list[str]:
    """How ``rewritten`` differs from ``original`` beyond what the contract allows ([] if not).

    Compared per reading on html5lib trees: element names and namespaces, attributes, text,
    comments and doctypes, in order. Tolerated, and only on an element with a reason to be
    neutralised (an attribute value or, for a script, its text naming a tracker of a category
    not granted; or a ``data-consent`` label already in the original):

    * a ``data-consent`` label added;
    * a fetching attribute renamed ``data-consent-<name>`` with its value kept (``xlink:href``
      as ``data-consent-xlink-href``; lazy-load ``data-src`` as ``data-consent-src``);
    * ``type="text/plain"`` with the original type in ``data-consent-type`` (none if absent);
    * on a labelled ``<iframe>`` without ``srcdoc``, a ``srcdoc`` equal to the placeholder of
      one of its labels; an existing ``srcdoc`` must be the same page after these rules.

    Everywhere: ``&lt;`` in comments and raw text (``style``, ``xmp``, ``iframe``, ``noembed``,
    ``noframes``, ``plaintext``, ``textarea``, ``title``; ``noscript`` with scripting on)
    compares equal to ``<``; in attribute values the parser already decodes it.

    CDATA: the preload scanner reads a CDATA section as markup after its first ``>``, so tags
    rewritten in a page with CDATA are explained (the rewriter guards that reading too).

    Ambiguity: where one reading sees raw text or an attribute value and another sees markup,
    a neutralised page cannot look unchanged in both. So each reading is compared three ways:
    (1) with every ``&lt;`` the rewriter added (found by diffing the two pages) read as ``<``
    (escapes tolerated) but comments and raw text exactly as they were; (2) as they are
    (escapes only where the reading sees raw text, comments or attribute values) but comments,
    raw text and SVG/MathML text (which may be CDATA) compared as markup under the same rules;
    (3) both tolerances at once. Every reading must pass (3), some reading (1) and some
    reading (2): a tag rewritten inside what every reading sees as a comment or text, or
    markup escaped where every reading sees markup, fails. Script text never may change,
    except on a page the rewriter read two ways (``doubted``, `Tokenizer.doubted`): there an
    HTML script in an integration point may be an SVG script to another reading, its text
    markup, so script text is compared like raw text.
    """
    as_is = (decode(original), decode(rewritten))
    undone = (as_is[0], undo_escapes(*as_is))
    hard: dict[str, list[str]] = {}
    escapes: dict[str, list[str]] = {}
    raw_text: dict[str, list[str]] = {}
    escapes_explained = raw_text_explained = False
    for reading in READINGS:
        exact_raw = _attempt(undone, _Context(trackers, placeholder, reading, False, 0, doubted))
        exact_markup = _attempt(as_is, _Context(trackers, placeholder, reading, True, 0, doubted))
        raw_text_explained |= exact_raw is None
        escapes_explained |= exact_markup is None
        if exact_raw is not None:
            raw_text.setdefault(exact_raw, []).append(reading.name)
        if exact_markup is not None:
            escapes.setdefault(exact_markup, []).append(reading.name)
        if exact_raw is not None and exact_markup is not None:
            both = _attempt(undone, _Context(trackers, placeholder, reading, True, 0, doubted))
            if both is not None:
                hard.setdefault(both, []).append(reading.name)
    if not raw_text_explained and (
        "<![CDATA[" in as_is[0] or _scanner_only_fetches(as_is[0], trackers)
    ):
        # Text to every tree, but Chromium's preload scanner reads CDATA in SVG/MathML as a
        # comment that ends at the first ">", and the tags after it as markup (it fetches
        # them): the rewriter reads it that way too, so tags in that text may be rewritten.
        raw_text_explained = True
    if not hard:
        if not raw_text_explained:  # text changed inside what every reading sees as text
            hard.update({"text rewritten in every reading: " + m: r for m, r in raw_text.items()})
        if not escapes_explained:  # markup escaped where every reading sees markup
            hard.update({"markup escaped in every reading: " + m: r for m, r in escapes.items()})
    return [f"{message} ({_readings(names)})" for message, names in hard.items()]


def _scanner_only_fetches(text: str, trackers: Trackers) -> bool:
    """Whether the preload scanner fetches a tracker from ``text`` that no tree reading does."""
    in_trees = {
        f.url
        for reading in READINGS
        for f in fetches_in_tree(parse(text, reading), trackers, reading)
    }
    return any(
        f.url not in in_trees
        for scanner in SCANNERS
        for f in speculative_fetches(text, trackers, scanner)
    )


def undo_escapes(original: str, rewritten: str) -> str:
    """``rewritten`` with the ``&lt;`` it added (not those it kept from ``original``) as ``<``."""
    if "&lt;" not in rewritten:
        return rewritten
    matcher = difflib.SequenceMatcher(None, original, rewritten, autojunk=False)
    pieces = []
    for tag, _, _, start, end in matcher.get_opcodes():
        piece = rewritten[start:end]
        pieces.append(piece if tag == "equal" else piece.replace("&lt;", "<"))
    return "".join(pieces)


def _attempt(texts: tuple[str, str], ctx: _Context) -> str | None:
    try:
        _compare_documents(*texts, ctx)
    except DifferenceError as error:
        return str(error)
    return None


def _readings(names: list[str]) -> str:
    return "every reading" if len(set(names)) == len(READINGS) else "; ".join(sorted(set(names)))


def _compare_documents(original: str, rewritten: str, ctx: _Context) -> None:
    _compare(parse(original, ctx.reading), parse(rewritten, ctx.reading), ctx, "")


def _compare_fragments(original: str, rewritten: str, ctx: _Context, where: str) -> None:
    lowered = original.lower()
    inner = ctx.deeper(script_cut=lowered.rfind("<script") > lowered.rfind("</script"))
    rewritten = undo_escapes(original, rewritten)
    _compare(
        parse_fragment(original, ctx.reading), parse_fragment(rewritten, ctx.reading), inner, where
    )


def _nodes(element: ET.Element) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []

    def text(value: str | None) -> None:
        if not value:
            return
        if out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + value)
        else:
            out.append(("text", value))

    text(element.text)
    for child in element:
        if child.tag is ET.Comment:  # type: ignore[comparison-overlap]
            out.append(("comment", child.text or ""))
        elif child.tag == _DOCTYPE:
            out.append(("doctype", child.text or ""))
        else:
            out.append(("element", child))
        text(child.tail)
    return out


def _describe(element: ET.Element) -> str:
    namespace, local = name_of(element.tag)
    return f"<{_PREFIX.get(namespace, namespace)}:{local}>"


def _compare(a: ET.Element, b: ET.Element, ctx: _Context, where: str) -> None:
    if a.tag in ("DOCUMENT_ROOT", "DOCUMENT_FRAGMENT"):
        here = where
    else:
        here = where + (" > " if where else "") + _describe(a)
    if a.tag != b.tag:
        raise DifferenceError(f"at {where or 'top'}: {_describe(a)} became {_describe(b)}")
    _compare_attributes(a, b, ctx, here)
    namespace, local = name_of(a.tag)
    raw = (
        namespace == HTML_NS
        and (
            local in _RAW_TEXT
            or (local == "noscript" and ctx.reading.scripting)
            or (local == "script" and ctx.scripts_as_raw_text)
        )
    ) or (ctx.markup_in_raw and namespace != HTML_NS)  # SVG/MathML text may be CDATA
    left, right = _nodes(a), _nodes(b)
    for index in range(max(len(left), len(right))):
        if index >= len(left) or index >= len(right):
            extra = (right if len(right) > len(left) else left)[index]
            side = "added" if len(right) > len(left) else "removed"
            raise DifferenceError(f"in {here}: {_show(extra)} {side}")
        (kind_a, value_a), (kind_b, value_b) = left[index], right[index]
        if kind_a != kind_b:
            raise DifferenceError(f"in {here}: {_show(left[index])} became {_show(right[index])}")
        if kind_a == "element":
            _compare(value_a, value_b, ctx, here)
        elif kind_a == "doctype" or (kind_a == "text" and not raw):
            if value_a != value_b:
                raise DifferenceError(f"in {here}: {kind_a} {value_a!r:.80} became {value_b!r:.80}")
        else:  # a comment, or raw text
            _compare_raw(value_a, value_b, ctx, f"{here} {kind_a}")


def _show(node: tuple[str, Any]) -> str:
    kind, value = node
    if kind == "element":
        return "element " + _describe(value)
    return f"{kind} {value!r:.80}"


def _compare_raw(a: str, b: str, ctx: _Context, where: str) -> None:
    if a.replace("&lt;", "<") == b.replace("&lt;", "<"):
        return
    if ctx.markup_in_raw and ctx.depth < 4:
        _compare_fragments(a, b, ctx, where)
        return
    raise DifferenceError(f"in {where}: {a!r:.120} became {b!r:.120}")


_LABEL = "data-consent"
_SAVED_TYPE = "data-consent-type"
_RENAMED = "data-consent-"


def _reason(element: ET.Element, ctx: _Context) -> bool:
    """Whether the original ``element`` may be neutralised at all."""
    if _LABEL in element.attrib:
        return True
    trackers = ctx.trackers
    for value in element.attrib.values():
        urls = [value, *srcset_urls(value), *value.split()]
        if any(trackers.category(url) for url in urls) or trackers.category_of_text(value):
            return True
    if name_of(element.tag)[1] != "script":
        return False
    # A script cut short by the end of the text compared: its text goes on beyond, where the
    # reading that takes this text as markup reads it, and may name a tracker there.
    return ctx.script_cut or bool(trackers.category_of_text(child_text(element)))


def _compare_attributes(a: ET.Element, b: ET.Element, ctx: _Context, here: str) -> None:
    before, after = dict(a.attrib), dict(b.attrib)
    edits: list[str] = []
    if _LABEL in after and _LABEL not in before:
        labels = after.pop(_LABEL)
        edits.append("label")
    else:
        labels = after.get(_LABEL, "")
    if _SAVED_TYPE in after and _SAVED_TYPE not in before:
        saved = after.pop(_SAVED_TYPE)
        if after.get("type", "").lower() != "text/plain":
            raise DifferenceError(f"{here}: {_SAVED_TYPE} without type=text/plain: {b.attrib}")
        after["type"] = saved
        edits.append("type")
    elif "type" not in before and after.get("type", "").lower() == "text/plain":
        del after["type"]
        edits.append("type")
    for name in [n for n in after if n.startswith(_RENAMED) and n not in before]:
        value = after.pop(name)
        base = name[len(_RENAMED) :]
        candidates = [base, "data-" + base]
        if base.startswith("xlink-"):
            candidates += [XLINK_HREF if base == "xlink-href" else "", "xlink:" + base[6:]]
        for candidate in candidates:
            if candidate and before.get(candidate) == value and candidate not in after:
                after[candidate] = value
                edits.append("rename " + candidate)
                break
        else:
            raise DifferenceError(f"{here}: {name}={value!r} renames nothing of {a.attrib}")
    if "srcdoc" in after and name_of(a.tag)[1] == "iframe":  # SVG too: fail closed is fine
        _compare_srcdoc(before, after, labels, edits, ctx, here)
    if before != after:
        changed = sorted(
            set(before.items()).symmetric_difference(after.items()), key=lambda kv: kv[0]
        )
        raise DifferenceError(
            f"{here}: attributes differ: {changed} (was {a.attrib}, now {b.attrib})"
        )
    if edits and not _reason(a, ctx):
        raise DifferenceError(
            f"{here}: neutralised without a tracker ({', '.join(edits)}): {a.attrib}"
        )


def _compare_srcdoc(
    before: dict[str, str],
    after: dict[str, str],
    labels: str,
    edits: list[str],
    ctx: _Context,
    here: str,
) -> None:
    """An iframe's ``srcdoc``: our placeholder (an edit), or the same document rewritten
    (compared as a document of its own, a few levels deep); ``after`` gets the original."""
    if "srcdoc" not in before:
        keys = labels.split()
        if ctx.placeholder is not None and after["srcdoc"] in {ctx.placeholder(k) for k in keys}:
            del after["srcdoc"]
            edits.append("placeholder")
    elif before["srcdoc"] != after["srcdoc"] and ctx.depth < 3:
        inner = ctx.deeper()
        try:
            _compare(
                parse(before["srcdoc"], ctx.reading),
                parse(after["srcdoc"], ctx.reading),
                inner,
                "",
            )
        except DifferenceError as error:
            raise DifferenceError(f"{here} srcdoc: {error}") from None
        after["srcdoc"] = before["srcdoc"]
