"""banner.js brings neutralised markup back in place when consent arrives, in Chromium.

The pages hold the markup of docs/blocking-contract.md written out by hand, and are served
under an ``exclude_paths`` prefix, so the middleware passes them through as they are; the
banner, its assets and the consent endpoints are the real ones (``BannerRenderer`` renders
the head tags and the banner exactly as the middleware injects them). A control page holds
the same elements as a site writes them, so what Chromium fetches for the original markup is
measured, not assumed.

The network is watched the way a regulator would: every request to a host other than
loopback is recorded and fulfilled on this machine (an empty 200; a script gets one line that
logs that it ran), and ``--host-resolver-rules`` maps the tracker hosts to loopback and every
other name to nothing, so what the router never sees (preconnect sockets, DNS prefetches)
stays on the machine too.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Route, async_playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as Endpoint

from consent import ConsentMiddleware, get_consent
from tests.browser.conftest import CHROMIUM_ARGS
from tests.support import make_settings, serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

TRACKERS = "tracker.test"
#: The two categories and the host suffix of their copy of every element.
COPIES = {"analytics": "a." + TRACKERS, "marketing": "m." + TRACKERS}
#: DNS prefetches are seen in Chromium's net log under the address they are mapped to.
DNS_PREFETCH = {"analytics": "127.0.0.12", "marketing": "127.0.0.13"}
HOST_RULES = (
    "--host-resolver-rules="
    + ", ".join(f"MAP dns-prefetch.{COPIES[c]} {ip}" for c, ip in DNS_PREFETCH.items())
    + f", MAP *.{TRACKERS} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
)
GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACw="  # a stand-in that fetches nothing
XLINK = "http://www.w3.org/1999/xlink"


@dataclass(frozen=True)
class Case:
    """One kind of element: as the site writes it, as the server sends it while blocked.

    Markup tokens: ``{c}`` category, ``{h}`` host suffix, ``{n}`` CSP nonce, ``{p}`` a
    port that counts connections, ``{here}`` the page's own URL, ``{gif}`` `GIF`.
    ``fetches``: first labels of the hosts Chromium requests for it without a click.
    """

    original: str
    neutralised: str
    fetches: tuple[str, ...] = ()


HEAD = [
    Case(
        '<link rel="preload" as="image" href="http://link-preload.{h}/p.gif">',
        '<link rel="preload" as="image" data-consent="{c}" '
        'data-consent-href="http://link-preload.{h}/p.gif">',
        ("link-preload",),
    ),
    Case(
        '<link rel="preload" as="image" imagesrcset="http://link-imagesrcset.{h}/p.gif 1x">',
        '<link rel="preload" as="image" data-consent="{c}" '
        'data-consent-imagesrcset="http://link-imagesrcset.{h}/p.gif 1x">',
        ("link-imagesrcset",),
    ),
    # imagesrcset wins over href: one preload, of the candidate, as on the original page
    Case(
        '<link rel="preload" as="image" href="http://link-both-href.{h}/p.gif" '
        'imagesrcset="http://link-both-set.{h}/p.gif 1x">',
        '<link rel="preload" as="image" data-consent="{c}" '
        'data-consent-href="http://link-both-href.{h}/p.gif" '
        'data-consent-imagesrcset="http://link-both-set.{h}/p.gif 1x">',
        ("link-both-set",),
    ),
    Case(
        '<link rel="modulepreload" nonce="{n}" href="http://modulepreload.{h}/m.js">',
        '<link rel="modulepreload" nonce="{n}" data-consent="{c}" '
        'data-consent-href="http://modulepreload.{h}/m.js">',
        ("modulepreload",),
    ),
    Case(
        '<link rel="prefetch" href="http://prefetch.{h}/p.txt">',
        '<link rel="prefetch" data-consent="{c}" data-consent-href="http://prefetch.{h}/p.txt">',
        ("prefetch",),
    ),
    # no HTTP request: test_connection_hints watches sockets and DNS for these two
    Case(
        '<link rel="preconnect" href="http://preconnect.{h}:{p}">',
        '<link rel="preconnect" data-consent="{c}" data-consent-href="http://preconnect.{h}:{p}">',
    ),
    Case(
        '<link rel="dns-prefetch" href="http://dns-prefetch.{h}">',
        '<link rel="dns-prefetch" data-consent="{c}" data-consent-href="http://dns-prefetch.{h}">',
    ),
    Case(
        '<link rel="stylesheet" href="http://stylesheet.{h}/s.css">',
        '<link rel="stylesheet" data-consent="{c}" data-consent-href="http://stylesheet.{h}/s.css">',
        ("stylesheet",),
    ),
    Case(
        '<script nonce="{n}" src="http://script.{h}/s.js"></script>',
        '<script type="text/plain" data-consent="{c}" nonce="{n}" '
        'src="http://script.{h}/s.js"></script>',
        ("script",),
    ),
    Case(
        '<script nonce="{n}" type="text/javascript">ran.push("inline.{h}")</script>',
        '<script type="text/plain" data-consent="{c}" data-consent-type="text/javascript" '
        'nonce="{n}">ran.push("inline.{h}")</script>',
    ),
    Case(
        '<script nonce="{n}" type="module">ran.push("module.{h}")</script>',
        '<script type="text/plain" data-consent="{c}" data-consent-type="module" '
        'nonce="{n}">ran.push("module.{h}")</script>',
    ),
]

BODY = [
    # pings go out on a click only (test_pings_only_on_click)
    Case(
        '<a id="ping-a-{c}" href="{here}#pinged" ping="http://a-ping.{h}/p">Ping</a>',
        '<a id="ping-a-{c}" href="{here}#pinged" data-consent="{c}" '
        'data-consent-ping="http://a-ping.{h}/p">Ping</a>',
    ),
    Case(
        '<img id="ping-area-{c}" src="{gif}" width="40" height="40" usemap="#map-{c}" alt="">'
        '<map name="map-{c}"><area shape="rect" coords="0,0,40,40" href="{here}#pinged" '
        'ping="http://area-ping.{h}/p" alt="Ping"></map>',
        '<img id="ping-area-{c}" src="{gif}" width="40" height="40" usemap="#map-{c}" alt="">'
        '<map name="map-{c}"><area shape="rect" coords="0,0,40,40" href="{here}#pinged" '
        'data-consent="{c}" data-consent-ping="http://area-ping.{h}/p" alt="Ping"></map>',
    ),
    Case(
        '<iframe id="iframe-{c}" title="Video" src="http://iframe.{h}/"></iframe>',
        '<iframe id="iframe-{c}" title="Video" data-consent="{c}" '
        'data-consent-src="http://iframe.{h}/" '
        'srcdoc="&lt;p&gt;Blocked until you consent&lt;/p&gt;"></iframe>',
        ("iframe",),
    ),
    Case(
        '<img src="http://img-src.{h}/p.gif" alt="">',
        '<img data-consent="{c}" data-consent-src="http://img-src.{h}/p.gif" alt="">',
        ("img-src",),
    ),
    Case(  # the page's stand-in image is dropped
        '<img src="http://img-standin.{h}/p.gif" alt="">',
        '<img src="{gif}" data-consent="{c}" data-consent-src="http://img-standin.{h}/p.gif" '
        'alt="">',
        ("img-standin",),
    ),
    Case(
        '<img srcset="http://img-srcset.{h}/p.gif 1x" alt="">',
        '<img data-consent="{c}" data-consent-srcset="http://img-srcset.{h}/p.gif 1x" alt="">',
        ("img-srcset",),
    ),
    Case(  # srcset picks the candidate: src is never fetched, on the original page either
        '<img src="http://img-both-src.{h}/p.gif" srcset="http://img-both-set.{h}/p.gif 1x" '
        'alt="">',
        '<img data-consent="{c}" data-consent-src="http://img-both-src.{h}/p.gif" '
        'data-consent-srcset="http://img-both-set.{h}/p.gif 1x" alt="">',
        ("img-both-set",),
    ),
    Case(
        '<picture><source srcset="http://picture.{h}/p.gif" type="image/gif">'
        '<img src="{gif}" alt=""></picture>',
        '<picture><source type="image/gif" data-consent="{c}" '
        'data-consent-srcset="http://picture.{h}/p.gif"><img src="{gif}" alt=""></picture>',
        ("picture",),
    ),
    Case(
        '<input type="image" src="http://input-image.{h}/b.gif" alt="Go">',
        '<input type="image" data-consent="{c}" '
        'data-consent-src="http://input-image.{h}/b.gif" alt="Go">',
        ("input-image",),
    ),
    Case(
        '<video src="http://video-src.{h}/v.mp4" poster="http://video-poster.{h}/p.gif"></video>',
        '<video data-consent="{c}" data-consent-src="http://video-src.{h}/v.mp4" '
        'data-consent-poster="http://video-poster.{h}/p.gif"></video>',
        ("video-src", "video-poster"),
    ),
    Case(
        '<audio src="http://audio-src.{h}/a.mp3"></audio>',
        '<audio data-consent="{c}" data-consent-src="http://audio-src.{h}/a.mp3"></audio>',
        ("audio-src",),
    ),
    Case(
        '<video><source src="http://video-source.{h}/v.mp4" type="video/mp4"></video>',
        '<video><source type="video/mp4" data-consent="{c}" '
        'data-consent-src="http://video-source.{h}/v.mp4"></video>',
        ("video-source",),
    ),
    Case(
        '<audio><source src="http://audio-source.{h}/a.mp3" type="audio/mpeg"></audio>',
        '<audio><source type="audio/mpeg" data-consent="{c}" '
        'data-consent-src="http://audio-source.{h}/a.mp3"></audio>',
        ("audio-source",),
    ),
    # a cross-origin track loads only under CORS (crossorigin on its media element)
    Case(
        '<video crossorigin><track kind="subtitles" srclang="en" label="English" default '
        'src="http://track.{h}/t.vtt"></video>',
        '<video crossorigin><track kind="subtitles" srclang="en" label="English" default '
        'data-consent="{c}" data-consent-src="http://track.{h}/t.vtt"></video>',
        ("track",),
    ),
    Case(
        '<embed src="http://embed.{h}/e.html" width="40" height="40">',
        '<embed data-consent="{c}" data-consent-src="http://embed.{h}/e.html" width="40" '
        'height="40">',
        ("embed",),
    ),
    Case(
        '<object data="http://object.{h}/o.html" width="40" height="40"></object>',
        '<object data-consent="{c}" data-consent-data="http://object.{h}/o.html" width="40" '
        'height="40"></object>',
        ("object",),
    ),
    Case(
        '<svg width="1" height="1"><script nonce="{n}" href="http://svg-script.{h}/s.js">'
        "</script></svg>",
        '<svg width="1" height="1"><script type="text/plain" data-consent="{c}" nonce="{n}" '
        'data-consent-href="http://svg-script.{h}/s.js"></script></svg>',
        ("svg-script",),
    ),
    Case(
        '<svg width="1" height="1"><script nonce="{n}" '
        'xlink:href="http://svg-script-xlink.{h}/s.js"></script></svg>',
        '<svg width="1" height="1"><script type="text/plain" data-consent="{c}" nonce="{n}" '
        'data-consent-xlink-href="http://svg-script-xlink.{h}/s.js"></script></svg>',
        ("svg-script-xlink",),
    ),
    Case(
        '<svg width="20" height="20"><image href="http://svg-image.{h}/i.gif" width="20" '
        'height="20"/><image xlink:href="http://svg-image-xlink.{h}/i.gif" width="20" '
        'height="20"/></svg>',
        '<svg width="20" height="20"><image data-consent="{c}" '
        'data-consent-href="http://svg-image.{h}/i.gif" width="20" height="20"/>'
        '<image data-consent="{c}" data-consent-xlink-href="http://svg-image-xlink.{h}/i.gif" '
        'width="20" height="20"/></svg>',
        ("svg-image", "svg-image-xlink"),
    ),
    # Chromium never fetches a cross-origin <use> (same-origin only), blocked or not
    Case(
        '<svg width="20" height="20"><use id="use-{c}" href="http://svg-use.{h}/u.svg#a"/>'
        '<use id="use-xlink-{c}" xlink:href="http://svg-use-xlink.{h}/u.svg#a"/></svg>',
        '<svg width="20" height="20"><use id="use-{c}" data-consent="{c}" '
        'data-consent-href="http://svg-use.{h}/u.svg#a"/><use id="use-xlink-{c}" '
        'data-consent="{c}" data-consent-xlink-href="http://svg-use-xlink.{h}/u.svg#a"/></svg>',
    ),
    Case(
        '<svg width="20" height="20"><filter id="fe-{c}"><feImage '
        'href="http://feimage.{h}/f.gif"/></filter><filter id="fex-{c}"><feImage '
        'xlink:href="http://feimage-xlink.{h}/f.gif"/></filter>'
        '<rect width="9" height="9" filter="url(#fe-{c})"/>'
        '<rect width="9" height="9" filter="url(#fex-{c})"/></svg>',
        '<svg width="20" height="20"><filter id="fe-{c}"><feImage data-consent="{c}" '
        'data-consent-href="http://feimage.{h}/f.gif"/></filter><filter id="fex-{c}">'
        '<feImage data-consent="{c}" data-consent-xlink-href="http://feimage-xlink.{h}/f.gif"/>'
        '</filter><rect width="9" height="9" filter="url(#fe-{c})"/>'
        '<rect width="9" height="9" filter="url(#fex-{c})"/></svg>',
        ("feimage", "feimage-xlink"),
    ),
    Case(
        '<table background="http://table-bg.{h}/t.gif"><tr>'
        '<td background="http://td-bg.{h}/t.gif">td</td>'
        '<th background="http://th-bg.{h}/t.gif">th</th></tr></table>',
        '<table data-consent="{c}" data-consent-background="http://table-bg.{h}/t.gif"><tr>'
        '<td data-consent="{c}" data-consent-background="http://td-bg.{h}/t.gif">td</td>'
        '<th data-consent="{c}" data-consent-background="http://th-bg.{h}/t.gif">th</th>'
        "</tr></table>",
        ("table-bg", "td-bg", "th-bg"),
    ),
    # lazy-load attributes come back under their own names, for the page's loader (LOADER)
    Case(
        '<img data-src="http://lazy-src.{h}/l.gif" alt="">',
        '<img data-consent="{c}" data-consent-data-src="http://lazy-src.{h}/l.gif" alt="">',
        ("lazy-src",),
    ),
    Case(
        '<img data-srcset="http://lazy-srcset.{h}/l.gif 1x" alt="">',
        '<img data-consent="{c}" data-consent-data-srcset="http://lazy-srcset.{h}/l.gif 1x" '
        'alt="">',
        ("lazy-srcset",),
    ),
    Case(
        '<img data-lazy-src="http://lazy-lazy-src.{h}/l.gif" alt="">',
        '<img data-consent="{c}" data-consent-data-lazy-src="http://lazy-lazy-src.{h}/l.gif" '
        'alt="">',
        ("lazy-lazy-src",),
    ),
    Case(
        '<div data-bg="http://lazy-bg.{h}/l.gif" style="width:9px;height:9px"></div>',
        '<div data-consent="{c}" data-consent-data-bg="http://lazy-bg.{h}/l.gif" '
        'style="width:9px;height:9px"></div>',
        ("lazy-bg",),
    ),
]

#: Elements a page has once: analytics only, or both categories. The preload before the
#: <base> breaks the HTML rule that a base comes first: the parser resolves it against the
#: page's address, banner.js (restoring the base first) against the base.
ONCE_HEAD = Case(
    '<link rel="preload" as="image" href="early.gif">'
    f'<base href="http://base.{COPIES["analytics"]}/">',
    '<link rel="preload" as="image" data-consent="analytics" data-consent-href="early.gif">'
    f'<base data-consent="analytics" data-consent-href="http://base.{COPIES["analytics"]}/">',
)
ONCE_BODY = Case(
    # relative: resolves against the <base> once that is back (restored first)
    f'<img src="relative.gif" alt=""><img src="http://img-two.am.{TRACKERS}/p.gif" alt="">',
    '<img data-consent="analytics" data-consent-src="relative.gif" alt="">'
    '<img data-consent="analytics marketing" '
    f'data-consent-src="http://img-two.am.{TRACKERS}/p.gif" alt="">',
)
BODY_ORIGINAL = f' background="http://body-bg.{COPIES["analytics"]}/b.gif"'
BODY_NEUTRALISED = (
    ' data-consent="analytics" '
    f'data-consent-background="http://body-bg.{COPIES["analytics"]}/b.gif"'
)
ONCE_FETCHES = {
    "analytics": {f"base.{COPIES['analytics']}", f"body-bg.{COPIES['analytics']}"},
    "analytics marketing": {f"img-two.am.{TRACKERS}"},
}

#: The site's own lazy loader (first party, never blocked): looks again on consent:change.
LOADER = """<script nonce="{n}">
const lazy = () => {
  for (const el of document.querySelectorAll("[data-src],[data-lazy-src]"))
    el.src = el.dataset.src || el.dataset.lazySrc;
  for (const el of document.querySelectorAll("[data-srcset]")) el.srcset = el.dataset.srcset;
  for (const el of document.querySelectorAll("[data-bg]"))
    el.style.backgroundImage = "url(" + el.dataset.bg + ")";
};
lazy();
document.addEventListener("consent:change", lazy);
</script>"""


def fetched_hosts(*categories: str) -> set[str]:
    """Every host Chromium requests, without a click, for the elements of ``categories``."""
    hosts = {
        f"{label}.{COPIES[c]}" for c in categories for case in HEAD + BODY for label in case.fetches
    }
    for keys, once in ONCE_FETCHES.items():
        if set(keys.split()) <= set(categories):
            hosts |= once
    return hosts


def script_runs(*categories: str) -> set[str]:
    """What the blocked scripts of ``categories`` log when they run (`ran`)."""
    runs = set()
    for c in categories:
        h = COPIES[c]
        urls = (
            f"http://{label}.{h}/s.js" for label in ("script", "svg-script", "svg-script-xlink")
        )
        runs |= {*urls, f"inline.{h}", f"module.{h}"}
    return runs


@dataclass
class Site:
    base: str
    #: connections accepted on each category's preconnect port
    connections: dict[str, list[object]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)


def _fill(markup: str, c: str, *, nonce: str, site: Site, here: str) -> str:
    for token, value in (
        ("{c}", c),
        ("{h}", COPIES[c]),
        ("{n}", nonce),
        ("{p}", str(site.ports[c])),
        ("{here}", here),
        ("{gif}", GIF),
    ):
        markup = markup.replace(token, value)
    return markup


def make_app(site: Site) -> ConsentMiddleware:
    async def serve(request: Request, *, neutralised: bool) -> HTMLResponse:
        nonce = secrets.token_urlsafe(12)
        here = str(request.url.replace(query=""))

        def markup(cases: list[Case]) -> str:
            return "\n".join(
                _fill(
                    case.neutralised if neutralised else case.original,
                    c,
                    nonce=nonce,
                    site=site,
                    here=here,
                )
                for c in COPIES
                for case in cases
            )

        head_tags = banner = ""
        if neutralised:
            consent = get_consent(request)
            head_tags = middleware.banner.head_html(consent, nonce=nonce).decode()
            banner = middleware.banner.body_html(
                consent, "en", next_path=request.url.path, nonce=nonce
            ).decode()
        once_head = ONCE_HEAD.neutralised if neutralised else ONCE_HEAD.original
        once_body = ONCE_BODY.neutralised if neutralised else ONCE_BODY.original
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Restore</title>'
            f'{head_tags}<script nonce="{nonce}">window.ran = [];</script>\n{once_head}\n'
            f"{markup(HEAD)}\n</head><body{BODY_NEUTRALISED if neutralised else BODY_ORIGINAL}>"
            f"{banner}\n<main><h1>Restore</h1>\n{markup(BODY)}\n{once_body}\n</main>\n"
            f"{LOADER.replace('{n}', nonce)}\n</body></html>"
        )
        return HTMLResponse(
            page, headers={"Content-Security-Policy": f"script-src 'nonce-{nonce}'"}
        )

    async def blocked(request: Request) -> HTMLResponse:
        return await serve(request, neutralised=True)

    async def control(request: Request) -> HTMLResponse:
        return await serve(request, neutralised=False)

    app = Starlette(
        routes=[Endpoint("/restore/page", blocked), Endpoint("/restore/control", control)]
    )
    middleware = ConsentMiddleware(app, settings=make_settings(exclude_paths=["/restore"]))
    return middleware


def _listen(site: Site, category: str) -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    site.ports[category] = listener.getsockname()[1]
    accepted = site.connections[category] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return listener


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    result = Site(base="")  # the base is known once the server listens
    listeners = [_listen(result, c) for c in COPIES]
    with serve_in_thread(make_app(result)) as base:
        result.base = base
        yield result
    for listener in listeners:
        listener.close()


class Network:
    """Every request that would leave loopback: recorded, then fulfilled on this machine."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    async def handle(self, route: Route) -> None:
        request = route.request
        self.requests.append((request.method, request.url))
        body, kind = "", "text/plain"
        if request.url.endswith(".js"):
            body, kind = f"ran.push({json.dumps(request.url)});", "text/javascript"
        await route.fulfill(
            status=200,
            body=body,
            headers={"Content-Type": kind, "Access-Control-Allow-Origin": "*"},
        )

    def hosts(self, method: str = "GET") -> set[str]:
        return {url.split("/")[2].split(":")[0] for m, url in self.requests if m == method}

    async def settle(
        self, page: Page, expected: set[str], *, quiet_ms: int = 400, method: str = "GET"
    ) -> set[str]:
        """Wait until ``expected`` hosts were requested, then a little for any stray extra."""
        deadline = time.monotonic() + 10
        while not expected <= self.hosts(method) and time.monotonic() < deadline:
            await page.wait_for_timeout(50)
        await page.wait_for_timeout(quiet_ms)
        return self.hosts(method)


