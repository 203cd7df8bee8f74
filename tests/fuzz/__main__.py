"""Offline differential run: ``python -m tests.fuzz [--seed N] [--count N] [--out DIR]
[--kind pages|sequences]``.

Generates ``count`` pages with a seeded plain-random generator (``pages``: trackers in odd
contexts; ``sequences``: flat runs of the tags that change a parser's state), checks each
with nothing granted and with everything granted, prints the failure classes with a count
and the shortest example of each, and writes every failing page to ``DIR`` (minimise one
by hand, then add it to tests/fuzz/corpus/ with a first-line comment saying what it
exercises).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from tests.fuzz.generator import random_documents, random_tag_sequences
from tests.fuzz.harness import (
    RewriterHangError,
    blocked_problems,
    failure_class,
    granted_problems,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--out", type=Path, help="directory for failing pages")
    parser.add_argument("--kind", choices=("pages", "sequences"), default="pages")
    args = parser.parse_args(argv)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    classes: Counter[str] = Counter()
    shortest: dict[str, bytes] = {}
    failed = 0
    started = time.monotonic()
    generate = random_documents if args.kind == "pages" else random_tag_sequences
    for index, page in enumerate(generate(args.seed, args.count)):
        problems: list[str] = []
        for check in (blocked_problems, granted_problems):
            try:
                problems += check(page)[1]
            except RewriterHangError as error:
                problems.append(f"hang: {error}")
        if not problems:
            continue
        failed += 1
        for name in {failure_class(p) for p in problems}:
            classes[name] += 1
            if name not in shortest or len(page) < len(shortest[name]):
                shortest[name] = page
        if args.out:
            (args.out / f"seed{args.seed}-{index:05d}.html").write_bytes(page)
    elapsed = time.monotonic() - started
    print(f"{failed} of {args.count} pages failed ({elapsed:.1f} s)")
    for name, count in classes.most_common():
        print(f"{count:6d}  {name}\n        e.g. {shortest[name].decode('utf-8', 'replace')!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
