"""What every integration app serves, byte for byte, so the tests know what the app sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

GTAG_SRC = "https://www.googletagmanager.com/gtag/js?id=G-TEST1"
YOUTUBE_SRC = "https://www.youtube.com/embed/x"

#: Settings every server process gets (through the environment, as in production).
ENVIRONMENT = {
    "CONSENT_SECRET_KEY": "integration-secret-key-0123456789abcdef",
    "CONSENT_RECORDS__ENABLED": "false",
    "SESSION_SECRET": "integration-session-secret-0123456789",
}

#: The page's markup around the consent state line, which each framework renders itself.
PAGE_HEAD = (
    "<!doctype html>\n"
    '<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Integration page</title>\n'
    f'<script async src="{GTAG_SRC}"></script>\n'
    "<script>window.dataLayer = window.dataLayer || [];</script>\n"
    "</head>\n<body>\n<h1>Integration page</h1>\n"
    f'<iframe id="video" width="320" height="180" src="{YOUTUBE_SRC}" title="A video"></iframe>\n'
)
PAGE_TAIL = "</body>\n</html>\n"


def state_line(analytics: bool | None) -> str:
    """The line each app renders from the framework's own consent helper."""
    value = "none" if analytics is None else ("yes" if analytics else "no")
    return f'<p id="consent-state">analytics={value}</p>\n'


def page(analytics: bool | None) -> str:
    return PAGE_HEAD + state_line(analytics) + PAGE_TAIL


#: Sent as bytes with ``application/json``: it looks like HTML on purpose (the middleware
#: must not touch it) and is not ASCII.
JSON_BODY = json.dumps(
    {
        "html": f'<body><script src="{GTAG_SRC}"></script></body>',
        "text": "Grüße, 東京",
        "items": list(range(5)),
    },
    ensure_ascii=False,
    separators=(",", ":"),
).encode("utf-8")

#: A page sent in several body messages; tag and URL boundaries fall inside the chunks.
HTML_CHUNKS = (
    b"<!doctype html>\n<html><head><title>Streamed</title></head><bo",
    b'dy>\n<p id="part-1">one</p>\n<script async src="https://www.googletag',
    b'manager.com/gtag/js?id=G-TEST1"></script>\n<p id="part-2">two</p>\n',
    b'<p id="part-3">three</p>\n</body></html>\n',
)
TEXT_CHUNKS = (b"alpha\n", b"<body>beta</body>\n", b"gamma " * 200 + b"\n", b"delta\n")

#: The page depends on the visitor's cookies (it shows their choice), and says so, as apps
#: that read a session do: the middleware must not list ``Cookie`` a second time.
PAGE_HEADERS = {"Vary": "Cookie"}

#: Name and value of the analytics cookie every app sets on ``/cookies``.
GA_COOKIE = ("_ga", "GA1.1.123.456")


async def html_chunks() -> AsyncIterator[bytes]:
    for chunk in HTML_CHUNKS:
        yield chunk


async def text_chunks() -> AsyncIterator[bytes]:
    for chunk in TEXT_CHUNKS:
        yield chunk
