"""The ``/_consent`` endpoints: read the state, record a choice, the pages below them.

Wire contract (SPEC section 2): ``GET`` answers the JSON state; ``POST`` takes a
form or JSON body with ``action``, ``categories``, ``services``, ``service`` and ``next``
(both decoded onto one pydantic model, `consent.decision.ChoiceBody`); forms get ``303 See
Other``, JSON clients the new state. Bad input changes nothing and gets a 4xx that names the
problem. Routing is a Starlette `Router`: ``/``, ``/preferences``, ``/cookies`` (the cookie
declaration) and ``/static/{name}`` below the consent path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from consent.catalogue import TextCatalogue
from consent.decision import (
    MAX_CATEGORIES,
    Choice,
    ChoiceError,
    Method,
    apply_choice,
    parse_choice,
    single_values,
)
from consent.declaration import DeclarationPage
from consent.i18n import LocaleNegotiator
from consent.records.model import RecordDataError
from consent.request_body import RefusedError, read_body
from consent.runtime import ConsentRuntime, RequestView
from consent.state import Consent

__all__ = ["ConsentEndpoints", "Decision", "DecisionHook", "PageHandler"]

logger = logging.getLogger("consent")

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
NO_STORE = {"cache-control": "no-store"}
#: Where the router's apps find the request's `RequestView` (a key of the routed scope).
_VIEW = "consent.view"


class Decision:
    """One choice as it took effect: what the records store receives."""

    __slots__ = (
        "consent",
        "jurisdiction",
        "locale",
        "method",
        "path",
        "policy",
        "scope",
        "texts",
        "variant",
    )

    def __init__(
        self,
        consent: Consent,
        method: Method,
        locale: str,
        path: str,
        scope: Scope,
        texts: Mapping[str, str],
        *,
        jurisdiction: str = "",
        policy: str = "",
        variant: str = "",
    ) -> None:
        self.consent = consent  # the new state (id, revision, granted, denied, gpc, given_at)
        self.method = method
        self.locale = locale
        self.path = path  # the page the choice was made on (the safe ``next``)
        self.scope = scope  # for user agent and client address; read, never stored whole
        self.texts = texts  # the exact texts the visitor was shown, by text id
        #: Where the visitor was (``"US-CA"``, ``"DE"``; ``""`` unknown), the policy applied
        #: there (a `consent.policies` name) and what they answered: the ``banner``, the
        #: ``notice``, the ``preferences`` page, a ``placeholder``, ``gpc`` (the browser's
        #: signal alone) or ``api`` (a script posting JSON).
        self.jurisdiction = jurisdiction
        self.policy = policy
        self.variant = variant


DecisionHook = Callable[[Decision], Awaitable[None]]
#: A page below the consent path: an ASGI app that also gets the request's view.
PageHandler = Callable[[Scope, Receive, Send, RequestView], Awaitable[None]]


# -- routing ------------------------------------------------------------------------------


class _WithView:
    """An ASGI app for the router, from a handler that also takes the request's view."""

    __slots__ = ("handler",)

    def __init__(self, handler: PageHandler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send, scope[_VIEW])


