"""The audit's rules, on hand-made observations (no browser)."""

from __future__ import annotations

import pytest

from consent.audit.model import (
    OUT_OF_TIME,
    STATES,
    BannerView,
    CookieSeen,
    PageAudit,
    RequestSeen,
    State,
    StateView,
    StorageSeen,
)
from consent.audit.violations import RULES, WARNINGS, judge

URL = "https://news.example/"
BANNER = BannerView(shown=True, variant="banner", accept_visible=True, reject_visible=True)
NOTICE = BannerView(shown=True, variant="notice", accept_visible=False, reject_visible=False)
GA = RequestSeen(
    "https://www.googletagmanager.com/gtag/js?id=G-1",
    "www.googletagmanager.com",
    "script",
    "analytics",
    False,
    "google-analytics",
)
RECAPTCHA = RequestSeen(
    "https://www.google.com/recaptcha/api.js", "www.google.com", "script", "necessary", True
)
CDN = RequestSeen("https://cdn.example.net/lib.js", "cdn.example.net", "script", None, False)
GA_COOKIE = CookieSeen("_ga", ".news.example", 3600, "analytics", False, "google-analytics")
OWN_COOKIE = CookieSeen("consent", "news.example", 3600, "necessary", True)
ODD_COOKIE = CookieSeen("mystery", "news.example", None, None, False)
HOTJAR = StorageSeen("localStorage", "_hjSession_1", "analytics", False)
ODD_KEY = StorageSeen("sessionStorage", "scroll", None, False)


def page(banner: BannerView = BANNER, **states: StateView) -> PageAudit:
    views = tuple(states.get(name, StateView(name)) for name in STATES)
    return judge(PageAudit(URL, 200, banner, views))


def rules(audit: PageAudit) -> set[tuple[str, str | None, str]]:
    return {(v.rule, v.state, v.subject) for v in audit.violations}


def test_clean_page_has_no_findings() -> None:
    audit = page(
        before=StateView("before", requests=(RECAPTCHA, CDN), cookies=(OWN_COOKIE,)),
        rejected=StateView("rejected", cookies=(OWN_COOKIE,)),
        accepted=StateView("accepted", requests=(GA,), cookies=(OWN_COOKIE, GA_COOKIE)),
    )
    assert audit.violations == ()
    assert audit.warnings == ()


@pytest.mark.parametrize(
    ("state", "suffix"), [("before", "before-consent"), ("rejected", "after-reject")]
)
def test_optional_things_without_consent_are_violations(state: State, suffix: str) -> None:
    view = StateView(state, requests=(GA, CDN), cookies=(GA_COOKIE,), storage=(HOTJAR,))
    audit = page(BANNER, **{state: view})
    assert rules(audit) == {
        (f"tracker-{suffix}", state, GA.url),
        (f"cookie-{suffix}", state, "_ga"),
        (f"storage-{suffix}", state, "_hjSession_1"),
    }
    assert all(v.rule in RULES for v in audit.violations)
    tracker = next(v for v in audit.violations if v.rule.startswith("tracker"))
    assert "analytics" in tracker.detail
    assert "google-analytics" in tracker.detail


def test_the_same_tracker_twice_is_one_violation() -> None:
    audit = page(before=StateView("before", requests=(GA, GA)))
    assert len(audit.violations) == 1


def test_opt_out_notice_allows_optional_things_before_a_choice_only() -> None:
    before = StateView("before", requests=(GA,), cookies=(GA_COOKIE,))
    rejected = StateView("rejected", requests=(GA,), decided_via="preferences page")
    audit = page(NOTICE, before=before, rejected=rejected)
    assert rules(audit) == {("tracker-after-reject", "rejected", GA.url)}


def test_no_banner_is_judged_as_opt_in_and_missing_where_needed() -> None:
    missing = BannerView(shown=False)
    audit = page(missing, accepted=StateView("accepted", requests=(GA,)))
    assert rules(audit) == {("banner-missing", "before", "#consent-banner")}
    assert "www.googletagmanager.com" in audit.violations[0].detail
    # Nothing optional anywhere: a page without a banner is fine.
    assert page(missing).violations == ()
    # Fail closed: without a banner the opt-in rules hold for the first visit.
    audit = page(missing, before=StateView("before", cookies=(GA_COOKIE,)))
    assert ("cookie-before-consent", "before", "_ga") in rules(audit)


@pytest.mark.parametrize(
    ("banner", "flagged"),
    [
        (BannerView(True, "banner", accept_visible=True, reject_visible=False), True),
        (BannerView(True, None, accept_visible=True, reject_visible=False), True),
        (BannerView(True, "banner", accept_visible=True, reject_visible=True), False),
        (NOTICE, False),  # the opt-out notice has no reject by design: its link leads there
    ],
)
def test_reject_must_be_on_the_first_layer(banner: BannerView, flagged: bool) -> None:
    found = {v.rule for v in page(banner).violations}
    assert ("reject-not-first-layer" in found) is flagged


def test_unclassified_names_are_warnings_not_violations() -> None:
    audit = page(
        before=StateView("before", cookies=(ODD_COOKIE,), storage=(ODD_KEY,)),
        accepted=StateView("accepted", cookies=(ODD_COOKIE,)),
    )
    assert audit.violations == ()
    assert {(w.rule, w.state, w.subject) for w in audit.warnings} == {
        ("unclassified-cookie", "before", "mystery"),
        ("unclassified-storage", "before", "scroll"),
    }
    assert all(w.rule in WARNINGS for w in audit.warnings)


def test_a_visit_that_failed_is_a_violation_unless_time_ran_out() -> None:
    audit = page(
        rejected=StateView("rejected", error="no reject_all button"),
        accepted=StateView("accepted", error=OUT_OF_TIME),
    )
    assert rules(audit) == {("state-not-observed", "rejected", "rejected")}
    assert [w.rule for w in audit.warnings] == ["out-of-time"]


def test_skipped_pages_are_not_judged() -> None:
    skipped = PageAudit(URL, 200, BannerView(shown=False), skipped="not HTML (image/png)")
    assert judge(skipped) is skipped
