"""Helpers for rewriter tests: categories, a one-call rewrite, and html5lib tree comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import html5lib

from consent.blocking import BlockingRules
from consent.rewriter import HtmlRewriter, PageInjection


@dataclass(frozen=True)
class Cat:
    """A minimal `CategoryLike` (the real `Category` is a pydantic model)."""

    key: str
    required: bool = False
    scripts: tuple[str, ...] = ()


DEFAULT_CATEGORIES = (
    Cat("necessary", required=True),
    Cat("preferences"),
    Cat("analytics"),
    Cat("marketing"),
)
ALL_OPTIONAL = frozenset({"preferences", "analytics", "marketing"})
RULES = BlockingRules.from_categories(DEFAULT_CATEGORIES)

HEAD = b'<script id="consent-mode" src="/_consent/static/mode.js"></script>'
BODY = b'<div id="consent-banner" lang="en"><form method="post" action="/_consent"></form></div>'
INJECTION = PageInjection(head=HEAD, body=BODY)


def placeholder(key: str) -> str:
    return f'<!doctype html><p>Blocked: "{key}" &amp; <a href="/_consent/preferences">enable</a>'


def rewrite(
    data: bytes,
    granted: Iterable[str] = (),
    *,
    chunks: Sequence[int] | int | None = None,
    injection: PageInjection | None = None,
    placeholder: Callable[[str], str] | None = None,
    rules: BlockingRules = RULES,
) -> bytes:
    """Rewrite ``data``; ``chunks`` is a chunk size or a list of split points."""
    rewriter = HtmlRewriter(rules, frozenset(granted), injection=injection, placeholder=placeholder)
    out = [rewriter.feed(part) for part in split(data, chunks)]
    out.append(rewriter.close())
    return b"".join(out)


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

CHANGED_ATTRS = frozenset({"type", "src", "srcset", "srcdoc"})


def parse(data: bytes) -> ET.Element:
    return html5lib.parse(data, namespaceHTMLElements=False)  # type: ignore[no-any-return]


def _changeable(name: str) -> bool:
    return name in CHANGED_ATTRS or name.startswith("data-consent")


def normalise(root: ET.Element) -> list[tuple[object, ...]]:
    """A comparable form of ``root`` without what the rewriter may change.

    Drops elements whose ``id`` starts with ``consent-`` (the injection) and, on ``script``,
    ``iframe`` and ``img`` elements, the ``type``, ``src``, ``srcset``, ``srcdoc`` and
    ``data-consent*`` attributes. Text of dropped elements' tails is kept in place.
    """
    out: list[tuple[object, ...]] = []

    def walk(element: ET.Element, depth: int) -> None:
        tag = element.tag if isinstance(element.tag, str) else "#comment"
        attrs = dict(element.attrib)
        if tag in ("script", "iframe", "img"):
            attrs = {k: v for k, v in attrs.items() if not _changeable(k)}
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
