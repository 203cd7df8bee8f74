"""Counts for listen-only mode, and the report they are published in.

Listen-only mode (``mode = "listen"``) lets an operator watch what enforcing would do
before it does it. What it sees is counted here: trackers a page would have had blocked
and tracker cookies that would have been dropped or expired, per path group. Counts are
aggregated at once and hold no identifiers (no addresses, no cookie values, no queries),
and their memory is bounded whatever visitors send: paths fold into a bounded set of
groups, cookie names lose id-like parts, and past ``max_keys`` rows new rows are only
counted as ``dropped``.

`Report` is the JSON document behind ``GET <path>/report``: a list of named sections, each
an object with ``snapshot() -> dict``. These counts are one section (``listen``); other
counters (a CSP violation counter, say) register theirs beside it with `Report.add`.
"""

from __future__ import annotations

import fnmatch
import random
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "OTHER_PATHS",
    "REPORT_FORMAT",
    "ListenSettings",
    "Observations",
    "Report",
    "ReportSection",
    "cookie_name_pattern",
]

#: Version of the report document's shape (bumped on incompatible changes).
REPORT_FORMAT = 1
#: The group of paths past ``max_paths`` distinct groups.
OTHER_PATHS = "(other)"
_SEGMENT_LIMIT = 64  # longer first path segments are cut (a group key, not a URL)
_NAME_LIMIT = 64  # longer cookie names are cut before they become a key
_HOST_LIMIT = 253  # the longest DNS name
_PATTERN = re.compile(r"/[!-~]*")
#: A part of a cookie name that looks like an identifier: holds a digit and is 4+ long, or
#: is very long. ``_ga_ABC123XYZ`` reads ``_ga_*``: a site's measurement id is not the point.
_ID_LIKE = re.compile(r"(?=[^_.\-]*\d)[^_.\-]{4,}|[^_.\-]{24,}")


