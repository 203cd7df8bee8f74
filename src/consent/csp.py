"""A consent-aware Content-Security-Policy: the browser itself refuses declined trackers.

The HTML rewriter makes the trackers in the markup inert, but a tag manager the visitor
allowed (or a first-party script) can still add a tracker at run time. When the app sends a
``Content-Security-Policy``, `CspNarrowing` removes from it, per visitor, the host sources
of trackers whose category (or service) the visitor has not granted, so such a load is
refused by the browser and reported to ``<path>/csp-report`` (`consent.csp_reports`).

What narrowing can and cannot do (documented in ``docs/csp.md``):

* Only the fetch directives trackers load through are narrowed: ``script-src`` (and its
  ``-elem``/``-attr`` variants), ``connect-src``, ``img-src``, ``frame-src``, ``child-src``
  and ``media-src``. Where one of them is absent and ``default-src`` would apply, the
  narrowed ``default-src`` is written out as that directive, so styles and fonts keep the
  app's own ``default-src``.
* Nonces, hashes and keywords are kept as they are. With ``'strict-dynamic'`` browsers
  ignore host sources for scripts, so a trusted script's injections still run; the
  beacons they send are still refused through ``connect-src``/``img-src``.
* ``*`` and scheme sources (``https:``) allow every host: CSP has no way to subtract one,
  so such a directive is left as it is (and that is logged once).
* A host source whose host has path rules of several categories (``www.google.com``:
  reCAPTCHA is necessary, ``/pagead/`` marketing) is kept: removing it would break the
  necessary part; a path-specific source (``www.google.com/pagead/``) is removed.
* A granted visitor's policy is passed on byte for byte.

References:
    CSP Level 3 (W3C): directive fallback lists, source lists, ``'strict-dynamic'``;
    Reporting API (W3C): ``Reporting-Endpoints``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from consent.blocking import BlockingRules
from consent.cache import MISSING, BoundedCache
from consent.headers import HeaderList
from consent.state import Consent

__all__ = [
    "CSP_HEADER",
    "CSP_REPORT_ONLY_HEADER",
    "REPORT_GROUP",
    "CspNarrowing",
    "CspSettings",
    "narrow_policy",
    "report_only_policy",
]

logger = logging.getLogger("consent")

CSP_HEADER: Final = b"content-security-policy"
CSP_REPORT_ONLY_HEADER: Final = b"content-security-policy-report-only"
#: The ``report-to`` group our policies name, declared in ``Reporting-Endpoints``.
REPORT_GROUP: Final = "consent-csp"

LOG_STRICT_DYNAMIC = (
    "CSP: %s has 'strict-dynamic': browsers ignore its host sources, so scripts a trusted "
    "script adds still load for declined visitors; their beacons are still refused through "
    "connect-src/img-src (logged once)"
)
LOG_BROAD_SOURCE = (
    "CSP: %s allows every host through %r; a policy cannot subtract a host from it, so "
    "declined trackers are not refused there (logged once)"
)
LOG_UNRESTRICTED = (
    "CSP: the policy has neither %s nor default-src, so it allows every host there; "
    "nothing to narrow (logged once)"
)


class CspSettings(BaseModel):
    """The consent-aware Content-Security-Policy and its violation reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    narrow: bool = Field(
        default=True,
        description="Remove declined trackers' hosts from the app's `Content-Security-Policy` "
        "(script, connect, img, frame, child and media sources), per visitor, so the browser "
        "refuses what a tag manager injects. A granted visitor's policy is unchanged.",
    )
    report_only_when_absent: bool = Field(
        default=False,
        description="On HTML pages whose app sends no CSP at all, add a "
        "`Content-Security-Policy-Report-Only` that reports every third-party load to the "
        "report endpoint and blocks nothing. Needs `reporting`.",
    )
    reporting: bool = Field(
        default=True,
        description="Accept CSP violation reports at `<path>/csp-report` and count them by "
        "host, category and directive (no URLs, addresses or user agents kept); narrowed "
        "policies without reporting of their own report there.",
    )
    report_max_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest report body accepted, in bytes; larger ones get 413.",
    )
    reports_per_minute: int = Field(
        default=600,
        ge=1,
        le=1_000_000,
        description="Report requests accepted per minute (all senders together; more get 429).",
    )
    report_burst: int = Field(
        default=120,
        ge=1,
        le=1_000_000,
        description="Report requests accepted at once before `reports_per_minute` applies.",
    )
    max_counted: int = Field(
        default=1000,
        ge=10,
        le=100_000,
        description="Distinct (host, category, directive) rows counted; reports beyond that "
        "are counted as dropped.",
    )
    cache_size: int = Field(
        default=512,
        ge=1,
        le=100_000,
        description="Narrowed policies kept per (header value, granted set).",
    )

    @model_validator(mode="after")
    def _report_only_needs_reporting(self) -> CspSettings:
        if self.report_only_when_absent and not self.reporting:
            raise ValueError(
                "csp.report_only_when_absent: a report-only policy reports to the report "
                "endpoint; set csp.reporting = true as well"
            )
        return self


