"""Run a page through the rewriter and the oracle; shared by the tests and the offline run."""

from __future__ import annotations

import signal
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tests._html import ALL_OPTIONAL, RULES, placeholder, rewrite, rewrite_with
from tests.fuzz.oracle import READINGS, SCANNERS, Fetch, Trackers, decode, differences, fetches

NOTHING_GRANTED = Trackers(RULES, frozenset())
#: A rewrite of these small pages takes milliseconds; one that takes this long never ends.
REWRITE_SECONDS = 1.0
T = TypeVar("T")


class RewriterHangError(AssertionError):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise `RewriterHangError` after ``seconds`` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise RewriterHangError(f"the rewriter did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def guarded(call: Callable[[], T]) -> T:
    """``call()``, failing (instead of hanging the run) if it does not return in time."""
    with _deadline(REWRITE_SECONDS):
        return call()


def blocked_problems(page: bytes) -> tuple[bytes, list[str]]:
    """Rewrite ``page`` with nothing granted; what the oracle finds wrong with the output.

    Where the rewriter read foreign content two ways (`Tokenizer.doubted`: ``<a><svg></a>``
    closes the SVG only when a link is open, which a token stream cannot know), a tag it
    neutralised may be text to a browser: that over-blocking is the price of failing closed
    and is tolerated. Everything else (a load, an escape, a changed tree) still fails.
    """
    out, rewriter = guarded(lambda: rewrite_with(page, placeholder=placeholder))
    problems = grouped(fetches(decode(out), NOTHING_GRANTED))
    changes = differences(page, out, NOTHING_GRANTED, placeholder, doubted=rewriter.doubted)
    if rewriter.doubted:
        changes = [c for c in changes if not _fail_closed_cost(c)]
    problems += ["changed: " + d for d in changes]
    return out, problems


#: What reading foreign content both ways may cost a page (see `blocked_problems`).
_FAIL_CLOSED_COSTS = ("text rewritten in every reading", "markup escaped in every reading")


def _fail_closed_cost(change: str) -> bool:
    """Whether a change is the price of a page read two ways: text or escapes (above), or
    a script judged by text that another reading reads as markup (an SVG script there)."""
    if change.startswith(_FAIL_CLOSED_COSTS):
        return True
    return "script>: neutralised without a tracker" in change


def granted_problems(page: bytes) -> tuple[bytes, list[str]]:
    """Everything granted, no injection configured: the output must be the input."""
    out = guarded(lambda: rewrite(page, ALL_OPTIONAL))
    return out, [] if out == page else ["everything granted, yet the page changed"]


def grouped(found: list[Fetch]) -> list[str]:
    """One line per element and URL, naming the readings in which it loads."""
    readings: dict[str, list[str]] = defaultdict(list)
    scanners = {s.name for s in SCANNERS}
    in_tree = {f.url for f in found if f.reading not in scanners}
    for fetch in found:
        if fetch.reading in scanners and fetch.url in in_tree:
            continue  # the tree readings already name this URL
        key = f"loads: {fetch.element} {fetch.attribute}={fetch.url!r} ({fetch.category})"
        readings[key].append(fetch.reading)
    lines = []
    for key, names in readings.items():
        kinds = len(SCANNERS) if set(names) <= scanners else len(READINGS)
        where = "every reading" if len(set(names)) >= kinds else "; ".join(sorted(set(names)))
        lines.append(f"{key} in {where}")
    return lines


def report(page: bytes, out: bytes, problems: list[str], limit: int = 1500) -> str:
    lines = [f"page:      {decode(page)[:limit]!r}", f"rewritten: {decode(out)[:limit]!r}"]
    lines += problems
    return "\n".join(lines)


def failure_class(problem: str) -> str:
    """A short name for a kind of problem, to count them (``python -m tests.fuzz``)."""
    if problem.startswith("loads: "):
        element, attribute = problem[len("loads: ") :].split("=", 1)[0].rsplit(" ", 1)
        where = problem.rsplit(" in ", 1)[1]
        some = "" if where == "every reading" else " (some readings)"
        return f"loads: {element} {attribute}{some}"
    if problem.startswith("changed: "):
        detail = problem[len("changed: ") :]
        markers = (
            "text rewritten in every reading",
            "markup escaped in every reading",
            "neutralised without a tracker",
            "renames nothing",
            "attributes differ",
        )
        for marker in markers:
            if marker in detail:
                return f"changed: {marker}"
        return "changed: tree structure or text"
    return problem.split(":", 1)[0]
