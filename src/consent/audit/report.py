"""The audit's two reports: JSON for machines, one self-contained HTML page for people.

The HTML page is opened from CI artefacts and mail attachments, so it loads nothing:
styles are inline, the chart is inline SVG, its own CSP forbids every fetch, and no
crawled URL becomes a link. Everything in it that came from the audited site (URLs,
cookie names, storage keys, hosts) is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from jinja2 import Environment, StrictUndefined, Template

from consent.audit.model import STATES, AuditReport
from consent.audit.violations import RULES, WARNINGS

__all__ = ["render_html", "render_json", "write_reports"]

_SERIES = (
    ("tracker_requests", "tracker requests", "#b3261e"),
    ("optional_cookies", "optional cookies", "#7d5260"),
    ("optional_storage", "optional storage keys", "#3f51b5"),
)
_STATE_LABELS = {
    "before": "before consent",
    "rejected": "after Reject all",
    "accepted": "after Accept all",
}


@dataclass(frozen=True)
class Bar:
    """One bar of the summary chart, in SVG user units."""

    x: int
    y: int
    width: int
    height: int
    value: int
    label: str
    colour: str


@dataclass(frozen=True)
class Chart:
    """The summary chart's geometry, computed here so the template only draws."""

    width: int
    height: int
    baseline: int
    bars: tuple[Bar, ...]
    groups: tuple[tuple[int, str], ...]  # (centre x, label)
    legend: tuple[tuple[str, str], ...]  # (colour, label)


def render_json(report: AuditReport) -> str:
    """The JSON report (observations, violations, warnings, summary)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_html(report: AuditReport) -> str:
    """The HTML report as one string."""
    return _template().render(
        report=report,
        summary=report.summary(),
        chart=chart(report),
        rules=RULES,
        warning_rules=WARNINGS,
        state_labels=_STATE_LABELS,
    )


def write_reports(report: AuditReport, json_path: Path | None, html_path: Path | None) -> None:
    """Write whichever reports have a path."""
    if json_path is not None:
        json_path.write_text(render_json(report), encoding="utf-8")
    if html_path is not None:
        html_path.write_text(render_html(report), encoding="utf-8")


def chart(report: AuditReport) -> Chart:
    """Grouped bars: per state, how many optional things were seen over all pages."""
    by_state = report.summary()["by_state"]
    bar, gap, group_gap, left, top, plot = 28, 4, 36, 16, 16, 160
    peak = max([1, *(by_state[s][key] for s in STATES for key, _, _ in _SERIES)])
    bars: list[Bar] = []
    groups: list[tuple[int, str]] = []
    x = left
    for state in STATES:
        start = x
        for key, label, colour in _SERIES:
            value = by_state[state][key]
            height = round(plot * value / peak)
            bars.append(Bar(x, top + plot - height, bar, height, value, label, colour))
            x += bar + gap
        groups.append(((start + x - gap) // 2, _STATE_LABELS[state]))
        x += group_gap
    legend = tuple((colour, label) for _, label, colour in _SERIES)
    width = max(x - group_gap + left, 16 + 150 * len(_SERIES))  # room for the legend
    return Chart(width, top + plot + 48, top + plot, tuple(bars), tuple(groups), legend)


@cache
def _template() -> Template:
    source = resources.files("consent.audit").joinpath("templates/report.html").read_text("utf-8")
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["lifetime"] = _lifetime
    return environment.from_string(source)


def _lifetime(seconds: int | None) -> str:
    """A cookie's remaining lifetime as people say it."""
    if seconds is None:
        return "session"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} s"