class ListenSettings(BaseModel):
    """What listen-only mode shows and counts (``mode = "listen"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    banner: bool = Field(
        default=False,
        description="Show the banner while listening (pages get it; nothing is blocked). Off: "
        "pages pass byte for byte.",
    )
    sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of requests whose cookies and HTML are inspected and counted "
        "(0.1: one in ten); lower it on busy sites.",
    )
    path_patterns: list[str] = Field(
        default_factory=list,
        description="Path patterns that group the counts (`/blog/*`, `/shop/*/checkout`); the "
        "first that matches wins. Other paths are grouped by their first segment (`/docs/*`).",
    )
    max_paths: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Most distinct path groups counted; later ones are counted under `(other)`.",
    )
    max_keys: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Most distinct rows (path, tracker or cookie) kept; later ones are only "
        "counted as `dropped`.",
    )

    @field_validator("path_patterns")
    @classmethod
    def _check_patterns(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _PATTERN.fullmatch(value):
                raise ValueError(
                    f"listen.path_patterns: {value!r} must start with `/` and hold no spaces "
                    "or control characters"
                )
        return values


class ReportSection(Protocol):
    """A counter published in the report: a JSON-ready snapshot of its counts."""

    def snapshot(self) -> dict[str, Any]:
        """The counts now (plain JSON types only)."""
        ...


class Report:
    """The named sections of ``GET <path>/report``, in the order they were added."""

    def __init__(self, mode: str = "enforce") -> None:
        self.mode = mode
        self._sections: dict[str, ReportSection] = {}

    def add(self, name: str, section: ReportSection) -> None:
        """Publish ``section`` under ``name`` (names are unique)."""
        if name in self._sections:
            raise ValueError(f"report section {name!r} is already registered")
        self._sections[name] = section

    @property
    def names(self) -> tuple[str, ...]:
        """The registered section names."""
        return tuple(self._sections)

    def document(self) -> dict[str, Any]:
        """The report: ``{"format", "mode", "generated_at", "sections": [{"name", "data"}]}``."""
        return {
            "format": REPORT_FORMAT,
            "mode": self.mode,
            "generated_at": _now(),
            "sections": [
                {"name": name, "data": section.snapshot()}
                for name, section in self._sections.items()
            ],
        }


def cookie_name_pattern(name: str) -> str:
    """``name`` with id-like parts as ``*`` and cut to a bounded length: names such as
    ``_ga_<measurement id>`` or ``_hjSession_<site id>`` group under one row."""
    return _ID_LIKE.sub("*", name[:_NAME_LIMIT])


class Observations:
    """The listen-only counts of one middleware (a `ReportSection` named ``listen``).

    Everything runs on the event loop between awaits, so no lock is needed. ``random``
    decides sampling (tests pass their own).
    """

    def __init__(
        self,
        settings: ListenSettings,
        *,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.sample_rate = settings.sample_rate
        self._patterns = tuple(settings.path_patterns)
        self._max_paths = settings.max_paths
        self._max_keys = settings.max_keys
        self._random = random
        self._since = _now()
        self._requests: dict[str, int] = {}  # sampled requests per group
        self._pages: dict[str, int] = {}  # sampled HTML responses scanned per group
        self._trackers: dict[tuple[str, str, str, str], int] = {}
        self._cookies: dict[tuple[str, str, str, str], int] = {}
        self._rows = 0
        self.dropped = 0  # counts that found no room for a new row

    # -- while listening ----------------------------------------------------------------

    def sample(self) -> bool:
        """Whether to inspect this request (decided once per request)."""
        rate = self.sample_rate
        return rate >= 1.0 or (rate > 0.0 and self._random() < rate)

    def group(self, path: str) -> str:
        """The group a request path is counted under: the first matching pattern, else its
        first segment (``/blog/*``, ``/`` for the root), else `OTHER_PATHS` when full."""
        for pattern in self._patterns:
            if fnmatch.fnmatchcase(path, pattern):
                return pattern
        segment, slash, _ = path[1:].partition("/")
        key = "/" + segment[:_SEGMENT_LIMIT] + ("/*" if slash and segment else "")
        if key in self._requests or len(self._requests) < self._max_paths:
            return key
        return OTHER_PATHS

    def request(self, group: str) -> None:
        """Count one sampled request of ``group``."""
        self._requests[group] = self._requests.get(group, 0) + 1

    def page(self, group: str) -> None:
        """Count one sampled HTML response of ``group`` that was scanned."""
        self._pages[group] = self._pages.get(group, 0) + 1

    def tracker(self, group: str, kind: str, host: str, category: str) -> None:
        """An element (``kind``: script, iframe, img, ...) enforcing would have blocked."""
        self._count(self._trackers, (group, kind, host[:_HOST_LIMIT], category))

    def cookie(self, group: str, source: str, name: str, category: str) -> None:
        """A cookie enforcing would have expired (``source="request"``: sent by a visitor who
        has not consented) or dropped (``"response"``: set by the app)."""
        self._count(self._cookies, (group, source, cookie_name_pattern(name), category))

    def _count(self, table: dict[tuple[str, str, str, str], int], key: Any) -> None:
        count = table.get(key)
        if count is None:
            if self._rows >= self._max_keys:
                self.dropped += 1
                return
            self._rows += 1
            count = 0
        table[key] = count + 1

    # -- reading --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The counts so far, largest first (see ``docs/listen-only.md`` for the shape)."""
        return {
            "since": self._since,
            "sample_rate": self.sample_rate,
            "dropped": self.dropped,
            "paths": [
                {"path": path, "requests": count, "pages": self._pages.get(path, 0)}
                for path, count in _largest(self._requests.items())
            ],
            "trackers": [
                {"path": p, "kind": k, "host": h, "category": c, "count": n}
                for (p, k, h, c), n in _largest(self._trackers.items())
            ],
            "cookies": [
                {"path": p, "source": s, "cookie": name, "category": c, "count": n}
                for (p, s, name, c), n in _largest(self._cookies.items())
            ],
        }

    def clear(self) -> None:
        """Start counting afresh."""
        self._requests.clear()
        self._pages.clear()
        self._trackers.clear()
        self._cookies.clear()
        self._rows = 0
        self.dropped = 0
        self._since = _now()


def _largest(items: Iterable[tuple[Any, int]]) -> list[tuple[Any, int]]:
    return sorted(items, key=lambda item: (-item[1], item[0]))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
