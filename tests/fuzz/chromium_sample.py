"""A sample of generated pages in headless Chromium: what it loads, and the tree it builds.

`observe` serves pages from a live uvicorn server on loopback and loads each in Chromium with
JavaScript on and then off. Every request to a non-loopback host is recorded and answered with
an empty 200 (nothing leaves the machine); the DOM is serialised in the form `oracle_tree`
gives html5lib's trees, so the oracle's readings can be checked against a real browser.

Chromium 156 (Debian) builds ``<select>`` content as body content (customizable select), so its
trees match the oracle's Chromium readings: scripting on with JavaScript on, scripting off with
it off. The launch recipe is the one of tests/browser (system Chromium,
never ``playwright install``).
"""

from __future__ import annotations

import asyncio
import threading
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Route, async_playwright

from tests.browser.conftest import CHROMIUM_ARGS
from tests.fuzz.generator import random_documents
from tests.fuzz.oracle import READINGS, Reading, Trackers, decode, fetches, name_of, parse
from tests.support import serve_in_thread

LOOPBACK = "http://127.0.0.1:"
SETTLE_MS = 150  # after "load": late preloads, prefetches and frames

# The two readings Chromium makes: JavaScript on or off, customizable select.
CHROMIUM_READINGS = {
    True: next(r for r in READINGS if r.chromium and r.scripting),
    False: next(r for r in READINGS if r.chromium and not r.scripting),
}

Node = tuple[Any, ...]


@dataclass
class Visit:
    path: str
    javascript: bool
    requests: list[str] = field(default_factory=list)  # non-loopback URLs, in order
    tree: list[Node] = field(default_factory=list)


def sample(trackers: Trackers, count: int = 20, seed: int = 2026) -> list[bytes]:
    """``count`` generated pages that, as written, load a tracker in a Chromium reading."""
    chosen: list[bytes] = []
    for page in random_documents(seed, count * 10):
        found = fetches(decode(page), trackers, everything=True)
        readings = {r.name for r in CHROMIUM_READINGS.values()}
        if any(f.reading in readings for f in found) and "shadowrootmode" not in decode(page):
            chosen.append(page)
            if len(chosen) == count:
                break
    return chosen


@contextmanager
def serve(pages: Mapping[str, bytes]) -> Iterator[str]:
    """Serve ``pages`` (path -> HTML) on a free loopback port; yields the base URL."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = pages.get(scope["path"])
        status = 200 if body is not None else 404
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body or b""})

    with serve_in_thread(app) as base:
        yield base


_SERIALISE = """() => {
  const out = [];
  const walk = (node, depth) => {
    for (const child of node.childNodes) {
      if (child.nodeType === 1) {
        const attrs = [...child.attributes]
          .map(a => [(a.namespaceURI ? a.namespaceURI + " " : "") + a.localName, a.value])
          .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        out.push(["element", depth, child.namespaceURI + " " + child.localName, attrs]);
        if (child.localName === "template" && child.content) walk(child.content, depth + 1);
        else walk(child, depth + 1);
      } else if (child.nodeType === 3) {
        const last = out[out.length - 1];
        if (last && last[0] === "text" && last[1] === depth) last[2] += child.data;
        else out.push(["text", depth, child.data]);
      } else if (child.nodeType === 8) out.push(["comment", depth, child.data]);
      else if (child.nodeType === 10) out.push(["doctype", depth, child.name]);
    }
  };
  walk(document, 0);
  return out;
}"""


def oracle_tree(text: str, reading: Reading) -> list[Node]:
    """html5lib's tree of ``text`` in ``reading``, serialised as `_SERIALISE` does the DOM."""
    out: list[Node] = []

    def add_text(value: str | None, depth: int) -> None:
        if not value:
            return
        if out and out[-1][0] == "text" and out[-1][1] == depth:
            out[-1] = ("text", depth, out[-1][2] + value)
        else:
            out.append(("text", depth, value))

    def walk(element: ET.Element, depth: int) -> None:
        add_text(element.text, depth)
        for child in element:
            if child.tag is ET.Comment:  # type: ignore[comparison-overlap]
                out.append(("comment", depth, child.text or ""))
            elif child.tag == "<!DOCTYPE>":
                out.append(("doctype", depth, child.text or ""))
            else:
                namespace, local = name_of(child.tag)
                attrs = sorted([" ".join(name_of(k)).strip(), v] for k, v in child.attrib.items())
                out.append(("element", depth, f"{namespace} {local}", attrs))
                walk(child, depth + 1)
            add_text(child.tail, depth)

    walk(parse(text, reading), 0)
    return out


