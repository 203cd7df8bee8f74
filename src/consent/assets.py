"""`StaticAssets`: the banner's JS and CSS under content-hashed names, and their endpoint.

Everything is done once, in ``__init__``: the files are read from `banner_sources` (and the
generated ones, such as the runtime guard's host table, taken as built), hashed, gzipped
and given strong ETags. Shipped files are served without their comments and indentation
(`served_form`): the size budget of SPEC section 6 is what a visitor downloads, and the
sources stay written for people. A name embeds the content's hash, so an asset is
immutable under its name and cached for a year; a new release gets new names.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from consent.headers import HeaderList

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

__all__ = [
    "ASSET_FILES",
    "STATIC_CACHE_CONTROL",
    "StaticAssets",
    "banner_sources",
    "respond",
    "served_form",
]

#: Assets are immutable under their content-hashed names: cache them for a year.
STATIC_CACHE_CONTROL = b"public, max-age=31536000, immutable"
#: The shipped files, in `banner_sources` (the repository's ``static/banner/``, which the wheel
#: carries as ``consent/static/banner/``); ``placeholder.*`` are loaded by a blocked iframe's
#: placeholder document only (outside the banner's size budget); ``guard.js`` is the runtime
#: guard (docs/guard.md).
ASSET_FILES = (
    "banner.js",
    "banner.css",
    "gcm.js",
    "guard.js",
    "placeholder.js",
    "placeholder.css",
)

_CONTENT_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
}


@functools.cache
def banner_sources() -> Traversable:
    """The directory holding `ASSET_FILES`, found once per process.

    The sources live in the repository's top-level ``static/banner/``; the wheel carries them
    as ``consent/static/banner/`` (hatchling's ``force-include``), which is taken when it
    exists: an installed wheel. An editable install imports ``consent`` from ``src/``, where
    they are not, so the checkout's ``static/banner/`` (two levels above this package) is
    taken instead.
    """
    return _locate_banner_sources(
        resources.files("consent") / "static" / "banner",
        Path(__file__).resolve().parents[2] / "static" / "banner",
    )


def _locate_banner_sources(installed: Traversable, checkout: Path) -> Traversable:
    """``installed`` if it is a directory, else ``checkout`` if it is one, else an error."""
    if installed.is_dir():
        return installed
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "the banner's static files are missing: neither the installed package's "
        f"{installed} (a wheel install) nor the source checkout's {checkout} (an editable "
        "install) is a directory"
    )


_JS_HEADER = re.compile(rb"\A/\*.*?\*/\n", re.DOTALL)
_CSS_COMMENT = re.compile(rb"/\*.*?\*/", re.DOTALL)


def served_form(name: str, body: bytes) -> bytes:
    """A shipped file as it is served: without comments, indentation and blank lines.

    Line by line, and every line stays a line, so no JavaScript statement can end elsewhere
    (automatic semicolons). That is safe for our files because none holds a string, template
    or comment spanning lines other than a JavaScript file's leading ``/* ... */`` block (a
    line starting with ``//`` is then always a comment), and no CSS string holds ``/*``;
    tests/test_guard.py checks both.
    """
    js = name.endswith(".js")
    if js:
        body = _JS_HEADER.sub(b"", body, count=1)
    elif name.endswith(".css"):
        body = _CSS_COMMENT.sub(b"", body)
    else:
        return body
    lines = (line.strip() for line in body.split(b"\n"))
    return b"".join(line + b"\n" for line in lines if line and not (js and line[:2] == b"//"))


@dataclass(frozen=True, slots=True)
class _Asset:
    """One static file, ready to send as it is or gzipped."""

    body: bytes
    gzipped: bytes
    content_type: bytes
    etag: bytes
    etag_gzip: bytes


class StaticAssets:
    """The shipped assets, served by name below ``<endpoint_path>/static/``.

    An ASGI app for the ``/static/{name}`` route: it reads ``path_params["name"]``,
    and only the precomputed hashed names exist (no file system lookup at all).
    ``generated`` adds assets built at start-up from the configuration (``{name: body}``,
    e.g. `consent.guard.GUARD_TABLE`): their names change with their content, as the
    shipped files' do, so a new configuration never meets a stale cached copy.
    """

    __slots__ = ("_assets", "_names", "prefix")

    def __init__(self, endpoint_path: str, *, generated: Mapping[str, bytes] | None = None) -> None:
        self.prefix = endpoint_path.rstrip("/") + "/static/"
        self._assets: dict[str, _Asset] = {}
        self._names: dict[str, str] = {}
        sources = banner_sources()
        for name in ASSET_FILES:
            body = (sources / name).read_bytes()
            self._add(name, served_form(name, body))
        for name, body in (generated or {}).items():
            if name in self._names:
                raise ValueError(f"generated asset {name!r} would replace a shipped one")
            self._add(name, body)

    def __contains__(self, name: object) -> bool:
        """Whether an asset called ``name`` (unhashed, e.g. ``hosts.js``) is served."""
        return name in self._names

    def _add(self, name: str, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()
        stem, dot, suffix = name.rpartition(".")
        hashed = f"{stem}.{digest[:8]}.{suffix}"
        # mtime=0: the gzipped bytes (and so their length) do not change between starts
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        self._names[name] = hashed
        self._assets[hashed] = _Asset(
            body=body,
            gzipped=gzipped,
            content_type=_CONTENT_TYPES[dot + suffix],
            etag=f'"{digest[:20]}"'.encode(),
            etag_gzip=f'"{digest[:20]}-gz"'.encode(),
        )

    def url(self, name: str) -> str:
        """The content-hashed URL of a shipped asset, e.g. ``banner.js``."""
        try:
            return self.prefix + self._names[name]
        except KeyError:
            raise KeyError(f"no banner asset called {name!r}") from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /_consent/static/<name>.<hash>.<ext>``, gzipped when the client takes it."""
        asset = self._assets.get(scope.get("path_params", {}).get("name", ""))
        head = scope["method"] == "HEAD"
        if asset is None:
            body = b"Not Found"
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ]
            await respond(send, 404, headers, body, head=head)
            return
        accept_encoding = b""
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = value
            elif name == b"if-none-match":
                if_none_match = value
        gzipped = _accepts_gzip(accept_encoding)
        etag = asset.etag_gzip if gzipped else asset.etag
        headers = [
            (b"cache-control", STATIC_CACHE_CONTROL),
            (b"etag", etag),
            (b"vary", b"Accept-Encoding"),
        ]
        if if_none_match is not None and _etag_matches(if_none_match, etag):
            await respond(send, 304, headers, b"", head=True)
            return
        body = asset.gzipped if gzipped else asset.body
        headers += [
            (b"content-type", asset.content_type),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
        ]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        await respond(send, 200, headers, body, head=head)


def _accepts_gzip(header: bytes) -> bool:
    for part in header.decode("latin-1").lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() not in ("gzip", "x-gzip"):
            continue
        params = params.replace(" ", "")
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _etag_matches(header: bytes, etag: bytes) -> bool:
    if header.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in header.split(b","))


async def respond(send: Send, status: int, headers: HeaderList, body: bytes, *, head: bool) -> None:
    """Send a whole response (headers only for ``HEAD``)."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
