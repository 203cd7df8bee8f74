"""The rewriter against html5lib: corpus cases and generated pages, nothing or everything granted.

Nothing granted: no element of the rewritten page may load a tracker in any reading, and the
page may differ from the original only by the edits of docs/blocking-contract.md (see
`tests.fuzz.oracle.differences`). Everything granted, no injection configured: the output is the
input, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._html import placeholder, rewrite
from tests.fuzz.generator import documents
from tests.fuzz.harness import blocked_problems, granted_problems, guarded, report

CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*.html"))
CHECKS = {"nothing granted": blocked_problems, "everything granted": granted_problems}
FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("grant", list(CHECKS))
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus(path: Path, grant: str) -> None:
    page = path.read_bytes()
    out, problems = CHECKS[grant](page)
    assert not problems, report(page, out, problems)


@pytest.mark.parametrize("grant", list(CHECKS))
@FUZZ
@given(page=documents())
def test_generated(page: bytes, grant: str) -> None:
    out, problems = CHECKS[grant](page)
    assert not problems, report(page, out, problems)


@settings(FUZZ, max_examples=100)
@given(page=documents(), data=st.data())
def test_generated_pages_rewrite_the_same_in_chunks(page: bytes, data: st.DataObject) -> None:
    """Foreign content, select and the rest held across chunk boundaries: same bytes."""
    points = data.draw(st.lists(st.integers(1, max(1, len(page) - 1)), max_size=12))
    whole = guarded(lambda: rewrite(page, placeholder=placeholder))
    assert guarded(lambda: rewrite(page, chunks=points, placeholder=placeholder)) == whole