# -- parsing ---------------------------------------------------------------------------------

# What CSP calls ASCII whitespace, and the grammar of a directive name.
_WS = re.compile(r"[\t\n\f\r ]+")
_DIRECTIVE_NAME = re.compile(r"[A-Za-z0-9-]+")
_SCHEME_SOURCE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_SOURCE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]*://)?"
    r"(?P<host>\*|(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?)"
    r"(?::(?:[0-9]+|\*))?"
    r"(?P<path>/[^?#]*)?"
)
#: Scheme sources that admit any host of the web.
_BROAD_SCHEMES = frozenset({"http:", "https:", "ws:", "wss:"})

#: The directives narrowed in place when present.
NARROWED = (
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "connect-src",
    "img-src",
    "frame-src",
    "child-src",
    "media-src",
)
_SCRIPT_DIRECTIVES = frozenset({"script-src", "script-src-elem", "script-src-attr"})


class _Directive:
    """One directive of a policy: its text as sent, its name (lowercase), its sources."""

    __slots__ = ("name", "sources", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        tokens = _WS.split(text.strip())
        head = tokens[0] if tokens else ""
        self.name = head.lower() if _DIRECTIVE_NAME.fullmatch(head) else ""
        self.sources = [t for t in tokens[1:] if t]


class _Narrower:
    """Decides, for one visitor, which source expressions of a directive stay."""

    __slots__ = ("_allowed", "_domains", "_logged", "_rules")

    def __init__(
        self,
        rules: BlockingRules,
        allowed: frozenset[str],
        domains: frozenset[str],
        logged: set[str],
    ) -> None:
        self._rules = rules
        self._allowed = allowed
        self._domains = domains
        self._logged = logged

    def declined(self, source: str) -> bool | None:
        """True: a declined tracker's source (remove it); False: keep it; None: it admits
        every host (``*``, ``https:``), or every subdomain of a domain trackers live under."""
        if source[:1] == "'":
            return False  # keywords, nonces, hashes
        folded = source.lower()
        if source == "*" or folded in _BROAD_SCHEMES:
            return None
        if _SCHEME_SOURCE.fullmatch(source):
            return False  # data:, blob:, mediastream: ...
        match = _HOST_SOURCE.fullmatch(source)
        if match is None:
            return False  # not a source expression: the browser ignores it, so do we
        host = match.group("host").lower().rstrip(".")
        if host == "*":
            return None
        wildcard = host.startswith("*.")
        if wildcard:
            host = host[2:]
        key = self._rules.category_of_url(f"https://{host}{match.group('path') or '/'}")
        if key is not None:
            return key not in self._allowed
        if wildcard and any(
            d == host or d.endswith("." + host) for d in self._domains
        ):  # `*.google.com` holds declined and necessary hosts alike
            return None
        return False

    def once(self, message: str, *args: object, level: int = logging.INFO) -> None:
        """Log ``message`` once per middleware (a policy is the same on every response)."""
        key = message % args
        if key not in self._logged:
            self._logged.add(key)
            logger.log(level, message, *args)

    def narrow(self, directive: _Directive, name: str) -> list[str] | None:
        """The sources of ``directive`` to write as ``name``, or None when none is removed."""
        kept: list[str] = []
        removed = False
        for source in directive.sources:
            verdict = self.declined(source)
            if verdict is None:
                self.once(LOG_BROAD_SOURCE, name, source)
                kept.append(source)
            elif verdict:
                removed = True
            else:
                kept.append(source)
        if not removed:
            return None
        if name in _SCRIPT_DIRECTIVES and any(s.lower() == "'strict-dynamic'" for s in kept):
            self.once(LOG_STRICT_DYNAMIC, name)
        return kept or ["'none'"]


def _write(name: str, sources: Sequence[str]) -> str:
    return " ".join((name, *sources))


def _narrow_one(policy: str, narrower: _Narrower, report_uri: str | None) -> str:
    """One serialized policy (no commas), narrowed; ``policy`` itself when nothing changes."""
    parts = policy.split(";")
    directives = [_Directive(part) for part in parts]
    first: dict[str, int] = {}
    for index, directive in enumerate(directives):
        if directive.name:
            first.setdefault(directive.name, index)  # browsers ignore a repeated directive
    if not first:
        return policy  # empty, or nothing a browser reads as a directive
    changed = False
    for name in NARROWED:
        at = first.get(name)
        if at is None:
            continue
        kept = narrower.narrow(directives[at], name)
        if kept is not None:
            lead = parts[at][: len(parts[at]) - len(parts[at].lstrip())]
            parts[at] = lead + _write(name, kept)
            changed = True
    added: list[str] = []
    default = first.get("default-src")
    missing = _absent_fallbacks(first)
    if missing and default is None:
        for name in missing:
            narrower.once(LOG_UNRESTRICTED, name, level=logging.DEBUG)
    elif missing and default is not None:
        fallback = narrower.narrow(directives[default], "default-src")
        if fallback is not None:
            added = [_write(name, fallback) for name in missing]
    if not changed and not added:
        return policy
    if report_uri is not None:
        added += _reporting(parts, first, report_uri)
    body = ";".join(parts).rstrip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return "; ".join([body, *added]) if body.strip() else "; ".join(added)


def _absent_fallbacks(first: dict[str, int]) -> list[str]:
    """The directives to write out because a tracker load would fall back to
    ``default-src`` without them (frames go through ``child-src`` first)."""
    missing = [
        name for name in ("script-src", "connect-src", "img-src", "media-src") if name not in first
    ]
    if "frame-src" not in first and "child-src" not in first:
        missing.append("frame-src")
    return missing


def _reporting(parts: list[str], first: dict[str, int], report_uri: str) -> list[str]:
    """Make the policy report to us, unless it reports elsewhere through ``report-to``.

    ``report-uri`` takes several addresses: ours is added to the app's. ``report-to`` is
    only added to a policy with no reporting at all, because a browser that knows it
    ignores ``report-uri``, and the app's own collector would go silent.
    """
    if "report-to" in first:
        return []
    index = first.get("report-uri")
    if index is not None:
        parts[index] = parts[index].rstrip() + " " + report_uri
        return []
    return [f"report-uri {report_uri}", f"report-to {REPORT_GROUP}"]


def narrow_policy(
    value: str,
    rules: BlockingRules,
    allowed: frozenset[str],
    *,
    report_uri: str | None = None,
    tracker_domains: Iterable[str] = (),
    logged: set[str] | None = None,
) -> str:
    """``value`` (one header: policies joined by commas) narrowed for a visitor who allows
    ``allowed`` (category and service keys); returns ``value`` itself when nothing changes."""
    seen = set() if logged is None else logged
    narrower = _Narrower(rules, allowed, frozenset(tracker_domains), seen)
    policies = value.split(",")
    narrowed = [_narrow_one(policy, narrower, report_uri) for policy in policies]
    if all(new is old for new, old in zip(narrowed, policies, strict=True)):
        return value
    return ",".join(narrowed)


def report_only_policy(report_uri: str) -> str:
    """The report-only policy for a page without one: every load from another origin is
    reported (inline code, ``data:`` and ``blob:`` are allowed, so reports name third
    parties, not the page's own code); report-only, so nothing is ever blocked."""
    own = "'self' 'unsafe-inline' 'unsafe-eval' data: blob:"
    return f"default-src {own}; report-uri {report_uri}; report-to {REPORT_GROUP}"


# -- per response ----------------------------------------------------------------------------


class CspNarrowing:
    """Edits the CSP headers of responses, per visitor; one per middleware instance.

    ``tracker_keys`` are the category and service keys the blocking rules can answer: a
    visitor who allows them all gets no editing at all (`for_consent` returns None), so a
    granted visitor's policy is untouched and costs nothing. Narrowed values are kept in a
    bounded cache per (header value, allowed keys); values carrying a nonce are unique per
    response and are not kept.
    """

    def __init__(
        self,
        settings: CspSettings,
        rules: BlockingRules,
        *,
        tracker_keys: Iterable[str],
        tracker_domains: Iterable[str] = (),
        report_uri: str,
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.tracker_keys = frozenset(tracker_keys)
        self.domains = frozenset(tracker_domains)
        self.report_uri = report_uri if settings.reporting else None
        self._cache: BoundedCache[tuple[bytes, frozenset[str]], bytes] = BoundedCache(
            settings.cache_size
        )
        self._logged: set[str] = set()
        endpoint = f'{REPORT_GROUP}="{report_uri}"'.encode("latin-1")
        self._endpoints_header = (b"reporting-endpoints", endpoint)
        self._report_only = (
            (CSP_REPORT_ONLY_HEADER, report_only_policy(report_uri).encode("latin-1"))
            if settings.report_only_when_absent
            else None
        )

    def for_consent(self, consent: Consent) -> CspNarrowing | None:
        """Self when responses to this visitor may need editing, else None."""
        if self._report_only is not None:
            return self
        if not self.settings.narrow or self.tracker_keys <= consent.allowed:
            return None
        return self

    def edit(
        self, headers: HeaderList, allowed: frozenset[str], *, html: bool
    ) -> HeaderList | None:
        """``headers`` with narrowed policies (a new list), or None when nothing changes.

        ``allowed``: the keys this response may load (the visitor's, and on a page what
        *Load this once* asked for).

        Never raises: a header that is not Latin-1 text or not a policy passes unchanged.
        """
        found = False
        for name, _ in headers:
            lowered = name.lower()
            if lowered in (CSP_HEADER, CSP_REPORT_ONLY_HEADER):
                found = True
                break
        if not found:
            if html and self._report_only is not None:
                return [*headers, self._report_only, self._endpoints_header]
            return None
        if not self.settings.narrow or self.tracker_keys <= allowed:
            return None
        edited: HeaderList | None = None
        reporting = False
        for index, (name, value) in enumerate(headers):
            if name.lower() != CSP_HEADER:
                continue  # a report-only policy blocks nothing: nothing to narrow
            new = self._narrowed(bytes(value), allowed)
            if new is value or new == value:
                continue
            if edited is None:
                edited = list(headers)
            edited[index] = (name, new)
            reporting = reporting or f"report-to {REPORT_GROUP}".encode() in new
        if edited is not None and reporting:
            edited.append(self._endpoints_header)
        return edited

    @staticmethod
    def narrowed(before: HeaderList, after: HeaderList) -> bool:
        """Whether `edit` took sources out of an enforced policy (not only added reporting):
        a page whose policy was narrowed needs a new response to load what the visitor
        grants later, so the banner reloads it then (``data-reload``)."""
        old = [v for n, v in before if n.lower() == CSP_HEADER]
        new = [v for n, v in after if n.lower() == CSP_HEADER]
        return old != new

    def _narrowed(self, value: bytes, allowed: frozenset[str]) -> bytes:
        key = (value, allowed)
        cached = self._cache.get(key, MISSING)
        if cached is not MISSING:
            return cached
        try:
            text = value.decode("latin-1")
            new = narrow_policy(
                text,
                self.rules,
                allowed,
                report_uri=self.report_uri,
                tracker_domains=self.domains,
                logged=self._logged,
            )
            result = value if new is text else new.encode("latin-1")
        except (UnicodeError, ValueError) as exc:
            logger.warning("CSP left as sent: it could not be narrowed (%s)", exc)
            result = value
        if b"'nonce-" not in value.lower():
            self._cache.set(key, result)
        return result
