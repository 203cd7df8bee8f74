"""The per-request ``send`` wrappers: cookies sorted, HTML pages rewritten as a stream.

A `ResponsePlan` is made from the request alone; the `Responder` follows it and
knows nothing else. Like Starlette's GZip middleware it holds an HTML start
message back until the first body chunk: a body that arrives whole (and small)
gets an exact ``Content-Length``, a streamed one gets none.

Bodies go through in slices (`SLICE_SIZE` of decoded bytes at most): a gzip
bomb is decoded, rewritten and re-encoded slice by slice with bounded memory,
and a long body yields to the event loop between slices so other requests run.
"""

from __future__ import annotations

import logging

from anyio.lowlevel import checkpoint
from starlette.types import Message, Scope, Send

from consent.body_codec import BodyDecoder, BodyEncoder, CorruptBodyError
from consent.headers import HeaderList, lowercased
from consent.html_response import Treatment, csp_nonce, prepare_headers, set_content_length
from consent.pages import PagePlan, PageRewriting
from consent.rewriter import HtmlRewriter
from consent.runtime import CookieState, RequestView

__all__ = ["SLICE_SIZE", "WHOLE_BODY_LIMIT", "Responder", "ResponsePlan", "WebSocketResponder"]

logger = logging.getLogger("consent")

#: Largest piece of decoded body rewritten in one go (bounds memory and event-loop stalls).
SLICE_SIZE = 256 * 1024
#: A body that ends within this many decoded bytes of its first message is sent with an exact
#: ``Content-Length``; a longer one streams as it is rewritten.
WHOLE_BODY_LIMIT = 1024 * 1024

LOG_CORRUPT_BODY = "HTML body cut short where it stopped decoding (%s); the rest was dropped"
LOG_UNSEEN_BODY = "HTML response sent as %r passes through unrewritten"


class ResponsePlan:
    """What the responder does for one request, decided before the app answers.

    The page plan (language, ETag variant, rewriter) is made on first use: most
    responses are not pages and never need it.
    """

    __slots__ = ("_page", "pages", "revalidating", "scope", "view")

    def __init__(self, view: RequestView, scope: Scope, pages: PageRewriting | None) -> None:
        self.view = view
        self.scope = scope
        self.pages = pages  # None: the path is excluded, pages pass unrewritten
        # The browser revalidates a page we rewrote for this very consent variant: the
        # app's 304 must name our ETag again, or the browser would store the app's own.
        self.revalidating = False
        self._page: PagePlan | None = None

    @property
    def cookies(self) -> CookieState:
        """Which ``Set-Cookie`` values may pass, and which cookies to expire."""
        return self.view.cookie_state

    @property
    def method(self) -> str:
        """The request method (``HEAD`` answers get headers only)."""
        method: str = self.scope.get("method", "GET")
        return method

    def page(self) -> PagePlan:
        """The plan for an HTML answer (only called when ``pages`` is set)."""
        if self._page is None:
            assert self.pages is not None  # callers check `pages` first
            self._page = self.pages.plan(self.view, self.scope)
        return self._page


def sort_cookies(
    headers: list[tuple[bytes, bytes]], cookies: CookieState
) -> tuple[list[tuple[bytes, bytes]] | None, bool]:
    """``headers`` without the ``Set-Cookie`` values the visitor has not granted, plus the
    expiry headers (None when nothing changes), and whether the body is ``text/html``.

    One pass over the headers, names compared in lowercase, for every response.
    """
    kept: list[tuple[bytes, bytes]] | None = None
    keep_cookie = cookies.keep_cookie
    html = False
    for index, (name, value) in enumerate(headers):
        lowered = name.lower()
        if lowered == b"set-cookie" and not keep_cookie(value):
            if kept is None:
                kept = headers[:index]
            continue
        if lowered == b"content-type" and value.lstrip()[:9].lower() == b"text/html":
            html = True
        if kept is not None:
            kept.append((name, value))
    if cookies.expired_headers:
        kept = (headers if kept is None else kept) + list(cookies.expired_headers)
    return kept, html


