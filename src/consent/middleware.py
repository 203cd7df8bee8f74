"""`ConsentMiddleware`: the pure-ASGI entry point.

Per request: read the consent cookie (cached after the first verification),
attach the `Consent` to the scope, answer the consent endpoints itself, and on
the way out sort the host app's ``Set-Cookie`` headers by category (dropping
what the visitor has not granted, expiring declined cookies the browser sent)
and stream HTML bodies through the rewriter that blocks trackers and adds the
banner (`consent.responder`).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent.assets import StaticAssets
from consent.banner import BannerRenderer
from consent.catalogue import TextCatalogue
from consent.click_ids import carries_click_ids, is_top_level_navigation, strip_click_ids
from consent.csp import CspNarrowing
from consent.csp_reports import CspReportCounter, csp_parts
from consent.decision import Method, gpc_opt_out
from consent.endpoints import ConsentEndpoints, Decision
from consent.guard import GUARD_TABLE, host_table_script
from consent.headers import HeaderList
from consent.html.blocking import BlockingPolicy
from consent.html_response import strip_etag_suffix, variant_etag
from consent.i18n import LocaleNegotiator
from consent.listening import listener_for, report_endpoint
from consent.observations import Report
from consent.pages import ONCE_PARAM, PageRewriting, page_path, without_once
from consent.preferences import PreferencesPage
from consent.records import RecordDataError, Recorder, recorder_for
from consent.responder import Responder, WebSocketResponder
from consent.runtime import ConsentRuntime, RequestView, blocking_rules_for
from consent.settings import ConsentSettings
from consent.state import Consent

__all__ = ["SCOPE_KEY", "ConsentMiddleware", "get_consent"]

logger = logging.getLogger("consent")

#: Where the `Consent` lives in ``scope["state"]`` (so ``request.state.consent`` works).
SCOPE_KEY = "consent"
#: Set on the scope by the outermost instance, so a second instance passes through.
_ACTIVE_KEY = "consent.active"
#: Server extensions that send a body we cannot see (a file by path): not offered for pages.
_UNSEEN_BODY_EXTENSIONS = ("http.response.pathsend", "http.response.zerocopy")
_ONCE_PARAM = ONCE_PARAM.encode()
#: ``Sec-Fetch-Dest`` values whose answer is never rendered as a page: their
#: ``Accept-Encoding`` stays as the browser sent it.
_SUBRESOURCES = frozenset(
    b"audio audioworklet font image json manifest paintworklet report script serviceworker "
    b"sharedworker style track video webidentity worker xslt".split()
)


class ConsentMiddleware:
    """Server-side cookie consent for any ASGI app.

    ``ConsentMiddleware(app, settings=None, **overrides)``: without settings,
    they are read from ``CONSENT_*`` environment variables (and the TOML file
    named by ``CONSENT_CONFIG_FILE``); keyword overrides win over both.

    Per request, data flows one way: the request is read once into a
    `RequestView`; the consent endpoints answer themselves; otherwise the app
    gets a scope fit for rewriting (narrowed ``Accept-Encoding``, the app's own
    ``ETag``s) and a `Responder` made from the view alone.

    References:
        SPEC.md sections 2-8; GDPR Art. 7; ePrivacy Directive Art. 5(3).
    """

    def __init__(
        self, app: ASGIApp, settings: ConsentSettings | None = None, **overrides: Any
    ) -> None:
        self.app = app
        self.settings = settings = _resolve_settings(settings, overrides)
        self.runtime = ConsentRuntime(settings)
        locales = LocaleNegotiator(settings.banner.locales, settings.banner.default_locale)
        catalogue = TextCatalogue(settings)
        rules = blocking_rules_for(settings, self.runtime.purposes, self.runtime.services)
        # The runtime guard's copy of these rules (docs/guard.md), served beside the banner.
        guard = {GUARD_TABLE: host_table_script(rules)} if settings.runtime_guard else {}
        assets = StaticAssets(settings.path, generated=guard)
        self.banner = BannerRenderer(
            settings, catalogue=catalogue, assets=assets, services=self.runtime.services
        )
        self.recorder: Recorder | None = recorder_for(settings)
        # GET <path>/report: named sections of counters (listen-only mode adds its own).
        self.report = Report(settings.mode)
        csp = csp_parts(settings.csp, rules, endpoint_path=settings.path)
        self.csp: CspNarrowing | None = csp.narrowing  # None: no CSP work on any request
        self.csp_reports: CspReportCounter | None = csp.counter
        if csp.counter is not None:
            self.report.add("csp", csp.counter)
        self.endpoints = ConsentEndpoints(
            self.runtime,
            locales=locales,
            catalogue=catalogue,
            preferences=PreferencesPage(self.banner, locales),
            assets=assets,
            on_decision=[self.recorder.record] if self.recorder is not None else [],
            report=report_endpoint(settings, self.report),
            csp_report=csp.endpoint,
        )
        blocking = BlockingPolicy(rules)
        vary: tuple[str, ...] = ("Sec-GPC",) if settings.honour_gpc else ()
        vary += tuple(_header_title(h) for h in self.runtime.geolocator.vary)
        self._click_ids_key = self.runtime.click_ids_key
        self._redirect_click_ids = settings.click_ids == "redirect"
        self.pages = PageRewriting(
            blocking, self.banner, locales, vary=vary, click_ids_key=self._click_ids_key
        )
        self.listener = listener_for(settings, self.runtime, blocking, self.pages, self.report)
        self._exclude_prefixes = self.runtime.exclude_prefixes
        self._endpoint_path = settings.path  # `/_consent` itself and everything below it
        self._endpoint_prefix = settings.path + "/"
        from consent.integrations.litestar import warn_if_route_local

        warn_if_route_local(app, settings.path)

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

        path = scope["path"]
        pages = None
        if scope_type == "http":
            if path == self._endpoint_path or path.startswith(self._endpoint_prefix):
                await self.endpoints(scope, receive, send, view)
                return
            if not path.startswith(self._exclude_prefixes):
                pages = self.pages
        if self.listener is not None:  # listen-only: watch, change nothing (but the banner)
            await self.listener(self.app, scope, receive, send, view, pages=pages is not None)
            return
        if scope_type == "websocket":
            app_scope = self._scope_for_app(scope, view, None)
            await self.app(app_scope, receive, WebSocketResponder(view.cookie_state, send))
            return
        responder = Responder(view, scope, pages, send, self.csp if pages else None)
        if view.cookie_state.gpc_opt_out and pages is not None:
            await self._store_gpc_opt_out(scope, view, responder)
        app_scope = scope
        query = scope.get("query_string")  # `in` on an empty bytes object is not free
        clean_query = None
        if query and self._click_ids_key is not None:
            clean_query = self._without_click_ids(query, view)
            redirect = clean_query is not None and self._redirect_click_ids
            if redirect and is_top_level_navigation(scope):
                await _redirect(responder, page_path({**scope, "query_string": clean_query}))
                return
        if (
            view.accept_encoding is not None
            or view.if_none_match is not None
            or view.cookie_state.filtered_header is not None
            or "extensions" in scope
            or clean_query is not None
            or (pages is not None and query and _ONCE_PARAM in query)
        ):
            app_scope = self._scope_for_app(scope, view, responder, clean_query)
        await self.app(app_scope, receive, responder)

    def _without_click_ids(self, query: bytes, view: RequestView) -> bytes | None:
        """The query without ad click identifiers while marketing is not allowed (None: it
        holds none, or the visitor allows them): they identify the ad click that brought
        the visitor, a tracking identifier the site must not take unasked (EDPB Guidelines
        2/2023 on Art. 5(3) ePrivacy)."""
        if not carries_click_ids(query) or self._click_ids_key in view.consent.allowed:
            return None
        return strip_click_ids(query)

    async def _store_gpc_opt_out(
        self, scope: Scope, view: RequestView, responder: Responder
    ) -> None:
        """Store and record that Global Privacy Control opted this visitor out (an opt-out
        policy: `consent.policies`), on a page visit: the signal is honoured on every
        request anyway, this makes it last and proves it. Subresources and scripts' calls
        do not store it, so a page's parallel requests do not each write a record."""
        if scope.get("method") != "GET" or view.fetch_dest not in (None, b"document"):
            return
        current = view.consent
        stored = gpc_opt_out(self.settings, current, view.cookie_state.gpc_opt_out)
        if self.recorder is not None:
            locale = self.pages.locale_for(view)
            decision = Decision(
                stored,
                Method.GPC,
                locale,
                page_path(scope),
                scope,
                self.endpoints.catalogue.texts(locale),
                jurisdiction=current.jurisdiction,
                policy=current.policy,
                variant="gpc",
            )
            try:
                await self.recorder.record(decision)
            except RecordDataError as exc:
                logger.info("GPC opt-out not stored: its record cannot be made (%s)", exc)
                return
        header = self.runtime.consent_cookie_header(stored, secure=view.secure)
        responder.extra_headers = (*responder.extra_headers, header)

    def _scope_for_app(
        self,
        scope: Scope,
        view: RequestView,
        responder: Responder | None,
        clean_query: bytes | None = None,
    ) -> Scope:
        """The scope the app sees: a copy only when something in it has to change.

        * declined cookies hidden (``filter_request_cookies``);
        * for requests that may be answered with a page: ``If-None-Match`` as the app knows
          its ETags, ``Accept-Encoding`` narrowed to codings we decode, and no extension that
          would send a body we cannot see, and the query without our ``consent-once``
          (addressed to us: see `consent.pages`);
        * the query without ad click identifiers (``clean_query``) while marketing is off.
        """
        changes: dict[bytes, bytes] = {}
        query = app_query = scope.get("query_string", b"")
        if clean_query is not None:
            app_query = clean_query
        filtered = view.cookie_state.filtered_header  # set only with filter_request_cookies
        if filtered is not None:
            changes[b"cookie"] = filtered
        extensions: dict[str, Any] = scope.get("extensions") or {}
        drop_extensions = False
        if responder is not None and responder.pages is not None:
            if view.if_none_match is not None and b"-c" in view.if_none_match:
                # The browser holds our consent-specific ETag; the app knows its own. (Tags
                # without our suffix, "-c<token>", pass as they are.)
                variant = responder.page().variant
                sent = view.if_none_match.decode("latin-1")
                tags = strip_etag_suffix(sent, variant)
                responder.revalidated = variant_etag(sent, variant)
                changes[b"if-none-match"] = tags.encode("latin-1")
            if view.accept_encoding is not None and view.fetch_dest not in _SUBRESOURCES:
                narrowed = self.runtime.narrowed_accept_encoding(view.accept_encoding)
                if narrowed is not None:
                    changes[b"accept-encoding"] = narrowed
            drop_extensions = any(name in extensions for name in _UNSEEN_BODY_EXTENSIONS)
            app_query = without_once(app_query)
        if not changes and not drop_extensions and app_query == query:
            return scope
        scope = dict(scope)
        if app_query != query:
            scope["query_string"] = app_query
        if changes:
            scope["headers"] = _changed_headers(scope["headers"], changes)
        if drop_extensions:
            scope["extensions"] = {
                name: value
                for name, value in extensions.items()
                if name not in _UNSEEN_BODY_EXTENSIONS
            }
        return scope


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


def _changed_headers(headers: HeaderList, changes: dict[bytes, bytes]) -> HeaderList:
    """``headers`` with each named header (any case) replaced; an empty value removes it."""
    kept = [(name, value) for name, value in headers if name.lower() not in changes]
    kept.extend((name, value) for name, value in changes.items() if value)
    return kept


async def _redirect(send: Send, location: str) -> None:
    """A redirect to ``location`` (sent through the responder: expired cookies go too)."""
    headers = [
        (b"location", location.encode("latin-1")),
        (b"cache-control", b"no-store"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 307, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _header_title(name: str) -> str:
    """``cf-ipcountry`` as ``Cf-Ipcountry``: how ``Vary`` usually spells header names."""
    return "-".join(part.capitalize() for part in name.split("-"))


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
