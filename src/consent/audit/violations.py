"""The rules an audited page is held to, as pure functions of what the browser saw.

A regulator's visit, three times over: before any choice nothing optional may be
requested or stored (opt-in), after *Reject all* neither, and the banner must be there
wherever the site uses something optional, with *Reject all* on its first layer. Under
the opt-out notice (US states) the first visit may run optional things; the rejected
visit may not. Without any banner the opt-in rules apply: fail closed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from consent.audit.model import OUT_OF_TIME, PageAudit, StateView, Violation

__all__ = ["RULES", "WARNINGS", "judge"]

#: Every rule, with the sentence the reports show for it.
RULES = {
    "tracker-before-consent": "a tracker was requested before the visitor chose",
    "tracker-after-reject": "a tracker was requested after Reject all",
    "cookie-before-consent": "an optional cookie was stored before the visitor chose",
    "cookie-after-reject": "an optional cookie was stored after Reject all",
    "storage-before-consent": "optional web storage was written before the visitor chose",
    "storage-after-reject": "optional web storage was written after Reject all",
    "banner-missing": "the page uses optional cookies, storage or trackers but shows no banner",
    "reject-not-first-layer": "Reject all is not visible without opening anything",
    "state-not-observed": "the consent controls could not be used: this visit is unverified",
}
#: Warnings: worth a look, no proof of a breach (exit code unaffected).
WARNINGS = {
    "unclassified-cookie": "a cookie no table knows was stored without consent",
    "unclassified-storage": "a web storage key no table knows was written without consent",
    "out-of-time": "the time budget ended before this visit",
}
_SUFFIX = {"before": "before-consent", "rejected": "after-reject"}


def judge(page: PageAudit) -> PageAudit:
    """``page`` with its violations and warnings filled in (duplicates dropped)."""
    if page.skipped is not None:
        return page
    violations = _unique(_violations(page))
    warnings = _unique(_warnings(page))
    return dataclasses.replace(page, violations=violations, warnings=warnings)


def _unique(found: Iterator[Violation]) -> tuple[Violation, ...]:
    seen: dict[tuple[str, str | None, str], Violation] = {}
    for item in found:
        seen.setdefault((item.rule, item.state, item.subject), item)
    return tuple(seen.values())


def _without_consent(page: PageAudit) -> Iterator[StateView]:
    """The visits in which nothing optional may happen."""
    opt_out = page.banner.shown and page.banner.variant == "notice"
    judged = ("rejected",) if opt_out else ("before", "rejected")
    for view in page.states:
        if view.error is None and view.state in judged:
            yield view


def _violations(page: PageAudit) -> Iterator[Violation]:
    for view in page.states:
        if view.error is not None and view.error != OUT_OF_TIME:
            yield Violation("state-not-observed", page.url, view.state, view.state, view.error)
    for view in _without_consent(page):
        suffix = _SUFFIX[view.state]
        for request in view.requests:
            if request.tracker:
                filed = _filed(request.category, request.service)
                detail = f"{request.resource_type} from {request.host}, {filed}"
                yield Violation(f"tracker-{suffix}", page.url, view.state, request.url, detail)
        for cookie in view.cookies:
            if cookie.optional:
                detail = f"on {cookie.domain}, {_filed(cookie.category, cookie.service)}"
                yield Violation(f"cookie-{suffix}", page.url, view.state, cookie.name, detail)
        for item in view.storage:
            if item.optional:
                detail = f"{item.area}, {_filed(item.category, None)}"
                yield Violation(f"storage-{suffix}", page.url, view.state, item.key, detail)
    if not page.banner.shown:
        uses = _optional_uses(page)
        if uses:
            detail = "the page uses " + ", ".join(uses)
            yield Violation("banner-missing", page.url, "before", "#consent-banner", detail)
    elif page.banner.variant != "notice" and not page.banner.reject_visible:
        detail = "no visible button name=action value=reject_all in #consent-banner"
        yield Violation("reject-not-first-layer", page.url, "before", "Reject all", detail)


def _optional_uses(page: PageAudit) -> list[str]:
    """What optional things any visit of the page used (why it needs a banner)."""
    uses: dict[str, None] = {}
    for view in page.states:
        for request in view.requests:
            if request.tracker:
                uses[f"tracker {request.host}"] = None
        for cookie in view.cookies:
            if cookie.optional:
                uses[f"cookie {cookie.name}"] = None
        for item in view.storage:
            if item.optional:
                uses[f"{item.area} {item.key}"] = None
    return list(uses)


def _warnings(page: PageAudit) -> Iterator[Violation]:
    for view in page.states:
        if view.error == OUT_OF_TIME:
            yield Violation("out-of-time", page.url, view.state, view.state, view.error)
    for view in _without_consent(page):
        for cookie in view.cookies:
            if cookie.category is None:
                detail = f"on {cookie.domain}: classify it in a category's cookies"
                yield Violation("unclassified-cookie", page.url, view.state, cookie.name, detail)
        for item in view.storage:
            if item.category is None:
                detail = f"{item.area}: not in the storage table"
                yield Violation("unclassified-storage", page.url, view.state, item.key, detail)


def _filed(category: str | None, service: str | None) -> str:
    return f"category {category}" + (f" (service {service})" if service else "")
