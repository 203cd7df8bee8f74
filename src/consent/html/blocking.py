"""The consent handler: which elements fetch, for which category, and how they are neutralised.

Every element that makes a browser fetch is judged by the categories its URLs belong to
(or by the category it is labelled with: ``data-consent``, Cookiebot's
``data-cookieconsent``, vanilla-cookieconsent's ``data-category``). Until all of them are
granted its fetching attributes are renamed ``data-consent-<name>`` (scripts get
``type="text/plain"``) and it carries ``data-consent`` with the resolved category keys, so
``banner.js`` can restore it in place without knowing other tools' names. A granted element
that arrives neutralised (by us, Cookiebot or vanilla-cookieconsent) is restored, so the
browser runs it natively. The table is in ``docs/blocking-contract.md``.

`BlockingPolicy` is built once per middleware; it owns the decision caches (one per set of
granted categories: the same templates are served again and again, so most tags are
decided once per process). `BlockingHandler` is what one response's tokenizer talks to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from consent.blocking import BlockingRules
from consent.cache import BoundedCache
from consent.html import lexer
from consent.html.lexer import L_NAME, LONG_STEPS, Attr, Edits, Inert, SparseTags, parse_attrs
from consent.html.tokenizer import NEEDS_TEXT, UNDECIDED, Tokenizer

__all__ = [
    "FETCHING",
    "BlockingHandler",
    "BlockingPolicy",
    "Decisions",
    "Placeholder",
    "Placeholders",
]

#: The attributes through which each element fetches (lower-case names). SVG's ``image``,
#: ``use`` and ``feImage`` fetch through ``href``/``xlink:href``; so does an SVG ``script``.
FETCHING: dict[bytes, tuple[bytes, ...]] = {
    # href: Chromium's preload scanner reads an <image> after any <svg> as SVG's image
    b"img": (b"src", b"srcset", b"href", b"xlink:href"),
    b"source": (b"src", b"srcset"),
    b"iframe": (b"src",),
    b"frame": (b"src",),
    b"input": (b"src",),
    b"embed": (b"src",),
    b"audio": (b"src",),
    b"track": (b"src",),
    b"video": (b"src", b"poster"),
    b"object": (b"data",),
    b"link": (b"href", b"imagesrcset"),
    b"base": (b"href",),
    # src/srcset too: where SVG may have ended, another reading has an HTML <img> here
    b"image": (b"href", b"xlink:href", b"src", b"srcset"),
    b"use": (b"href", b"xlink:href"),
    b"feimage": (b"href", b"xlink:href"),
}
#: A script fetches through src in HTML and href/xlink:href in SVG; Chromium's preload scanner
#: reads any <script> after an <svg> as SVG's: every script is judged on all three.
_SCRIPT_SOURCES = (b"src", b"href", b"xlink:href")
#: The attributes that make a script external, by ``foreign``: HTML's src, SVG's hrefs.
_EXTERNAL = {False: (b"src",), True: (b"href", b"xlink:href")}
#: Lazy-loading conventions: a loader script (lazysizes, lozad, ...) copies these into the
#: real attributes later, for elements that carry its class.
_LAZY = (b"data-src", b"data-srcset", b"data-lazy-src")
_LAZY_CLASS = re.compile(r"lazy|lozad", re.IGNORECASE)
_LAZY_ELEMENTS = frozenset({b"img", b"source", b"iframe", b"video", b"audio", b"embed"})
#: A scheme where a URL starts: right after a quote, "=", a space, a C0 control or a srcset's
#: comma (tabs and newlines inside, which URL parsing drops). A colon elsewhere, as in
#: ``sizes="(max-width: 600px)"``, is no scheme.
_SCHEME_AT_URL_START = re.compile(rb"[\x00-\x20\"'=,][A-Za-z][A-Za-z0-9+.\-\t\n\r]*:")
_SLASH_SPACE = re.compile(rb"/[\t\n\r]")


#: Tags `may_leave_the_site` passes for certain, as the tokenizer can find them in C: no "\\",
#: "&" or ":" anywhere (stricter than a scheme), no "//", "/" before a tab or newline, or
#: "data-" (see `lexer.Inert`).
INERT = Inert(without=b"\\&:", never=(b"//", b"/\t", b"/\n", b"/\r", b"data-"))


def may_leave_the_site(tag: bytes) -> bool:
    """Whether any URL of ``tag`` can leave the site, or the tag can be labelled or pre-blocked
    (``data-`` attributes): it needs "//" in one of the spellings `consent.blocking` reads, a
    backslash, a character reference that may spell them, or a scheme where a URL starts.
    A tag without any of them fetches from the site itself only: no category applies, and
    it is passed without parsing. Substring tests first: each is one pass in C.
    """
    return (
        b"//" in tag
        or b"\\" in tag
        or b"&" in tag
        or (b":" in tag and _SCHEME_AT_URL_START.search(tag) is not None)
        or (b"-" in tag and b"data-" in tag.lower())
        or ((b"\n" in tag or b"\t" in tag or b"\r" in tag) and _SLASH_SPACE.search(tag) is not None)
    )


#: What rules out `plain_url_hosts`, in one search instead of a test each: a backslash, a
#: character reference, a tab or newline, a non-ASCII byte, ``data-`` in any case, or a
#: colon outside ``http://`` and ``https://`` (it may start another scheme, or a style).
#: Every branch starts at one of the bytes of the first class, which ``re`` scans for.
_NOT_PLAIN = re.compile(
    rb"[\\&\t\n\r\x80-\xff:dD](?:(?<=[\\&\t\n\r\x80-\xff])|(?<=[dD])(?i:ata-)"
    rb"|(?<=:)(?:(?!//)|(?<!http:)(?<!https:)))"
)
#: ``//`` and the host name after it, and the byte after that.
_URL_HOST = re.compile(rb"//([A-Za-z0-9.-]*)(.?)", re.DOTALL)
#: What may follow a host that `category_of_url` reads as the whole host (not a port, user
#: name or escape): a path, query or fragment, the end of the value, a srcset's comma.
_AFTER_HOST = frozenset(b"/?#\"' >,")


def plain_url_hosts(tag: bytes) -> list[str] | None:
    """The hosts named in ``tag`` when its only way off the site is plain
    ``https://host/...`` URLs; None when it may have another (then it is judged in full).

    The way `may_leave_the_site` reads a tag, with everything but "//" ruled out: no
    backslash, character reference, tab, newline, non-ASCII byte or ``data-``, and every
    colon in ``http://`` or ``https://`` (so no other scheme). Every "//" must then be
    followed by a host that ends where a URL parser ends it; its name is looked up
    (`BlockingRules.never_categorised`), wherever the "//" stands.
    """
    if _NOT_PLAIN.search(tag) is not None:
        return None
    hosts = []
    for found in _URL_HOST.finditer(tag):
        after = found.group(2)
        host = found.group(1).decode("ascii").lower().rstrip(".")
        if not host or (after and after[0] not in _AFTER_HOST):
            return None
        hosts.append(host)
    return hosts


_SRCSETS = frozenset({b"srcset", b"imagesrcset", b"data-srcset"})
#: Where a pre-blocked script keeps its URL: ours, Cookiebot's, vanilla-cookieconsent's.
_SCRIPT_SAVED_SRC = (b"data-consent-src", b"data-cookieblock-src", b"data-src")
# JavaScript MIME types (HTML standard) plus "module": other script types are data, never run.
JS_TYPES = frozenset(
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
_KEY_SPLIT = re.compile(r"[\s,;]+")
_IGNORE = "ignore"
_SAVED = b"data-consent-"


def saved_name(name: bytes) -> bytes:
    """Where a neutralised attribute keeps its value: ``data-consent-`` + its name
    (``xlink:href`` as ``data-consent-xlink-href``: a colon is no good in our names)."""
    saved = _SAVED_NAMES.get(name)
    return saved if saved is not None else _SAVED + name.replace(b":", b"-")


#: `saved_name` of every attribute that fetches, looked up rather than built per element.
_SAVED_NAMES = {
    name: _SAVED + name.replace(b":", b"-")
    for name in {*_SCRIPT_SOURCES, *_LAZY, *(a for names in FETCHING.values() for a in names)}
}


_CACHE_SIZE = 512  # decided tags per set of granted categories
_CACHE_TAG_BYTES = 512  # longer start tags are judged every time, never kept
_CACHE_SETS = 16  # sets of granted categories with a cache
_SRCDOC_DEPTH = 3  # iframes in srcdoc in srcdoc ...: deeper ones lose their srcdoc
_EMBED_ID = "consent-embed-{}"  # a blocked iframe's id when it has none: the n-th iframe


class Placeholders:
    """The placeholders of one response's blocked iframes, and what *Load this once* asked for.

    ``render(key, anchor)`` returns the ``srcdoc`` value of an iframe blocked for ``key``,
    already escaped for the attribute (`consent.banner.BannerRenderer.placeholder_srcdoc`:
    cheaper than escaping a whole document per iframe); ``anchor`` is the iframe's id (empty
    if it has none to link to), for the placeholder's links back to this very embed.
    ``once`` holds the keys whose iframes load in this response only (the placeholder's
    no-JS *Load this once* link): iframes only, never scripts, images or anything else of
    theirs; nothing is granted or stored. The iframes of ``once`` and of ``anchored``
    (services allowed one by one, as *Always allow* does) keep that id while they load, so
    the way back from a placeholder ends at the embed.

    A plain ``placeholder(key)`` callable still works (no anchors, nothing loaded once).
    """

    __slots__ = ("anchored", "document", "once")

    def __init__(
        self,
        render: Callable[[str, str], bytes],
        *,
        once: Iterable[str] = (),
        anchored: Iterable[str] = (),
    ) -> None:
        #: ``document(key, anchor)``: the escaped ``srcdoc`` value (see above).
        self.document = render
        self.once = frozenset(once)
        self.anchored = frozenset(anchored)


#: What renders a blocked iframe's placeholder: a document per key, or `Placeholders`.
Placeholder = Callable[[str], str] | Placeholders


class Decisions:
    """The tags decided for one set of grants, in two generations.

    `current` is what the tokenizer looks up (one dict lookup per tag). When it is full it
    becomes the `earlier` generation and starts again empty; a tag found there comes back
    (`recall`). So the tags every page repeats (a site's scripts, its logo) survive the
    stream of tags seen once (an image per article), where emptying the only dict would
    judge them all again.
    """

    __slots__ = ("current", "earlier")

    def __init__(self) -> None:
        self.current: dict[bytes, bytes | None] = {}
        self.earlier: dict[bytes, bytes | None] = {}

    def keep(self, key: bytes, done: bytes | None) -> None:
        current = self.current
        if len(current) >= _CACHE_SIZE:
            self.earlier = current.copy()  # (`current` stays the same dict: it is shared)
            current.clear()
        current[key] = done

    def recall(self, key: bytes) -> bytes | None:
        done = self.earlier.get(key, UNDECIDED)
        if done is not UNDECIDED:
            self.keep(key, done)
        return done


class BlockingPolicy:
    """The consent rules of one middleware, and the caches of what they decided."""

    def __init__(self, rules: BlockingRules) -> None:
        self.rules = rules
        self._caches: dict[frozenset[str], Decisions] = {}
        # A visitor's grants with the required categories added: the same set (its hash
        # kept) for every response with those grants.
        self._with_required: BoundedCache[frozenset[str], frozenset[str]] = BoundedCache(
            _CACHE_SETS
        )

    def handler(
        self,
        granted: Iterable[str],
        *,
        placeholder: Placeholder | None = None,
        depth: int = 0,
    ) -> BlockingHandler:
        """The handler for one response: ``granted`` categories, a blocked iframe's
        placeholder document (``placeholder(key)``), ``depth`` of srcdoc nesting."""
        given = frozenset(granted)
        allowed = self._with_required.get(given)
        if allowed is None:
            allowed = self._with_required.set(given, given | self.rules.required)
        return BlockingHandler(self, allowed, placeholder=placeholder, depth=depth)

    def clear(self) -> None:
        """Forget every decided tag."""
        self._caches.clear()

    def cache_for(self, granted: frozenset[str]) -> Decisions:
        """The decided tags for ``granted`` (shared by every response with those grants)."""
        cache = self._caches.get(granted)
        if cache is None:
            if len(self._caches) >= _CACHE_SETS:
                self._caches.clear()
            cache = self._caches[granted] = Decisions()
        return cache


class BlockingHandler:
    """Judges the start tags of one response (a `consent.html.tokenizer.Handler`)."""

    names = frozenset(FETCHING)
    sparse: SparseTags = frozenset()
    #: Tags without a URL that may leave the site, nor a label: `start_tag` leaves them as
    #: they are (an iframe is special to the tokenizer: it never gets here unasked).
    inert: Inert | None = INERT

    @property
    def blocks_nothing(self) -> bool:
        """Whether every category is granted (then no reading of the page needs guarding)."""
        return self._all_granted

    def __init__(
        self,
        policy: BlockingPolicy,
        granted: frozenset[str],
        *,
        placeholder: Placeholder | None,
        depth: int,
    ) -> None:
        self._policy = policy
        self._rules = policy.rules
        self._granted = granted
        self._placeholder = placeholder
        self._placeholders: dict[str, str] = {}
        # *Load this once* (`Placeholders`): keys whose iframes load in this response only,
        # and the ids that link a placeholder back to its iframe (top-level document only).
        self._once: frozenset[str] = frozenset()
        self._anchored: frozenset[str] = frozenset()
        self._anchors = False
        if isinstance(placeholder, Placeholders):
            self._once, self._anchored = placeholder.once, placeholder.anchored
            self._anchors = depth == 0
        self._iframes = 0  # iframes seen so far: the n-th one's id is "consent-embed-<n>"
        self._depth = depth
        self._all_granted = granted.issuperset(self._rules.keys)
        self._decisions = policy.cache_for(granted)
        self.decided = self._decisions.current

    # -- the tokenizer's questions --------------------------------------------------------

    def start_tag(self, name: bytes, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """The replacement for a start tag that may fetch, or None."""
        if name == b"iframe":
            self._iframes += 1
        if name != b"iframe" and not may_leave_the_site(tag):
            done = None  # only relative URLs and no labels: nothing to decide
        elif name != b"iframe" and self._rules.never_categorised(plain_url_hosts(tag)):
            # Its URLs leave only for hosts no rule names (the site's own, a CDN). Not kept:
            # told again in a few microseconds, and one-off tags such as a canonical link
            # would push the decisions that repeat (a site's scripts) out of the cache.
            return None
        else:
            attrs = parse_attrs(tag, body, len(tag) - 1)
            edits = self._element_edits(name, tag, body, attrs)
            done = edits.apply(0, len(tag)) if edits else None
        # An iframe's placeholder and srcdoc are per response: never kept for others.
        if not foreign and len(tag) <= _CACHE_TAG_BYTES and name != b"iframe":
            self.remember(tag, done)
        return done

    def script(self, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """A script start tag's replacement; `NEEDS_TEXT` when its inline text decides it."""
        edits = self._script_edits(tag, body, foreign=foreign)
        done = NEEDS_TEXT if edits is None else edits.apply(0, len(tag)) if edits else None
        if not foreign and len(tag) <= _CACHE_TAG_BYTES:
            self.remember(tag, done)
        return done

    def script_text(self, tag: bytes, text: bytes, *, foreign: bool, exact: bool = True) -> bytes:
        """The start tag of an inline script, decided by the tracker its text loads (not
        ``exact``: by any tracker it names)."""
        if exact:
            category = self._rules.category_of_inline_script(text)
        else:
            category = self._rules.category_named_in_inline_script(text)
        key = b"\0" + (category or "").encode() + (b"\0svg\0" if foreign else b"\0") + tag
        done = self.decided.get(key, UNDECIDED)
        if done is UNDECIDED:
            done = self.recall(key)
        if done is UNDECIDED:
            name_end = lexer.match(LONG_STEPS[L_NAME], tag, 1).end()
            edits = self._script_edits(tag, name_end, foreign=foreign, text=(category,))
            done = edits.apply(0, len(tag)) if edits else None
            self.remember(key, done)
        return tag if done is None else done

    def long_tag(self, name: bytes, head: bytes, *, foreign: bool) -> bytes:
        """The head (``<name``) of a tag too long to read: attributes first win, so empty
        fetching attributes right after the name keep whatever follows from fetching."""
        extra = [b' data-consent-long=""']
        names: tuple[bytes, ...]
        if name == b"script":
            extra.append(b' type="text/plain"')
            names = _SCRIPT_SOURCES
        else:
            names = FETCHING.get(name, ())
            if name == b"iframe":
                self._iframes += 1  # counted as `start_tag` counts it: later ids stay the same
                extra.append(b' srcdoc=""')
        extra.extend(b" " + attr + b'=""' for attr in names)
        return head + b"".join(extra)

    # -- decisions --------------------------------------------------------------------------

    def remember(self, key: bytes, done: bytes | None) -> None:
        """Keep a decision in `decided` (bounded: see `Decisions`)."""
        self._decisions.keep(key, done)

    def recall(self, key: bytes) -> bytes | None:
        """A decision kept before `decided` last filled up, or `UNDECIDED`."""
        return self._decisions.recall(key)

    def _keys(self, value: str) -> list[str | None]:
        return [self._rules.alias(name) for name in _KEY_SPLIT.split(value.strip()) if name]

    def _allowed(self, keys: list[str | None]) -> bool:
        return all(key is not None and key in self._granted for key in keys)

    def _marker(self, attrs: dict[bytes, Attr]) -> list[str | None] | None:
        """Category keys an element is labelled with: ours, Cookiebot's or vanilla-cc's."""
        for name in (b"data-consent", b"data-cookieconsent", b"data-category"):
            attr = attrs.get(name)
            if attr is not None:
                keys = self._keys(attr.value)
                if keys:
                    return keys
        return None

    def _categories(self, attrs: dict[bytes, Attr], fetching: Iterable[bytes]) -> list[str | None]:
        """The categories of the URLs an element would fetch (first-party URLs have none)."""
        found: list[str | None] = []
        for attr_name in fetching:
            attr = attrs.get(attr_name)
            if attr is None:
                continue
            urls = _srcset_urls(attr.value) if attr_name in _SRCSETS else (attr.value,)
            for url in urls:
                category = self._rules.category_of_url(url)
                if category is not None and category not in found:
                    found.append(category)
        return found

    def _element_edits(self, name: bytes, tag: bytes, body: int, attrs: dict[bytes, Attr]) -> Edits:
        """Edits for any element that fetches through attributes (not scripts)."""
        edits = Edits(tag, body)
        if name != b"iframe" and name != b"input" and b"data-" not in tag.lower():
            return self._plain_element_edits(edits, name, attrs)
        if _ignored(attrs):
            return edits
        if name == b"input" and not _is_image_input(attrs):
            return edits
        if name == b"iframe" and b"srcdoc" in attrs and b"data-consent-src" not in attrs:
            return self._srcdoc_edits(edits, attrs[b"srcdoc"])
        fetching = FETCHING[name]
        if name in _LAZY_ELEMENTS and _is_lazy(attrs):
            fetching = fetching + _LAZY
        keys = self._marker(attrs)
        saved = self._saved(attrs, fetching, labelled=keys is not None)
        if saved and any(original == b"src" for original, _ in saved):
            fetching = tuple(a for a in fetching if a != b"data-src")  # Klaro's saved src
        live = [(a, attrs[a]) for a in fetching if a in attrs]
        live = [(a, attr) for a, attr in live if attr.value.strip(_HTML_SPACE)]
        if keys is None:
            keys = self._categories(attrs, [a for a, _ in live] + [s.name for _, s in saved])
            if not keys:
                return edits  # first-party or unknown: nothing to decide
        if self._allowed(keys):
            if saved:
                self._restore(edits, name, attrs, saved)
            if name == b"iframe" and self._anchored and not self._anchored.isdisjoint(keys):
                self._anchor(edits, attrs)  # allowed from its placeholder: the way back
            return edits
        if name == b"iframe" and self._once and self._allowed_once(keys):
            return self._load_once(edits, attrs, saved)
        self._block_element(edits, name, attrs, keys, live, saved)
        return edits

    def _srcdoc_edits(self, edits: Edits, srcdoc: Attr) -> Edits:
        """`_element_edits` for an iframe with a document of its own: srcdoc wins, the browser
        never loads src. The document may hold trackers of its own: rewritten like a page
        (without a banner), whatever src says. (Beside a saved src, srcdoc is our placeholder:
        see `_restore`.)"""
        rewritten = self._rewrite_srcdoc(srcdoc.value)
        if rewritten is not None:
            edits.replace(srcdoc, "srcdoc", rewritten)
        return edits

    def _load_once(
        self, edits: Edits, attrs: dict[bytes, Attr], saved: list[tuple[bytes, Attr]]
    ) -> Edits:
        """*Load this once* for a blocked iframe: it loads in this response only, and its id
        brings the visitor back to it."""
        if saved:
            self._restore(edits, b"iframe", attrs, saved)
        self._anchor(edits, attrs)
        return edits

    def _block_element(
        self,
        edits: Edits,
        name: bytes,
        attrs: dict[bytes, Attr],
        keys: list[str | None],
        live: list[tuple[bytes, Attr]],
        saved: list[tuple[bytes, Attr]],
    ) -> None:
        """Neutralise an element not granted: its live fetching attributes saved under our
        names (where banner.js restores them), other tools' saved ones renamed to ours."""
        for attr_name, attr in live:
            target = saved_name(attr_name)
            if target in attrs:
                edits.remove(attr)  # a stand-in beside the saved value: the saved one wins
            else:
                edits.rename(attr, target)
        for original, attr in saved:  # another tool's name for it: ours, for banner.js
            if attr.name != saved_name(original) and saved_name(original) not in attrs:
                edits.rename(attr, saved_name(original))
        if live or saved:
            self._label(edits, attrs, keys)
        if name == b"iframe" and live:
            self._iframe_block(edits, attrs, keys)

    def _plain_element_edits(self, edits: Edits, name: bytes, attrs: dict[bytes, Attr]) -> Edits:
        """`_element_edits` for the usual element: no ``data-`` attribute at all (so no label,
        saved value or lazy loader's URL), neither an iframe nor an input. The same edits,
        without looking for what cannot be there."""
        live = [(a, attrs[a]) for a in FETCHING[name] if a in attrs]
        live = [(a, attr) for a, attr in live if attr.value.strip(_HTML_SPACE)]
        keys = self._categories(attrs, [a for a, _ in live])
        if not keys or self._allowed(keys):
            return edits
        for attr_name, attr in live:
            edits.rename(attr, saved_name(attr_name))
        self._label(edits, attrs, keys)
        return edits

    @staticmethod
    def _saved(
        attrs: dict[bytes, Attr], fetching: tuple[bytes, ...], *, labelled: bool
    ) -> list[tuple[bytes, Attr]]:
        """Neutralised fetching attributes: ``(original name, saved attribute)`` pairs.

        Ours (``data-consent-src``), Cookiebot's (``data-cookieblock-src``), and Klaro's or
        vanilla-cookieconsent's ``data-src`` on an element labelled with a category and
        without a ``src`` (unlabelled, ``data-src`` is a lazy loader's, and still live).
        """
        saved = [(a, attrs[saved_name(a)]) for a in fetching if saved_name(a) in attrs]
        if b"src" in fetching and not any(a == b"src" for a, _ in saved):
            other = attrs.get(b"data-cookieblock-src")
            if other is None and labelled and b"src" not in attrs:
                other = attrs.get(b"data-src")
            if other is not None:
                saved.append((b"src", other))
        return saved

    def _restore(
        self, edits: Edits, name: bytes, attrs: dict[bytes, Attr], saved: list[tuple[bytes, Attr]]
    ) -> None:
        """Give neutralised attributes back (granted), dropping stand-ins in their place."""
        for original, attr in saved:
            current = attrs.get(original)
            if current is not None:
                edits.remove(current)  # a stand-in image or "about:blank"
            edits.rename(attr, original)
        srcdoc = attrs.get(b"srcdoc")
        if name == b"iframe" and srcdoc is not None and any(a == b"src" for a, _ in saved):
            edits.remove(srcdoc)  # the placeholder shown while blocked: srcdoc wins over src

    def _iframe_block(self, edits: Edits, attrs: dict[bytes, Attr], keys: list[str | None]) -> None:
        """A blocked iframe shows a placeholder document instead (srcdoc wins over src)."""
        placeholder = self._placeholder
        if placeholder is None:
            return
        waiting = self._granted | self._once
        key = next((k for k in keys if k is not None and k not in waiting), None)
        key = key or next((k for k in keys if k is not None and k not in self._granted), None)
        if key is None:
            return
        if isinstance(placeholder, Placeholders):
            # Its own document: the links in it come back to this very iframe.
            edits.add("srcdoc", placeholder.document(key, self._anchor(edits, attrs)))
        else:
            edits.add("srcdoc", self._placeholder_for(key))

    def _allowed_once(self, keys: list[str | None]) -> bool:
        """Whether *Load this once* loads an iframe needing ``keys`` in this response."""
        return all(k is not None and (k in self._granted or k in self._once) for k in keys)

    def _anchor(self, edits: Edits, attrs: dict[bytes, Attr]) -> str:
        """The iframe's id, given one if it has none (``consent-embed-<n>``, the n-th iframe
        of the page: the same in the page a placeholder's link brings back); "" when its
        placeholder cannot link to it (inside a srcdoc, or an empty id)."""
        if not self._anchors:
            return ""
        own = attrs.get(b"id")
        if own is not None:
            return own.value.strip(_HTML_SPACE)
        anchor = _EMBED_ID.format(self._iframes)
        edits.add("id", anchor)
        return anchor

    def _rewrite_srcdoc(self, document: str) -> bytes | None:
        """An iframe's srcdoc document with its trackers blocked, escaped for the attribute
        again; None if unchanged.

        The page's bytes come back as they were (values are read as latin-1); characters only
        a reference could write stay references.
        """
        if self._depth >= _SRCDOC_DEPTH:
            return b""  # too deep to follow: an empty document fetches nothing
        nested = self._policy.handler(
            self._granted, placeholder=self._placeholder, depth=self._depth + 1
        )
        tokenizer = Tokenizer(nested)
        data = document.encode("latin-1", "xmlcharrefreplace")
        out = tokenizer.feed(data) + tokenizer.close()
        if out == data:
            return None
        return out.replace(b"&", b"&amp;").replace(b'"', b"&quot;")

    def _label(self, edits: Edits, attrs: dict[bytes, Attr], keys: list[str | None]) -> None:
        if b"data-consent" in attrs:
            return
        missing = [k for k in keys if k is not None and k not in self._granted]
        if missing:
            edits.add("data-consent", " ".join(dict.fromkeys(missing)))

    def _placeholder_for(self, key: str) -> str:
        """The document of a plain ``placeholder(key)`` callable, once per key."""
        text = self._placeholders.get(key)
        if text is None:
            render = self._placeholder
            assert render is not None
            assert not isinstance(render, Placeholders)  # (those render per iframe)
            text = self._placeholders[key] = render(key)
        return text

    # -- scripts ----------------------------------------------------------------------------

    def _script_edits(
        self, tag: bytes, body: int, *, foreign: bool, text: tuple[str | None] | None = None
    ) -> Edits | None:
        """Edits for a script start tag; ``None`` when its inline text is needed to decide.

        ``text`` holds the category its inline text names, once known.
        """
        attrs = parse_attrs(tag, body, len(tag) - 1)
        edits = Edits(tag, body)
        if _ignored(attrs):
            return edits
        type_attr = attrs.get(b"type")
        if type_attr is not None:
            kind = type_attr.value.strip(_HTML_SPACE).lower()
            # Parameters ("text/javascript; charset=utf-8") stop browsers that follow the
            # standard, not all of them: such a script might run, so treat it as one.
            runs = kind in JS_TYPES or kind.partition(";")[0].rstrip(_HTML_SPACE) in JS_TYPES
        else:
            language = attrs.get(b"language")
            lang = language.value.strip(_HTML_SPACE).lower() if language else ""
            kind = ""
            runs = not lang or "text/" + lang in JS_TYPES
        keys = self._marker(attrs)
        if runs:
            if keys is None:
                if any(a in attrs for a in _SCRIPT_SOURCES):
                    keys = self._categories(attrs, _SCRIPT_SOURCES)
                if not keys:
                    # Only its own namespace's source makes a script external (src in HTML,
                    # href in SVG); with another one its inline text runs, and decides.
                    if any(a in attrs for a in _EXTERNAL[foreign]):
                        return edits
                    if text is None:
                        return None
                    if text[0] is None:
                        return edits
                    keys = [text[0]]
            if not self._allowed(keys):
                self._block_script(edits, attrs, type_attr, keys)
            return edits
        if kind == "text/plain" and keys is not None:
            if self._allowed(keys):
                self._restore_script(edits, attrs, type_attr)
            else:
                self._relabel_script(edits, attrs, keys, foreign=foreign)
        return edits

    def _block_script(
        self,
        edits: Edits,
        attrs: dict[bytes, Attr],
        type_attr: Attr | None,
        keys: list[str | None],
    ) -> None:
        """Block a script that would run: the browser does not run (or fetch) a script of
        type text/plain. Its own type is kept for banner.js to give back."""
        if type_attr is None:
            edits.add("type", "text/plain")
        else:
            edits.replace(type_attr, "type", "text/plain")
        self._label(edits, attrs, keys)
        if type_attr is not None and b"data-consent-type" not in attrs:
            edits.add("data-consent-type", type_attr.raw)
        for name in _SCRIPT_SOURCES[1:]:  # src is harmless once the type is text/plain
            attr = attrs.get(name)
            if attr is not None and saved_name(name) not in attrs:
                edits.rename(attr, saved_name(name))

    def _relabel_script(
        self, edits: Edits, attrs: dict[bytes, Attr], keys: list[str | None], *, foreign: bool
    ) -> None:
        """A script pre-blocked (by us, Cookiebot or vanilla-cookieconsent) and still not
        granted: labelled with our keys and name, so banner.js can run it once granted."""
        self._label(edits, attrs, keys)
        if not foreign and b"src" not in attrs and b"data-consent-src" not in attrs:
            for name in _SCRIPT_SAVED_SRC[1:]:
                attr = attrs.get(name)
                if attr is not None:
                    edits.rename(attr, b"data-consent-src")
                    break

    @staticmethod
    def _restore_script(edits: Edits, attrs: dict[bytes, Attr], type_attr: Attr | None) -> None:
        """A script pre-blocked and now granted: handed back to the browser to run natively
        (its saved type and URLs given back)."""
        saved = attrs.get(b"data-consent-type")
        if saved is not None and type_attr is not None:
            edits.replace(type_attr, "type", saved.raw)
            edits.remove(saved)
        elif type_attr is not None:
            edits.remove(type_attr)
        for name in _SCRIPT_SOURCES[1:]:
            attr = attrs.get(saved_name(name))
            if attr is not None:
                edits.rename(attr, name)
        if b"src" not in attrs:
            for name in _SCRIPT_SAVED_SRC:
                attr = attrs.get(name)
                if attr is not None:
                    edits.rename(attr, b"src")
                    break


def _ignored(attrs: dict[bytes, Attr]) -> bool:
    """Cookiebot's ``data-cookieconsent="ignore"``: the operator vouches for the element."""
    cookiebot = attrs.get(b"data-cookieconsent")
    return cookiebot is not None and cookiebot.value.strip(_HTML_SPACE).lower() == _IGNORE


def _is_image_input(attrs: dict[bytes, Attr]) -> bool:
    """Whether an ``<input>`` is ``type="image"``: the only input that fetches (its src)."""
    kind = attrs.get(b"type")
    return kind is not None and kind.value.strip(_HTML_SPACE).lower() == "image"


def _is_lazy(attrs: dict[bytes, Attr]) -> bool:
    """Whether a lazy loader will fetch this element's ``data-src`` (by its class)."""
    cls = attrs.get(b"class")
    return cls is not None and _LAZY_CLASS.search(cls.value) is not None


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (HTML's "parse a srcset attribute", without descriptors)."""
    urls: list[str] = []
    pos = 0
    size = len(value)
    while pos < size:
        found = _SRCSET_URL.match(value, pos)
        assert found is not None  # (every part of the pattern is optional)
        url = found.group(1)
        pos = found.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            # Skip the descriptors, up to a comma outside parentheses.
            descriptors = _DESCRIPTORS.match(value, pos)
            assert descriptors is not None  # (it matches the empty string too)
            pos = descriptors.end()
        if url:
            urls.append(url)
    return urls


_SRCSET_URL = re.compile(r"[\t\n\f\r ,]*([^\t\n\f\r ]*)")
#: A "(" opens parentheses up to the next ")", however many "(" come between (as the standard
#: reads them; counting nesting would hide a URL after ``((,),``).
_DESCRIPTORS = re.compile(r"(?:[^,(]+|\([^)]*\)?)*")