@asynccontextmanager
async def visitor(
    chromium: str, site: Site, *, profile: Path | None = None, netlog: Path | None = None
) -> AsyncIterator[tuple[Page, Network]]:
    """A page in headless Chromium whose every off-machine request goes to a `Network`.

    ``profile``: a persistent (non-incognito) profile there; Chromium makes no preconnects
    and no DNS prefetches in the incognito contexts Playwright makes by default.
    """
    args = [*CHROMIUM_ARGS, HOST_RULES]
    if netlog is not None:
        args += [f"--log-net-log={netlog}", "--net-log-capture-mode=Default"]
    options: dict[str, Any] = {"viewport": {"width": 1000, "height": 1200}}
    network = Network()
    async with async_playwright() as playwright:
        chromium_type = playwright.chromium
        browser = None
        context: BrowserContext
        if profile is not None:
            context = await chromium_type.launch_persistent_context(
                profile, executable_path=chromium, args=args, **options
            )
        else:
            browser = await chromium_type.launch(executable_path=chromium, args=args)
            context = await browser.new_context(**options)
        await context.route(lambda url: not url.startswith(site.base), network.handle)
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            yield page, network
        finally:
            await context.close()
            if browser is not None:
                await browser.close()


async def leftovers(page: Page) -> list[str]:
    """Every renamed attribute still on the page, as ``"<element> <attribute> <categories>"``."""
    found: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap((el) => el.getAttributeNames()
            .filter((name) => name.startsWith('data-consent-'))
            .map((name) => `${el.localName} ${name} ${el.dataset.consent}`))"""
    )
    return found


async def listen_for_changes(page: Page) -> None:
    await page.evaluate(
        """window.sameDocument = true; window.changes = [];
        document.addEventListener('consent:change', (e) => window.changes.push(e.detail.granted))"""
    )


async def open_page(page: Page, site: Site, path: str) -> None:
    await page.goto(site.base + path, wait_until="load")
    await page.wait_for_timeout(300)


async def test_control_page_the_harness_sees_what_chromium_fetches(
    chromium: str, site: Site
) -> None:
    async with visitor(chromium, site) as (page, network):
        await open_page(page, site, "/restore/control")
        expected = fetched_hosts(*COPIES)
        assert await network.settle(page, expected) == expected
        assert sorted(await page.evaluate("window.ran")) == sorted(script_runs(*COPIES))
        # Chromium itself never fetches these, even unblocked: a cross-origin <use>
        # (same-origin only) and connection hints in an incognito context
        assert not {h for h in network.hosts() if h.startswith(("svg-use", "preconnect", "dns-"))}
        await page.click("#ping-a-analytics")
        box = await page.locator("#ping-area-marketing").bounding_box()
        assert box is not None
        await page.mouse.click(box["x"] + 5, box["y"] + 5)
        pings = {f"a-ping.{COPIES['analytics']}", f"area-ping.{COPIES['marketing']}"}
        assert await network.settle(page, pings, method="POST") == pings


async def test_accept_all_restores_every_element_in_place(chromium: str, site: Site) -> None:
    async with visitor(chromium, site) as (page, network):
        await open_page(page, site, "/restore/page")
        assert network.requests == []  # nothing reaches a tracker before consent
        assert await page.evaluate("window.ran") == []
        await listen_for_changes(page)

        await page.get_by_role("button", name="Accept all").click()
        await expect(page.locator("#consent-banner")).to_be_hidden()
        expected = fetched_hosts(*COPIES)
        # each element fetches what it fetches on the control page: no more, no less
        assert await network.settle(page, expected) == expected
        assert await leftovers(page) == []
        assert await page.evaluate("window.sameDocument") is True  # no reload
        changes = await page.evaluate("window.changes")
        assert changes == [["necessary", "preferences", "analytics", "marketing"]]

        # every script ran once, and an external one before the inline one after it
        ran = await page.evaluate("window.ran")
        assert sorted(ran) == sorted(script_runs(*COPIES))
        for h in COPIES.values():
            assert ran.index(f"http://script.{h}/s.js") < ran.index(f"inline.{h}")

        # <base> first: every restored relative URL resolves against it
        assert ("GET", f"http://base.{COPIES['analytics']}/early.gif") in network.requests
        # the placeholder srcdoc is gone, xlink:href is back in its namespace
        assert await page.locator("iframe[srcdoc]").count() == 0
        xlink = await page.evaluate(
            f"document.getElementById('use-xlink-analytics').getAttributeNS('{XLINK}', 'href')"
        )
        assert xlink == f"http://svg-use-xlink.{COPIES['analytics']}/u.svg#a"


async def test_pings_only_on_click_and_only_once_granted(chromium: str, site: Site) -> None:
    async with visitor(chromium, site) as (page, network):
        await open_page(page, site, "/restore/page")

        async def click_links(c: str) -> None:
            await page.click(f"#ping-a-{c}")
            box = await page.locator(f"#ping-area-{c}").bounding_box()
            assert box is not None
            await page.mouse.click(box["x"] + 5, box["y"] + 5)

        for c in COPIES:
            await click_links(c)
        await page.wait_for_timeout(300)
        assert network.requests == []

        await page.get_by_role("button", name="Accept all").click()
        await expect(page.locator("#consent-banner")).to_be_hidden()
        await network.settle(page, fetched_hosts(*COPIES), quiet_ms=0)
        assert network.hosts("POST") == set()  # restored, not sent: no click yet
        await click_links("analytics")
        pings = {f"a-ping.{COPIES['analytics']}", f"area-ping.{COPIES['analytics']}"}
        assert await network.settle(page, pings, method="POST") == pings


async def test_one_category_at_a_time(chromium: str, site: Site) -> None:
    async with visitor(chromium, site) as (page, network):
        await open_page(page, site, "/restore/page")
        await listen_for_changes(page)
        banner = page.locator("#consent-banner")
        await banner.locator("summary").click()
        await banner.get_by_label("Analytics", exact=True).check()
        await banner.get_by_role("button", name="Save").click()
        await expect(banner).to_be_hidden()

        analytics = fetched_hosts("analytics")
        assert await network.settle(page, analytics) == analytics
        # marketing stays inert, and so does what needs both
        assert {line.split()[-1] for line in await leftovers(page)} == {"marketing"}
        assert await page.locator("#iframe-marketing[srcdoc]").count() == 1
        assert sorted(await page.evaluate("window.ran")) == sorted(script_runs("analytics"))

        # then marketing too: its elements come alive, analytics scripts do not run again.
        # The restored <base> points elsewhere now: the banner still posts to this site.
        await page.locator("#consent-settings").click()
        await expect(banner).to_be_visible()
        await banner.get_by_label("Marketing", exact=True).check()
        await banner.get_by_role("button", name="Save").click()
        await expect(banner).to_be_hidden()
        everything = fetched_hosts(*COPIES)
        assert await network.settle(page, everything) == everything
        assert await leftovers(page) == []
        assert sorted(await page.evaluate("window.ran")) == sorted(script_runs(*COPIES))
        assert await page.evaluate("window.sameDocument") is True
        assert len(await page.evaluate("window.changes")) == 2
        assert not [url for _, url in network.requests if "/_consent" in url]


async def test_withdrawal_reloads_and_restores_nothing(chromium: str, site: Site) -> None:
    async with visitor(chromium, site) as (page, network):
        await open_page(page, site, "/restore/page")
        banner = page.locator("#consent-banner")
        await banner.locator("summary").click()
        await banner.get_by_label("Analytics", exact=True).check()
        await banner.get_by_role("button", name="Save").click()
        await network.settle(page, fetched_hosts("analytics"), quiet_ms=0)
        await listen_for_changes(page)

        # analytics out, marketing in: a reload, and no marketing element restored before it
        await page.locator("#consent-settings").click()
        await banner.get_by_label("Analytics", exact=True).uncheck()
        await banner.get_by_label("Marketing", exact=True).check()
        async with page.expect_navigation():
            await banner.get_by_role("button", name="Save").click()
        assert await page.evaluate("window.sameDocument") is None
        await page.wait_for_timeout(300)
        assert not {
            h for h in network.hosts() | network.hosts("POST") if h.endswith(COPIES["marketing"])
        }
        # posted to this site (not to the restored <base>), and nothing restored after it
        assert not [url for _, url in network.requests if "/_consent" in url]
        state = await (await page.request.get(site.base + "/_consent")).json()
        assert state["granted"] == ["necessary", "marketing"]
        assert await page.evaluate("window.ran") == []


def _dns_lookups(netlog: Path, start_ms: float, end_ms: float) -> set[str]:
    """Hosts (as mapped) Chromium resolved between two Unix times in ms, from its net log."""
    log = json.loads(netlog.read_text())
    offset = int(log["constants"]["timeTickOffset"])
    request = log["constants"]["logEventTypes"]["HOST_RESOLVER_MANAGER_REQUEST"]
    return {
        event["params"]["host"].split("//")[-1]
        for event in log["events"]
        if event["type"] == request
        and "host" in event.get("params", {})
        and start_ms <= int(event["time"]) + offset < end_ms
    }


async def test_connection_hints_come_back(chromium: str, site: Site, tmp_path: Path) -> None:
    """preconnect and dns-prefetch make no request: watch sockets and Chromium's net log."""
    netlog = tmp_path / "netlog.json"
    for accepted in site.connections.values():
        accepted.clear()
    async with visitor(chromium, site, profile=tmp_path / "profile", netlog=netlog) as (
        page,
        network,
    ):
        await open_page(page, site, "/restore/page")
        await page.wait_for_timeout(500)
        assert network.requests == []
        assert all(not accepted for accepted in site.connections.values())
        consent_at = time.time() * 1000
        await page.get_by_role("button", name="Accept all").click()
        await network.settle(page, fetched_hosts(*COPIES), quiet_ms=0)
        deadline = time.monotonic() + 5
        while not all(site.connections.values()) and time.monotonic() < deadline:
            await page.wait_for_timeout(50)
        assert all(site.connections.values())  # a socket to each preconnect origin
    before = _dns_lookups(netlog, 0, consent_at)
    after = _dns_lookups(netlog, consent_at, time.time() * 1000)
    assert set(DNS_PREFETCH.values()) <= after
    assert not set(DNS_PREFETCH.values()) & before
