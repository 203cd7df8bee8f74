"""`ConsentMiddleware`: the pure-ASGI entry point.

Per request: read the consent cookie (cached after the first verification),
attach the `Consent` to the scope, answer the consent endpoints itself, and on
the way out sort the host app's ``Set-Cookie`` headers by category (dropping
what the visitor has not granted, expiring declined cookies the browser sent)
and stream HTML bodies through the rewriter that blocks trackers and adds the
banner.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent.banner import BannerRenderer
from consent.blocking import BlockingRules
from consent.endpoints import ConsentEndpoints
from consent.html_response import (
    BodyCodec,
    consent_etag,
    csp_nonce,
    is_rewritable,
    strip_etag_suffix,
)
from consent.i18n import negotiate_locale
from consent.records import Recorder, recorder_for
from consent.rewriter import HtmlRewriter, PageInjection
from consent.runtime import ConsentRuntime, RequestView
from consent.settings import ConsentSettings
from consent.state import Consent

__all__ = ["SCOPE_KEY", "ConsentMiddleware", "get_consent"]

logger = logging.getLogger("consent")

#: Where the `Consent` lives in ``scope["state"]`` (so ``request.state.consent`` works).
SCOPE_KEY = "consent"
#: Set on the scope by the outermost instance, so a second instance passes through.
_ACTIVE_KEY = "consent.active"


class ConsentMiddleware:
    """Server-side cookie consent for any ASGI app.

    ``ConsentMiddleware(app, settings=None, **overrides)``: without settings,
    they are read from ``CONSENT_*`` environment variables (and the TOML file
    named by ``CONSENT_CONFIG_FILE``); keyword overrides win over both.

    References:
        SPEC.md sections 2-7; GDPR Art. 7; ePrivacy Directive Art. 5(3).
    """

    def __init__(
        self, app: ASGIApp, settings: ConsentSettings | None = None, **overrides: Any
    ) -> None:
        self.app = app
        self.settings = _resolve_settings(settings, overrides)
        self.runtime = ConsentRuntime(self.settings)
        self.endpoints = ConsentEndpoints(self.runtime)
        self.rules = BlockingRules.from_categories(self.settings.categories)
        self.banner = BannerRenderer(self.settings, endpoint_path=self.settings.path)
        self.endpoints.pages["preferences"] = self.banner.preferences_endpoint
        self.endpoints.prefix_pages["static"] = self.banner.static_endpoint
        self.endpoints.texts_for = self.banner.texts
        self.recorder: Recorder | None = recorder_for(self.settings)
        if self.recorder is not None:
            self.endpoints.on_decision.append(self.recorder.record)
        self._multilingual = len(self.settings.banner.locales) > 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "lifespan" and self.recorder is not None:
            await self.app(scope, receive, _LifespanHook(self.recorder, send).send)
            return
        if scope_type not in ("http", "websocket") or scope.get(_ACTIVE_KEY):
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        view = runtime.read(scope)
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state[SCOPE_KEY] = view.consent
        scope[_ACTIVE_KEY] = True

        if scope_type == "http" and runtime.is_endpoint(scope["path"]):
            await self.endpoints(scope, receive, send, view)
            return
        filtered = view.cookie_state.filtered_header
        if filtered is not None and self.settings.filter_request_cookies:
            scope = _replace_header(scope, b"cookie", filtered)
        if scope_type == "websocket":
            await self.app(scope, receive, send)
            return
        html = not scope["path"].startswith(runtime.exclude_prefixes)
        responder = _Responder(self, view, scope, send, html)
        if html and view.if_none_match is not None:
            # The browser holds our consent-specific ETag; the app knows its own.
            tags = strip_etag_suffix(view.if_none_match.decode("latin-1"), responder.variant())
            scope = _replace_header(scope, b"if-none-match", tags.encode("latin-1"))
        await self.app(scope, receive, responder)

    def locale_for(self, view: RequestView) -> str:
        """The visitor's language among the configured ones."""
        return negotiate_locale(
            view.locale_header, self.endpoints.locales, self.endpoints.default_locale
        )

    def rewriter_for(self, view: RequestView, scope: Scope, nonce: str | None) -> HtmlRewriter:
        """A rewriter for one HTML response, with this visitor's grants and banner."""
        consent = view.consent
        locale = self.locale_for(view)
        next_path = scope["path"]
        if scope.get("query_string"):
            next_path += "?" + scope["query_string"].decode("latin-1")
        injection = PageInjection(
            head=self.banner.head_html(consent, nonce=nonce),
            body=self.banner.body_html(consent, locale, next_path=next_path, nonce=nonce),
        )
        banner = self.banner

        def placeholder(key: str) -> str:
            return banner.placeholder_html(key, locale, next_path=next_path)

        return HtmlRewriter(
            self.rules, consent.granted, injection=injection, placeholder=placeholder
        )


class _LifespanHook:
    """Starts and stops the records writer with the app, when the server runs lifespan."""

    def __init__(self, recorder: Recorder, send: Send) -> None:
        self.recorder = recorder
        self._send = send

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            await self.recorder.start()
        elif kind == "lifespan.shutdown.complete":
            await self.recorder.stop()
        await self._send(message)


class _BodyStream:
    """One HTML body on its way through: decoder/encoder around the rewriter."""

    __slots__ = ("codec", "rewriter")

    def __init__(self, rewriter: HtmlRewriter, codec: BodyCodec) -> None:
        self.rewriter = rewriter
        self.codec = codec


