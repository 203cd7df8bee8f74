"""The listen-only counts: path grouping, sampling, bounds, the report's sections."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pydantic import ValidationError

from consent.observations import (
    OTHER_PATHS,
    REPORT_FORMAT,
    ListenSettings,
    Observations,
    Report,
    cookie_name_pattern,
)


def observations(random: Any = None, **settings: Any) -> Observations:
    if random is None:
        return Observations(ListenSettings(**settings))
    return Observations(ListenSettings(**settings), random=random)


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/", "/"),
        ("/about", "/about"),
        ("/blog/2024/hello", "/blog/*"),
        ("/blog/", "/blog/*"),
        ("/shop/shoes/checkout", "/shop/*/checkout"),
        ("/shop/shoes", "/shop/*"),
        ("/docs/api", "/docs/*"),
        ("//double", "/"),
        ("/" + "x" * 500 + "/y", "/" + "x" * 64 + "/*"),
    ],
)
def test_paths_group_by_pattern_else_first_segment(path: str, group: str) -> None:
    counts = observations(path_patterns=["/shop/*/checkout", "/blog/*"])
    assert counts.group(path) == group


def test_first_matching_pattern_wins() -> None:
    counts = observations(path_patterns=["/a/*", "/a/b/*"])
    assert counts.group("/a/b/c") == "/a/*"


def test_path_groups_are_bounded() -> None:
    counts = observations(max_paths=3)
    for n in range(10):
        counts.request(counts.group(f"/p{n}/x"))
    groups = [p["path"] for p in counts.snapshot()["paths"]]
    assert sorted(groups) == sorted(["/p0/*", "/p1/*", "/p2/*", OTHER_PATHS])
    assert counts.group("/p1/y") == "/p1/*"  # known groups keep counting


def test_configured_patterns_are_never_folded_into_other() -> None:
    counts = observations(max_paths=1, path_patterns=["/blog/*"])
    counts.request(counts.group("/first"))
    assert counts.group("/blog/x") == "/blog/*"
    assert counts.group("/second") == OTHER_PATHS


@pytest.mark.parametrize(
    ("rate", "draws", "expected"),
    [
        (1.0, [0.99], [True]),
        (0.0, [0.0], [False]),
        (0.25, [0.1, 0.25, 0.3, 0.0], [True, False, False, True]),
    ],
)
def test_sampling_follows_the_rate(rate: float, draws: list[float], expected: list[bool]) -> None:
    source = iter(draws)
    counts = observations(random=lambda: next(source), sample_rate=rate)
    assert [counts.sample() for _ in expected] == expected


def test_full_rate_and_zero_rate_draw_nothing() -> None:
    def never() -> float:
        raise AssertionError("no draw needed")

    assert observations(random=never, sample_rate=1.0).sample() is True
    assert observations(random=never, sample_rate=0.0).sample() is False


def test_sample_rate_is_validated() -> None:
    with pytest.raises(ValidationError, match="sample_rate"):
        ListenSettings(sample_rate=1.5)
    with pytest.raises(ValidationError, match="sample_rate"):
        ListenSettings(sample_rate=-0.1)


@pytest.mark.parametrize("pattern", ["blog/*", "", "/a b", "/tab\t", "/new\nline"])
def test_bad_path_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationError, match="path_patterns"):
        ListenSettings(path_patterns=[pattern])


def test_rows_are_bounded_and_overflow_is_counted() -> None:
    counts = observations(max_keys=3)
    for n in range(5):
        counts.tracker("/", "script", f"t{n}.example", "analytics")
    counts.tracker("/", "script", "t0.example", "analytics")  # an existing row still counts
    counts.cookie("/", "request", "_new", "marketing")
    snapshot = counts.snapshot()
    assert [(t["host"], t["count"]) for t in snapshot["trackers"]] == [
        ("t0.example", 2),
        ("t1.example", 1),
        ("t2.example", 1),
    ]
    assert snapshot["cookies"] == []
    assert snapshot["dropped"] == 3


def test_memory_stays_bounded_under_a_flood_of_distinct_names() -> None:
    counts = observations(max_keys=50, max_paths=5)
    for n in itertools.islice(itertools.count(), 5000):
        group = counts.group(f"/{n}/x")
        counts.request(group)
        counts.cookie(group, "request", f"c{n}", "analytics")
        counts.tracker(group, "img", f"h{n}.example", "marketing")
    snapshot = counts.snapshot()
    assert len(snapshot["trackers"]) + len(snapshot["cookies"]) == 50
    assert len(snapshot["paths"]) == 6  # five groups and (other)
    assert snapshot["dropped"] == 2 * 5000 - 50


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("_ga", "_ga"),
        ("_ga_ABC123XYZ", "_ga_*"),
        ("_hjSession_1234567", "_hjSession_*"),
        ("_hjSessionUser_89", "_hjSessionUser_89"),  # short: not an id
        ("AMP_4a8f1b2c3d", "AMP_*"),
        ("session", "session"),
        ("x" * 30, "*"),
        ("y" * 100, "*"),
    ],
)
def test_cookie_names_lose_id_like_parts(name: str, pattern: str) -> None:
    assert cookie_name_pattern(name) == pattern


def test_cookie_rows_group_by_name_pattern() -> None:
    counts = observations()
    counts.cookie("/", "request", "_ga_AAAA1111", "analytics")
    counts.cookie("/", "request", "_ga_BBBB2222", "analytics")
    assert counts.snapshot()["cookies"] == [
        {"path": "/", "source": "request", "cookie": "_ga_*", "category": "analytics", "count": 2}
    ]


def test_snapshot_orders_largest_first_and_clear_starts_afresh() -> None:
    counts = observations()
    counts.request("/a")
    counts.page("/a")
    for _ in range(3):
        counts.request("/b")
    counts.tracker("/a", "iframe", "www.youtube.com", "preferences")
    snapshot = counts.snapshot()
    assert snapshot["paths"] == [
        {"path": "/b", "requests": 3, "pages": 0},
        {"path": "/a", "requests": 1, "pages": 1},
    ]
    assert snapshot["sample_rate"] == 1.0
    counts.clear()
    cleared = counts.snapshot()
    assert cleared["paths"] == cleared["trackers"] == cleared["cookies"] == []


class _Counter:
    def snapshot(self) -> dict[str, Any]:
        return {"violations": [{"directive": "script-src", "count": 4}]}


def test_report_lists_named_sections_in_order() -> None:
    report = Report("listen")
    counts = observations()
    report.add("listen", counts)
    report.add("csp", _Counter())
    document = report.document()
    assert document["format"] == REPORT_FORMAT
    assert document["mode"] == "listen"
    assert [s["name"] for s in document["sections"]] == ["listen", "csp"]
    assert document["sections"][1]["data"] == _Counter().snapshot()
    assert report.names == ("listen", "csp")
    with pytest.raises(ValueError, match="already registered"):
        report.add("csp", _Counter())
