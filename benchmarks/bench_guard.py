"""What the runtime guard costs per element a script adds, in headless Chromium.

The same page is served twice by one middleware: once rewritten (with the guard in its
``<head>``), once under an ``exclude_paths`` prefix (no guard). In each, a script creates N
*distinct* elements (every URL new, so no cache flatters the guard) and adds them one by
one, timed with ``performance.now()`` up to the end of the observer's callbacks (the
backstop's cost is included). Kinds:

* ``div``: an element that fetches nothing (the hooks' fixed cost);
* ``img data: URL``: an image that fetches from no host (a URL parsed, nothing looked up);
* ``link site``: a ``<link>`` without ``rel`` on a host in no table: the URL parsed and
  looked up in both tables, and nothing fetched (the lookup's cost without network noise);
* ``img site``: an image from a host in no table (a URL parsed and looked up, then let go;
  the fetch itself makes this one noisy);
* ``img tracker``: a Meta pixel, blocked into ``data-consent-src`` (the whole blocking path);
* ``iframe tracker``: a YouTube embed, blocked with its stand-in document;
* ``innerHTML tracker``: markup holding a pixel, parsed in a template and judged first.

Rounds are repeated; the median per element is printed with and without the guard, and
the difference is the guard's cost. Nothing leaves the machine: every host but loopback
resolves nowhere and every request to one is aborted.

Run: ``python benchmarks/bench_guard.py [N] [rounds]`` (defaults 2000 and 7). Needs
Chromium (Debian's ``chromium``, or ``CHROMIUM_PATH``).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path

from playwright.async_api import Page, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentMiddleware

# The browser tests' Chromium set-up and live server, from the repository's root.
sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.browser.conftest import CHROMIUM_ARGS
from tests.support import chromium_path, make_settings, serve_in_thread

PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title></head>'
    '<body><main id="root"></main></body></html>'
)

#: (label, element, how the i-th one gets its URL or markup); ``{i}`` is unique per run.
KINDS = [
    ("div", "div", "el.textContent = 'item {i}'"),
    ("img data: URL", "img", "el.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw={i}'"),
    ("link site", "link", "el.href = 'https://img{i}.example.org/p{i}.css'"),
    ("img site", "img", "el.src = 'https://img{i}.example.org/p{i}.gif'"),
    ("img tracker", "img", "el.src = 'https://www.facebook.com/tr?id={i}'"),
    ("iframe tracker", "iframe", "el.src = 'https://www.youtube.com/embed/v{i}'"),
    (
        "innerHTML tracker",
        "div",
        "el.innerHTML = '<img src=\"https://www.facebook.com/tr?ev={i}\">'",
    ),
]

RUN = """async ([n, tag, body, offset]) => {
  const root = document.getElementById('root');
  root.textContent = '';
  const make = new Function('el', 'i', body.replaceAll('{i}', "' + i + '"));
  const start = performance.now();
  for (let i = offset; i < offset + n; i++) {
    const el = document.createElement(tag);
    make(el, i);
    root.appendChild(el);
  }
  await Promise.resolve(); // the observer's callbacks run first
  return (performance.now() - start) * 1000 / n;
}"""


async def page_view(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


def make_app() -> ConsentMiddleware:
    app = Starlette(routes=[Route("/guarded/", page_view), Route("/plain/", page_view)])
    return ConsentMiddleware(app, settings=make_settings(exclude_paths=["/plain"]))


async def measure(pages: dict[str, Page], tag: str, body: str, n: int, rounds: int) -> list[float]:
    """Median us per element on each page; rounds alternate between the pages, each after
    the previous round's requests have settled, so both meet the same machine."""
    results: dict[str, list[float]] = {name: [] for name in pages}
    for round_ in range(rounds):
        for name, page in pages.items():
            await page.wait_for_timeout(300)  # outside the timed part: earlier fetches end
            results[name].append(await page.evaluate(RUN, [n, tag, body, round_ * n]))
    return [statistics.median(found) for found in results.values()]


async def main(n: int, rounds: int) -> int:
    chromium = chromium_path()
    if chromium is None:
        print("Chromium not found (install Debian's chromium or set CHROMIUM_PATH)")
        return 1
    rules = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    with serve_in_thread(make_app()) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium, args=[*CHROMIUM_ARGS, rules]
            )
            context = await browser.new_context()
            await context.route(lambda url: not url.startswith(base), lambda r: r.abort())
            pages = {}
            for name in ("plain", "guarded"):
                pages[name] = await context.new_page()
                await pages[name].goto(f"{base}/{name}/")
            assert await pages["guarded"].evaluate("!!document.getElementById('consent-guard')")
            assert not await pages["plain"].evaluate("!!document.getElementById('consent-guard')")
            print(f"{n} distinct elements per round, median of {rounds} rounds, us per element")
            print(f"{'kind':<20} {'no guard':>10} {'guard':>10} {'cost':>10}")
            for label, tag, body in KINDS:
                plain, guarded = await measure(pages, tag, body, n, rounds)
                print(f"{label:<20} {plain:>10.2f} {guarded:>10.2f} {guarded - plain:>+10.2f}")
            await browser.close()
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(asyncio.run(main(*args, *(2000, 7)[len(args) :])))