class _Responder:
    """The per-request ``send`` wrapper: sorts cookies, then rewrites HTML bodies.

    States: ``held`` (an HTML start message waits for the first body chunk),
    ``stream`` (body chunks go through the rewriter), or neither (pass through).
    """

    __slots__ = ("held", "html", "middleware", "scope", "send", "stream", "view")

    def __init__(
        self,
        middleware: ConsentMiddleware,
        view: RequestView,
        scope: Scope,
        send: Send,
        html: bool,
    ) -> None:
        self.middleware = middleware
        self.view = view
        self.scope = scope
        self.send = send
        self.html = html
        self.held: tuple[Message, BodyCodec] | None = None
        self.stream: _BodyStream | None = None

    def variant(self) -> str:
        """What the rewritten body depends on, for a consent-specific ETag."""
        consent: Consent = self.view.consent
        locale = self.middleware.locale_for(self.view) if self.middleware._multilingual else ""
        granted = "+".join(sorted(consent.granted))
        return f"{granted}|{int(consent.decided)}|{int(consent.gpc)}|{locale}"

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            message = self._filter_cookies(message)
            if self.html:
                rewritable, coding = is_rewritable(message, method=self.scope["method"])
                if rewritable:
                    self.held = (message, BodyCodec(coding))
                    return
            await self.send(message)
        elif kind != "http.response.body":
            # e.g. http.response.pathsend: a body we cannot see goes out as it is.
            if self.held is not None:
                await self.send(self.held[0])
                self.held = None
            await self.send(message)
        elif self.held is not None:
            start, codec = self.held
            self.held = None
            await self._first_body(start, codec, message)
        elif self.stream is not None:
            await self._next_body(self.stream, message)
        else:
            await self.send(message)

    # -- cookies ----------------------------------------------------------------------------

    def _filter_cookies(self, message: Message) -> Message:
        runtime = self.middleware.runtime
        consent = self.view.consent
        headers = message.get("headers", ())
        kept: list[tuple[bytes, bytes]] | None = None
        for index, (name, value) in enumerate(headers):
            if name.lower() == b"set-cookie" and not runtime.set_cookie_allowed(value, consent):
                if kept is None:
                    kept = list(headers[:index])
            elif kept is not None:
                kept.append((name, value))
        expired = self.view.cookie_state.expired_headers
        if kept is None and not expired:
            return message
        new_headers = list(headers) if kept is None else kept
        new_headers.extend(expired)
        return {**message, "headers": new_headers}

    # -- HTML bodies ------------------------------------------------------------------------

    def _rewritten_start(self, start: Message, codec: BodyCodec) -> tuple[Message, _BodyStream]:
        start = {**start, "headers": list(start.get("headers", ()))}
        headers = MutableHeaders(scope=start)
        rewriter = self.middleware.rewriter_for(self.view, self.scope, csp_nonce(headers))
        vary = "Cookie, Accept-Language" if self.middleware._multilingual else "Cookie"
        headers.add_vary_header(vary)
        etag = headers.get("etag")
        if etag:
            headers["etag"] = consent_etag(etag, self.variant())
        return start, _BodyStream(rewriter, codec)

    async def _first_body(self, start: Message, codec: BodyCodec, message: Message) -> None:
        if message.get("more_body", False):
            start, stream = self._rewritten_start(start, codec)
            del MutableHeaders(scope=start)["content-length"]
            self.stream = stream
            await self.send(start)
            await self._next_body(stream, message)
            return
        # The whole body in one message: rewrite it and send the exact length.
        try:
            plain = codec.decode(message.get("body", b""))
        except zlib.error:
            logger.warning("undecodable %s HTML body passed through", codec.coding)
            await self.send(start)
            await self.send(message)
            return
        start, stream = self._rewritten_start(start, codec)
        out = stream.rewriter.feed(plain) + stream.rewriter.close()
        encoded = codec.encode(out, final=True)
        MutableHeaders(scope=start)["content-length"] = str(len(encoded))
        await self.send(start)
        await self.send({**message, "body": encoded})

    async def _next_body(self, stream: _BodyStream, message: Message) -> None:
        more = message.get("more_body", False)
        try:
            plain = stream.codec.decode(message.get("body", b""))
        except zlib.error:
            logger.warning("undecodable %s HTML body: rest passed through", stream.codec.coding)
            self.stream = None
            await self.send(message)
            return
        out = stream.rewriter.feed(plain)
        if not more:
            out += stream.rewriter.close()
            self.stream = None
        encoded = stream.codec.encode(out, final=not more)
        if encoded or not more:
            await self.send({"type": "http.response.body", "body": encoded, "more_body": more})


def _replace_header(scope: Scope, name: bytes, value: bytes) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k != name]
    if value:
        headers.append((name, value))
    return {**scope, "headers": headers}


def _resolve_settings(
    settings: ConsentSettings | None, overrides: dict[str, Any]
) -> ConsentSettings:
    if settings is None:
        return ConsentSettings(**overrides)
    if not overrides:
        return settings
    merged = {name: getattr(settings, name) for name in settings.model_fields_set}
    return ConsentSettings(**{**merged, **overrides})


def get_consent(scope_or_request: Any) -> Consent:
    """The visitor's `Consent` for a scope or a request object of any framework.

    Raises ``LookupError`` when `ConsentMiddleware` did not handle the request.
    """
    scope = getattr(scope_or_request, "scope", scope_or_request)
    try:
        consent = scope["state"][SCOPE_KEY]
    except (KeyError, TypeError):
        raise LookupError("no consent on this request: is ConsentMiddleware installed?") from None
    if not isinstance(consent, Consent):
        raise LookupError("scope['state']['consent'] is not a Consent")
    return consent
