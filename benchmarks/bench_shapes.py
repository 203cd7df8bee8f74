"""The rewriter stays linear in every input shape (SPEC section 9): time at 1x, 4x and 16x.

Each shape is a document that stresses one part of the pipeline: deep SVG nesting, unclosed
``<svg>`` in links (the tree's bookkeeping), icon sprites, inline icons and SVG groups never
closed (what the SVG fast path reads in C, and what it must give up on), many
``<noscript>`` (two readings at once), nested ``<template>``, ``<select>``, MathML
integration points, many tags, comments and attributes, one long attribute, and a tag
longer than ``TAG_LIMIT`` streamed in 4 KB chunks.
Every shape ends in (or holds) a tracker so the guarding stays on. Each size is rewritten
once with the decision caches cleared, as one buffer and in 4 KB chunks.

Reported: milliseconds per size and the growth from 4x to 16x the input, which is about 4
for linear work (it says QUADRATIC? past 6). No budget in milliseconds: the budget is the
shape of the curve.

Run: ``python benchmarks/bench_shapes.py [--base N]``.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

from consent.blocking import BlockingRules
from consent.categories import default_categories
from consent.rewriter import BlockingPolicy, HtmlRewriter

GTM = b'<script src="https://www.googletagmanager.com/gtm.js"></script>'
PIXEL = b"https://www.facebook.com/tr"
CHUNK = 4096
SUPERLINEAR = 6.0  # growth from 4x to 16x the input past which a shape is flagged

SHAPES: dict[str, Callable[[int], bytes]] = {
    "nested svg": lambda n: b"<svg>" + b"<g>" * n + GTM + b"</g>" * n + b"</svg>",
    "unclosed svg in links": lambda n: b"<a href=/><svg><path/></a>" * n + GTM,
    # read in C (`lexer.foreign_runs`), and what a run must give up on
    "an icon sprite": lambda n: (
        b"<svg>" + b'<symbol id="i"><g fill="none"><path d="M1 2"/></g></symbol>' * n + GTM
    ),
    "inline icons": lambda n: b'<p><svg class="icon"><use href="#i"></use></svg>' * n + GTM,
    "svg groups never closed": lambda n: b'<svg><g><path d="M1"/>' + b'<g><path d="M1"/>' * n + GTM,
    "nested divs": lambda n: b"<div>" * n + GTM + b"</div>" * n,
    "many tags": lambda n: b"<p>x</p><img src=/a.png>" * n + GTM,
    "many noscripts": lambda n: (b"<noscript><img src=" + PIXEL + b"></noscript>") * n,
    "nested templates": lambda n: b"<template>" * n + GTM + b"</template>" * n,
    "options in a select": lambda n: b"<select>" + b"<option>x" * n + GTM,
    "math annotation-xml": lambda n: b"<math><annotation-xml encoding=text/html>" * n + GTM,
    "many comments": lambda n: b"<!-- c -->" * n + GTM,
    "many attributes": lambda n: b"<img " + b"a=1 " * (n // 4) + b"src=" + PIXEL + b">",
    # longer than TAG_LIMIT at every size: read as a long tag
    "a tag past TAG_LIMIT": lambda n: b"<img " + b"a=1 " * (n * 10) + b"src=" + PIXEL + b">",
    "one long attribute": lambda n: b'<img alt="' + b"x" * (n * 10) + b'" src=' + PIXEL + b">",
}


def rewrite_ms(policy: BlockingPolicy, data: bytes, chunk: int | None) -> float:
    policy.clear()
    gc.collect()
    start = time.perf_counter()
    rewriter = HtmlRewriter(policy, ())
    if chunk is None:
        rewriter.feed(data)
    else:
        for at in range(0, len(data), chunk):
            rewriter.feed(data[at : at + chunk])
    rewriter.close()
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=int, default=2000, help="repetitions at 1x")
    args = parser.parse_args()
    policy = BlockingPolicy(BlockingRules.from_categories(default_categories()))
    sizes = (args.base, args.base * 4, args.base * 16)
    print(f"{'shape':24s} {'feed':>6s} " + " ".join(f"{f'{m}x ms':>14s}" for m in (1, 4, 16)))
    flagged = []
    for name, make in SHAPES.items():
        for chunk in (None, CHUNK):
            cells, times = [], []
            for size in sizes:
                data = make(size)
                ms = rewrite_ms(policy, data, chunk)
                times.append(ms)
                cells.append(f"{ms:7.1f} ({len(data) // 1024:>4d}K)")
            growth = times[2] / max(times[1], 1e-3)
            note = ""
            if growth > SUPERLINEAR and times[2] > 5:
                note = "  QUADRATIC?"
                flagged.append(f"{name} ({'4 KB chunks' if chunk else 'one buffer'})")
            label = "4 KB" if chunk else "whole"
            print(f"{name:24s} {label:>6s} " + " ".join(cells) + f"  x{growth:.1f}{note}")
    print()
    if flagged:
        print("superlinear: " + ", ".join(flagged))
    else:
        print(f"every shape grows at most {SUPERLINEAR:.0f}x from 4x to 16x the input: linear")


if __name__ == "__main__":
    main()
