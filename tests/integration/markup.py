"""Find elements in a served page the way a browser's tokenizer does (stdlib html.parser)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str, tag: str) -> list[dict[str, str | None]]:
    """The attributes of every ``<tag>`` start tag, in document order."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return [attrs for name, attrs in collector.found if name == tag]


def by_id(html: str, element_id: str) -> tuple[str, dict[str, str | None]] | None:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return next(((n, a) for n, a in collector.found if a.get("id") == element_id), None)


def scripts_loading(html: str, host: str) -> list[dict[str, str | None]]:
    """Scripts with a ``src`` (or a kept ``data-consent-src``) on ``host``."""
    return [
        attrs
        for attrs in elements(html, "script")
        if host in (attrs.get("src") or attrs.get("data-consent-src") or "")
    ]


def is_live_script(attrs: dict[str, str | None]) -> bool:
    """Whether the browser would fetch and run this script."""
    kind = (attrs.get("type") or "").strip().lower()
    runnable = kind in ("", "text/javascript", "module", "application/javascript")
    return bool(attrs.get("src")) and runnable
