"""``consent explain``: what each script, iframe, image and cookie of a page is, and why.

An operator who wonders why a widget vanished (or why a tracker did not) asks here. The
page is an HTML file, or a path of the app itself, called in-process with the
middleware passed through, so the report covers the app's own markup and ``Set-Cookie``
headers before anything is changed. Every element is judged with the same rules the
middleware uses; the answer is what a visitor who has not decided yet gets.

This module is for people: it is never on the request path.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import anyio

from consent.html.blocking import FETCHING, JS_TYPES
from consent.purposes import PurposeMap
from consent.runtime import blocking_rules_for, classifier_for, names_for
from consent.settings import ConsentSettings
from consent.state import Consent

__all__ = ["Finding", "Page", "explain_page", "fetch_from_app", "load_app", "render"]

#: Attributes that label an element with a category: ours, Cookiebot's, vanilla-cc's.
_MARKERS = ("data-consent", "data-cookieconsent", "data-category")
_SRCSETS = frozenset({"srcset", "imagesrcset"})
_SCRIPT_SOURCES = ("src", "href", "xlink:href")
#: Largest response body read from the app (a page, not a download).
_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """One element or cookie: what it is, its category, the verdict and the reason."""

    kind: str  # "script", "iframe", ..., "cookie"
    what: str  # a URL, an inline script's start, a cookie name
    category: str | None
    verdict: str
    why: str


@dataclass(frozen=True)
class Page:
    """What explain reads: HTML, the cookie names the app set, and where it came from."""

    html: str
    set_cookies: tuple[str, ...]
    source: str
    content_type: str = "text/html"


class ElementCollector(HTMLParser):
    """Start tags of elements that fetch, and scripts with their inline text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self._script: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            self._script, self._text = values, []
        elif tag.encode() in FETCHING:
            self.elements.append((tag, values, None))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.elements.append(("script", self._script, "".join(self._text)))
            self._script = None


class Explainer:
    """Judges elements and cookies as the middleware configured by ``settings`` would."""

    def __init__(self, settings: ConsentSettings) -> None:
        self.settings = settings
        # The middleware's own recipes; names it does not know are reported, never raised.
        services, self.purposes = names_for(settings, strict=False)
        self.rules = blocking_rules_for(settings, self.purposes, services)
        self.classifier = classifier_for(settings, self.purposes, services)
        self.services = services
        self.required = settings.required_category.key

    def verdict(self, category: str | None) -> str:
        """What an undecided visitor gets for something of ``category`` (or service)."""
        owner = self.services.category_of.get(category or "")
        if category is None or category == self.required or owner == self.required:
            return "allowed"
        if category.startswith("!"):
            return f"never allowed: no category covers the purpose {category[1:]!r}"
        if owner is not None:
            return f"blocked until {category!r} or {owner!r} is granted"
        return f"blocked until {category!r} is granted"

    def element(self, tag: str, attrs: Mapping[str, str], text: str | None) -> Finding | None:
        """The finding for one element, or ``None`` for one that fetches nothing."""
        if attrs.get("data-cookieconsent", "").strip().lower() == "ignore":
            return Finding(tag, _label(tag, attrs, text), None, "allowed", "marked ignore")
        if tag == "script" and not _runs(attrs) and not _marker(attrs):
            kind = attrs.get("type", "")
            return Finding(tag, _label(tag, attrs, text), None, "not run", f"type {kind!r}")
        marked = _marker(attrs)
        if marked is not None:
            name, value = marked
            keys = [self.rules.alias(part) for part in value.replace(",", " ").split()]
            if any(key is None for key in keys):
                why = f"{name}={value!r} names a category that does not exist here"
                return Finding(tag, _label(tag, attrs, text), None, "blocked: unknown name", why)
            decided = [key for key in keys if key is not None and key != self.required]
            category: str | None = decided[0] if decided else self.required
            return Finding(
                tag, _label(tag, attrs, text), category, self.verdict(category), f"{name}={value!r}"
            )
        for url in _urls(tag, attrs):
            category, why = self.rules.explain_url(url)
            if category is not None:
                return Finding(tag, url, category, self.verdict(category), why)
        if text is not None and not any(attrs.get(a) for a in _SCRIPT_SOURCES):
            category, why = self.rules.explain_inline_script(text)
            return Finding(tag, _label(tag, attrs, text), category, self.verdict(category), why)
        urls = list(_urls(tag, attrs))
        if not urls:
            return None
        return Finding(tag, urls[0], None, "allowed", self.rules.explain_url(urls[0])[1])

    def cookie(self, name: str, origin: str) -> Finding:
        """The finding for one cookie name."""
        category, why = self.classifier.explain(name)
        if category is None:
            if self.settings.unclassified_cookies == "block":
                verdict = "dropped (unclassified_cookies = block)"
            else:
                verdict = "allowed, with a warning (unclassified_cookies = allow)"
        else:
            verdict = self.verdict(category)
        return Finding("cookie", f"{name} ({origin})", category, verdict, why)


def explain_page(
    settings: ConsentSettings, page: Page, cookies: Iterable[str] = ()
) -> list[Finding]:
    """Every finding for ``page`` (elements in document order, then cookies)."""
    explainer = Explainer(settings)
    findings: list[Finding] = []
    if "html" in page.content_type:
        collector = ElementCollector()
        collector.feed(page.html)
        collector.close()
        for tag, attrs, text in collector.elements:
            finding = explainer.element(tag, attrs, text)
            if finding is not None:
                findings.append(finding)
    findings.extend(explainer.cookie(name, "Set-Cookie") for name in page.set_cookies)
    findings.extend(explainer.cookie(name, "named") for name in cookies)
    return findings


