"""`ConsentMiddleware`: the pure-ASGI entry point.

Per request: read the consent cookie (cached after the first verification),
attach the `Consent` to the scope, answer the consent endpoints itself, and
on the way out sort the host app's ``Set-Cookie`` headers by category, dropping
what the visitor has not granted and expiring declined cookies the browser sent.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent.endpoints import ConsentEndpoints
from consent.runtime import ConsentRuntime, RequestView
from consent.settings import ConsentSettings
from consent.state import Consent

__all__ = ["SCOPE_KEY", "ConsentMiddleware", "get_consent"]

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
        SPEC.md sections 2-4; GDPR Art. 7; ePrivacy Directive Art. 5(3).
    """

    def __init__(
        self, app: ASGIApp, settings: ConsentSettings | None = None, **overrides: Any
    ) -> None:
        self.app = app
        self.settings = _resolve_settings(settings, overrides)
        self.runtime = ConsentRuntime(self.settings)
        self.endpoints = ConsentEndpoints(self.runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
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
            scope = _with_cookie_header(scope, filtered)
        if scope_type == "websocket":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _CookieFilter(runtime, view, send))


class _CookieFilter:
    """The per-request ``send`` wrapper: touches only the response start message."""

    __slots__ = ("runtime", "send", "view")

    def __init__(self, runtime: ConsentRuntime, view: RequestView, send: Send) -> None:
        self.runtime = runtime
        self.view = view
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = self._filter_start(message)
        await self.send(message)

    def _filter_start(self, message: Message) -> Message:
        runtime = self.runtime
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


def _with_cookie_header(scope: Scope, cookie: bytes) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
    if cookie:
        headers.append((b"cookie", cookie))
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
