"""Bytes a visitor downloads for the banner, against other consent managers (SPEC section 6).

Gzips ``banner.js`` and ``banner.css`` as the static endpoint serves them (without
comments and indentation, level 9) and compares their sum with published sizes of peers.
The runtime guard (``guard.js``) counts in the second budget; its host table is data
generated from the configuration, a separate cached asset, reported for the default
configuration. ``gcm.js`` (Google Consent Mode defaults) is reported on its own: it is only
useful on sites with Google tags, and peers leave that to a separate integration.

Budgets: banner JS + CSS at most 5 KB (5120 bytes) gzipped; with the guard at most 7 KB.
Run: ``python benchmarks/bench_banner_size.py``; exits 1 over budget.
"""

from __future__ import annotations

import gzip
import sys

from consent.assets import banner_sources, served_form
from consent.guard import host_table_script
from consent.runtime import blocking_rules_for, names_for
from consent.settings import ConsentSettings

BUDGET_BYTES = 5 * 1024
GUARD_BUDGET_BYTES = 7 * 1024

#: Gzipped JS + CSS of the peers' standard distribution, in KB (1 KB = 1024 bytes).
ANCHORS = (
    ("vanilla-cookieconsent 3.1.0", 15.5),
    ("Osano cookieconsent 3.1.1", 8.1),
    ("Klaro 0.7.22", 69.0),
)


def gzipped_size(name: str) -> tuple[int, int]:
    """Served and gzipped (level 9) size of a shipped banner asset."""
    body = served_form(name, (banner_sources() / name).read_bytes())
    return len(body), len(gzip.compress(body, compresslevel=9, mtime=0))


def host_table_size() -> tuple[int, int]:
    """Size of the guard's host table for the default configuration (built-in trackers)."""
    settings = ConsentSettings(
        _env_file=None,
        secret_key="size benchmark, never signs anything",
        banner={"privacy_policy_url": "/privacy"},
    )
    services, purposes = names_for(settings, strict=False)
    body = host_table_script(blocking_rules_for(settings, purposes, services))
    return len(body), len(gzip.compress(body, compresslevel=9, mtime=0))


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def main() -> int:
    js_raw, js = gzipped_size("banner.js")
    css_raw, css = gzipped_size("banner.css")
    gcm_raw, gcm = gzipped_size("gcm.js")
    guard_raw, guard = gzipped_size("guard.js")
    table_raw, table = host_table_size()
    total = js + css
    rows = [
        ("asgi-consent banner.js", js_raw, js, BUDGET_BYTES),
        ("asgi-consent banner.css", css_raw, css, BUDGET_BYTES),
        ("asgi-consent JS + CSS", js_raw + css_raw, total, BUDGET_BYTES),
        ("asgi-consent guard.js", guard_raw, guard, GUARD_BUDGET_BYTES),
        (
            "asgi-consent JS + CSS + guard",
            js_raw + css_raw + guard_raw,
            total + guard,
            GUARD_BUDGET_BYTES,
        ),
        ("asgi-consent gcm.js (separate)", gcm_raw, gcm, BUDGET_BYTES),
        ("guard host table (separate)", table_raw, table, GUARD_BUDGET_BYTES),
    ]
    print(f"{'asset (as served)':<34} {'raw':>10} {'gzip -9':>10} {'vs budget':>10}")
    for name, raw, packed, budget in rows:
        print(f"{name:<34} {raw:>10,} {packed:>10,} {packed / budget:>9.0%}")
    print()
    print(f"{'peer (gzipped JS + CSS)':<34} {'size':>10} {'ours is':>10}")
    for name, size_kb in ANCHORS:
        size = round(size_kb * 1024)
        print(f"{name:<34} {kb(size):>10} {total / size:>9.0%}")
    print()
    verdict = "within" if total <= BUDGET_BYTES else "OVER"
    print(f"JS + CSS: {total:,} bytes gzipped, {verdict} the {kb(BUDGET_BYTES)} budget")
    within_guard = total + guard <= GUARD_BUDGET_BYTES
    verdict = "within" if within_guard else "OVER"
    print(
        f"JS + CSS + guard: {total + guard:,} bytes gzipped, {verdict} the "
        f"{kb(GUARD_BUDGET_BYTES)} budget"
    )
    return 0 if total <= BUDGET_BYTES and within_guard else 1


if __name__ == "__main__":
    sys.exit(main())
