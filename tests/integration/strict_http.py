"""A strict HTTP/1.1 client over a raw socket: it sees the headers exactly as sent.

In-process clients and forgiving ones (httpx, requests) merge or hide what browsers and
proxies refuse: two ``Content-Length`` headers, a length that does not match the body, a
``Vary`` listing a token twice. This client reads the raw bytes, parses them itself and
raises `HeaderError` on any of those, with the whole header block in the message.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

#: Headers that may appear once only (RFC 9110: single-valued fields).
SINGLETONS = frozenset(
    {
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "location",
        "etag",
        "last-modified",
    }
)
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class HeaderError(AssertionError):
    """The response's header block is malformed, duplicated or contradicts the body."""


@dataclass
class Response:
    status: int
    reason: str
    #: (name as sent, value), in order.
    raw_headers: list[tuple[str, str]]
    body: bytes
    chunked: bool
    framing: str = field(default="")

    def headers(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), in order."""
        wanted = name.lower()
        return [value for key, value in self.raw_headers if key.lower() == wanted]

    def header(self, name: str) -> str | None:
        values = self.headers(name)
        if len(values) > 1:
            raise HeaderError(f"{name} sent {len(values)} times: {values}")
        return values[0] if values else None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def set_cookies(self) -> dict[str, str]:
        """Cookie name -> its whole ``Set-Cookie`` header value."""
        cookies: dict[str, str] = {}
        for value in self.headers("set-cookie"):
            name = value.split("=", 1)[0].strip()
            cookies[name] = value
        return cookies

    def cookie_values(self) -> dict[str, str]:
        """Cookie name -> value, for sending back (cookies with a past expiry left out)."""
        values: dict[str, str] = {}
        for header in self.headers("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or (morsel.value == "" and morsel["expires"]):
                    continue
                values[name] = morsel.value
        return values

    def describe(self) -> str:
        lines = [f"HTTP {self.status} {self.reason} ({self.framing})"]
        lines += [f"{key}: {value}" for key, value in self.raw_headers]
        return "\n".join(lines)


def request(
    base_url: str,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    cookies: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> Response:
    """Send one request on a fresh connection (``Connection: close``) and parse the answer."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    header_items = list(headers.items() if isinstance(headers, Mapping) else headers)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in header_items]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    raw_request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(raw_request)
        received = bytearray()
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    return parse(bytes(received), method=method)


def get(base_url: str, path: str, **kwargs: Any) -> Response:
    return request(base_url, "GET", path, **kwargs)


def post_form(
    base_url: str, path: str, fields: Mapping[str, str], *, origin: str | None = None, **kw: Any
) -> Response:
    headers = dict(kw.pop("headers", {}))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Origin"] = origin if origin is not None else base_url
    body = urlencode(fields).encode("ascii")
    return request(base_url, "POST", path, headers=headers, body=body, **kw)


def parse(data: bytes, *, method: str = "GET") -> Response:
    """Parse one whole HTTP/1.1 response; raise `HeaderError` on anything ambiguous."""
    if not data:
        raise HeaderError("the server closed the connection without a response")
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise HeaderError(f"no end of headers in {len(data)} bytes: {data[:300]!r}")
    status_line, *header_lines = head.split(b"\r\n")
    match = re.match(rb"^HTTP/1\.[01] (\d{3})(?: (.*))?$", status_line)
    if match is None:
        raise HeaderError(f"bad status line {status_line!r}")
    status = int(match[1])
    reason = (match[2] or b"").decode("latin-1")
    raw_headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise HeaderError(f"malformed header line {line!r}")
        raw_headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    response = Response(status, reason, raw_headers, b"", chunked=False)
    _check_headers(response)
    response.body, response.chunked, response.framing = _body(response, rest, method)
    return response


def _check_headers(response: Response) -> None:
    counts: dict[str, list[str]] = {}
    for name, _value in response.raw_headers:
        counts.setdefault(name.lower(), []).append(name)
    for name, spellings in counts.items():
        if name in SINGLETONS and len(spellings) > 1:
            raise HeaderError(f"duplicate {name} header ({spellings}):\n{response.describe()}")
    tokens = [
        token.strip().lower()
        for value in response.headers("vary")
        for token in value.split(",")
        if token.strip()
    ]
    if len(tokens) != len(set(tokens)):
        raise HeaderError(f"Vary lists a token twice {tokens}:\n{response.describe()}")
    if response.headers("content-length") and response.headers("transfer-encoding"):
        raise HeaderError(f"Content-Length with Transfer-Encoding:\n{response.describe()}")


def _body(response: Response, rest: bytes, method: str) -> tuple[bytes, bool, str]:
    if method == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200:
        if rest:
            raise HeaderError(f"{len(rest)} bytes after a body-less response")
        return b"", False, "no body"
    encoding = (response.header("transfer-encoding") or "").lower()
    if encoding:
        if encoding != "chunked":
            raise HeaderError(f"unexpected Transfer-Encoding {encoding!r}")
        return _dechunk(rest), True, "chunked"
    length = response.header("content-length")
    if length is not None:
        if not length.isdigit():
            raise HeaderError(f"Content-Length {length!r} is not a number")
        if int(length) != len(rest):
            raise HeaderError(
                f"Content-Length {length} but {len(rest)} body bytes arrived:\n"
                f"{response.describe()}"
            )
        return rest, False, "content-length"
    return rest, False, "close-delimited"


def _dechunk(data: bytes) -> bytes:
    body = bytearray()
    position = 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            raise HeaderError("chunked body ends inside a chunk size line")
        size_text = data[position:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HeaderError(f"bad chunk size {size_text!r}") from None
        position = end + 2
        if size == 0:
            # optional trailers, then the final CRLF and nothing else
            trailer_end = data.find(b"\r\n\r\n", position - 2)
            if trailer_end < 0 or data[trailer_end + 4 :]:
                raise HeaderError("chunked body: bad end or bytes after the last chunk")
            return bytes(body)
        chunk = data[position : position + size]
        if len(chunk) != size or data[position + size : position + size + 2] != b"\r\n":
            raise HeaderError("chunked body: a chunk is shorter than its size")
        body += chunk
        position += size + 2
