"""``consent audit URL...``: the site audit on the command line, for people and CI.

Exit codes: 0 no violations, 1 violations (the reports say which), 2 a usage or setup
error (Chromium or Playwright missing, site unreachable, bad settings), in one line.
Playwright is imported only when the command runs, so ``consent`` works without the
``audit`` extra.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from consent.settings import ConsentSettings

if TYPE_CHECKING:
    from consent.audit.model import AuditReport

__all__ = ["add_audit_command", "run_audit_command"]

_P = TypeVar("_P", bound=argparse.ArgumentParser)  # the ``consent`` parser's own class
_MAX_PAGES = 10_000
_MAX_SECONDS = 24 * 3600


def add_audit_command(commands: argparse._SubParsersAction[_P]) -> None:
    """Register ``audit`` on the ``consent`` command's subcommands."""
    audit = commands.add_parser(
        "audit",
        help="crawl a running site in Chromium: cookies, storage and trackers before consent, "
        "after Reject all and after Accept all",
    )
    audit.add_argument(
        "url", nargs="+", help="where to start (more URLs of the same site are visited first)"
    )
    audit.add_argument(
        "--max-pages", type=_bounded(int, 1, _MAX_PAGES), default=10, help="default: 10"
    )
    audit.add_argument(
        "--max-seconds",
        type=_bounded(float, 1, _MAX_SECONDS),
        default=300.0,
        help="total time for the crawl (default: 300)",
    )
    audit.add_argument(
        "--json",
        type=Path,
        default=Path("consent-audit.json"),
        metavar="PATH",
        help="JSON report (default: consent-audit.json)",
    )
    audit.add_argument(
        "--html",
        type=Path,
        default=Path("consent-audit.html"),
        metavar="PATH",
        help="HTML report (default: consent-audit.html)",
    )
    audit.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="classify with this app's ConsentMiddleware settings (default: CONSENT_* "
        "settings, else the defaults)",
    )
    audit.add_argument(
        "--offline",
        action="store_true",
        help="answer third-party requests with an empty 200 inside the browser (still "
        "recorded): nothing reaches the internet",
    )
    audit.add_argument(
        "--ignore-robots", action="store_true", help="visit pages robots.txt disallows"
    )
    audit.add_argument("--chromium", metavar="PATH", help="Chromium binary (default: the system's)")


def run_audit_command(args: argparse.Namespace) -> int:
    """Run the audit ``args`` describe, write the reports, print the findings."""
    from consent.audit.crawler import AuditOptions, SetupError, audit_site
    from consent.audit.report import write_reports

    try:
        settings, source = _settings(args.app)
        options = AuditOptions(
            max_pages=args.max_pages,
            max_seconds=args.max_seconds,
            offline=args.offline,
            robots=not args.ignore_robots,
            chromium=args.chromium,
        )
        report = audit_site(args.url, settings, options, settings_source=source)
    except (SetupError, ValueError, ImportError, AttributeError) as exc:
        print(f"consent audit: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    try:
        write_reports(report, args.json, args.html)
    except OSError as exc:
        print(f"consent audit: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 2
    _print_findings(report, args.json, args.html)
    return 1 if report.violations else 0


def _settings(app_reference: str | None) -> tuple[ConsentSettings, str]:
    """The settings to classify with, and a phrase saying where they came from."""
    from pydantic import ValidationError

    from consent.settings_loading import startup_notices

    if app_reference:
        from consent.explain import find_settings, load_app

        found = find_settings(load_app(app_reference))
        if found is None:
            raise ValueError(f"--app {app_reference}: no ConsentMiddleware found in it")
        return found, f"the settings of {app_reference}"
    try:
        with startup_notices(False):  # notices about a site, not about this command
            return ConsentSettings(), "CONSENT_* settings (or the defaults)"
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValueError(f"invalid settings: {problems}") from None


def _print_findings(report: AuditReport, json_path: Path, html_path: Path) -> None:
    summary = report.summary()
    for violation in report.violations:
        print(
            f"{violation.rule}: {violation.url} [{violation.state}] {violation.subject} "
            f"({violation.detail})"
        )
    limit = f"; stopped at the {report.truncated} limit" if report.truncated else ""
    print(
        f"audited {summary['pages_audited']} of {summary['pages_visited']} page(s) in "
        f"{report.duration_seconds} s{limit}: {summary['violations']} violation(s), "
        f"{summary['warnings']} warning(s); reports: {json_path}, {html_path}"
    )


def _bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` from ``low`` to ``high``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"{text!r}: use a number from {low:g} to {high:g}")
        return value

    return parse


def _one_line(text: str) -> str:
    return " ".join(text.split())
