"""CSP violation reports: received at ``<path>/csp-report``, counted, nothing personal kept.

Browsers send reports two ways: the Reporting API (``application/reports+json``, a list,
named by ``report-to`` and ``Reporting-Endpoints``) and the legacy ``report-uri``
(``application/csp-report``, one ``{"csp-report": {...}}`` object). Either way the request
carries no cookies and may come from any page that names the endpoint, so it cannot be
authenticated, and nothing it says is trusted: it only moves counters. Hence a size limit
checked before reading (413), a global token bucket (429; one number, not a table of
senders, so its memory is fixed and no address is kept), and a bounded counter table.

Kept per report: the blocked host (not the URL), its category from the tracker table (else
``unclassified``), the directive and whether it was enforced or only reported. Not kept:
URLs, the page, referrer, samples, addresses, user agents.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from consent.blocking import BlockingRules
from consent.csp import CspNarrowing, CspSettings
from consent.purposes import PURPOSES
from consent.request_body import RefusedError, read_body

__all__ = [
    "UNCLASSIFIED",
    "CspParts",
    "CspReportCounter",
    "CspReportEndpoint",
    "ReportRateLimit",
    "csp_parts",
]

UNCLASSIFIED: Final = "unclassified"
REPORTS_TYPE: Final = "application/reports+json"
LEGACY_TYPE: Final = "application/csp-report"
JSON_TYPE: Final = "application/json"
_ACCEPTED_TYPES = frozenset({REPORTS_TYPE, LEGACY_TYPE, JSON_TYPE})
_NO_STORE = {"cache-control": "no-store"}
_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")
#: What browsers put in place of a URL for a load that has none (inline code, eval ...).
_NON_URL = frozenset(
    {"inline", "eval", "wasm-eval", "data", "blob", "self", "trusted-types-policy",
     "trusted-types-sink"}
)  # fmt: skip
#: Directive names a report may carry (anything else is counted as ``other``).
_DIRECTIVES = frozenset(
    {"default-src", "script-src", "script-src-elem", "script-src-attr", "style-src",
     "style-src-elem", "style-src-attr", "img-src", "font-src", "connect-src", "media-src",
     "object-src", "frame-src", "child-src", "worker-src", "manifest-src", "prefetch-src",
     "fenced-frame-src", "base-uri", "form-action", "frame-ancestors", "navigate-to",
     "require-trusted-types-for", "trusted-types", "sandbox"}
)  # fmt: skip
_MAX_REPORTS_PER_BODY = 100


class ReportRateLimit:
    """A token bucket shared by every sender: ``burst`` at once, ``per_minute`` after."""

    __slots__ = ("_clock", "_last", "_rate", "_tokens", "burst")

    def __init__(
        self, per_minute: int, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = float(burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()

    def take(self) -> bool:
        """Spend one token; False when none is left."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class CspReportCounter:
    """Blocked (or, report-only, observed) loads by host, category, directive, disposition.

    At most ``max_rows`` distinct rows; reports that would add another are counted in
    ``dropped``. ``snapshot()`` is JSON-ready, for the JSON report endpoint and operators.
    """

    def __init__(self, rules: BlockingRules, *, max_rows: int = 1000) -> None:
        self._rules = rules
        self._categories: Mapping[str, str] = rules.purposes.services
        self.max_rows = max_rows
        self._rows: dict[tuple[str, str, str, str], int] = {}
        self.reports = 0  # violations counted
        self.dropped = 0  # violations over the row limit
        self.ignored = 0  # reports of other kinds (deprecations, ...) or without a directive

    def add(self, blocked: str, directive: str, disposition: str) -> None:
        """Count one violation, from the raw values a browser reported."""
        host = _host_of(blocked)
        if host is None:
            self.ignored += 1
            return
        key = (
            host,
            self._category(blocked, host),
            _directive(directive),
            _disposition(disposition),
        )
        self.reports += 1
        rows = self._rows
        if key in rows:
            rows[key] += 1
        elif len(rows) < self.max_rows:
            rows[key] = 1
        else:
            self.dropped += 1

    def _category(self, blocked: str, host: str) -> str:
        if host in _NON_URL:
            return UNCLASSIFIED
        path = urlsplit(blocked).path[:64] if "/" in blocked else "/"
        key = self._rules.category_of_url(f"https://{host}{path or '/'}")
        if key is None:
            return UNCLASSIFIED
        return self._categories.get(key, key)  # a service counts under its category

    def snapshot(self) -> dict[str, Any]:
        """The counts as plain JSON data, most frequent first."""
        rows = sorted(self._rows.items(), key=lambda item: (-item[1], item[0]))
        by_category: dict[str, int] = {}
        for (_, category, _, disposition), count in rows:
            if disposition == "enforce":
                by_category[category] = by_category.get(category, 0) + count
        return {
            "reports": self.reports,
            "dropped": self.dropped,
            "ignored": self.ignored,
            "blocked_by_category": by_category,
            "violations": [
                {
                    "host": host,
                    "category": category,
                    "directive": directive,
                    "disposition": disposition,
                    "count": count,
                }
                for (host, category, directive, disposition), count in rows
            ],
        }


