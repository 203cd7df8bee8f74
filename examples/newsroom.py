"""The demo: a small news site under ConsentMiddleware, on embedded defaults.

Run it with ``bash scripts/demo.sh`` and open http://127.0.0.1:8000/. The article
page carries what real news sites carry: Google Analytics, a YouTube embed, a
Meta pixel, a first-party script and a newsletter form. ``/track`` sets an
analytics and a marketing cookie from the server; ``/consent.json`` shows what
the middleware attached to the request.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from consent import ConsentMiddleware, ConsentSettings, get_consent

STATIC = Path(__file__).parent / "static"

ARTICLES = {
    "harbour-bridge": (
        "City council approves new harbour bridge after decade of debate",
        "The council voted 31 to 12 on Tuesday to fund a cable-stayed bridge across the "
        "old harbour, ending a dispute that began when the ferry service was cut.",
    ),
    "heatwave": (
        "Heatwave pushes power demand to record as grid operators urge restraint",
        "Electricity use reached a record on Monday afternoon as temperatures passed 38C "
        "for the third day running.",
    ),
}

GA_ID = "G-DEMO12345"

LAYOUT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | The Harbour Times</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<style>
  body {{ font: 17px/1.6 Georgia, serif; margin: 0; color: #1d1d1f; background: #fff; }}
  header, main, footer {{ max-width: 44rem; margin: 0 auto; padding: 1rem; }}
  header a {{ color: inherit; text-decoration: none; font-weight: bold; font-size: 1.4rem; }}
  .dateline {{ color: #555; font-size: .9rem; }}
  iframe {{ width: 100%; aspect-ratio: 16 / 9; border: 0; background: #eee; }}
  form.newsletter {{ border-top: 1px solid #ccc; margin-top: 2rem; padding-top: 1rem; }}
  footer {{ color: #555; font-size: .85rem; padding-bottom: 8rem; }}
</style>
<script async src="https://www.googletagmanager.com/gtag/js?id={ga_id}"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){{dataLayer.push(arguments);}}
  gtag('js', new Date());
  gtag('config', '{ga_id}');
</script>
<script src="/static/site.js" defer></script>
<script type="text/plain" data-consent="analytics" src="/static/stats.js"></script>
<!-- Meta Pixel Code -->
<script>
!function(f,b,e,v,n,t,s){{if(f.fbq)return;n=f.fbq=function(){{n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)}};if(!f._fbq)f._fbq=n;
n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}}(window,
document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890');
fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none" alt=""
src="https://www.facebook.com/tr?id=1234567890&amp;ev=PageView&amp;noscript=1"></noscript>
<!-- End Meta Pixel Code -->
</head>
<body>
<header><a href="/">The Harbour Times</a></header>
<main>
{content}
</main>
<footer>
  <p>&copy; The Harbour Times (a demo site). <a href="/privacy">Privacy policy</a> &middot;
  <a href="/_consent/preferences">Cookie settings</a> &middot;
  <a href="/consent.json">What the server knows</a></p>
</footer>
</body>
</html>
"""


def page(title: str, content: str) -> HTMLResponse:
    body = LAYOUT.format(title=html.escape(title), content=content, ga_id=GA_ID)
    return HTMLResponse(body)


async def home(request: Request) -> Response:
    items = "".join(
        f'<li><a href="/news/{slug}">{html.escape(title)}</a></li>'
        for slug, (title, _) in ARTICLES.items()
    )
    return page("Front page", f"<h1>Latest news</h1><ul>{items}</ul>")


async def article(request: Request) -> Response:
    slug = request.path_params["slug"]
    if slug not in ARTICLES:
        return page("Not found", "<h1>Story not found</h1>")
    title, lead = ARTICLES[slug]
    content = f"""
<article>
  <h1>{html.escape(title)}</h1>
  <p class="dateline">HARBOUR CITY, 28 November (Harbour Times) -</p>
  <p>{html.escape(lead)}</p>
  <p>Officials said work could start next spring, subject to a final environmental
  review. Opponents said they would keep campaigning against the cost.</p>
  <h2>Watch: the council debate</h2>
  <iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="Council debate (video)"
    allow="accelerometer; encrypted-media; picture-in-picture" allowfullscreen></iframe>
  <p>The mayor called the vote "a bridge to the next fifty years".</p>
</article>
<form class="newsletter" method="post" action="/newsletter">
  <label for="email">Get the morning briefing by email</label>
  <input id="email" name="email" type="email" autocomplete="email" required>
  <button type="submit">Subscribe</button>
</form>"""
    return page(title, content)


async def newsletter(request: Request) -> Response:
    return RedirectResponse("/?subscribed=1", status_code=303)


async def privacy(request: Request) -> Response:
    return page(
        "Privacy policy",
        "<h1>Privacy policy</h1><p>We use cookies for analytics and advertising only "
        "with your consent. Change your choice at any time under "
        '<a href="/_consent/preferences">Cookie settings</a>.</p>',
    )


async def track(request: Request) -> Response:
    """Sets an analytics and a marketing cookie from the server; the middleware sorts them."""
    response = JSONResponse({"set": ["_ga", "_fbp"]})
    response.set_cookie("_ga", "GA1.1.123.456", max_age=3600)
    response.set_cookie("_fbp", "fb.1.123.456", max_age=3600)
    return response


async def favicon(request: Request) -> Response:
    """The icon for pages without a ``<link rel="icon">`` (the middleware's preferences page):
    browsers ask for /favicon.ico, and a 404 is a console error (Lighthouse best practices)."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def consent_json(request: Request) -> Response:
    consent = get_consent(request)
    return JSONResponse(
        {
            "id": consent.id,
            "decided": consent.decided,
            "granted": sorted(consent.granted),
            "denied": sorted(consent.denied),
            "gpc": consent.gpc,
            "cookies_seen_by_app": sorted(request.cookies),
        }
    )


def create_app(settings: ConsentSettings | None = None) -> ConsentMiddleware:
    """The demo app wrapped in ConsentMiddleware (settings from ``CONSENT_*`` when omitted,
    with the banner linking this site's own privacy policy page)."""
    if settings is None:
        settings = ConsentSettings(banner={"privacy_policy_url": "/privacy"})
    site = Starlette(
        routes=[
            Route("/", home),
            Route("/news/{slug}", article),
            Route("/newsletter", newsletter, methods=["POST"]),
            Route("/privacy", privacy),
            Route("/track", track),
            Route("/consent.json", consent_json),
            Route("/favicon.ico", favicon),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
    return ConsentMiddleware(site, settings)
