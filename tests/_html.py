"""Helpers for rewriter tests: categories, a one-call rewrite, and html5lib tree comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import html5lib

from consent.blocking import BlockingRules
from consent.purposes import purposes_of_key
from consent.rewriter import BlockingPolicy, HtmlRewriter, PageInjection


@dataclass(frozen=True)
class Cat:
    """A minimal `CategoryLike` (the real `Category` is a pydantic model)."""

    key: str
    required: bool = False
    scripts: tuple[str, ...] = ()

    @property
    def covers(self) -> tuple[str, ...]:
        return purposes_of_key(self.key, required=self.required)


DEFAULT_CATEGORIES = (
    Cat("necessary", required=True),
    Cat("preferences"),
    Cat("analytics"),
    Cat("marketing"),
)
ALL_OPTIONAL = frozenset({"preferences", "analytics", "marketing"})
RULES = BlockingRules.from_categories(DEFAULT_CATEGORIES)
#: Shared by every `rewrite` call, as the middleware's is by every response.
POLICY = BlockingPolicy(RULES)


def reset_caches() -> None:
    """Forget every decided tag (the next rewrite starts cold)."""
    POLICY.clear()


HEAD = b'<script id="consent-mode" src="/_consent/static/mode.js"></script>'
BODY = b'<div id="consent-banner" lang="en"><form method="post" action="/_consent"></form></div>'
INJECTION = PageInjection(head=HEAD, body=BODY)


def placeholder(key: str) -> str:
    return f'<!doctype html><p>Blocked: "{key}" &amp; <a href="/_consent/preferences">enable</a>'


def rewrite(data: bytes, granted: Iterable[str] = (), **options: Any) -> bytes:
    """Rewrite ``data``; ``chunks`` is a chunk size or a list of split points."""
    return rewrite_with(data, granted, **options)[0]


def rewrite_with(
    data: bytes,
    granted: Iterable[str] = (),
    *,
    chunks: Sequence[int] | int | None = None,
    injection: PageInjection | None = None,
    placeholder: Callable[[str], str] | None = None,
    rules: BlockingRules | BlockingPolicy = POLICY,
) -> tuple[bytes, HtmlRewriter]:
    """`rewrite`, and the rewriter that did it (to ask what it saw)."""
    rewriter = HtmlRewriter(rules, frozenset(granted), injection=injection, placeholder=placeholder)
    out = [rewriter.feed(part) for part in split(data, chunks)]
    out.append(rewriter.close())
    return b"".join(out), rewriter


def split(data: bytes, chunks: Sequence[int] | int | None) -> Iterator[bytes]:
    if chunks is None:
        yield data
        return
    if isinstance(chunks, int):
        for i in range(0, len(data), chunks):
            yield data[i : i + chunks]
        return
    last = 0
    for point in sorted(set(chunks)):
        if 0 < point < len(data):
            yield data[last:point]
            last = point
    yield data[last:]


# --- html5lib trees ----------------------------------------------------------------------------

#: What the rewriter may change, per element (docs/blocking-contract.md): its fetching
#: attributes (renamed data-consent-*), a script's type, an iframe's srcdoc, lazy-load URLs.
CHANGED_ATTRS = {
    "script": frozenset({"type", "src", "href", "xlink:href"}),
    "img": frozenset({"src", "srcset", "data-src", "data-srcset", "data-lazy-src"}),
    "image": frozenset({"href", "xlink:href"}),
    "source": frozenset({"src", "srcset", "data-src", "data-srcset", "data-lazy-src"}),
    "iframe": frozenset({"src", "srcdoc", "data-src", "data-lazy-src"}),
    "frame": frozenset({"src"}),
    "input": frozenset({"src"}),
    "embed": frozenset({"src", "data-src"}),
    "audio": frozenset({"src", "data-src"}),
    "track": frozenset({"src"}),
    "video": frozenset({"src", "poster", "data-src"}),
    "object": frozenset({"data"}),
    "link": frozenset({"href", "imagesrcset"}),
    "base": frozenset({"href"}),
    "use": frozenset({"href", "xlink:href"}),
    "feImage": frozenset({"href", "xlink:href"}),
}


def parse(data: bytes) -> ET.Element:
    return html5lib.parse(data, namespaceHTMLElements=False)  # type: ignore[no-any-return]


def _changeable(tag: str, name: str) -> bool:
    return name in CHANGED_ATTRS[tag] or name.startswith("data-consent")


def normalise(root: ET.Element) -> list[tuple[object, ...]]:
    """A comparable form of ``root`` without what the rewriter may change.

    Drops elements whose ``id`` starts with ``consent-`` (the injection) and, on elements
    that fetch, the attributes in `CHANGED_ATTRS` and ``data-consent*``. Text of dropped
    elements' tails is kept in place.
    """
    out: list[tuple[object, ...]] = []

    def walk(element: ET.Element, depth: int) -> None:
        tag = element.tag if isinstance(element.tag, str) else "#comment"
        attrs = dict(element.attrib)
        local = tag.rpartition("}")[2]  # html5lib names SVG elements "{namespace}name"
        if local in CHANGED_ATTRS:
            attrs = {k: v for k, v in attrs.items() if not _changeable(local, k)}
        out.append(("start", depth, tag, tuple(sorted(attrs.items()))))
        text = element.text or ""
        for child in element:
            if str(child.get("id", "")).startswith("consent-"):
                text += child.tail or ""
                continue
            if text:
                out.append(("text", depth, text))
                text = ""
            walk(child, depth + 1)
            text = child.tail or ""
        if text:
            out.append(("text", depth, text))
        out.append(("end", depth, tag))

    walk(root, 0)
    return out


def find(root: ET.Element, tag: str, url_part: str) -> list[ET.Element]:
    """``tag`` elements whose src (or blocked src) contains ``url_part``."""
    return [
        e for e in root.iter(tag) if url_part in (e.get("src") or e.get("data-consent-src") or "")
    ]


def scripts_naming(root: ET.Element, text_part: str) -> list[ET.Element]:
    return [e for e in root.iter("script") if text_part in (e.text or "")]


def is_blocked(element: ET.Element) -> bool:
    if element.tag == "script":
        return (element.get("type") or "").strip().lower() == "text/plain"
    return element.get("src") is None and element.get("data-consent-src") is not None
