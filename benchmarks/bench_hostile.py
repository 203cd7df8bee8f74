"""Hostile input stays cheap (SPEC sections 8 and 9): cookie floods and gzip bombs.

In-process through ASGI (no server), the whole middleware in front of a bare app:

1. **Cookie floods.** Requests whose ``Cookie`` header holds 1, 100, 1,000 and 6,000 names,
   tracker-like (``_ga_<n>``, analytics: each one is judged and, undecided, expired),
   unknown (``c<n>``, the same names on every request) or unknown and new on every request
   (no name is ever looked up twice: what a flood of made-up names costs). Every request's
   header is distinct (a counter in one value), so the per-header cache never flatters the
   figure. Reported: time per request, time per KB of
   header actually read, and the ``Set-Cookie`` headers the response carries.
2. **A gzip bomb.** An HTML page of ``--bomb-gb`` GB (default 2) of markup, gzip-compressed
   by the app into a few MB and sent as one body message, with a tracker at the very end.
   Reported: peak resident memory growth of the process while it streams through (the
   kernel's high-water mark, reset first), the longest event-loop stall seen by a task that
   wakes every millisecond, and the wall time. (That the tracker at the end comes out
   blocked is a test: ``tests/test_responder.py``.)

Budgets: request cost linear in the header size and bounded by ``max_cookie_header_bytes``;
at most 16 cookies expired per response; bomb: peak growth under 64 MB, no stall over 100 ms.

Run: ``python benchmarks/bench_hostile.py [--quick] [--bomb-gb N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

from consent import ConsentMiddleware, ConsentSettings

sys.path.insert(0, str(Path(__file__).parent))
from _asgi import http_scope

SECRET = "benchmark-secret-0123456789abcdef"
TRACKER = b'<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'


# -- cookie floods ------------------------------------------------------------------------


async def text_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def cookie_header(names: int, kind: str, serial: int) -> bytes:
    prefix = {"tracker-like": "_ga_", "unknown": "c", "unknown, new": f"c{serial}x"}[kind]
    parts = [f"{prefix}{i}=v" for i in range(names)]
    parts[0] = f"{prefix}0=v{serial}"  # distinct per request: no cache hit
    return "; ".join(parts).encode()


async def flood_row(
    app: Any, names: int, kind: str, n: int, first: int
) -> tuple[float, int, int, int]:
    set_cookies: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            values = [v for k, v in message["headers"] if k.lower() == b"set-cookie"]
            set_cookies[:] = [len(values), sum(len(v) for v in values)]

    headers = [cookie_header(names, kind, serial) for serial in range(first, first + n)]
    start = time.perf_counter()
    for header in headers:
        await app(http_scope(headers=[(b"cookie", header)]), receive, send)
    seconds = (time.perf_counter() - start) / n
    return seconds, len(headers[0]), set_cookies[0], set_cookies[1]


async def floods(quick: bool) -> None:
    settings = ConsentSettings(secret_key=SECRET, records={"enabled": False})
    app = ConsentMiddleware(text_app, settings)
    limit = settings.max_cookie_header_bytes
    print(f"Cookie floods (max_cookie_header_bytes={limit}):")
    print(
        f"{'names':>6} {'kind':<13} {'header':>9} {'read':>7} {'us/req':>8} {'us/KB read':>10} "
        f"{'Set-Cookie':>10} {'bytes':>6}"
    )
    for kind in ("tracker-like", "unknown", "unknown, new"):
        for names in (1, 100, 1000, 6000):
            n = 30 if quick else max(40, 20_000 // names)
            rounds = range(3 if quick else 5)
            samples = [await flood_row(app, names, kind, n, n * r) for r in rounds]
            seconds = statistics.median(s[0] for s in samples)
            _, size, count, total = samples[0]
            read = min(size, limit)
            print(
                f"{names:>6} {kind:<13} {size:>9} {read:>7} {seconds * 1e6:>8.1f} "
                f"{seconds * 1e6 / (read / 1024):>10.1f} {count:>10} {total:>6}"
            )


# -- gzip bomb ----------------------------------------------------------------------------


def bomb(gigabytes: float) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"<p>x</p>" * (1 << 17)  # 1 MB of markup
    parts = [compressor.compress(b"<!DOCTYPE html><html><head></head><body>")]
    parts += [compressor.compress(block) for _ in range(int(gigabytes * 1024))]
    parts.append(compressor.compress(TRACKER + b"</body></html>") + compressor.flush())
    return b"".join(parts)


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


async def gzip_bomb(gigabytes: float) -> None:
    body = bomb(gigabytes)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-encoding", b"gzip"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    middleware = ConsentMiddleware(
        app, ConsentSettings(secret_key=SECRET, records={"enabled": False})
    )
    out = {"compressed": 0}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            out["compressed"] += len(message["body"])

    stall = {"max": 0.0, "done": False}

    async def watchdog() -> None:
        last = time.perf_counter()
        while not stall["done"]:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall["max"] = max(stall["max"], now - last - 0.001)
            last = now

    with open("/proc/self/clear_refs", "w") as refs:  # noqa: ASYNC230 - before the clock starts
        refs.write("5")  # reset the peak-RSS high-water mark
    baseline = rss_kb("VmRSS")
    watcher = asyncio.create_task(watchdog())
    start = time.perf_counter()
    await middleware(http_scope(), receive, send)
    elapsed = time.perf_counter() - start
    stall["done"] = True
    await watcher
    peak = rss_kb("VmHWM")
    print(
        f"\nGzip bomb: {gigabytes:g} GB of HTML in a {len(body) / 1e6:.1f} MB gzip body, "
        f"one message:\n"
        f"  peak memory growth {(peak - baseline) / 1024:.1f} MB (budget < 64 MB); "
        f"longest event-loop stall {stall['max'] * 1000:.1f} ms (budget < 100 ms); "
        f"{elapsed:.1f} s in all; {out['compressed'] / 1e6:.1f} MB re-encoded out"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, a smaller bomb")
    parser.add_argument("--bomb-gb", type=float, default=2.0, help="decoded size of the bomb")
    args = parser.parse_args()
    asyncio.run(floods(args.quick))
    asyncio.run(gzip_bomb(0.1 if args.quick else args.bomb_gb))


if __name__ == "__main__":
    main()
