"""The report counter and the rate limit (`consent.csp_reports`), without a server."""

from __future__ import annotations

from consent.csp_reports import CspReportCounter, ReportRateLimit
from consent.runtime import blocking_rules_for, names_for
from tests.support import make_settings

SETTINGS = make_settings()
SERVICES, PURPOSES = names_for(SETTINGS, strict=True)
RULES = blocking_rules_for(SETTINGS, PURPOSES, SERVICES)


def test_rate_limit_refills_with_its_clock() -> None:
    now = [0.0]
    limit = ReportRateLimit(60, 2, clock=lambda: now[0])
    assert [limit.take() for _ in range(3)] == [True, True, False]
    now[0] += 1.0  # one report a second
    assert [limit.take() for _ in range(2)] == [True, False]


def test_counter_rows_are_bounded_and_values_sanitised() -> None:
    counter = CspReportCounter(RULES, max_rows=10)
    for index in range(20):
        counter.add(f"https://host{index}.example/p?u=me", "img-src", "enforce")
    counter.add("https://www.youtube.com/embed/x", "frame-src", "enforce")
    counter.add("inline", "script-src-elem 'self'", "enforce")
    counter.add("javascript:alert(1)", "script-src", "enforce")
    counter.add("https://" + "a" * 300 + ".com/", "img-src", "enforce")
    counter.add("https://www.facebook.com/tr", "not-a-directive", "sideways")
    snapshot = counter.snapshot()
    assert len(snapshot["violations"]) == 10
    assert snapshot["dropped"] == 13
    assert snapshot["ignored"] == 2
    assert snapshot["reports"] == 23
    counter = CspReportCounter(RULES)
    counter.add("https://www.youtube.com/embed/x", "frame-src", "enforce")
    counter.add("inline", "script-src-elem 'self'", "enforce")
    counter.add("https://www.facebook.com/tr", "not-a-directive", "sideways")
    rows = {(r["host"], r["category"], r["directive"]) for r in counter.snapshot()["violations"]}
    assert rows == {
        ("www.youtube.com", "preferences", "frame-src"),  # a service counts as its category
        ("inline", "unclassified", "script-src-elem"),
        ("www.facebook.com", "marketing", "other"),
    }