def uncovered_purposes(settings: ConsentSettings) -> tuple[str, ...]:
    """Built-in purposes no configured category covers (never allowed)."""
    return PurposeMap.of(settings.categories).uncovered


def render(findings: list[Finding], page: Page, settings: ConsentSettings, fmt: str) -> str:
    """The report as text (aligned columns) or JSON."""
    uncovered = uncovered_purposes(settings)
    if fmt == "json":
        return json.dumps(
            {
                "source": page.source,
                "categories": {c.key: list(c.covers) for c in settings.categories},
                "uncovered_purposes": list(uncovered),
                "findings": [asdict(f) for f in findings],
            },
            indent=2,
        )
    lines = [f"page: {page.source}"]
    described = []
    for c in settings.categories:
        covers = ", ".join(c.covers) or "no built-in purpose"
        described.append(f"{c.key} ({'required; ' if c.required else ''}covers {covers})")
    lines.append(f"categories: {'; '.join(described)}")
    if uncovered:
        lines.append(f"never allowed (no category covers them): {', '.join(uncovered)}")
    if not findings:
        lines.append("nothing that fetches from another site, and no cookies")
    for f in findings:
        lines.append(f"- {f.kind} {f.what}")
        lines.append(f"    {f.verdict}")
        lines.append(f"    because: {f.why}")
    return "\n".join(lines)


# -- reading a page -----------------------------------------------------------------------


def load_app(reference: str) -> Any:
    """Import ``module:attribute`` (``myproject.asgi:application``), as ASGI servers do."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--app {reference!r}: expected module:attribute")
    if "" not in sys.path:
        sys.path.insert(0, "")  # the working directory, as `uvicorn` does
    module = importlib.import_module(module_name)
    app: Any = module
    for part in attribute.split("."):
        app = getattr(app, part)
    return app


def fetch_from_app(app: Any, path: str) -> Page:
    """GET ``path`` from ``app`` in-process with every `ConsentMiddleware` passed through."""
    from consent.middleware import _ACTIVE_KEY, SCOPE_KEY

    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"accept", b"text/html")],
        "client": ("127.0.0.1", 0),
        "server": ("localhost", 80),
        # Passed through: the report is about the app's own markup and cookies.
        _ACTIVE_KEY: True,
        "state": {SCOPE_KEY: Consent.undecided("necessary", 1)},
    }
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.extend(message.get("headers", []))
        elif message["type"] == "http.response.body" and len(body) < _MAX_BODY:
            body.extend(message.get("body", b""))

    anyio.run(app, scope, receive, send)
    content_type = next(
        (v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), ""
    )
    names = tuple(
        _cookie_names(v.decode("latin-1") for k, v in headers if k.lower() == b"set-cookie")
    )
    return Page(
        html=bytes(body).decode("utf-8", "replace"),
        set_cookies=names,
        source=f"GET {path} -> {status} {content_type or 'no content type'}",
        content_type=content_type.lower(),
    )


def read_file(path: Path) -> Page:
    """An HTML file from disk (UTF-8, undecodable bytes replaced)."""
    return Page(html=path.read_bytes().decode("utf-8", "replace"), set_cookies=(), source=str(path))


def find_settings(app: Any) -> ConsentSettings | None:
    """The settings of the first `ConsentMiddleware` inside ``app`` (after one request has
    built the framework's middleware stack), or ``None``."""
    from consent.middleware import ConsentMiddleware

    seen: set[int] = set()
    pending = [app]
    while pending and len(seen) < 256:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConsentMiddleware):
            return item.settings
        for attribute in ("middleware_stack", "app", "handler", "asgi_handler"):
            child = getattr(item, attribute, None)
            if child is not None:
                pending.append(child)
    return None


# -- helpers ------------------------------------------------------------------------------


def _marker(attrs: Mapping[str, str]) -> tuple[str, str] | None:
    for name in _MARKERS:
        value = attrs.get(name, "").strip()
        if value:
            return name, value
    return None


def _runs(attrs: Mapping[str, str]) -> bool:
    kind = attrs.get("type")
    if kind is None:
        return True
    kind = kind.strip().lower()
    return not kind or kind in JS_TYPES or kind.partition(";")[0].strip() in JS_TYPES


def _urls(tag: str, attrs: Mapping[str, str]) -> Iterator[str]:
    names = _SCRIPT_SOURCES if tag == "script" else [a.decode() for a in FETCHING[tag.encode()]]
    for name in names:
        # Our own output keeps what it neutralised in data-consent-<attribute>.
        for key in (name, f"data-consent-{name.replace(':', '-')}"):
            value = attrs.get(key, "").strip()
            if not value:
                continue
            if name in _SRCSETS:
                yield from (part.split()[0] for part in value.split(",") if part.split())
            else:
                yield value


def _label(tag: str, attrs: Mapping[str, str], text: str | None) -> str:
    urls = list(_urls(tag, attrs))
    if urls:
        return urls[0]
    snippet = " ".join((text or "").split())
    return f"inline: {snippet[:60]}{'...' if len(snippet) > 60 else ''}"


def _cookie_names(values: Iterable[str]) -> Iterator[str]:
    for value in values:
        parsed: SimpleCookie = SimpleCookie()
        try:
            parsed.load(value)
        except Exception:
            name = value.partition("=")[0].strip()
            if name:
                yield name
            continue
        yield from parsed.keys()