def _host_of(blocked: str) -> str | None:
    """The host a report names, or a keyword for loads without one; None if neither."""
    value = blocked.strip().lower()[:2048]
    if value in _NON_URL:
        return value
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "ws", "wss") or not host:
        return None if parts.scheme not in ("data", "blob") else parts.scheme
    host = host.rstrip(".")
    if len(host) > 253 or not _HOST.fullmatch(host):
        return None
    return host


def _directive(value: str) -> str:
    name = value.strip().split(" ", 1)[0].lower()  # legacy `violated-directive` has sources
    return name if name in _DIRECTIVES else "other"


def _disposition(value: str) -> str:
    return "report" if value.strip().lower() == "report" else "enforce"


class CspReportEndpoint:
    """The ASGI app of ``POST <path>/csp-report``: 204 for a report read, 4xx otherwise.

    Cross-site on purpose: the browser sends reports without cookies, with whatever
    ``Origin`` the page had, so no origin check could tell a real report from a forged one;
    a forged one can only move counters, within the rate limit.
    """

    def __init__(
        self, settings: CspSettings, counter: CspReportCounter, limit: ReportRateLimit
    ) -> None:
        self.max_bytes = settings.report_max_bytes
        self.counter = counter
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        try:
            content_type = self._content_type(Headers(scope=scope))
            if not self.limit.take():
                raise RefusedError(429, "too many reports; try later")
            body = await read_body(receive, Headers(scope=scope), self.max_bytes, what="report")
            reports = _parse(body, content_type)
        except RefusedError as exc:
            response = PlainTextResponse(exc.message, exc.status, headers=_NO_STORE)
        else:
            for report in reports:
                if report is None:
                    self.counter.ignored += 1
                else:
                    self.counter.add(*report)
            response = Response(status_code=204, headers=_NO_STORE)
        await response(scope, receive, send)

    @staticmethod
    def _content_type(headers: Headers) -> str:
        media = headers.get("content-type", "").partition(";")[0].strip().lower()
        if media not in _ACCEPTED_TYPES:
            raise RefusedError(
                415, f"unsupported content type {media or 'none'!r}: send a CSP report"
            )
        return media


Report = tuple[str, str, str]  # blocked URL, directive, disposition


def _parse(body: bytes, content_type: str) -> list[Report | None]:
    """The violations a body holds (None for a report of another kind)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RefusedError(400, "malformed JSON body") from None
    if content_type == LEGACY_TYPE or (content_type == JSON_TYPE and isinstance(data, dict)):
        if not isinstance(data, dict):
            raise RefusedError(400, "a legacy report needs a `csp-report` object")
        legacy = data.get("csp-report")
        if not isinstance(legacy, dict):
            raise RefusedError(400, "a legacy report needs a `csp-report` object")
        directive = legacy.get("effective-directive") or legacy.get("violated-directive")
        return [_violation(legacy.get("blocked-uri"), directive, legacy.get("disposition"))]
    if not isinstance(data, list):
        raise RefusedError(400, "expected a list of reports or a `csp-report` object")
    if len(data) > _MAX_REPORTS_PER_BODY:
        raise RefusedError(413, f"more than {_MAX_REPORTS_PER_BODY} reports in one body")
    found: list[Report | None] = []
    for item in data:
        if not isinstance(item, dict):
            raise RefusedError(400, "each report must be an object")
        body_ = item.get("body")
        if item.get("type") != "csp-violation" or not isinstance(body_, dict):
            found.append(None)
            continue
        found.append(
            _violation(
                body_.get("blockedURL"), body_.get("effectiveDirective"), body_.get("disposition")
            )
        )
    return found


def _violation(blocked: object, directive: object, disposition: object) -> Report | None:
    if not isinstance(blocked, str) or not isinstance(directive, str) or not directive:
        return None
    return blocked, directive, disposition if isinstance(disposition, str) else "enforce"


class CspParts:
    """What one middleware needs for CSP: the header editor (None when off), the counter
    and the endpoint (None when reporting is off)."""

    __slots__ = ("counter", "endpoint", "narrowing")

    def __init__(
        self,
        narrowing: CspNarrowing | None,
        counter: CspReportCounter | None,
        endpoint: CspReportEndpoint | None,
    ) -> None:
        self.narrowing = narrowing
        self.counter = counter
        self.endpoint = endpoint


def csp_parts(settings: CspSettings, rules: BlockingRules, *, endpoint_path: str) -> CspParts:
    """Build the CSP editor, counter and endpoint for one middleware from its rules."""
    counter = endpoint = None
    if settings.reporting:
        counter = CspReportCounter(rules, max_rows=settings.max_counted)
        limit = ReportRateLimit(settings.reports_per_minute, settings.report_burst)
        endpoint = CspReportEndpoint(settings, counter, limit)
    narrowing = None
    if settings.narrow or settings.report_only_when_absent:
        purposes = rules.purposes
        keys = {purposes.key_of(p) for p in PURPOSES} | set(rules.keys) | set(purposes.services)
        narrowing = CspNarrowing(
            settings,
            rules,
            # A necessary service is allowed whenever its category is: never narrowed.
            tracker_keys=keys
            - rules.required
            - {s for s, c in purposes.services.items() if c in rules.required},
            tracker_domains=rules.hosts,
            report_uri=endpoint_path + "/csp-report",
        )
    return CspParts(narrowing, counter, endpoint)
