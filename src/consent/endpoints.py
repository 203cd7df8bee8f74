"""The ``/_consent`` endpoints: read the state, record a choice.

Wire contract (SPEC section 2): ``GET`` answers the JSON state; ``POST`` takes a
form or JSON body with ``action``, ``categories`` and ``next``; forms get
``303 See Other``, JSON clients the new state. Bad input changes nothing and
gets a 4xx that names the problem.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from consent.decision import Choice, ChoiceError, Method, apply_choice
from consent.i18n import negotiate_locale
from consent.records.model import RecordDataError
from consent.runtime import ConsentRuntime, RequestView
from consent.state import Consent

__all__ = ["ConsentEndpoints", "Decision"]

logger = logging.getLogger("consent")

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
NO_STORE = {"cache-control": "no-store"}
_MAX_FORM_FIELDS = 64
_DIGITS = re.compile(r"[0-9]{1,18}")


class Decision:
    """One choice as it took effect: what the records store receives."""

    __slots__ = ("consent", "locale", "method", "path", "scope", "texts")

    def __init__(
        self,
        consent: Consent,
        method: Method,
        locale: str,
        path: str,
        scope: Scope,
        texts: Mapping[str, str],
    ) -> None:
        self.consent = consent  # the new state (id, revision, granted, denied, gpc, given_at)
        self.method = method
        self.locale = locale
        self.path = path  # the page the choice was made on (the safe ``next``)
        self.scope = scope  # for user agent and client address; read, never stored whole
        self.texts = texts  # the exact texts the visitor was shown, by text id


DecisionHook = Callable[[Decision], Awaitable[None]]
PageHandler = Callable[[Scope, Receive, Send, RequestView], Awaitable[None]]


class _RefusedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConsentEndpoints:
    """A tiny ASGI app for everything under the consent path."""

    def __init__(
        self,
        runtime: ConsentRuntime,
        *,
        pages: Mapping[str, PageHandler] | None = None,
        prefix_pages: Mapping[str, PageHandler] | None = None,
        texts_for: Callable[[str], Mapping[str, str]] | None = None,
        on_decision: Sequence[DecisionHook] = (),
    ) -> None:
        self.runtime = runtime
        self.locales = frozenset(runtime.settings.banner.locales)
        self.default_locale = runtime.settings.banner.default_locale
        #: Called with every decision before it takes effect (the records writer).
        self.on_decision: list[DecisionHook] = list(on_decision)
        #: Extra ``GET`` pages below the consent path (``preferences``, ``static/...``).
        self.pages: dict[str, PageHandler] = dict(pages or {})
        self.prefix_pages: dict[str, PageHandler] = dict(prefix_pages or {})
        #: The exact texts a visitor sees in ``locale`` (recorded with each decision).
        self.texts_for: Callable[[str], Mapping[str, str]] = texts_for or self._category_texts

    def _category_texts(self, locale: str) -> Mapping[str, str]:
        texts: dict[str, str] = {}
        for category in self.runtime.settings.categories:
            texts[f"category.{category.key}.label"] = category.label_for(locale)
            texts[f"category.{category.key}.description"] = category.description_for(locale)
        return texts

    async def __call__(self, scope: Scope, receive: Receive, send: Send, view: RequestView) -> None:
        """Answer one request below the consent path."""
        sub = scope["path"][len(self.runtime.endpoint_path) :].strip("/")
        method = scope["method"]
        if sub == "":
            if method in ("GET", "HEAD"):
                response = self._state_response(view)
            elif method == "POST":
                response = await self._post(scope, receive, view)
            else:
                response = PlainTextResponse(
                    "Method Not Allowed", 405, headers={"allow": "GET, HEAD, POST", **NO_STORE}
                )
            await response(scope, receive, send)
            return
        handler = self.pages.get(sub)
        if handler is None:
            head, _, _ = sub.partition("/")
            handler = self.prefix_pages.get(head)
        if handler is None:
            await PlainTextResponse("Not Found", 404, headers=NO_STORE)(scope, receive, send)
        elif method not in ("GET", "HEAD"):
            response = PlainTextResponse(
                "Method Not Allowed", 405, headers={"allow": "GET, HEAD", **NO_STORE}
            )
            await response(scope, receive, send)
        else:
            await handler(scope, receive, send, view)

    def locale_for(self, view: RequestView) -> str:
        """The visitor's language among the shipped ones."""
        return negotiate_locale(view.locale_header, self.locales, self.default_locale)

    def _state_response(self, view: RequestView, consent: Consent | None = None) -> Response:
        body = self.runtime.state_json(consent or view.consent, self.locale_for(view))
        return JSONResponse(body, headers=NO_STORE)

    # -- POST -----------------------------------------------------------------------------

    async def _post(self, scope: Scope, receive: Receive, view: RequestView) -> Response:
        headers = Headers(scope=scope)
        wants_json = JSON_TYPE in headers.get("accept", "")
        try:
            self._check_origin(scope, headers)
            content_type = self._content_type(headers)
            body = await self._read_body(receive, headers)
            fields = self._parse(body, content_type)
            choice = Choice.from_fields(fields, self.runtime.settings)
        except (_RefusedError, ChoiceError) as exc:
            status = exc.status if isinstance(exc, _RefusedError) else 400
            message = exc.message if isinstance(exc, _RefusedError) else str(exc)
            logger.debug("consent POST refused (%s): %s", status, message)
            if wants_json or (
                status == 400 and headers.get("content-type", "").startswith(JSON_TYPE)
            ):
                return JSONResponse({"error": message}, status, headers=NO_STORE)
            return PlainTextResponse(message, status, headers=NO_STORE)

        consent, method = apply_choice(self.runtime.settings, view.consent, choice)
        wants_json = wants_json or content_type == JSON_TYPE
        locale = self.locale_for(view)
        decision = Decision(consent, method, locale, choice.next, scope, self.texts_for(locale))
        try:
            for hook in self.on_decision:
                await hook(decision)
        except RecordDataError as exc:
            # No decision without its record: nothing is set, the visitor is asked again.
            message = f"this decision cannot be recorded ({exc}); nothing was changed"
            if wants_json:
                return JSONResponse({"error": message}, 400, headers=NO_STORE)
            return PlainTextResponse(message, 400, headers=NO_STORE)
        response: Response
        if wants_json:
            response = self._state_response(view, consent)
        else:
            response = RedirectResponse(choice.next, status_code=303, headers=NO_STORE)
        name, value = self.runtime.consent_cookie_header(consent, secure=view.secure)
        response.raw_headers.append((name, value))
        response.raw_headers.extend(self.runtime.expired_cookie_headers(view.cookies, consent))
        return response

    def _check_origin(self, scope: Scope, headers: Headers) -> None:
        """Refuse cross-origin posts (CSRF); non-browser clients send no Origin at all.

        A page with ``Referrer-Policy: no-referrer`` makes the browser send ``Origin: null``
        with its own forms; ``Sec-Fetch-Site`` (which no page script can set) then tells
        whether the post came from our own origin.
        """
        host = headers.get("host", "").lower()
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site")
        if origin is not None and origin.strip().lower() == "null":
            if fetch_site == "same-origin":
                return
            raise _RefusedError(403, "cross-origin request refused")
        if origin is None:
            if fetch_site is not None:
                if fetch_site in ("same-origin", "none"):
                    return
                raise _RefusedError(403, "cross-origin request refused")
            origin = headers.get("referer")
            if origin is None:
                return
        origin = origin.strip().lower()
        try:
            parts = urlsplit(origin)
        except ValueError:
            raise _RefusedError(403, "cross-origin request refused") from None
        own = parts.scheme in ("http", "https") and parts.netloc == host and host != ""
        trusted = f"{parts.scheme}://{parts.netloc}" in self.runtime.settings.trusted_origins
        if not (own or trusted):
            raise _RefusedError(403, "cross-origin request refused")

    @staticmethod
    def _content_type(headers: Headers) -> str:
        raw = headers.get("content-type", "")
        media_type, _, params = raw.partition(";")
        media_type = media_type.strip().lower()
        if media_type not in (FORM_TYPE, JSON_TYPE):
            raise _RefusedError(
                415,
                f"unsupported content type {media_type or 'none'!r}: "
                f"use {FORM_TYPE} or {JSON_TYPE}",
            )
        charset = params.strip().lower()
        utf8 = charset.replace(" ", "") in ("", "charset=utf-8", 'charset="utf-8"')
        if media_type == JSON_TYPE and not utf8:
            raise _RefusedError(415, "JSON bodies must be UTF-8")
        # A form's fields are percent-encoded ASCII whatever its charset; see `_parse_form`.
        return media_type

    async def _read_body(self, receive: Receive, headers: Headers) -> bytes:
        limit = self.runtime.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not _DIGITS.fullmatch(declared):
                raise _RefusedError(400, "invalid Content-Length")
            if int(declared) > limit:
                raise _RefusedError(413, f"body larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _RefusedError(400, "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _RefusedError(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _parse(body: bytes, content_type: str) -> dict[str, list[str]]:
        if content_type == FORM_TYPE:
            return _parse_form(body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _RefusedError(400, "body is not valid UTF-8") from None
        return _parse_json(text)


def _parse_form(body: bytes) -> dict[str, list[str]]:
    """Fields of a form body; a ``next`` that is not UTF-8 becomes ``/``.

    Our forms say ``accept-charset="utf-8"``, but a page served in another encoding (or an
    old template) may still post its own: the decision stays valid, only the way back is
    lost. Field names and the other values are ASCII in every encoding.
    """
    try:
        pairs = parse_qsl(
            body.decode("latin-1"),
            keep_blank_values=True,
            max_num_fields=_MAX_FORM_FIELDS,
            encoding="latin-1",
        )
    except ValueError:
        raise _RefusedError(400, "malformed form body") from None
    fields: dict[str, list[str]] = {}
    for raw_key, raw_value in pairs:
        key = _utf8(raw_key)
        value = _utf8(raw_value)
        if key is None:
            raise _RefusedError(400, "malformed form body: a field name is not UTF-8")
        if value is None:
            if key != "next":
                raise _RefusedError(400, f"malformed form body: `{key[:40]}` is not UTF-8")
            value = "/"
        fields.setdefault(key, []).append(value)
    return fields


def _utf8(text: str) -> str | None:
    """``text`` (bytes read as latin-1) decoded as UTF-8, or None if it is not UTF-8."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_json(text: str) -> dict[str, list[str]]:
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise _RefusedError(400, "malformed JSON body") from None
    if not isinstance(data, dict):
        raise _RefusedError(400, "JSON body must be an object")
    fields: dict[str, list[str]] = {}
    for key, value in data.items():
        if key == "categories":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _RefusedError(400, "`categories` must be a list of strings")
            if len(value) > _MAX_FORM_FIELDS:
                raise _RefusedError(400, "too many categories")
            fields[key] = list(value)
        elif isinstance(value, str):
            fields[key] = [value]
        elif value is None and key == "next":
            continue
        else:
            raise _RefusedError(400, f"`{str(key)[:40]}` must be a string")
    return fields
