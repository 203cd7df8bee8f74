"""Generated pages in headless Chromium (JavaScript on and off): no tracker request once rewritten.

The control pages, unrewritten, prove the harness sees tracker requests; the same visits check
the oracle against the browser: every tracker host Chromium contacts is one the oracle flagged
(in the Chromium tree reading or the preload scanner, for that JavaScript setting), and
Chromium's DOM is html5lib's tree in the matching reading.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path

import pytest

from tests._html import placeholder, rewrite
from tests.fuzz.chromium_sample import CHROMIUM_READINGS, Visit, observe, oracle_tree, sample
from tests.fuzz.harness import NOTHING_GRANTED, RewriterHangError, guarded
from tests.fuzz.oracle import SCANNERS, decode, fetches, url_target

pytestmark = pytest.mark.browser

CONTROL = Path(__file__).resolve().parent / "corpus" / "contract-elements.html"
#: The Chromium whose parser the oracle's Chromium reading follows (the corpus was checked in
#: it). An older one builds some corpus pages differently (CDATA in MathML text integration
#: points, end tags in foreign content): the two oracle checks below then fail on raw pages.
ORACLE_CHROMIUM = 156


class Sample:
    def __init__(self, chromium: str) -> None:
        self.pages: dict[str, bytes] = {"/control": CONTROL.read_bytes()}
        self.hung: list[str] = []
        # Every case that ever failed, then a sample of generated pages.
        cases = [(path.stem, path.read_bytes()) for path in sorted(CONTROL.parent.glob("*.html"))]
        cases += [(str(index), page) for index, page in enumerate(sample(NOTHING_GRANTED))]
        for index, page in cases:
            self.pages[f"/raw/{index}"] = page
            try:
                out = guarded(partial(rewrite, page, placeholder=placeholder))
            except RewriterHangError:
                self.hung.append(decode(page))
                continue
            self.pages[f"/rewritten/{index}"] = out
        self.visits: list[Visit] = observe(chromium, self.pages)
        version = subprocess.run([chromium, "--version"], capture_output=True, text=True)
        self.version = version.stdout.strip() or "Chromium of unknown version"

    def trackers(self, visit: Visit) -> list[str]:
        return [url for url in visit.requests if NOTHING_GRANTED.category(url)]


@pytest.fixture(scope="module")
def loaded(chromium: str) -> Sample:
    return Sample(chromium)


def _left_by_design(page: bytes) -> set[str]:
    """Hosts of tracker URLs the server leaves on purpose (a legacy background; see the
    contract), as Chromium requests them (normalised)."""
    text = decode(page)
    rewritten = {f.url for f in fetches(text, NOTHING_GRANTED)}
    left = {f.url for f in fetches(text, NOTHING_GRANTED, everything=True)} - rewritten
    return {target[0] for url in left if (target := url_target(url))}


def test_rewritten_pages_load_no_tracker(loaded: Sample) -> None:
    leaks = []
    for v in loaded.visits:
        if not v.path.startswith("/rewritten/"):
            continue
        allowed = _left_by_design(loaded.pages[v.path])
        found = [
            url
            for url in loaded.trackers(v)
            if (target := url_target(url)) is None or target[0] not in allowed
        ]
        if found:
            leaks.append(
                f"{v.path} (JavaScript {'on' if v.javascript else 'off'}): {found}\n"
                f"    {decode(loaded.pages[v.path])[:600]!r}"
            )
    assert not loaded.hung, f"the rewriter hung on {loaded.hung}"
    assert not leaks, "\n".join(leaks)


def test_control_pages_load_trackers(loaded: Sample) -> None:
    for javascript in (True, False):
        control = next(
            v for v in loaded.visits if v.path == "/control" and v.javascript is javascript
        )
        assert loaded.trackers(control), f"JavaScript {javascript}: {control.requests}"
    raw = [v for v in loaded.visits if v.path.startswith("/raw/") and loaded.trackers(v)]
    assert len(raw) >= len(loaded.visits) // 8, "most sampled pages should load a tracker raw"


def test_the_oracle_flags_every_tracker_host_chromium_contacts(loaded: Sample) -> None:
    missed = []
    for visit in loaded.visits:
        reading = CHROMIUM_READINGS[visit.javascript]
        scanner = next(s for s in SCANNERS if s.scripting is visit.javascript)
        flagged = {
            target[0]
            for found in fetches(decode(loaded.pages[visit.path]), NOTHING_GRANTED, everything=True)
            if found.reading in (reading.name, scanner.name) and (target := url_target(found.url))
        }
        hosts = {target[0] for url in loaded.trackers(visit) if (target := url_target(url))}
        if hosts - flagged:
            missed.append(f"{visit.path} ({reading}): {sorted(hosts - flagged)}")
    assert not missed, "\n".join([*missed, _calibrated(loaded)])


def test_chromium_builds_the_oracles_tree(loaded: Sample) -> None:
    differ = []
    for visit in loaded.visits:
        reading = CHROMIUM_READINGS[visit.javascript]
        expected = oracle_tree(decode(loaded.pages[visit.path]), reading)
        if visit.tree != expected:
            at = next(
                (i for i, (a, b) in enumerate(zip(visit.tree, expected, strict=False)) if a != b),
                min(len(visit.tree), len(expected)),
            )
            differ.append(
                f"{visit.path} ({reading}) at node {at}: Chromium "
                f"{visit.tree[at : at + 2]} html5lib {expected[at : at + 2]}"
            )
    assert not differ, "\n".join([*differ, _calibrated(loaded)])


def _calibrated(loaded: Sample) -> str:
    return f"(the oracle follows Chromium {ORACLE_CHROMIUM}'s parser; this is {loaded.version})"