def _router(current: list[Visit]) -> Callable[[Route], Awaitable[None]]:
    """Loopback goes to the server; anything else is recorded and answered empty."""

    async def answer(route: Route) -> None:
        url = route.request.url
        if url.startswith(LOOPBACK):
            await route.continue_()
            return
        if current:
            current[-1].requests.append(url)
        await route.fulfill(status=200, body="")

    return answer


async def _visit_all(chromium: str, base: str, paths: list[str]) -> list[Visit]:
    visits: list[Visit] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for javascript in (True, False):
                context = await browser.new_context(java_script_enabled=javascript)
                current: list[Visit] = []
                await context.route("**/*", _router(current))
                page = await context.new_page()  # one tab: a navigation cancels what is left
                for path in paths:
                    visit = Visit(path, javascript)
                    current.append(visit)
                    await page.goto(base + path, wait_until="load", timeout=15_000)
                    await page.wait_for_timeout(SETTLE_MS)
                    visit.tree = [tuple(node) for node in await page.evaluate(_SERIALISE)]
                    visits.append(visit)
                await context.close()
        finally:
            await browser.close()
    return visits


def observe(chromium: str, pages: Mapping[str, bytes]) -> list[Visit]:
    """Load every page with JavaScript on, then off; what Chromium requested and built."""
    result: list[list[Visit]] = []
    errors: list[BaseException] = []

    def run(base: str) -> None:  # its own thread and event loop, whatever the caller runs
        try:
            result.append(asyncio.run(_visit_all(chromium, base, list(pages))))
        except BaseException as error:  # handed to the caller below
            errors.append(error)

    with serve(pages) as base:
        thread = threading.Thread(target=run, args=(base,))
        thread.start()
        thread.join()
    if errors:
        raise errors[0]
    return result[0]


def calibrate(chromium: str, seed: int, count: int) -> list[str]:
    """Generated pages, unrewritten, in Chromium: where the oracle disagrees with it.

    For each visit: Chromium's DOM must be the oracle's tree in the matching reading (pages
    with declarative shadow roots aside: the DOM moves them out of the tree), and every
    tracker host Chromium contacted must be one the oracle flags in that reading or in the
    preload scanner's. ``python -m tests.fuzz.chromium_sample --seed 15 --count 400``.
    """
    from tests.fuzz.harness import NOTHING_GRANTED
    from tests.fuzz.oracle import SCANNERS, url_target

    pages = {f"/p/{index}": page for index, page in enumerate(random_documents(seed, count))}
    problems = []
    for visit in observe(chromium, pages):
        text = decode(pages[visit.path])
        reading = CHROMIUM_READINGS[visit.javascript]
        scanner = next(s for s in SCANNERS if s.scripting is visit.javascript)
        if "shadowrootmode" not in text and visit.tree != oracle_tree(text, reading):
            problems.append(f"tree differs: {visit.path} ({reading}) {text!r}")
        flagged = {
            target[0]
            for found in fetches(text, NOTHING_GRANTED, everything=True)
            if found.reading in (reading.name, scanner.name) and (target := url_target(found.url))
        }
        hosts = {
            target[0]
            for url in visit.requests
            if NOTHING_GRANTED.category(url) and (target := url_target(url))
        }
        if hosts - flagged:
            problems.append(f"not flagged {sorted(hosts - flagged)}: {visit.path} {text!r}")
    return problems


if __name__ == "__main__":
    import argparse

    from tests.support import chromium_path

    parser = argparse.ArgumentParser(description=calibrate.__doc__)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    found = calibrate(chromium_path() or "/usr/bin/chromium", args.seed, args.count)
    print("\n".join(found) or "the oracle agrees with Chromium on every visit")
