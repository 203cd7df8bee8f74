"""The browser side of ``consent audit``: crawl a running site, visit each page three times.

Every visit gets a fresh Chromium context (no cookies, no storage, no cache), so the
three states cannot leak into each other: *before* (a first-time visitor), *rejected*
(clicks *Reject all*, then loads the page again) and *accepted* (clicks *Accept all*,
then loads it again). The decision is made with our own controls, as a visitor makes it:
the banner's button when it is on the first layer, else the preferences page's.

Pages are fetched one at a time and ``robots.txt`` is honoured, so auditing a production
site is no heavier than one careful visitor. The crawl stays on the start URL's site and
stops at a number of pages and a total time, whichever comes first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import shutil
import time
import urllib.robotparser
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

from publicsuffixlist import PublicSuffixList

from consent.audit.classify import Classifier
from consent.audit.model import (
    OUT_OF_TIME,
    AuditReport,
    BannerView,
    CookieSeen,
    PageAudit,
    RequestSeen,
    State,
    StateView,
    StorageSeen,
)
from consent.audit.violations import judge
from consent.settings import ConsentSettings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Route

__all__ = ["CHROMIUM_ARGS", "AuditOptions", "SetupError", "audit_site", "find_chromium"]

#: Headless flags that work with Debian's Chromium (no sandbox in containers, no QUIC,
#: no background traffic of the browser's own that would look like the site's).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ROBOTS_AGENT = "consent-audit"
#: How long a page may keep the network busy after ``load`` before we look anyway
#: (long polling and analytics beacons never go idle).
_SETTLE_SECONDS = 5.0
#: Answers for third-party requests in offline mode: empty, of a type the element accepts.
_STUB_TYPES = {
    "script": "application/javascript",
    "stylesheet": "text/css",
    "document": "text/html",
    "image": "image/gif",
}
_STORAGE_KEYS = """() => {
  const keys = [];
  for (const area of ["localStorage", "sessionStorage"]) {
    try {
      const store = window[area];
      for (let i = 0; i < store.length; i++) keys.push([area, store.key(i)]);
    } catch (e) {}  // opaque origins and disabled storage throw
  }
  return keys;
}"""
_BANNER = "#consent-banner"
#: Where a button's form posts. Not ``form.action``: buttons named "action" shadow it.
_FORM_ACTION = """b => b.form
  ? new URL(b.form.getAttribute("action") || "", document.baseURI).href
  : "" """


class SetupError(Exception):
    """The audit could not start (Playwright or Chromium missing, site unreachable)."""


class _NotObservedError(Exception):
    """One visit could not be made; the others still count."""


@dataclass(frozen=True)
class AuditOptions:
    """Limits and switches. ``offline`` answers every third-party request with an empty
    200 inside the browser (still recorded as attempted): for tests and for CI jobs
    that must not reach the internet."""

    max_pages: int = 10
    max_seconds: float = 300.0
    offline: bool = False
    robots: bool = True
    chromium: str | None = None
    navigation_timeout: float = 30.0


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium to drive: ``explicit``, ``CHROMIUM_PATH``, else the system's."""
    if explicit:
        if not Path(explicit).is_file():
            raise SetupError(f"Chromium not found at {explicit}")
        return explicit
    candidates = [
        os.environ.get("CHROMIUM_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise SetupError("Chromium not found: install it (apt install chromium) or set CHROMIUM_PATH")


def audit_site(
    start_urls: Sequence[str],
    settings: ConsentSettings,
    options: AuditOptions | None = None,
    *,
    settings_source: str = "defaults",
) -> AuditReport:
    """Crawl from ``start_urls`` (the first one names the site) and judge every page."""
    options = options or AuditOptions()
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise SetupError(
            "consent audit needs Playwright: pip install 'asgi-consent[audit]'"
        ) from None
    if not start_urls:
        raise SetupError("no URL to audit")
    site = _Site(start_urls[0])
    for url in start_urls:
        if not site.contains(url):
            raise SetupError(f"{url} is not on the site of {start_urls[0]} (http(s) URLs only)")
    chromium = find_chromium(options.chromium)
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = _Clock(options.max_seconds)
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        except Error as exc:
            raise SetupError(f"Chromium at {chromium} did not start: {_first_line(exc)}") from None
        try:
            auditor = _Auditor(browser, site, Classifier(settings), settings, options, clock)
            robots = _Robots(playwright, options.robots, clock)
            pages, truncated, notes = _crawl(start_urls, site, auditor, robots, options, clock)
        finally:
            browser.close()
    if pages and all(page.skipped and page.status is None for page in pages):
        raise SetupError(f"could not load {pages[0].url}: {pages[0].skipped}")
    return AuditReport(
        site=start_urls[0],
        started_at=started_at,
        duration_seconds=round(clock.elapsed(), 2),
        settings_source=settings_source,
        max_pages=options.max_pages,
        max_seconds=options.max_seconds,
        offline=options.offline,
        pages=tuple(pages),
        truncated=truncated,
        notes=tuple(notes),
    )


def _crawl(
    start_urls: Sequence[str],
    site: _Site,
    auditor: _Auditor,
    robots: _Robots,
    options: AuditOptions,
    clock: _Clock,
) -> tuple[list[PageAudit], str | None, list[str]]:
    """Breadth first from the start URLs, one page at a time."""
    queue = deque(dict.fromkeys(_clean(url) for url in start_urls))
    seen = set(queue)
    pages: list[PageAudit] = []
    notes: list[str] = []
    while queue:
        if len(pages) >= options.max_pages:
            return pages, "pages", notes
        if clock.spent():
            return pages, "time", notes
        url = queue.popleft()
        if not robots.allowed(url):
            notes.append(f"robots.txt disallows {url} for {ROBOTS_AGENT}: not visited")
            continue
        page, links = auditor.audit(url)
        pages.append(judge(page))
        for link in links:
            cleaned = _clean(link)
            if cleaned not in seen and site.contains(cleaned) and not auditor.is_ours(cleaned):
                seen.add(cleaned)
                queue.append(cleaned)
    return pages, ("time" if clock.spent() else None), notes


class _Auditor:
    """Makes the three visits of one page."""

    def __init__(
        self,
        browser: Browser,
        site: _Site,
        classifier: Classifier,
        settings: ConsentSettings,
        options: AuditOptions,
        clock: _Clock,
    ) -> None:
        self._browser = browser
        self._site = site
        self._classifier = classifier
        self._options = options
        self._clock = clock
        self._consent_path = settings.path.rstrip("/")

    def is_ours(self, url: str) -> bool:
        """Whether ``url`` is one of the middleware's own endpoints (not the site's pages)."""
        path = urlsplit(url).path
        return path == self._consent_path or path.startswith(self._consent_path + "/")

    def audit(self, url: str) -> tuple[PageAudit, list[str]]:
        """The page's audit (not yet judged) and the links found on its first visit."""
        banner = BannerView(shown=False)
        try:
            with self._visit() as (page, requests):
                response = page.goto(url, wait_until="load")
                self._settle(page)
                status = response.status if response is not None else None
                kind = (response.headers.get("content-type", "") if response else "").lower()
                if "html" not in kind:
                    return PageAudit(url, status, banner, skipped=f"not HTML ({kind})"), []
                if not self._site.contains(page.url):
                    return PageAudit(url, status, banner, skipped=f"left the site ({page.url})"), []
                banner = _banner(page)
                links: list[str] = page.eval_on_selector_all(
                    "a[href]", "links => links.map(a => a.href)"
                )
                states = [self._observe(page, "before", requests)]
        except _NotObservedError as exc:
            return PageAudit(url, None, banner, skipped=str(exc)), []
        decisions: tuple[tuple[State, str], ...] = (
            ("rejected", "reject_all"),
            ("accepted", "accept_all"),
        )
        for state, action in decisions:
            states.append(self._decided(url, state, action))
        return PageAudit(url, status, banner, states=tuple(states)), links

    def _decided(self, url: str, state: State, action: str) -> StateView:
        """A fresh visitor who chooses ``action`` on ``url``, then loads ``url`` again."""
        try:
            with self._visit() as (page, requests):
                page.goto(url, wait_until="load")
                self._settle(page)
                via = self._choose(page, action, requests)
                page.goto(url, wait_until="load")
                self._settle(page)
                view = self._observe(page, state, requests)
                return dataclasses.replace(view, decided_via=via)
        except _NotObservedError as exc:
            return StateView(state, error=str(exc))

    def _choose(self, page: Page, action: str, requests: list[tuple[str, str]]) -> str:
        """Click ``action`` like a visitor; forget the requests made before the click."""
        button = page.locator(f'{_BANNER} button[name="action"][value="{action}"]').first
        via = "banner"
        if not (button.count() and button.is_visible()):
            # No first-layer button (no banner, or the opt-out notice): the preferences
            # page has both, and works without JavaScript.
            page.goto(urljoin(page.url, self._consent_path + "/preferences"), wait_until="load")
            button = page.locator(f'form button[name="action"][value="{action}"]').first
            via = "preferences page"
            if not button.count():
                raise _NotObservedError(f"no {action} button on the banner or the preferences page")
        endpoint = urldefrag(str(button.evaluate(_FORM_ACTION)))[0]
        del requests[:]
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.split("?")[0] == endpoint
        ) as answer:
            button.click()
        if answer.value.status >= 400:
            raise _NotObservedError(f"{action} was answered with {answer.value.status}")
        self._settle(page)
        return via

    def _observe(self, page: Page, state: State, requests: list[tuple[str, str]]) -> StateView:
        now = time.time()
        cookies = []
        for cookie in page.context.cookies():
            category, service = self._classifier.cookie(cookie["name"])
            expires = cookie["expires"]
            cookies.append(
                CookieSeen(
                    name=cookie["name"],
                    domain=cookie["domain"],
                    lifetime_seconds=None if expires < 0 else max(0, round(expires - now)),
                    category=category,
                    necessary=category == self._classifier.required,
                    service=service,
                )
            )
        storage = []
        keys: list[list[str]] = page.evaluate(_STORAGE_KEYS)
        for area, key in keys:
            category = self._classifier.storage(key)
            storage.append(
                StorageSeen(
                    area="localStorage" if area == "localStorage" else "sessionStorage",
                    key=key,
                    category=category,
                    necessary=category == self._classifier.required,
                )
            )
        seen = []
        for url, resource_type in dict.fromkeys(requests):
            category, service = self._classifier.url(url)
            seen.append(
                RequestSeen(
                    url=url,
                    host=urlsplit(url).hostname or "",
                    resource_type=resource_type,
                    category=category,
                    necessary=category == self._classifier.required,
                    service=service,
                )
            )
        return StateView(state, tuple(cookies), tuple(storage), tuple(seen))

    @contextlib.contextmanager
    def _visit(self) -> Iterator[tuple[Page, list[tuple[str, str]]]]:
        """A fresh context whose third-party requests are recorded (and, offline, answered
        here); browser errors and the time budget end the visit as not observed."""
        from playwright.sync_api import Error

        if self._clock.spent():
            raise _NotObservedError(OUT_OF_TIME)
        requests: list[tuple[str, str]] = []
        context = self._browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            context.route("**/*", self._router(requests))
            timeout = min(self._options.navigation_timeout, max(1.0, self._clock.left()))
            context.set_default_timeout(timeout * 1000)
            yield context.new_page(), requests
        except Error as exc:
            raise _NotObservedError(_first_line(exc)) from None
        finally:
            context.close()

    def _router(self, requests: list[tuple[str, str]]) -> Callable[[Route], None]:
        def route(route: Route) -> None:
            request = route.request
            if self._site.contains(request.url) or not request.url.startswith("http"):
                route.continue_()
                return
            requests.append((request.url, request.resource_type))
            if self._options.offline:
                content_type = _STUB_TYPES.get(request.resource_type, "text/plain")
                route.fulfill(status=200, body=b"", content_type=content_type)
            else:
                route.continue_()

        return route

    def _settle(self, page: Page) -> None:
        """Wait until the network is quiet, briefly: scripts may store and fetch after
        ``load``, and that is exactly what the audit is looking for."""
        from playwright.sync_api import Error

        with contextlib.suppress(Error):
            timeout = min(_SETTLE_SECONDS, max(0.1, self._clock.left()))
            page.wait_for_load_state("networkidle", timeout=timeout * 1000)


def _banner(page: Page) -> BannerView:
    """Our banner as the first visit shows it, first layer only."""
    banner = page.locator(_BANNER).first
    if not (banner.count() and banner.is_visible()):
        return BannerView(shown=False)
    variant_field = banner.locator('input[name="variant"]').first
    variant = variant_field.get_attribute("value") if variant_field.count() else None

    def visible(action: str) -> bool:
        button = banner.locator(f'button[name="action"][value="{action}"]').first
        return bool(button.count()) and button.is_visible()

    return BannerView(
        shown=True,
        variant=variant,
        accept_visible=visible("accept_all"),
        reject_visible=visible("reject_all"),
    )


class _Site:
    """Schemeful same-site: scheme and registrable domain (an IP address or a name
    without a public suffix: the host itself), the rule browsers use for SameSite."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SetupError(f"{url!r} is not an http(s) URL")
        self.scheme = parts.scheme
        self.site = _registrable(parts.hostname)

    def contains(self, url: str) -> bool:
        """Whether ``url`` belongs to this site."""
        parts = urlsplit(url)
        return (
            parts.scheme == self.scheme
            and bool(parts.hostname)
            and _registrable(parts.hostname or "") == self.site
        )


@cache
def _registrable(host: str) -> str:
    host = host.rstrip(".").lower()
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return host
    return _public_suffix_list().privatesuffix(host) or host


@cache
def _public_suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled snapshot: no network


class _Robots:
    """``robots.txt`` per origin, read once with the browser's own HTTP client."""

    def __init__(self, playwright: Playwright, enabled: bool, clock: _Clock) -> None:
        self._playwright = playwright
        self._enabled = enabled
        self._clock = clock
        self._parsers: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def allowed(self, url: str) -> bool:
        if not self._enabled:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._parsers:
            self._parsers[origin] = self._load(origin)
        parser = self._parsers[origin]
        return parser is None or parser.can_fetch(ROBOTS_AGENT, url)

    def _load(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        from playwright.sync_api import Error

        client = self._playwright.request.new_context()
        try:
            timeout = min(10.0, max(1.0, self._clock.left()))
            response = client.get(origin + "/robots.txt", timeout=timeout * 1000)
            if not response.ok:
                return None  # no robots.txt: everything may be fetched
            parser = urllib.robotparser.RobotFileParser()
            parser.parse(response.text().splitlines())
            return parser
        except Error:
            return None
        finally:
            client.dispose()


class _Clock:
    """The total time budget."""

    def __init__(self, seconds: float) -> None:
        self._start = time.monotonic()
        self._end = self._start + seconds

    def left(self) -> float:
        return self._end - time.monotonic()

    def spent(self) -> bool:
        return self.left() <= 0

    def elapsed(self) -> float:
        return time.monotonic() - self._start


def _clean(url: str) -> str:
    return urldefrag(url)[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
