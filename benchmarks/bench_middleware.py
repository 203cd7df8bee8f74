"""Per-request cost of ConsentMiddleware against Starlette's SessionMiddleware (SPEC section 9).

Three apps answer the same plain-text response, called in-process through ASGI
(no server, no network, so only the middleware differs):

* a bare Starlette app,
* the same app under ``SessionMiddleware`` with a valid session cookie,
* the same app under ``ConsentMiddleware`` with a valid consent cookie.

Budget: the cost we add is at most 1/4 of what SessionMiddleware adds.
Run: ``python benchmarks/bench_middleware.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from _asgi import http_scope  # benchmarks/ is on sys.path when run as a script
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentMiddleware, ConsentSettings

SECRET = "benchmark-secret-0123456789abcdef"
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def bare_app() -> Starlette:
    async def home(request: Request) -> Response:
        return PlainTextResponse("Hello, world")

    async def login(request: Request) -> Response:
        request.session["user"] = "alice"
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", home), Route("/login", login)])


def cookie_from(app: ASGIApp, method: str, path: str, name: str, **kwargs: Any) -> str:
    with TestClient(app, base_url="http://testserver") as client:
        client.request(method, path, **kwargs)
        value = client.cookies.get(name)
    assert value, f"no {name} cookie"
    return f"{name}={value}"


def scope_with(cookie: str | None) -> dict[str, Any]:
    headers = [(b"user-agent", b"bench"), (b"accept", b"*/*")]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return http_scope(headers=headers)


async def per_request_seconds(app: ASGIApp, cookie: str | None, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    template = scope_with(cookie)
    start = time.perf_counter()
    for _ in range(n):
        await app(dict(template), receive, send)
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    args = parser.parse_args()
    n, rounds = (2_000, 3) if args.quick else (20_000, 7)

    bare = bare_app()
    session = SessionMiddleware(bare_app(), secret_key=SECRET)
    settings = ConsentSettings(secret_key=SECRET, records={"enabled": False})
    consent = ConsentMiddleware(bare_app(), settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session_cookie = cookie_from(session, "GET", "/login", "session")
        consent_cookie = cookie_from(
            consent,
            "POST",
            "/_consent",
            "consent",
            json={"action": "save", "categories": ["analytics"]},
        )
    apps: dict[str, tuple[ASGIApp, str | None]] = {
        "bare Starlette": (bare, None),
        "SessionMiddleware": (session, session_cookie),
        "ConsentMiddleware": (consent, consent_cookie),
    }

    async def run() -> dict[str, float]:
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(rounds):  # interleaved, so drift hits every app alike
            for name, (app, cookie) in apps.items():
                samples[name].append(await per_request_seconds(app, cookie, n))
        return {name: statistics.median(values) for name, values in samples.items()}

    medians = asyncio.run(run())
    base = medians["bare Starlette"]
    print(f"{'app':<20} {'us/request':>11} {'added us':>9}")
    for name, seconds in medians.items():
        print(f"{name:<20} {seconds * 1e6:>11.2f} {(seconds - base) * 1e6:>9.2f}")
    session_added = medians["SessionMiddleware"] - base
    consent_added = medians["ConsentMiddleware"] - base
    ratio = consent_added / session_added
    verdict = "meets" if ratio <= 0.25 else "MISSES"
    print(
        f"\nConsentMiddleware adds {ratio:.2f}x what SessionMiddleware adds "
        f"(budget <= 0.25x): {verdict} the budget"
    )


if __name__ == "__main__":
    main()