class _Route(Route):
    """A `Route` whose wrong-method answer is ours: 405 with ``Allow`` and ``no-store``.

    Starlette's own raises ``HTTPException`` when the scope has an ``app`` (any Starlette
    app outside this middleware sets one), which would escape the middleware as a 500.
    """

    def __init__(self, path: str, app: ASGIApp, *, methods: Sequence[str]) -> None:
        super().__init__(path, app, methods=methods)
        self.app = app  # always ASGI: a plain function is not a request handler here
        # Fixed order, not the route's set: the header reads the same on every answer.
        self.allow = ", ".join(m for m in ("GET", "HEAD", "POST") if m in (self.methods or ()))

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            response = PlainTextResponse(
                "Method Not Allowed", 405, headers={"allow": self.allow, **NO_STORE}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _error(message: str, status: int, *, as_json: bool) -> Response:
    """A refusal that changes nothing, in the form the client reads."""
    if as_json:
        return JSONResponse({"error": message}, status, headers=NO_STORE)
    return PlainTextResponse(message, status, headers=NO_STORE)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("Not Found", 404, headers=NO_STORE)(scope, receive, send)


class ConsentEndpoints:
    """The ASGI app for everything under the consent path (called with the request's view).

    Collaborators come in through the constructor: the pages below the path
    (``preferences``, ``assets``), the text catalogue a decision records, the locale
    negotiator, and ``on_decision``: hooks awaited with every decision before it takes
    effect (the records writer). ``on_decision`` stays a public list so that tests and
    benchmarks can put their own recorder in place of the configured one.
    """

    def __init__(
        self,
        runtime: ConsentRuntime,
        *,
        locales: LocaleNegotiator,
        catalogue: TextCatalogue,
        preferences: PageHandler,
        assets: ASGIApp,
        on_decision: Sequence[DecisionHook] = (),
        report: ASGIApp = _not_found,  # GET /report: `consent.listening.ReportEndpoint`
        csp_report: ASGIApp | None = None,  # POST /csp-report: `consent.csp_reports`
    ) -> None:
        self.runtime = runtime
        self.locales = locales
        self.catalogue = catalogue
        self.on_decision: list[DecisionHook] = list(on_decision)
        self._path = runtime.endpoint_path
        self._category_keys = frozenset(c.key for c in runtime.settings.categories)
        self._service_keys = frozenset(runtime.services.category_of)
        routes = [
            _Route("/", _WithView(self._root), methods=["GET", "HEAD", "POST"]),
            _Route("/preferences", _WithView(preferences), methods=["GET", "HEAD"]),
            _Route(
                "/cookies",
                _WithView(
                    DeclarationPage.build(runtime.settings, runtime.services, catalogue, assets)
                ),
                methods=["GET", "HEAD"],
            ),
            _Route("/static/{name:path}", assets, methods=["GET", "HEAD"]),
            _Route("/report", report, methods=["GET", "HEAD"]),
            _Route("/csp-report", csp_report or _not_found, methods=["POST"]),
        ]
        self.router = Router(routes, redirect_slashes=False, default=_not_found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, view: RequestView) -> None:
        """Answer one request below the consent path."""
        routed = {**scope, "path": self._route_path(scope["path"]), "root_path": "", _VIEW: view}
        await self.router(routed, receive, send)

    def _route_path(self, path: str) -> str:
        """The path below the consent path that the routes match.

        Surplus slashes are forgiven (``/_consent/``, ``/_consent/preferences/``), except
        under ``static/``: assets exist only under their exact names. A static path that
        would need forgiving still goes to the static route (methods are checked alike),
        with a name that starts with ``/`` and so names no asset.
        """
        rest = path[len(self._path) :]
        sub = rest.strip("/")
        if sub == "static" or sub.startswith("static/"):
            return rest if rest.startswith("/static/") else "/static//" + sub
        return "/" + sub

    # -- GET and POST /_consent ----------------------------------------------------------

    async def _root(self, scope: Scope, receive: Receive, send: Send, view: RequestView) -> None:
        response: Response
        if scope["method"] == "POST":
            response = await self._post(scope, receive, view)
        else:
            locale = self.locales.negotiate(view.locale_header)
            response = self._state_response(view.consent, locale)
        await response(scope, receive, send)

    def _state_response(self, consent: Consent, locale: str) -> Response:
        return JSONResponse(self.runtime.state_json(consent, locale), headers=NO_STORE)

    # -- POST -----------------------------------------------------------------------------

    async def _post(self, scope: Scope, receive: Receive, view: RequestView) -> Response:
        headers = Headers(scope=scope)
        wants_json = JSON_TYPE in headers.get("accept", "")
        try:
            self._check_origin(headers)
            content_type = self._content_type(headers)
            body = await read_body(receive, headers, self.runtime.settings.max_body_bytes)
            choice = self._choice(body, content_type)
        except RefusedError as exc:
            logger.debug("consent POST refused (%s): %s", exc.status, exc.message)
            as_json = wants_json or (
                exc.status == 400 and headers.get("content-type", "").startswith(JSON_TYPE)
            )
            return _error(exc.message, exc.status, as_json=as_json)

        chosen, method = apply_choice(self.runtime.settings, view.consent, choice)
        wants_json = wants_json or content_type == JSON_TYPE
        locale = self.locales.negotiate(view.locale_header)
        texts = self.catalogue.texts(locale)
        current = view.consent
        decision = Decision(
            chosen,
            method,
            locale,
            choice.next,
            scope,
            texts,
            jurisdiction=current.jurisdiction,
            policy=current.policy,
            variant=choice.variant or ("api" if content_type == JSON_TYPE else "form"),
        )
        try:
            for hook in self.on_decision:
                await hook(decision)
        except RecordDataError as exc:
            # No decision without its record: nothing is set, the visitor is asked again.
            message = f"this decision cannot be recorded ({exc}); nothing was changed"
            return _error(message, 400, as_json=wants_json)
        # What applies from now on: the choice, plus what the policy here allows unasked.
        consent = self.runtime.with_policy(chosen, current.jurisdiction)
        response: Response
        if wants_json:
            response = self._state_response(consent, locale)
        else:
            response = RedirectResponse(choice.next, status_code=303, headers=NO_STORE)
        name, value = self.runtime.consent_cookie_header(chosen, secure=view.secure)
        response.raw_headers.append((name, value))
        response.raw_headers.extend(self.runtime.expired_cookie_headers(view.cookies, consent))
        return response

    def _check_origin(self, headers: Headers) -> None:
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
            raise RefusedError(403, "cross-origin request refused")
        if origin is None:
            if fetch_site is not None:
                if fetch_site in ("same-origin", "none"):
                    return
                raise RefusedError(403, "cross-origin request refused")
            origin = headers.get("referer")
            if origin is None:
                return
        origin = origin.strip().lower()
        try:
            parts = urlsplit(origin)
        except ValueError:
            raise RefusedError(403, "cross-origin request refused") from None
        own = parts.scheme in ("http", "https") and parts.netloc == host and host != ""
        trusted = f"{parts.scheme}://{parts.netloc}" in self.runtime.settings.trusted_origins
        if not (own or trusted):
            raise RefusedError(403, "cross-origin request refused")

    @staticmethod
    def _content_type(headers: Headers) -> str:
        raw = headers.get("content-type", "")
        media_type, _, params = raw.partition(";")
        media_type = media_type.strip().lower()
        if media_type not in (FORM_TYPE, JSON_TYPE):
            raise RefusedError(
                415,
                f"unsupported content type {media_type or 'none'!r}: "
                f"use {FORM_TYPE} or {JSON_TYPE}",
            )
        charset = params.strip().lower()
        utf8 = charset.replace(" ", "") in ("", "charset=utf-8", 'charset="utf-8"')
        if media_type == JSON_TYPE and not utf8:
            raise RefusedError(415, "JSON bodies must be UTF-8")
        # A form's fields are percent-encoded ASCII whatever its charset; see `_form_fields`.
        return media_type

    def _choice(self, body: bytes, content_type: str) -> Choice:
        """The choice a body describes: decoded by its type, validated by `ChoiceBody`."""
        try:
            data = _form_fields(body) if content_type == FORM_TYPE else _json_fields(body)
            return parse_choice(data, self._category_keys, self._service_keys)
        except ChoiceError as exc:
            raise RefusedError(400, str(exc)) from None


def _form_fields(body: bytes) -> dict[str, Any]:
    """A form body as `ChoiceBody` input; a ``next`` that is not UTF-8 becomes ``/``.

    Our forms say ``accept-charset="utf-8"``, but a page served in another encoding (or an
    old template) may still post its own: the decision stays valid, only the way back is
    lost. Field names and the other values are ASCII in every encoding.
    """
    try:
        pairs = parse_qsl(
            body.decode("latin-1"),
            keep_blank_values=True,
            max_num_fields=MAX_CATEGORIES,
            encoding="latin-1",
        )
    except ValueError:
        raise RefusedError(400, "malformed form body") from None
    fields: dict[str, list[str]] = {}
    for raw_key, raw_value in pairs:
        key = _utf8(raw_key)
        value = _utf8(raw_value)
        if key is None:
            raise RefusedError(400, "malformed form body: a field name is not UTF-8")
        if value is None:
            if key != "next":
                raise RefusedError(400, f"malformed form body: `{key[:40]}` is not UTF-8")
            value = "/"
        fields.setdefault(key, []).append(value)
    return single_values(fields)


def _utf8(text: str) -> str | None:
    """``text`` (bytes read as latin-1) decoded as UTF-8, or None if it is not UTF-8."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return None


def _json_fields(body: bytes) -> Any:
    """A JSON body as `ChoiceBody` input (``json``, not pydantic's parser: a lone surrogate
    in ``next`` is a valid JSON string, and `safe_next` replaces it with ``/``)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError(400, "body is not valid UTF-8") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise RefusedError(400, "malformed JSON body") from None
