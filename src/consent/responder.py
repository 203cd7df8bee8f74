"""The per-request ``send`` wrappers: cookies sorted, HTML pages rewritten as a stream.

A `Responder` is made from the request alone (its `RequestView`, its scope and,
unless the path is excluded, the middleware's `PageRewriting`) and knows nothing
else: nothing flows back into the middleware. Like Starlette's GZip middleware it
holds an HTML start message back until the first body chunk: a body that arrives
whole (and small) gets an exact ``Content-Length``, a streamed one gets none.

Bodies go through in slices (`SLICE_SIZE` of decoded bytes at most): a gzip
bomb is decoded, rewritten and re-encoded slice by slice with bounded memory,
and a long body yields to the event loop between slices so other requests run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from anyio.lowlevel import checkpoint
from starlette.types import Message, Scope, Send

from consent.body_codec import BodyDecoder, BodyEncoder, CorruptBodyError
from consent.csp import CspNarrowing
from consent.headers import HeaderList, lowercased
from consent.html_response import Treatment, csp_nonce, prepare_headers, set_content_length
from consent.pages import PagePlan, PageRewriting
from consent.rewriter import HtmlRewriter
from consent.runtime import CookieState, RequestView

__all__ = ["SLICE_SIZE", "WHOLE_BODY_LIMIT", "Responder", "WebSocketResponder"]

logger = logging.getLogger("consent")

#: Largest piece of decoded body rewritten in one go (bounds memory and event-loop stalls).
SLICE_SIZE = 256 * 1024
#: A body that ends within this many decoded bytes of its first message is sent with an exact
#: ``Content-Length``; a longer one streams as it is rewritten.
WHOLE_BODY_LIMIT = 1024 * 1024

LOG_CORRUPT_BODY = "HTML body cut short where it stopped decoding (%s); the rest was dropped"
LOG_UNSEEN_BODY = "HTML response sent as %r passes through unrewritten"


def sort_cookies(
    headers: list[tuple[bytes, bytes]], cookies: CookieState
) -> tuple[list[tuple[bytes, bytes]] | None, bool]:
    """``headers`` without the ``Set-Cookie`` values the visitor has not granted, plus the
    expiry headers (None when nothing changes), and whether the body is ``text/html``.

    One pass over the headers, names compared in lowercase, for every response.
    """
    kept: list[tuple[bytes, bytes]] | None = None
    html = False
    for header in headers:
        name = header[0]
        if not name.islower():  # (most apps send lowercase names: no copy then)
            name = name.lower()
        if name == b"set-cookie":
            if not cookies.keep_cookie(header[1]):
                if kept is None:
                    # Everything before the first dropped header stays. (An equal header
                    # earlier on would have been dropped too: this is its first occurrence.)
                    kept = headers[: headers.index(header)]
                continue
        elif name == b"content-type" and header[1].lstrip()[:9].lower() == b"text/html":
            html = True
        if kept is not None:
            kept.append(header)
    if cookies.expired_headers:
        kept = (headers if kept is None else kept) + list(cookies.expired_headers)
    return kept, html


async def _nothing() -> None:
    """Nothing to send (a page's start held back, or a message after its end)."""


# Responder modes: pass everything through, hold a page's start for its first body,
# rewrite the page, the page has ended.
_PASS, _HELD, _REWRITING, _DONE = range(4)


class Responder:
    """The ``send`` of one HTTP request: what it does was decided from the request.

    The page plan (language, ETag variant, rewriter) is made on first use: most
    responses are not pages and never need it.
    """

    # Set on the way, for pages only (declared here: most responses never need them).
    _held: tuple[Message, str]  # an HTML start and its coding (_HELD)
    _rewriter: HtmlRewriter  # (_REWRITING)
    _decoder: BodyDecoder
    _encoder: BodyEncoder
    _start: Message  # the rewritten start (sent with the first bytes)
    _started: bool
    _plain_stream: bool
    _pending: list[bytes]  # rewritten body held while its length may be exact
    _decoded: int

    __slots__ = (
        "_decoded",
        "_decoder",
        "_encoder",
        "_held",
        "_mode",
        "_page",
        "_pending",
        "_plain_stream",
        "_rewriter",
        "_start",
        "_started",
        "csp",
        "extra_headers",
        "pages",
        "revalidated",
        "scope",
        "send",
        "view",
    )

    def __init__(
        self,
        view: RequestView,
        scope: Scope,
        pages: PageRewriting | None,
        send: Send,
        csp: CspNarrowing | None = None,
    ) -> None:
        self.view = view
        self.scope = scope
        self.pages = pages  # None: the path is excluded, pages pass unrewritten
        self.send = send
        self.csp = csp  # None: this visitor's responses need no CSP editing
        # The ETag of a page we rewrote for this very consent variant, when the browser
        # revalidates it: the app's 304 must name our ETag again (or, naming none, get
        # this one), or the browser would store the app's own.
        self.revalidated: str | None = None
        # Headers of ours every response start gets (the cookie storing a GPC opt-out).
        self.extra_headers: tuple[tuple[bytes, bytes], ...] = ()
        self._page: PagePlan | None = None
        self._mode = _PASS

    def __call__(self, message: Message) -> Awaitable[None]:
        """ASGI ``send``. Returns what to await: the next ``send`` itself for a message that
        passes, so most messages of most responses cost no coroutine of ours."""
        kind = message["type"]
        if kind == "http.response.body":
            mode = self._mode
            if mode == _PASS:
                return self.send(message)
            if mode == _REWRITING:
                return self._rewrite(message)
            if mode == _HELD:
                return self._begin_rewrite(message)
            return _nothing()  # _DONE: what the app still sends after the page is dropped
        if kind == "http.response.start":
            start = self._on_start(message)
            return _nothing() if start is None else self.send(start)
        return self._other(message)

    async def _other(self, message: Message) -> None:
        """A message that is neither a start nor a body."""
        if self._mode == _HELD:
            # e.g. http.response.pathsend: a body we cannot see. The middleware takes the
            # extension away from pages it rewrites, so only a misbehaving app gets here.
            logger.warning(LOG_UNSEEN_BODY, message["type"])
            self._mode = _PASS
            await self.send(self._held[0])
        await self.send(message)

    # -- start ------------------------------------------------------------------------------

    def page(self) -> PagePlan:
        """The plan for an HTML answer (only called when ``pages`` is set)."""
        if self._page is None:
            assert self.pages is not None  # callers check `pages` first
            self._page = self.pages.plan(self.view, self.scope)
        return self._page

    def _on_start(self, message: Message) -> Message | None:
        """The start message to send now, or None when a page's start is held back."""
        raw = message.get("headers") or []
        headers = raw if isinstance(raw, list) else list(raw)
        filtered, html = sort_cookies(headers, self.view.cookie_state)
        if filtered is not None:
            headers = filtered
            message = {**message, "headers": headers}
        if self.extra_headers:
            headers = [*headers, *self.extra_headers]
            message = {**message, "headers": headers}
        if self.csp is not None and html:
            # Only a document's policy governs what its scripts may add (a policy on an
            # image or JSON answer binds nothing): other responses pass at no cost.
            page = self.page()  # (the middleware gives a CSP editor only with `pages`)
            allowed = self.view.consent.allowed
            if page.once:
                allowed = allowed | page.once  # *Load this once* asked for them
            edited = self.csp.edit(headers, allowed, html=True)
            if edited is not None:
                page.csp_narrowed = self.csp.narrowed(headers, edited)
                headers = edited
                message = {**message, "headers": headers}
        if not html or self.pages is None:
            if self.revalidated is not None and message.get("status") == 304:
                message = self._page_headers(message, headers)
                if not any(name == b"etag" for name, _ in message["headers"]):
                    etag = (b"etag", self.revalidated.encode("latin-1"))
                    message["headers"].append(etag)
            return message
        page = self.page()
        treatment, coding = page.policy.treatment(
            headers, status=message.get("status", 200), method=self.scope.get("method", "GET")
        )
        if treatment is Treatment.REWRITE:
            self._held = ({**message, "headers": lowercased(headers)}, coding)
            self._mode = _HELD
            return None
        if treatment is Treatment.HEADERS:
            message = self._page_headers(message, headers)
        return message

    def _page_headers(self, message: Message, headers: list[tuple[bytes, bytes]]) -> Message:
        """``message`` with the headers of a rewritten page (a HEAD answer, a 304)."""
        page = self.page()
        lowered = lowercased(headers)
        prepare_headers(lowered, page)
        return {**message, "headers": lowered}

    # -- body -------------------------------------------------------------------------------

    async def _begin_rewrite(self, message: Message) -> None:
        start, coding = self._held
        del self._held
        page = self.page()
        headers: HeaderList = start["headers"]
        nonce = csp_nonce(headers)
        prepare_headers(headers, page)
        self._start = start
        self._rewriter = page.rewriter(nonce)
        body = message.get("body", b"")
        if not coding and not message.get("more_body", False) and len(body) <= SLICE_SIZE:
            await self._rewrite_whole(body)  # most pages: one message, no coding
            return
        self._mode = _REWRITING
        self._decoder = BodyDecoder(coding, slice_size=SLICE_SIZE)
        self._encoder = BodyEncoder(coding)
        self._started = False
        self._plain_stream = False  # streaming a body without coding: the short path
        self._pending = []
        self._decoded = 0
        await self._rewrite(message)

    async def _rewrite_whole(self, body: bytes) -> None:
        """A whole page in one message without a coding: rewritten at once, sent with its
        exact length (what `_rewrite` does with it, without slices and codecs)."""
        rewriter = self._rewriter
        out = rewriter.feed(body)
        out += rewriter.close()
        if rewriter.doubted and self.pages is not None:
            self.pages.note_doubt(self.scope.get("path", "/"))
        self._mode = _DONE
        set_content_length(self._start["headers"], len(out))
        await self.send(self._start)
        await self.send({"type": "http.response.body", "body": out})

    async def _rewrite(self, message: Message) -> None:
        more = bool(message.get("more_body", False))
        if self._plain_stream and more:
            body = message.get("body", b"")
            if len(body) <= SLICE_SIZE:  # the usual streamed chunk: no coding, one slice
                chunk = self._rewriter.feed(body)
                if chunk:
                    await self.send(
                        {"type": "http.response.body", "body": chunk, "more_body": True}
                    )
                return
        rewriter, decoder, encoder = self._rewriter, self._decoder, self._encoder
        out: list[bytes] = []  # encoded output of this message, not sent yet
        try:
            for piece in decoder.decode(message.get("body", b"")):
                if out:  # a long body: send what is ready, let other requests run
                    await self._flush(out)
                    await checkpoint()
                out.append(encoder.encode(rewriter.feed(piece)))
                self._decoded += len(piece)
            if not more:
                out.extend(encoder.encode(rewriter.feed(piece)) for piece in decoder.finish())
        except CorruptBodyError as exc:
            # Fail closed: what decoded was rewritten; bytes past the damage never reach the
            # browser unrewritten (a browser would render whatever it could decode).
            logger.warning(LOG_CORRUPT_BODY, exc)
            more = False
        if more:
            out.append(encoder.flush(final=False))
            await self._flush(out, streaming=True)
            return
        out.append(encoder.encode(rewriter.close()))
        if rewriter.doubted and self.pages is not None:
            self.pages.note_doubt(self.scope.get("path", "/"))
        out.append(encoder.flush(final=True))
        self._mode = _DONE
        if not self._started:
            out = self._pending + out
            self._started = True
            if self._decoded <= WHOLE_BODY_LIMIT:
                # The whole page arrived within the limit: one message, its exact length.
                out = [b"".join(out)]
                set_content_length(self._start["headers"], len(out[0]))
            await self.send(self._start)
        await self.send({"type": "http.response.body", "body": b"".join(out)})

    async def _flush(self, out: list[bytes], *, streaming: bool = False) -> None:
        """Send ``out`` (emptied), or hold it while the page may still fit one message.

        ``streaming``: the app streams its body, so the page streams too from now on.
        """
        if not self._started:
            self._pending.extend(out)
            out.clear()
            if not streaming and self._decoded <= WHOLE_BODY_LIMIT:
                return
            # Start streaming: no Content-Length (removed with the stale headers).
            self._started = True
            self._plain_stream = self._decoder.coding in ("", "identity")
            await self.send(self._start)
            out, self._pending = self._pending, []
        body = b"".join(out)
        out.clear()
        if body:
            await self.send({"type": "http.response.body", "body": body, "more_body": True})


class WebSocketResponder:
    """The ``send`` of a websocket: ``Set-Cookie`` on the handshake is sorted too.

    Cookies ride on ``websocket.accept`` and on a denial response
    (``websocket.http.response.start``); a declined category's cookie must not
    slip in through either.
    """

    __slots__ = ("cookies", "send")

    def __init__(self, cookies: CookieState, send: Send) -> None:
        self.cookies = cookies
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] in ("websocket.accept", "websocket.http.response.start"):
            raw = message.get("headers") or []
            headers = raw if isinstance(raw, list) else list(raw)
            filtered, _ = sort_cookies(headers, self.cookies)
            if filtered is not None:
                message = {**message, "headers": filtered}
        await self.send(message)
