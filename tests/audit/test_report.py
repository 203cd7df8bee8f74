"""The JSON and HTML reports: complete, escaped, self-contained (no browser)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from consent.audit.model import (
    AuditReport,
    BannerView,
    CookieSeen,
    PageAudit,
    RequestSeen,
    StateView,
    StorageSeen,
)
from consent.audit.report import chart, render_html, render_json, write_reports
from consent.audit.violations import judge

EVIL = '<script>alert("x")</script>'
EVIL_URL = 'https://evil.example/"><img src=x onerror=alert(1)>'


def hostile_report() -> AuditReport:
    """Names and URLs the audited site controls, all of them hostile."""
    request = RequestSeen(EVIL_URL, "evil.example", "script", "marketing", False, EVIL)
    before = StateView(
        "before",
        cookies=(CookieSeen(EVIL, "<b>.example", 90_000, "marketing", False),),
        storage=(StorageSeen("localStorage", EVIL, "analytics", False),),
        requests=(request,),
    )
    page = judge(
        PageAudit(
            "https://site.example/?q=<i>x</i>",
            200,
            BannerView(shown=False),
            (before, StateView("rejected", error=EVIL), StateView("accepted")),
        )
    )
    skipped = PageAudit("https://site.example/<svg onload=1>", 200, BannerView(False), skipped=EVIL)
    return AuditReport(
        site="https://site.example/<x>",
        started_at="2026-01-01T00:00:00+00:00",
        duration_seconds=1.5,
        settings_source=EVIL,
        max_pages=5,
        max_seconds=60,
        offline=True,
        pages=(page, skipped),
        notes=(EVIL,),
    )


class _Tags(HTMLParser):
    """Every start tag and attribute of a document, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(document: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(document)
    parser.close()
    return parser.tags


def test_html_escapes_everything_from_the_site() -> None:
    document = render_html(hostile_report())
    tags = tags_of(document)
    assert [tag for tag, _ in tags if tag == "script"] == []
    assert not any(tag == "img" for tag, _ in tags)
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in document
    assert "&lt;svg onload=1&gt;" in document
    assert "<i>x</i>" not in document


def test_html_is_self_contained() -> None:
    document = render_html(hostile_report())
    tags = tags_of(document)
    # Nothing fetches and nothing links out: no src, href or external stylesheet.
    fetching = [
        (tag, attrs)
        for tag, attrs in tags
        if {"src", "href", "srcset", "action", "data"} & set(attrs) or tag in ("link", "iframe")
    ]
    assert fetching == []
    csp = [a for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp
    assert (csp[0].get("content") or "").startswith("default-src 'none'")
    assert re.search(r"url\(|@import", document) is None


def test_html_has_the_summary_chart_and_verdict() -> None:
    report = hostile_report()
    document = render_html(report)
    assert '<svg id="chart"' in document
    assert document.count("<rect ") == 3 * 3 + 3  # nine bars and three legend keys
    assert 'id="verdict" class="verdict failed"' in document
    geometry = chart(report)
    before_trackers = geometry.bars[0]
    assert before_trackers.value == 1
    assert before_trackers.height > 0
    assert all(bar.height == 0 for bar in geometry.bars[3:])  # nothing after a choice


def test_clean_report_says_so() -> None:
    report = AuditReport("https://site.example/", "2026-01-01T00:00:00Z", 1.0, "d", 1, 1, False)
    assert 'class="verdict clean">No violations' in render_html(report)
    assert all(bar.height == 0 for bar in chart(report).bars)


def test_json_holds_observations_findings_and_summary(tmp_path: Path) -> None:
    report = hostile_report()
    write_reports(report, tmp_path / "a.json", tmp_path / "a.html")
    document = json.loads((tmp_path / "a.json").read_text("utf-8"))
    assert document == json.loads(render_json(report))
    assert document["summary"]["violations"] == len(report.violations) > 0
    assert document["summary"]["by_rule"]["banner-missing"] == 1
    assert document["summary"]["by_state"]["before"]["optional_cookies"] == 1
    page = document["pages"][0]
    assert page["states"][0]["cookies"][0]["name"] == EVIL
    assert page["states"][0]["requests"][0]["url"] == EVIL_URL
    assert {v["rule"] for v in document["violations"]} >= {
        "cookie-before-consent",
        "tracker-before-consent",
        "storage-before-consent",
        "state-not-observed",
    }
    assert (tmp_path / "a.html").read_text("utf-8") == render_html(report)
