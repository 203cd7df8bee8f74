"""Listen-only mode: judge every response as enforcing would, change none of it, count.

With ``mode = "listen"`` the middleware still reads the consent cookie and answers the
consent endpoints, but the host app's requests and responses pass untouched: no script,
iframe or image is neutralised, no cookie dropped or expired, no header edited. Sampled
requests are inspected on the side instead (`consent.observations` keeps the counts):

* the cookies a visitor who has not consented sends, and the ``Set-Cookie`` headers the
  app answers with, judged by the same `ConsentRuntime` checks that drop them when
  enforcing;
* HTML bodies, decoded and fed to a second tokenizer whose handler asks the enforcing
  `BlockingHandler` about every tag and records what it would have neutralised, while
  the bytes sent are the app's own.

With ``listen.banner`` on, full documents get the banner (and the headers any page we
change needs: its length, ``Vary``, a consent-specific ``ETag``) and nothing else; such
pages go through a tokenizer whose handler decides nothing, so their markup stays the
app's byte for byte around the inserted banner.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent.blocking import BlockingRules, _split_url
from consent.body_codec import BodyDecoder, BodyEncoder, CorruptBodyError
from consent.headers import HeaderList, lowercased
from consent.html.blocking import BlockingHandler, BlockingPolicy, saved_name
from consent.html.lexer import Attr, Inert, SparseTags, parse_attrs
from consent.html.tokenizer import NEEDS_TEXT, UNDECIDED, PageInjection, Tokenizer
from consent.html_response import (
    HtmlPolicy,
    Treatment,
    csp_nonce,
    prepare_headers,
    set_content_length,
)
from consent.observations import Observations, Report
from consent.pages import PageRewriting, page_path
from consent.runtime import ConsentRuntime, RequestView
from consent.settings import ConsentSettings

__all__ = [
    "INLINE_HOST",
    "SAME_SITE_HOST",
    "UNCLASSIFIED",
    "Listener",
    "ObservingHandler",
    "ReportEndpoint",
    "listen_head",
    "listener_for",
    "report_endpoint",
]

logger = logging.getLogger("consent")

#: The host reported for an inline script that loads or calls a tracker.
INLINE_HOST = "(inline)"
#: The host reported for an element labelled with a category whose URL is the site's own.
SAME_SITE_HOST = "(same site)"
#: The category reported for a cookie no category claims (dropped under
#: ``unclassified_cookies = "block"``).
UNCLASSIFIED = "(unclassified)"
_SLICE = 256 * 1024  # decoded bytes scanned in one go (bounds memory, as the responder's)
_TEXT_PLAIN = "text/plain"
_SPACE = "\t\n\f\r "
_NO_STORE = {"cache-control": "no-store"}

#: Head scripts that enforce in the browser: Consent Mode defaults, and the runtime guard
#: with its host table.
_ENFORCING_SCRIPTS = re.compile(rb'<script id="consent-(?:gcm|hosts|guard)"[^>]*></script>')
_STORAGE_ATTRIBUTE = re.compile(rb' data-storage="[^"]*"')

Found = Callable[[str, str, str], None]  # (kind, host, category)


class ObservingHandler:
    """A tokenizer `Handler` that asks the enforcing handler about each tag, reports what it
    would have neutralised to ``found(kind, host, category)``, and changes nothing.

    Its ``decided`` stays empty so the tokenizer asks about every tag, repeats included
    (the enforcing handler's own cache still saves the judging); ``blocks_nothing`` is the
    enforcing handler's, so ambiguous readings are guarded and judged as when enforcing.
    """

    names = BlockingHandler.names
    sparse: SparseTags = frozenset()
    inert = BlockingHandler.inert  # never neutralised, so never counted

    def __init__(self, inner: BlockingHandler, rules: BlockingRules, found: Found) -> None:
        self._inner = inner
        self._rules = rules
        self._found = found
        self.decided: dict[bytes, bytes | None] = {}

    @property
    def blocks_nothing(self) -> bool:
        """Whether the visitor allows everything (then nothing is ever counted)."""
        return self._inner.blocks_nothing

    def start_tag(self, name: bytes, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """Count an element that enforcing would neutralise; keep it as it is."""
        done = self._judged(tag)
        if done is _UNKNOWN:
            done = self._inner.start_tag(name, tag, body, foreign=foreign)
        if done is not None and done != tag:
            self._element(name, tag, done, body)
        return None

    def script(self, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        """Count a script that enforcing would make inert; ask for its text when that
        decides (the tokenizer then calls `script_text`)."""
        done = self._judged(tag)
        if done is _UNKNOWN:
            done = self._inner.script(tag, body, foreign=foreign)
        if done is NEEDS_TEXT:
            return NEEDS_TEXT
        if done is not None and done != tag:
            self._script(tag, done, body, inline=False)
        return None

    def script_text(self, tag: bytes, text: bytes, *, foreign: bool, exact: bool = True) -> bytes:
        """An inline script judged on its text: counted as the tracker it loads or calls."""
        done = self._inner.script_text(tag, text, foreign=foreign, exact=exact)
        if done != tag:
            self._script(tag, done, len(b"<script"), inline=True)
        return tag

    def long_tag(self, name: bytes, head: bytes, *, foreign: bool) -> bytes:
        """A tag too long to read (past the tokenizer's limit): left as it is, not counted
        (its URLs were never read, so there is no host to report)."""
        return head

    def remember(self, key: bytes, done: bytes | None) -> None:
        """Nothing is kept: every occurrence must reach the handler to be counted."""

    def recall(self, key: bytes) -> bytes | None:
        """Nothing was kept (see `remember`)."""
        return UNDECIDED

    def _judged(self, tag: bytes) -> bytes | None:
        return self._inner.decided.get(tag, _UNKNOWN)

    # -- what was neutralised ---------------------------------------------------------------

    def _element(self, name: bytes, tag: bytes, done: bytes, body: int) -> None:
        before = parse_attrs(tag, body, len(tag) - 1)
        after = parse_attrs(done, body, len(done) - 1)
        # Blocked: a live fetching attribute became ``data-consent-<name>``. (A pre-blocked
        # element relabelled or restored is not: it never fetched while enforcing either.)
        for attr_name, attr in before.items():
            saved = saved_name(attr_name)
            if (
                attr_name not in after
                and saved in after
                and saved not in before
                and attr.value.strip(_SPACE)
            ):
                self._report(name, attr.value, before, after)
                return

    def _script(self, tag: bytes, done: bytes, body: int, *, inline: bool) -> None:
        before = parse_attrs(tag, body, len(tag) - 1)
        after = parse_attrs(done, body, len(done) - 1)
        kind_after = after.get(b"type")
        if kind_after is None or kind_after.value.strip(_SPACE).lower() != _TEXT_PLAIN:
            return  # a pre-blocked script restored or relabelled: it runs or not as before
        kind_before = before.get(b"type")
        if kind_before is not None and kind_before.value.strip(_SPACE).lower() == _TEXT_PLAIN:
            return  # already inert (pre-blocked): it never ran while enforcing either
        src = next((before[a] for a in (b"src", b"href", b"xlink:href") if a in before), None)
        if inline or src is None:
            self._found("script", INLINE_HOST, self._category(before, after))
            return
        self._report(b"script", src.value, before, after)

    def _report(
        self, name: bytes, url: str, before: dict[bytes, Attr], after: dict[bytes, Attr]
    ) -> None:
        split = _split_url(url)
        host = split[0] if split is not None else SAME_SITE_HOST
        self._found(name.decode("ascii", "replace"), host, self._category(before, after))

    def _category(self, before: dict[bytes, Attr], after: dict[bytes, Attr]) -> str:
        """The category enforcing named the element after (its ``data-consent`` label, or
        the page's own), a service reported as the category it belongs to."""
        label = after.get(b"data-consent") or before.get(b"data-consent")
        keys: list[str] = []
        if label is not None:
            for word in label.value.replace(",", " ").split():
                key = self._rules.alias(word)
                if key is not None:
                    keys.append(key)
        if not keys:
            return UNCLASSIFIED
        services = self._rules.purposes.services
        return " ".join(dict.fromkeys(services.get(key, key) for key in keys))


_UNKNOWN: bytes | None = b"\0unknown"


class _PassHandler:
    """A tokenizer `Handler` that decides nothing: the banner goes in, the markup stays."""

    names: frozenset[bytes] = frozenset()
    sparse: SparseTags = frozenset()
    inert: Inert | None = None
    blocks_nothing = True

    def __init__(self) -> None:
        self.decided: dict[bytes, bytes | None] = {}

    def start_tag(self, name: bytes, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        return None

    def script(self, tag: bytes, body: int, *, foreign: bool) -> bytes | None:
        return None

    def script_text(self, tag: bytes, text: bytes, *, foreign: bool, exact: bool = True) -> bytes:
        return tag

    def long_tag(self, name: bytes, head: bytes, *, foreign: bool) -> bytes:
        return head

    def remember(self, key: bytes, done: bytes | None) -> None:
        pass

    def recall(self, key: bytes) -> bytes | None:
        return UNDECIDED


class Listener:
    """Listen-only handling of the host app's requests (one per middleware).

    ``pages`` is the middleware's `PageRewriting` (its banner, locales and the Vary list of
    a page with a banner); ``blocking`` the enforcing rules the pages are judged by.
    """

    def __init__(
        self,
        settings: ConsentSettings,
        runtime: ConsentRuntime,
        blocking: BlockingPolicy,
        pages: PageRewriting,
        observations: Observations,
    ) -> None:
        self.runtime = runtime
        self.blocking = blocking
        self.pages = pages
        self.observations = observations
        self.banner = settings.listen.banner
        self.policy = HtmlPolicy()

    async def __call__(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        view: RequestView,
        *,
        pages: bool,
    ) -> None:
        """Run ``app`` for one request with its scope as it came; ``pages``: the path is
        not excluded (HTML is scanned, and gets the banner when that is on)."""
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        observations = self.observations
        group: str | None = None
        if observations.sample():
            group = observations.group(scope["path"])
            observations.request(group)
            self._request_cookies(view, group)
        if group is None and not (pages and self.banner):
            await app(scope, receive, send)  # not sampled: nothing to see or change
            return
        await app(scope, receive, _ListeningSend(self, view, scope, send, group, pages=pages))

    def _request_cookies(self, view: RequestView, group: str) -> None:
        """Count the cookies enforcing would expire: those the visitor has not allowed."""
        consent = view.consent
        allowed = self.runtime.cookie_allowed
        for name in view.cookies:
            if not allowed(name, consent):
                self.observations.cookie(group, "request", name, self._category(name))

    def response_cookies(self, headers: HeaderList, view: RequestView, group: str) -> None:
        """Count the ``Set-Cookie`` headers enforcing would drop."""
        consent = view.consent
        for name, value in headers:
            if name.lower() == b"set-cookie" and not self.runtime.set_cookie_allowed(
                value, consent
            ):
                cookie = value.split(b"=", 1)[0].strip().decode("latin-1")
                self.observations.cookie(group, "response", cookie, self._category(cookie))

    def _category(self, name: str) -> str:
        """The category of cookie ``name`` (a service's cookie: the service's category)."""
        key = self.runtime.classifier.classify(name)
        if key is None:
            return UNCLASSIFIED
        return self.runtime.purposes.services.get(key, key)

    def scanner(self, view: RequestView, group: str) -> Tokenizer:
        """A tokenizer that counts under ``group`` what this visitor's page would lose."""
        observations = self.observations

        def found(kind: str, host: str, category: str) -> None:
            observations.tracker(group, kind, host, category)

        inner = self.blocking.handler(view.consent.allowed)
        return Tokenizer(ObservingHandler(inner, self.blocking.rules, found))


# What `_ListeningSend` does with the body: pass it, scan a copy, or add the banner.
_PASS, _SCAN, _HELD, _BANNER = range(4)


class _ListeningSend:
    """The ``send`` of one listened-to request: watches, and adds only the banner."""

    __slots__ = (
        "_banner",
        "_decoder",
        "_encoder",
        "_group",
        "_listener",
        "_mode",
        "_pages",
        "_scanner",
        "_scope",
        "_send",
        "_start",
        "_view",
    )

    def __init__(
        self,
        listener: Listener,
        view: RequestView,
        scope: Scope,
        send: Send,
        group: str | None,
        *,
        pages: bool,
    ) -> None:
        self._listener = listener
        self._view = view
        self._scope = scope
        self._send = send
        self._group = group  # None: not sampled, only the banner to add
        self._pages = pages
        self._mode = _PASS
        self._scanner: Tokenizer | None = None
        self._banner: Tokenizer | None = None
        self._decoder: BodyDecoder
        self._encoder: BodyEncoder
        self._start: Message

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._on_start(message)
        elif kind == "http.response.body":
            mode = self._mode
            if mode == _SCAN:
                self._scan(message)
                await self._send(message)
            elif mode == _HELD:
                await self._begin_banner(message)
            elif mode == _BANNER:
                await self._with_banner(message)
            else:
                await self._send(message)
        else:
            if self._mode == _HELD:  # a body we cannot see (pathsend): the page as it is
                self._mode = _PASS
                await self._send(self._start)
            await self._send(message)

    async def _on_start(self, message: Message) -> None:
        listener = self._listener
        raw = message.get("headers") or []
        headers = raw if isinstance(raw, list) else list(raw)
        group = self._group
        if group is not None:
            listener.response_cookies(headers, self._view, group)
        if not self._pages:
            await self._send(message)
            return
        treatment, coding = listener.policy.treatment(
            headers, status=message.get("status", 200), method=self._scope.get("method", "GET")
        )
        if treatment is Treatment.HEADERS and listener.banner:  # HEAD: as GET would answer
            message = self._banner_headers(message, headers)
        elif treatment is Treatment.REWRITE:
            self._decoder = BodyDecoder(coding, slice_size=_SLICE)
            if group is not None:
                self._scanner = listener.scanner(self._view, group)
                listener.observations.page(group)
            if listener.banner:
                self._encoder = BodyEncoder(coding)
                self._start = {**message, "headers": lowercased(headers)}
                self._mode = _HELD
                return
            self._mode = _SCAN
        await self._send(message)

    def _scan(self, message: Message) -> list[bytes] | None:
        """Feed the body to the scanner; return the decoded slices (for the banner), or
        None when the body stopped decoding (it is not what its coding says)."""
        more = bool(message.get("more_body", False))
        try:
            pieces = list(self._decoder.decode(message.get("body", b"")))
            if not more:
                pieces.extend(self._decoder.finish())
        except CorruptBodyError as exc:
            logger.info("listen-only: an HTML body did not decode (%s); not read further", exc)
            self._scanner = None
            if self._mode == _SCAN:
                self._mode = _PASS
            return None
        scanner = self._scanner
        if scanner is not None:
            try:
                for piece in pieces:
                    scanner.feed(piece)
                if not more:
                    scanner.close()
            except Exception:  # counting is a side channel: it never breaks the answer
                logger.exception("listen-only: scanning an HTML body failed; not counted")
                self._scanner = None
        return pieces

    def _banner_headers(self, message: Message, headers: HeaderList) -> Message:
        """The start of a HEAD answer for a page that gets the banner: no length, Vary and
        the ETag of the page with the banner."""
        lowered = lowercased(headers)
        plan = self._listener.pages.plan(self._view, self._scope)
        prepare_headers(lowered, plan)
        return {**message, "headers": lowered}

    async def _begin_banner(self, message: Message) -> None:
        start = self._start
        headers: HeaderList = start["headers"]
        pages = self._listener.pages
        plan = pages.plan(self._view, self._scope)
        nonce = csp_nonce(headers)
        consent = self._view.consent
        injection = PageInjection(
            head=listen_head(pages.banner.head_html(consent, nonce=nonce)),
            body=pages.banner.body_html(
                consent, plan.locale, next_path=page_path(self._scope), nonce=nonce
            ),
        )
        self._banner = Tokenizer(_PassHandler(), injection=injection)
        prepare_headers(headers, plan)
        self._mode = _BANNER
        if not message.get("more_body", False):
            # The whole page in one message: one answer with its exact length.
            body = self._banner_body(message)
            set_content_length(headers, len(body))
            await self._send(start)
            await self._send({"type": "http.response.body", "body": body})
            return
        await self._send(start)  # streamed: no Content-Length (dropped by prepare_headers)
        await self._with_banner(message)

    async def _with_banner(self, message: Message) -> None:
        more = bool(message.get("more_body", False))
        body = self._banner_body(message)
        if body or not more:
            await self._send({"type": "http.response.body", "body": body, "more_body": more})

    def _banner_body(self, message: Message) -> bytes:
        """One message's body with the banner inserted where it belongs, re-encoded."""
        banner, encoder = self._banner, self._encoder
        assert banner is not None
        more = bool(message.get("more_body", False))
        pieces = self._scan(message)
        if pieces is None:
            # What decoded went out with the banner; the rest is passed on as the app sent
            # it (the browser would have got it without us as well).
            self._mode = _PASS
            tail = [encoder.encode(banner.close()), encoder.flush(final=True)]
            rest: bytes = message.get("body", b"")
            return b"".join(tail) + rest
        out = [encoder.encode(banner.feed(piece)) for piece in pieces]
        if more:
            out.append(encoder.flush(final=False))
        else:
            out.append(encoder.encode(banner.close()))
            out.append(encoder.flush(final=True))
        return b"".join(out)


def listen_head(head: bytes) -> bytes:
    """The banner's ``<head>`` tags without what would enforce: the Consent Mode script (its
    defaults deny Google tags storage), the runtime guard (it blocks trackers added later)
    and the web storage keys banner.js clears on a refusal. What stays draws the banner and
    posts the choice."""
    return _STORAGE_ATTRIBUTE.sub(b"", _ENFORCING_SCRIPTS.sub(b"", head), count=1)


class ReportEndpoint:
    """``GET <path>/report``: the report as JSON, for a bearer of ``report_token``.

    Without a token configured the report does not exist (404), so a site that never asked
    for it exposes nothing. A wrong or missing token gets 401 without saying which; the
    comparison takes the same time whatever the token sent.
    """

    def __init__(self, token: str | None, report: Report) -> None:
        self._token = token.encode("utf-8") if token else None
        self.report = report

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if self._token is None:
            response = PlainTextResponse("Not Found", 404, headers=_NO_STORE)
        elif not self._authorised(Headers(scope=scope).get("authorization", "")):
            response = PlainTextResponse(
                "Unauthorized",
                401,
                headers={**_NO_STORE, "www-authenticate": 'Bearer realm="consent-report"'},
            )
        else:
            response = JSONResponse(self.report.document(), headers=_NO_STORE)
        await response(scope, receive, send)

    def _authorised(self, header: str) -> bool:
        """Whether ``Authorization: Bearer <token>`` names our token (constant time)."""
        assert self._token is not None
        scheme, _, sent = header.partition(" ")
        given = sent.strip().encode("utf-8", "surrogateescape")
        same = hmac.compare_digest(given, self._token)
        return same and scheme.lower() == "bearer"


def listener_for(
    settings: ConsentSettings,
    runtime: ConsentRuntime,
    blocking: BlockingPolicy,
    pages: PageRewriting,
    report: Report,
) -> Listener | None:
    """The middleware's `Listener` in listen-only mode (its counts published in ``report``
    as the ``listen`` section), else None."""
    if settings.mode != "listen":
        return None
    observations = Observations(settings.listen)
    report.add("listen", observations)
    return Listener(settings, runtime, blocking, pages, observations)


def report_endpoint(settings: ConsentSettings, report: Report) -> ReportEndpoint:
    """``GET <path>/report`` for these settings (404 until ``report_token`` is set)."""
    token = settings.report_token
    return ReportEndpoint(token.get_secret_value() if token else None, report)
