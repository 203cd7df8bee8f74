"""Proof-of-consent records: write rate per store and the latency they add to a decision.

Decisions are posted to ``POST /_consent`` in-process through ASGI (no server, no
network), each as a new visitor, so every request writes one record:

* records off (the baseline),
* SQLite (a file in a temporary directory),
* PostgreSQL, when a URL is given (``--postgres-url`` or ``CONSENT_BENCH_POSTGRES_URL``).

Reported per store: records/second one request at a time and with ``--concurrency``
requests in flight, and the median and p95 latency of a decision request, with the
difference to records off. Every run checks that all records arrived.
Run: ``python benchmarks/bench_records.py [--quick] [--postgres-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _asgi import http_scope  # benchmarks/ is on sys.path when run as a script
from starlette.applications import Starlette

from consent import ConsentMiddleware, ConsentSettings
from consent.records import Recorder, open_store, recorder_for

SECRET = "benchmark-secret-0123456789abcdef"
BODY = b"action=accept_all&next=%2Fpage"
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def decision_scope() -> dict[str, Any]:
    return http_scope(
        "POST",
        "/_consent",
        [
            (b"origin", b"http://testserver"),
            (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) bench"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        client=("203.0.113.77", 50000),
    )


async def decide(app: ASGIApp) -> None:
    """One decision request; fails loudly unless it was answered 303."""
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(decision_scope(), receive, send)
    if status != [303]:
        raise RuntimeError(f"decision answered {status}")


def build(url: str | None, spool_dir: Path) -> tuple[ConsentMiddleware, Recorder | None]:
    records: dict[str, Any] = {"enabled": False}
    if url is not None:
        records = {"url": url, "spool_dir": str(spool_dir), "timeout_seconds": 2.0}
    settings = ConsentSettings(secret_key=SECRET, records=records)
    middleware = ConsentMiddleware(Starlette(), settings)
    recorder: Recorder | None = getattr(middleware, "recorder", None)
    if recorder is None and url is not None:
        # middleware.py without the records wiring: do what it would do.
        recorder = recorder_for(settings)
        assert recorder is not None
        middleware.endpoints.on_decision.append(recorder.record)
    return middleware, recorder


async def count(url: str) -> int:
    async with open_store(url) as store:
        return await store.count()


async def measure(url: str | None, spool_dir: Path, n: int, concurrency: int) -> dict[str, float]:
    app, recorder = build(url, spool_dir)
    if recorder is not None:
        await recorder.start()
    before = await count(url) if url else 0
    for _ in range(min(50, n)):  # warm up: connections, schema, caches
        await decide(app)

    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        await decide(app)
        latencies.append(time.perf_counter() - t0)
    sequential = n / (time.perf_counter() - started)

    async def worker(share: int) -> None:
        for _ in range(share):
            await decide(app)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    concurrent = (n // concurrency * concurrency) / (time.perf_counter() - started)

    if recorder is not None:
        await recorder.stop()
        spooled = await recorder.spool.count()
        await recorder.spool.close()
        made = min(50, n) + n + n // concurrency * concurrency
        stored = (await count(url) if url else 0) - before
        if stored != made or spooled:
            raise RuntimeError(f"{stored} records stored of {made} ({spooled} still spooled)")
    latencies.sort()
    return {
        "sequential": sequential,
        "concurrent": concurrent,
        "median": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    parser.add_argument("--requests", type=int, help="decisions per measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CONSENT_BENCH_POSTGRES_URL"),
        help="also measure PostgreSQL (records are added to that database)",
    )
    args = parser.parse_args()
    n = args.requests or (300 if args.quick else 2_000)

    async def run(tmp: Path) -> dict[str, dict[str, float]]:
        stores: dict[str, str | None] = {
            "records off": None,
            "sqlite": f"sqlite:///{tmp}/bench.db",
        }
        if args.postgres_url:
            stores["postgresql"] = args.postgres_url
        return {
            name: await measure(url, tmp / f"spool-{index}", n, args.concurrency)
            for index, (name, url) in enumerate(stores.items())
        }

    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(run(Path(tmp)))

    off = results["records off"]
    print(f"{n} decisions per measurement, concurrency {args.concurrency}, in-process ASGI\n")
    header = (
        f"{'store':<12} {'rec/s seq':>10} {'rec/s conc':>11} {'median ms':>10} "
        f"{'p95 ms':>8} {'+median ms':>11} {'+p95 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        unit = "req/s" if name == "records off" else ""
        print(
            f"{name:<12} {r['sequential']:>10.0f} {r['concurrent']:>11.0f} "
            f"{r['median'] * 1e3:>10.3f} {r['p95'] * 1e3:>8.3f} "
            f"{(r['median'] - off['median']) * 1e3:>11.3f} {(r['p95'] - off['p95']) * 1e3:>8.3f}"
            + (f"  ({unit})" if unit else "")
        )


if __name__ == "__main__":
    main()
