"""``consent report SITE``: the listen-only counts of a running site, as a table or JSON.

Fetches ``GET <SITE><consent path>/report`` with the bearer token from the
``CONSENT_REPORT_TOKEN`` environment variable (never an argument: arguments show in
process lists and shell history). Exit codes: 0 printed, 1 the site refused or could not
be reached or answered something else than a report, 2 usage error. Errors are one line
on stderr; the token never appears in them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO, Any
from urllib.parse import urlsplit

from consent.observations import REPORT_FORMAT

__all__ = ["TOKEN_VARIABLE", "add_report_command", "fetch_report", "format_report", "run"]

#: Where the command reads the report token from.
TOKEN_VARIABLE = "CONSENT_REPORT_TOKEN"  # noqa: S105 (a variable name, not a secret)
_MAX_BYTES = 16 * 1024 * 1024  # a report is small; anything larger is not one
#: Columns of the listen section's tables, in print order.
_COLUMNS = {
    "paths": ("path", "requests", "pages"),
    "trackers": ("path", "kind", "host", "category", "count"),
    "cookies": ("path", "source", "cookie", "category", "count"),
}


class ReportError(Exception):
    """The report could not be fetched or read (exit code 1)."""


class _UsageError(Exception):
    """Bad input (exit code 2)."""


def add_report_command(commands: Any) -> None:
    """Register ``report`` on the ``consent`` command's subparsers."""
    report = commands.add_parser(
        "report",
        help="listen-only counts of a running site (token in CONSENT_REPORT_TOKEN)",
        description="Print what a site in listen-only mode would have blocked: trackers and "
        f"cookies per path group. The bearer token is read from {TOKEN_VARIABLE}.",
    )
    report.add_argument("site", help="the site's base URL (https://example.com)")
    report.add_argument(
        "--consent-path",
        default="/_consent",
        help="the site's consent path (settings.path), default /_consent",
    )
    report.add_argument("--format", choices=("text", "json"), default="text")
    report.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the site (default 10)"
    )
    report.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """Fetch and print the report; the exit code."""
    out = out or sys.stdout
    try:
        url = report_url(args.site, args.consent_path)
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise _UsageError(f"set {TOKEN_VARIABLE} to the site's report_token")
        if not args.timeout > 0:
            raise _UsageError("--timeout must be more than 0 seconds")
    except _UsageError as exc:
        _error(str(exc))
        return 2
    try:
        document = fetch_report(url, token, timeout=args.timeout)
    except ReportError as exc:
        _error(str(exc))
        return 1
    if args.format == "json":
        json.dump(document, out, indent=2, sort_keys=False)
        out.write("\n")
    else:
        out.write(format_report(document))
    return 0


def report_url(site: str, consent_path: str) -> str:
    """``site`` + ``consent_path`` + ``/report``, for an http(s) site without a query."""
    parts = urlsplit(site.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _UsageError(f"SITE must be an http(s) URL like https://example.com, not {site!r}")
    if parts.query or parts.fragment:
        raise _UsageError("SITE must not hold a query or fragment")
    if not consent_path.startswith("/") or consent_path.rstrip("/") == "":
        raise _UsageError("--consent-path must start with / and name a path, like /_consent")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return base + consent_path.rstrip("/") + "/report"


def fetch_report(url: str, token: str, *, timeout: float) -> dict[str, Any]:
    """The report document at ``url`` (raises `ReportError` with a one-line reason)."""
    request = urllib.request.Request(  # noqa: S310 (scheme checked in `report_url`)
        url,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ReportError(_refusal(url, exc.code)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReportError(f"cannot reach {url}: {reason}") from None
    if len(body) > _MAX_BYTES:
        raise ReportError(f"{url} answered more than {_MAX_BYTES} bytes: not a report")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ReportError(f"{url} did not answer JSON: is that the site's consent path?") from None
    if not isinstance(document, dict) or not isinstance(document.get("sections"), list):
        raise ReportError(f"{url} did not answer a report (no sections)")
    if document.get("format") != REPORT_FORMAT:
        raise ReportError(
            f"{url} answered report format {document.get('format')!r}; this tool reads "
            f"{REPORT_FORMAT}: use the same asgi-consent version as the site"
        )
    return document


def _refusal(url: str, status: int) -> str:
    if status in (401, 403):
        return f"{url} refused the token (HTTP {status}): check {TOKEN_VARIABLE}"
    if status == 404:
        return (
            f"{url} has no report (HTTP 404): is report_token set on the site, and "
            "--consent-path its settings.path?"
        )
    return f"{url} answered HTTP {status}"


def format_report(document: Mapping[str, Any]) -> str:
    """The report as text: each section's scalars, then its lists as aligned tables."""
    lines = [f"mode: {document.get('mode', '?')}  generated: {document.get('generated_at', '?')}"]
    sections = document.get("sections") or []
    if not sections:
        lines.append("")
        lines.append("no sections: is the site in listen-only mode (mode = listen)?")
    for section in sections:
        if not isinstance(section, Mapping):
            continue
        data = section.get("data")
        lines.append("")
        lines.append(f"== {section.get('name', '?')} ==")
        if not isinstance(data, Mapping):
            lines.append(str(data))
            continue
        for key, value in data.items():
            if not isinstance(value, list):
                lines.append(f"{key}: {value}")
        for key, value in data.items():
            if isinstance(value, list):
                lines.append("")
                lines.append(f"{key}:")
                lines.extend(_table(value, _COLUMNS.get(key)))
    return "\n".join(lines) + "\n"


def _table(rows: Sequence[Any], columns: Sequence[str] | None) -> list[str]:
    """``rows`` (objects) as aligned columns; ``columns`` fixes their order when known."""
    objects = [row for row in rows if isinstance(row, Mapping)]
    if not objects:
        return ["  (none)"]
    if columns is None:
        columns = list(dict.fromkeys(key for row in objects for key in row))
    cells = [[_cell(row.get(column)) for column in columns] for row in objects]
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), int) for row in objects) for c in columns]

    def line(values: Sequence[str]) -> str:
        padded = (
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        )
        return "  " + "  ".join(padded).rstrip()

    return [line(list(columns)), *(line(row) for row in cells)]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # One line per row, whatever a site sends (a header or a newline would break columns).
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _error(message: str) -> None:
    print(f"consent report: error: {message}", file=sys.stderr)
