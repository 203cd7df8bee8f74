"""HTML responses through ASGI: ConsentMiddleware against a naive buffering middleware.

Side by side in one run, in-process (no server), for the ~100 KB article page of
``bench_rewriter.py`` sent in 4 KB body chunks:

* the bare app,
* a naive ``BaseHTTPMiddleware`` that buffers the whole body, decodes it, does one
  ``str.replace`` to add a banner before ``</body>`` and re-encodes it (and blocks nothing),
* ``ConsentMiddleware`` (blocks trackers, injects banner, Consent Mode, assets).

Budget (SPEC section 9): ConsentMiddleware at least 1.5x faster than the naive one.
Also measured: peak memory growth while a 50 MB HTML response streams through the
middleware (budget: under 5 MB), with ``tracemalloc``.

Run: ``python benchmarks/bench_html.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from consent import ConsentMiddleware, ConsentSettings

sys.path.insert(0, str(Path(__file__).parent))
from _asgi import ASGIApp, fetch
from bench_rewriter import article_page

PAGE = article_page()
CHUNK = 4096
BANNER = '<div id="naive-banner"><button>Accept</button><button>Reject</button></div>'


async def page_body() -> AsyncIterator[bytes]:
    for start in range(0, len(PAGE), CHUNK):
        yield PAGE[start : start + CHUNK]


async def article(request: Request) -> Response:
    return StreamingResponse(page_body(), media_type="text/html; charset=utf-8")


def site() -> Starlette:
    return Starlette(routes=[Route("/", article)])


class NaiveBanner(BaseHTTPMiddleware):
    """What many apps do: buffer the body and paste a banner in (blocks nothing)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        text = body.decode("utf-8").replace("</body>", BANNER + "</body>")
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        return Response(text.encode("utf-8"), response.status_code, headers=headers)


async def per_request(app: ASGIApp, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await fetch(app)
    return (time.perf_counter() - start) / n


async def stream_memory(app: ASGIApp, total: int) -> tuple[int, int]:
    """Peak traced memory growth while ``total`` bytes of HTML stream through ``app``."""
    chunk = (b"<p>" + b"Lorem ipsum dolor sit amet. " * 40 + b"</p>\n") * 50
    head = b"<!DOCTYPE html><html><head><title>Big</title></head><body>"

    async def big_body() -> AsyncIterator[bytes]:
        yield head
        sent = len(head)
        while sent < total:
            yield chunk
            sent += len(chunk)
        yield b"</body></html>"

    async def big(request: Request) -> Response:
        return StreamingResponse(big_body(), media_type="text/html")

    wrapped = ConsentMiddleware(
        Starlette(routes=[Route("/", big)]),
        settings=app.settings,  # type: ignore[attr-defined]
    )
    await fetch(wrapped)  # warm caches before measuring
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    received = await fetch(wrapped)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return received, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, smaller stream")
    args = parser.parse_args()
    n, rounds, stream_total = (50, 3, 5 * 1024 * 1024) if args.quick else (300, 7, 50 * 1024 * 1024)

    settings = ConsentSettings(
        secret_key="benchmark-secret-0123456789abcdef", records={"enabled": False}
    )
    apps: dict[str, ASGIApp] = {
        "bare app": site(),
        "naive BaseHTTPMiddleware": NaiveBanner(site()),
        "ConsentMiddleware": ConsentMiddleware(site(), settings),
    }

    async def run() -> tuple[dict[str, float], tuple[int, int]]:
        for app in apps.values():
            await fetch(app)
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(rounds):
            for name, app in apps.items():
                samples[name].append(await per_request(app, n))
        medians = {name: statistics.median(values) for name, values in samples.items()}
        return medians, await stream_memory(apps["ConsentMiddleware"], stream_total)

    medians, (streamed, peak) = asyncio.run(run())
    print(f"page: {len(PAGE) / 1024:.1f} KB in {CHUNK} byte chunks")
    print(f"{'app':<26} {'ms/request':>10}")
    for name, seconds in medians.items():
        print(f"{name:<26} {seconds * 1e3:>10.3f}")
    speedup = medians["naive BaseHTTPMiddleware"] / medians["ConsentMiddleware"]
    verdict = "meets" if speedup >= 1.5 else "MISSES"
    print(
        f"\nConsentMiddleware is {speedup:.2f}x faster than the naive middleware "
        f"(budget >= 1.5x): {verdict} the budget"
    )
    mb = peak / 1024 / 1024
    verdict = "meets" if mb < 5 else "MISSES"
    print(
        f"streamed {streamed / 1024 / 1024:.1f} MB through ConsentMiddleware: peak memory "
        f"growth {mb:.2f} MB (budget < 5 MB): {verdict} the budget"
    )


if __name__ == "__main__":
    main()
