"""Bytes a visitor downloads for the banner, against other consent managers (SPEC section 6).

Gzips the shipped ``banner.js`` and ``banner.css`` (level 9, as served by the static
endpoint) and compares their sum with published sizes of peers. ``gcm.js`` (Google
Consent Mode defaults) is reported on its own: it is only useful on sites with Google
tags, and peers leave that to a separate integration.

Budget: banner JS + CSS together at most 5 KB (5120 bytes) gzipped.
Run: ``python benchmarks/bench_banner_size.py``; exits 1 over budget.
"""

from __future__ import annotations

import gzip
import sys
from importlib import resources

BUDGET_BYTES = 5 * 1024

#: Gzipped JS + CSS of the peers' standard distribution, in KB (1 KB = 1024 bytes).
ANCHORS = (
    ("vanilla-cookieconsent 3.1.0", 15.5),
    ("Osano cookieconsent 3.1.1", 8.1),
    ("Klaro 0.7.22", 69.0),
)


def gzipped_size(name: str) -> tuple[int, int]:
    """Raw and gzipped (level 9) size of a shipped banner asset."""
    body = (resources.files("consent") / "static" / "banner" / name).read_bytes()
    return len(body), len(gzip.compress(body, compresslevel=9, mtime=0))


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def main() -> int:
    js_raw, js = gzipped_size("banner.js")
    css_raw, css = gzipped_size("banner.css")
    gcm_raw, gcm = gzipped_size("gcm.js")
    total = js + css
    rows = [
        ("asgi-consent banner.js", js_raw, js),
        ("asgi-consent banner.css", css_raw, css),
        ("asgi-consent JS + CSS", js_raw + css_raw, total),
        ("asgi-consent gcm.js (separate)", gcm_raw, gcm),
    ]
    print(f"{'asset':<34} {'raw':>10} {'gzip -9':>10} {'vs budget':>10}")
    for name, raw, packed in rows:
        print(f"{name:<34} {raw:>10,} {packed:>10,} {packed / BUDGET_BYTES:>9.0%}")
    print()
    print(f"{'peer (gzipped JS + CSS)':<34} {'size':>10} {'ours is':>10}")
    for name, size_kb in ANCHORS:
        size = round(size_kb * 1024)
        print(f"{name:<34} {kb(size):>10} {total / size:>9.0%}")
    print()
    verdict = "within" if total <= BUDGET_BYTES else "OVER"
    print(f"JS + CSS: {total:,} bytes gzipped, {verdict} the {kb(BUDGET_BYTES)} budget")
    return 0 if total <= BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
