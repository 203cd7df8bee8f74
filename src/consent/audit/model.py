"""What an audit observed and concluded, as plain frozen data (JSON in, JSON out).

The browser side (`consent.audit.crawler`) fills these in, the rules
(`consent.audit.violations`) read them, and the writers (`consent.audit.report`) print
them: none of the three needs the others to be tested.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "OUT_OF_TIME",
    "STATES",
    "AuditReport",
    "BannerView",
    "CookieSeen",
    "PageAudit",
    "RequestSeen",
    "StateView",
    "StorageSeen",
    "Violation",
]

#: `StateView.error` of a visit the time budget left out (a limit, not a fault of the site).
OUT_OF_TIME = "time budget spent"
State = Literal["before", "rejected", "accepted"]
#: The three visits made to every page, each in a fresh browser context.
STATES: tuple[State, ...] = ("before", "rejected", "accepted")


@dataclass(frozen=True)
class CookieSeen:
    """A cookie in the browser's jar (any domain: trackers' own cookies count too)."""

    name: str
    domain: str
    #: Seconds from the observation to expiry; ``None`` for a session cookie.
    lifetime_seconds: int | None
    category: str | None
    necessary: bool
    service: str | None = None

    @property
    def optional(self) -> bool:
        """Known, and of a category the visitor may decline."""
        return self.category is not None and not self.necessary


@dataclass(frozen=True)
class StorageSeen:
    """A web storage key of the page's origin (EDPB 2/2023: storage counts like cookies)."""

    area: Literal["localStorage", "sessionStorage"]
    key: str
    category: str | None
    necessary: bool

    @property
    def optional(self) -> bool:
        """Known, and of a category the visitor may decline."""
        return self.category is not None and not self.necessary


@dataclass(frozen=True)
class RequestSeen:
    """A request to another site, as attempted by the page (answered or not)."""

    url: str
    host: str
    resource_type: str
    category: str | None
    necessary: bool
    service: str | None = None

    @property
    def tracker(self) -> bool:
        """Filed under a category the visitor may decline."""
        return self.category is not None and not self.necessary


@dataclass(frozen=True)
class BannerView:
    """Our banner as a first-time visitor sees it, without opening anything.

    ``variant`` is the form's ``variant`` field: ``banner`` (opt-in), ``notice``
    (opt-out jurisdictions) or ``None`` when no banner is shown.
    """

    shown: bool
    variant: str | None = None
    accept_visible: bool = False
    reject_visible: bool = False


@dataclass(frozen=True)
class StateView:
    """One visit: what was stored and requested. ``decided_via`` says which control made
    the decision (``banner``, ``preferences`` page), ``None`` for the first visit."""

    state: State
    cookies: tuple[CookieSeen, ...] = ()
    storage: tuple[StorageSeen, ...] = ()
    requests: tuple[RequestSeen, ...] = ()
    decided_via: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Violation:
    """A broken rule (or, in `PageAudit.warnings`, something a person should look at)."""

    rule: str
    url: str
    state: str | None
    subject: str
    detail: str


@dataclass(frozen=True)
class PageAudit:
    """One crawled page: the banner, the three states and what they break."""

    url: str
    status: int | None
    banner: BannerView
    states: tuple[StateView, ...] = ()
    #: Why the page was visited but not audited (not HTML, an error), else ``None``.
    skipped: str | None = None
    violations: tuple[Violation, ...] = ()
    warnings: tuple[Violation, ...] = ()

    def state(self, name: str) -> StateView | None:
        """The visit called ``name``, if it was made."""
        return next((s for s in self.states if s.state == name), None)


@dataclass(frozen=True)
class AuditReport:
    """The whole audit, as both writers print it."""

    site: str
    started_at: str
    duration_seconds: float
    settings_source: str
    max_pages: int
    max_seconds: float
    offline: bool
    pages: tuple[PageAudit, ...] = ()
    #: ``pages`` or ``time`` when a limit ended the crawl before the queue was empty.
    truncated: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def violations(self) -> list[Violation]:
        """Every page's violations, in crawl order."""
        return [v for page in self.pages for v in page.violations]

    @property
    def warnings(self) -> list[Violation]:
        """Every page's warnings, in crawl order."""
        return [w for page in self.pages for w in page.warnings]

    def summary(self) -> dict[str, Any]:
        """Counts per state (over audited pages) and per rule: what the chart draws."""
        per_state: dict[str, dict[str, int]] = {
            state: {"tracker_requests": 0, "optional_cookies": 0, "optional_storage": 0}
            for state in STATES
        }
        for page in self.pages:
            for view in page.states:
                counts = per_state[view.state]
                counts["tracker_requests"] += sum(r.tracker for r in view.requests)
                counts["optional_cookies"] += sum(c.optional for c in view.cookies)
                counts["optional_storage"] += sum(s.optional for s in view.storage)
        rules: dict[str, int] = {}
        for violation in self.violations:
            rules[violation.rule] = rules.get(violation.rule, 0) + 1
        return {
            "pages_visited": len(self.pages),
            "pages_audited": sum(page.skipped is None for page in self.pages),
            "violations": len(self.violations),
            "warnings": len(self.warnings),
            "by_rule": dict(sorted(rules.items())),
            "by_state": per_state,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: everything observed, the findings and the summary."""
        document = asdict(self)
        document["summary"] = self.summary()
        document["violations"] = [asdict(v) for v in self.violations]
        document["warnings"] = [asdict(w) for w in self.warnings]
        return document