class Responder:
    """The ``send`` of one HTTP request, following its `ResponsePlan`."""

    __slots__ = (
        "_decoded",
        "_decoder",
        "_done",
        "_encoder",
        "_held",
        "_pending",
        "_rewriter",
        "_start",
        "_started",
        "plan",
        "send",
    )

    def __init__(self, plan: ResponsePlan, send: Send) -> None:
        self.plan = plan
        self.send = send
        self._held: tuple[Message, str] | None = None  # an HTML start and its coding
        self._rewriter: HtmlRewriter | None = None  # set while a page streams through
        self._done = False  # the rewritten page has ended
        # The rest is set by `_begin_rewrite`, for pages only:
        self._decoder: BodyDecoder
        self._encoder: BodyEncoder
        self._start: Message | None  # the rewritten start, until it is sent
        self._started: bool
        self._pending: list[bytes]  # rewritten body held while its length may be exact
        self._decoded: int

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if self._held is not None:
                await self._begin_rewrite(message)
            elif self._rewriter is not None:
                await self._rewrite(message)
            elif not self._done:
                await self.send(message)
        elif kind == "http.response.start":
            await self._on_start(message)
        else:
            if self._held is not None:
                # e.g. http.response.pathsend: a body we cannot see. The middleware takes the
                # extension away from pages it rewrites, so only a misbehaving app gets here.
                logger.warning(LOG_UNSEEN_BODY, kind)
                await self.send(self._held[0])
                self._held = None
            await self.send(message)

    # -- start ------------------------------------------------------------------------------

    async def _on_start(self, message: Message) -> None:
        plan = self.plan
        raw = message.get("headers") or []
        headers = raw if isinstance(raw, list) else list(raw)
        filtered, html = sort_cookies(headers, plan.cookies)
        if filtered is not None:
            headers = filtered
            message = {**message, "headers": headers}
        if not html or plan.pages is None:
            if plan.revalidating and message.get("status") == 304:
                message = self._page_headers(message, headers)
            await self.send(message)
            return
        page = plan.page()
        treatment, coding = page.policy.treatment(
            headers, status=message.get("status", 200), method=plan.method
        )
        if treatment is Treatment.REWRITE:
            self._held = ({**message, "headers": lowercased(headers)}, coding)
            return
        if treatment is Treatment.HEADERS:
            message = self._page_headers(message, headers)
        await self.send(message)

    def _page_headers(self, message: Message, headers: list[tuple[bytes, bytes]]) -> Message:
        """``message`` with the headers of a rewritten page (a HEAD answer, a 304)."""
        page = self.plan.page()
        lowered = lowercased(headers)
        prepare_headers(lowered, vary=page.vary, variant=page.variant)
        return {**message, "headers": lowered}

    # -- body -------------------------------------------------------------------------------

    async def _begin_rewrite(self, message: Message) -> None:
        held, self._held = self._held, None
        assert held is not None  # only called while a start is held
        start, coding = held
        page = self.plan.page()
        headers: HeaderList = start["headers"]
        nonce = csp_nonce(headers)
        prepare_headers(headers, vary=page.vary, variant=page.variant)
        self._start = start
        self._rewriter = page.rewriter(nonce)
        self._decoder = BodyDecoder(coding, slice_size=SLICE_SIZE)
        self._encoder = BodyEncoder(coding)
        self._started = False
        self._pending = []
        self._decoded = 0
        await self._rewrite(message)

    async def _rewrite(self, message: Message) -> None:
        rewriter, decoder, encoder = self._rewriter, self._decoder, self._encoder
        assert rewriter is not None  # set by _begin_rewrite
        more = bool(message.get("more_body", False))
        try:
            first = True
            for piece in decoder.decode(message.get("body", b"")):
                if not first:
                    await checkpoint()  # a long body: let other requests run between slices
                first = False
                await self._emit(encoder.encode(rewriter.feed(piece)), len(piece))
            if not more:
                for piece in decoder.finish():
                    await self._emit(encoder.encode(rewriter.feed(piece)), len(piece))
        except CorruptBodyError as exc:
            # Fail closed: what decoded was rewritten; bytes past the damage never reach the
            # browser unrewritten (a browser would render whatever it could decode).
            logger.warning(LOG_CORRUPT_BODY, exc)
            more = False
        if more:
            await self._emit(encoder.flush(final=False), 0)
            if not self._started:
                await self._send_start()
            return
        tail = encoder.encode(rewriter.close()) + encoder.flush(final=True)
        self._rewriter = None
        self._done = True  # anything the app still sends after the end is dropped
        if self._started:
            await self.send({"type": "http.response.body", "body": tail, "more_body": False})
            return
        body = b"".join(self._pending) + tail
        self._pending = []
        start = self._start
        assert start is not None
        set_content_length(start["headers"], len(body))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _emit(self, data: bytes, decoded: int) -> None:
        """Send rewritten bytes, or hold them while the body may still fit one message."""
        if self._started:
            if data:
                await self.send({"type": "http.response.body", "body": data, "more_body": True})
            return
        if data:
            self._pending.append(data)
        self._decoded += decoded
        if self._decoded > WHOLE_BODY_LIMIT:
            await self._send_start()

    async def _send_start(self) -> None:
        """Start streaming: no ``Content-Length`` (removed with the stale headers)."""
        start, self._start = self._start, None
        assert start is not None
        self._started = True
        await self.send(start)
        body = b"".join(self._pending)
        self._pending = []
        if body:
            await self.send({"type": "http.response.body", "body": body, "more_body": True})


class WebSocketResponder:
    """The ``send`` of a websocket: ``Set-Cookie`` on the handshake is sorted too.

    Cookies ride on ``websocket.accept`` and on a denial response
    (``websocket.http.response.start``); a declined category's cookie must not
    slip in through either.
    """

    __slots__ = ("plan", "send")

    def __init__(self, plan: ResponsePlan, send: Send) -> None:
        self.plan = plan
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] in ("websocket.accept", "websocket.http.response.start"):
            raw = message.get("headers") or []
            headers = raw if isinstance(raw, list) else list(raw)
            filtered, _ = sort_cookies(headers, self.plan.cookies)
            if filtered is not None:
                message = {**message, "headers": filtered}
        await self.send(message)
