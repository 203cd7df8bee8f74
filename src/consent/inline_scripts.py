"""Inline scripts: which tracker an inline ``<script>`` loads or calls.

Naming a tracker is not loading it. A share button builds a ``facebook.com/sharer`` link, a
video list holds ``youtube.com/watch`` URLs, a comment says which analytics a site does not
use: none of them fetches anything, and blocking them breaks the site's own code. So a
script is judged by what it does with a tracker, read from its raw text by heuristics (no
JavaScript parser: this runs for every inline script of every page):

- it **loads** one: a URL on a tracker's service host (``static.hotjar.com``,
  ``connect.facebook.net``: hosts nobody links to, so naming one outside a comment is taken
  as loading it), a loader endpoint on a site visitors are linked to (``facebook.com/tr``,
  ``youtube.com/embed/``, any ``.js``), or any tracker URL in a script that also loads
  something (``createElement('script')``, ``.src =``, ``fetch(``, ``<iframe`` markup, ...)
  or hides what it runs (``eval(``, ``atob(``, ...);
- or it **calls** a tracker's API (`APIS`: ``gtag(``, ``fbq(``, ``_paq``, ...).

Comments are dropped first, and API calls and loaders are looked for in the code only, not
inside string literals. The scanner is a handful of regular expressions compiled once; every
pass is linear in the text. Most scripts name no tracker: a cheap first look (host endings and
API names, led by a literal character) answers them without the full reading.

The stricter purpose wins when a script does several things (marketing over analytics over
preferences): a gtag snippet configuring a Google Ads id (``AW-``/``DC-``) is marketing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from consent.purposes import Purpose, PurposeMap

__all__ = ["APIS", "InlineScripts", "Verdict"]

logger = logging.getLogger("consent")

# --- tracker APIs ---------------------------------------------------------------------------


class Api(NamedTuple):
    """One way of using a tracker's API: ``name`` then ``trigger`` then ``tail`` (a regex)."""

    name: bytes
    trigger: bytes  # "(" a call, "." a member, "=" an assignment, "" the name anywhere
    tail: bytes
    purpose: Purpose
    distinctive: bool = True  # False: a short or common name, see `_api_regex`


#: The tracker APIs inline scripts call, with the purpose of their vendor (as the vendor's
#: hosts are filed in ``data/trackers.json``). Matched in code, outside strings and comments.
APIS: tuple[Api, ...] = (
    Api(b"gtag", b"(", b"", "analytics", False),  # Google tag; AW-/DC- ids make it marketing
    Api(b"gtm", b".", rb"start\b", "analytics"),  # GTM container snippet: 'gtm.start' event
    Api(b"ga", b"(", rb"\s*['\"](?:create|send|set|require)['\"]", "analytics", False),  # GA
    Api(b"_gaq", b"", b"", "analytics"),  # legacy Google Analytics (ga.js) queue
    Api(b"fbq", b"(", b"", "marketing"),  # Meta pixel call
    Api(b"fbq", b"=", b"", "marketing"),  # Meta pixel stub
    Api(b"_fbq", b"", b"", "marketing"),  # Meta pixel stub, second name
    Api(b"hj", b"(", rb"\s*['\"]", "analytics", False),  # Hotjar call: hj('event', ...)
    Api(b"window.hj", b"", b"", "analytics"),  # Hotjar stub: window.hj = window.hj || ...
    Api(b"_hjSettings", b"", b"", "analytics"),  # Hotjar site settings
    Api(b"_linkedin_partner_id", b"", b"", "marketing"),  # LinkedIn Insight tag
    Api(b"_linkedin_data_partner_ids", b"", b"", "marketing"),  # LinkedIn Insight tag
    Api(b"lintrk", b"(", b"", "marketing"),  # LinkedIn Insight call
    Api(b"lintrk", b"=", b"", "marketing"),  # LinkedIn Insight stub
    Api(b"clarity", b"(", b"", "analytics", False),  # Microsoft Clarity call
    Api(b"ttq", b".", b"", "marketing"),  # TikTok pixel: ttq.load(...), ttq.page()
    Api(b"_paq", b"", b"", "analytics"),  # Matomo queue
    Api(b"plausible", b"(", b"", "analytics", False),  # Plausible custom event
    Api(b"plausible", b"=", b"", "analytics"),  # Plausible queue stub
    Api(b"plausible", b".", rb"(?:init|q)\b", "analytics"),  # Plausible (2025 snippet)
    Api(b"analytics", b".", rb"(?:load|track|page|identify)\s*\(", "analytics", False),  # Segment
    Api(b"Intercom", b"(", b"", "preferences", False),  # Intercom chat (filed as preferences)
    Api(b"intercomSettings", b"", b"", "preferences"),  # Intercom chat settings
    Api(b"_hsq", b"", b"", "marketing"),  # HubSpot tracking queue
    Api(b"twq", b"(", b"", "marketing"),  # X (Twitter) pixel call
    Api(b"twq", b"=", b"", "marketing"),  # X (Twitter) pixel stub
    Api(b"pintrk", b"(", b"", "marketing"),  # Pinterest tag call
    Api(b"pintrk", b"=", b"", "marketing"),  # Pinterest tag stub
    Api(b"snaptr", b"(", b"", "marketing"),  # Snap pixel call
    Api(b"snaptr", b"=", b"", "marketing"),  # Snap pixel stub
    Api(b"rdt", b"(", rb"\s*['\"]", "marketing", False),  # Reddit pixel: rdt('track', ...)
    Api(b"uetq", b"", b"", "marketing"),  # Microsoft Advertising (Bing UET) queue
    Api(b"ym", b"(", rb"\s*\d{4,}\s*,\s*['\"]", "analytics", False),  # Yandex: ym(1234, "init")
    Api(b"mixpanel", b".", rb"(?:init|track|identify|register|people)\b", "analytics", False),
    Api(b"amplitude", b".", rb"(?:getInstance|init|track|logEvent)\s*\(", "analytics", False),
    Api(b"heap", b".", rb"(?:load|track|identify|appid|addUserProperties)\b", "analytics", False),
    Api(b"_fs_org", b"", b"", "analytics"),  # FullStory org id (FS.* is its API)
    Api(b"_hmt", b"", b"", "analytics"),  # Baidu Tongji queue
    Api(b"adsbygoogle", b"", b"", "marketing"),  # Google AdSense slot push
    Api(b"googletag", b".", rb"(?:cmd|pubads|defineSlot|display)\b", "marketing", False),  # GPT
    Api(b"_tfa", b"", b"", "marketing"),  # Taboola pixel queue
    Api(b"_qevents", b"", b"", "marketing"),  # Quantcast measure queue
    Api(b"_comscore", b"", b"", "analytics"),  # comScore beacon queue
)


def _api_regex(api: Api) -> re.Pattern[bytes]:
    """``api``'s regex, led by its name (fast to search for); what may precede the name is
    checked looking back from its end. A short or common name must not follow an identifier
    character, a ``.`` or a ``$`` (``manga(``, ``x.ga(``, ``$ga(`` are not Google Analytics)
    except in ``window.``; a distinctive one may follow any ``.`` (``f._fbq``)."""
    name = re.escape(api.name)
    if api.distinctive:
        before = rb"(?<![\w$]" + name + rb")"
    else:  # not after an identifier character, "." or "$", except in "window."
        before = rb"(?:(?<![\w$.]" + name + rb")|(?<=\bwindow\." + name + rb"))"
    if not api.trigger:
        return re.compile(name + before + rb"(?![\w$])")
    return re.compile(name + before + rb" ?" + re.escape(api.trigger) + api.tail)


_API_REGEXES = tuple(_api_regex(api) for api in APIS)
_IDENTIFIER = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
#: Every byte that cannot be part of an identifier, as a space: ``split()`` on the translated
#: text gives its words (in C, many times faster than a regex tries each name at each byte).
_WORD_BYTES = bytes(c if chr(c) in _IDENTIFIER else 32 for c in range(256))


def _by_word() -> dict[bytes, tuple[int, ...]]:
    """The `APIS` indices by the word that names them (``window.hj`` by ``hj``)."""
    found: dict[bytes, tuple[int, ...]] = {}
    for index, api in enumerate(APIS):
        word = api.name.rpartition(b".")[2]
        found[word] = (*found.get(word, ()), index)
    return found


_API_BY_WORD = _by_word()
_API_WORDS = frozenset(_API_BY_WORD)


def _apis_named(data: bytes) -> list[int]:
    """`APIS` whose name is a word of ``data``, and with its trigger right after when it
    has one (the first look: cheap, and never misses what `api_calls` would find)."""
    found = []
    for word in _API_WORDS.intersection(data.translate(_WORD_BYTES).split()):
        for index in _API_BY_WORD[word]:
            name, trigger = APIS[index].name, APIS[index].trigger
            if not trigger or name + trigger in data or name + b" " + trigger in data:
                found.append(index)
    return found


def api_calls(code: bytes, named: list[int] | None = None) -> Iterator[tuple[Api, bytes]]:
    """The first use of each tracker API in ``code``, with the text that matched; ``named``
    is `_apis_named` of a text ``code`` was cut from, when known (it names no fewer)."""
    for index in sorted(_apis_named(code) if named is None else named):
        found = _API_REGEXES[index].search(code)
        if found is not None:
            yield APIS[index], found.group()


# --- loading --------------------------------------------------------------------------------

_FETCHING_TAGS = rb"(?i:script|img|image|iframe|frame|link|embed|object|source|video|audio|track)"
#: What loads something, in code (comments dropped, strings blanked, short plain ones kept).
#: ``createElement`` counts for an element that fetches, or one whose name is computed
#: (``d.createElement(s)`` in vendor snippets); ``createElement('a')`` builds a link. Each
#: regex is led by one literal, which makes it fast to search for (an alternation of
#: several is not: it is tried at every byte).
_LOADERS = tuple(
    re.compile(pattern)
    for pattern in (
        rb"\.(?:src|srcset)\s*=(?!=)|\.(?:write|writeln|load|ajax|getJSON) ?\(",
        rb"createElement ?\(\s*(?:[^\s'\"`)]|['\"`]" + _FETCHING_TAGS + rb"['\"`])",
        rb"createElementNS\b",
        rb"setAttribute ?\(\s*['\"](?i:src|srcset|data)['\"]",
        rb"setAttributeNS\b",
        rb"src(?<![\w$.]src)\s*:",  # {src: url}
        rb"src['\"]\s*\]\s*=(?!=)",  # el['src'] = url
        rb"new\s+(?:Image|Worker|SharedWorker|EventSource|WebSocket)\b",
        rb"fetch(?<![\w$]fetch) ?\(",
        rb"import(?<![\w$.]import) ?\(",
        rb"importScripts\b",
        rb"sendBeacon\b",
        rb"XMLHttpRequest\b",
        rb"getScript\b",
        rb"\$\.(?:get|post) ?\(",
        rb"jQuery\.(?:get|post) ?\(",
        rb"axios\b",
    )
)
#: What loads something inside a string: markup of an element that fetches, a CSS ``url(``.
_MARKUP = (
    re.compile(rb"<(?<![\w$)\]]<)" + _FETCHING_TAGS + rb"\b"),
    re.compile(rb"\((?<=[uU][rR][lL]\()\s*['\"]?(?:https?:)?//"),
)
#: Code that hides what it runs: with a tracker named anywhere, taken as loading it.
_OBFUSCATED = tuple(
    re.compile(name + rb"(?<![\w$]" + name + rb") ?\(")
    for name in (rb"eval", rb"atob", rb"Function", rb"unescape", rb"fromCharCode")
)
#: A Google Ads or Floodlight id: what makes a Google tag marketing whatever its host.
#: The APIs of Google's tags themselves (allowed before consent in Consent Mode advanced).
_GOOGLE_TAG_APIS = frozenset({b"gtag", b"gtm"})
_ADS_ID = re.compile(rb"['\"=](?:AW|DC)-\d")
_GOOGLE_TAG_HOSTS = (".googletagmanager.com", ".google-analytics.com", ".doubleclick.net")

# --- hosts ----------------------------------------------------------------------------------

#: Sites visitors are sent to: first-party scripts build links to them (share buttons,
#: profiles, video lists), so naming one loads nothing unless the script loads something
#: or the URL is one of the paths listed (a ``.js`` or an ``/embed`` path always is). A
#: subdomain not listed (``connect.facebook.net``, ``static.hotjar.com``) is a service host:
#: it serves scripts, pixels and frames, and naming it outside a comment counts as loading.
PAGE_SITES: dict[str, tuple[str, ...]] = {
    "facebook.com": ("/tr", "/plugins"),
    "instagram.com": (),
    "twitter.com": ("/i/adsct",),
    "x.com": ("/i/adsct",),
    "linkedin.com": ("/px", "/collect"),
    "pinterest.com": (),
    "reddit.com": (),
    "tiktok.com": ("/oembed",),
    "youtube.com": ("/iframe_api", "/player_api", "/s", "/youtubei", "/api", "/ptracking"),
    "youtu.be": (),
    "vimeo.com": ("/api",),
    "dailymotion.com": ("/player",),
    "open.spotify.com": (),
    "soundcloud.com": (),
    "calendly.com": ("/assets",),
    "google.com": ("/maps/embed", "/maps/api", "/maps/vt", "/pagead", "/recaptcha", "/jsapi"),
    "maps.google.com": ("/maps/api", "/maps/embed", "/maps/vt"),
    "whatsapp.com": (),
    "xing.com": (),
    "tumblr.com": (),
}
#: The first label of a site's own page hosts (``www.facebook.com``, ``m.youtube.com``).
_PAGE_PREFIXES = frozenset({"www", "m", "mobile", "web", "business", "music"})
_HOST_WINDOW = 256  # look no further back for where a host name starts
_HOST_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
_HOST_RUN = re.compile(rb"[A-Za-z0-9.-]*")
#: An escaped "/" or ":" just before a name (``\u002Fwww.``, ``\x2F``, ``%2F``): not part of it.
_ESCAPED = re.compile(rb"\\u00[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|%[0-9A-Fa-f]{2}")
_PATH = re.compile(rb"(?:\\?/[A-Za-z0-9._~%!$&*+,;=:@-]*)*")

# --- reading --------------------------------------------------------------------------------

#: One token the scanner must see whole: a short plain string (kept: ``'script'``, ``'src'``),
#: any other string or template or regular expression literal (blanked in the code), or a
#: comment (dropped). Every alternative, once started, ends at the latest at the end of its
#: line (templates and block comments: of the text), so one pass is linear. A ``/`` starts a
#: regular expression where an expression may start (after ``(,=:[!&|?{};``, ``return``).
#: ``//`` right after a ``:`` is not taken for a comment: in code that is all but unheard
#: of, and it keeps a misread ``https://`` from hiding the rest of a line.
_TOKEN = re.compile(
    rb"""(?=["'`/])"""  # first: lets the search skip to where a token may start
    rb"""(?:("[\w.$-]{0,64}"|'[\w.$-]{0,64}'|`[\w.$-]{0,64}`)"""
    rb"""|("[^"\\\n\r]*(?:\\[\s\S][^"\\\n\r]*)*(?:"|(?=[\n\r])|\\?\Z)"""
    rb"""|'[^'\\\n\r]*(?:\\[\s\S][^'\\\n\r]*)*(?:'|(?=[\n\r])|\\?\Z)"""
    rb"""|`[^`\\]*(?:\\[\s\S][^`\\]*)*(?:`|\\?\Z)"""
    rb"""|/(?:(?<=[(,=:\[!&|?{};]/)|(?<=[(,=:\[!&|?{};]\s/)|(?<=\breturn\s/)|(?<=\A/))"""
    rb"""(?![*/])(?:[^/\\\n\r\[]|\\[\s\S]|\[(?:[^\]\\\n\r]|\\[\s\S])*\]?)*"""
    rb"""(?:/|(?=[\n\r])|\\?\Z))"""
    rb"""|//(?<!://)[^\n\r]*|/\*[\s\S]*?(?:\*/|\Z))"""
)
_LOGGED_MAX = 256


class Verdict(NamedTuple):
    """What an inline script was found to do: the category key deciding it, and why."""

    category: str
    reason: str
    review: bool  # a heuristic an operator may want to check (logged once)


def split_code(data: bytes) -> tuple[bytes, bytes]:
    """``(text, code)``: the script without comments, and that again with every string,
    template and regular expression literal blanked (``""``) except short plain strings."""
    code: list[bytes] = []
    comments: list[tuple[int, int]] = []
    last = 0
    for match in _TOKEN.finditer(data):
        kind = match.lastindex
        if kind == 1:
            continue  # a short plain string stays in the code
        start, end = match.span()
        code.append(data[last:start])
        if kind == 2:
            code.append(b'""')
        else:  # a comment: a space, so that the tokens either side stay apart
            code.append(b" ")
            comments.append((start, end))
        last = end
    if not code:
        return data, data
    code.append(data[last:])
    if not comments:
        return data, b"".join(code)
    text: list[bytes] = []
    last = 0
    for start, end in comments:
        text.append(data[last:start])
        text.append(b" ")
        last = end
    text.append(data[last:])
    return b"".join(text), b"".join(code)


def _loader(text: bytes, code: bytes) -> str | None:
    """How the script loads something (``"loads (.src =)"``), hides what it runs, or ``None``."""
    for patterns, source, what in (
        (_LOADERS, code, "loads"),
        (_MARKUP, text, "loads"),
        (_OBFUSCATED, code, "hides code"),
    ):
        for pattern in patterns:
            found = pattern.search(source)
            if found is not None:
                return f"{what} ({found.group().decode('ascii', 'replace')})"
    return None


def _page_site(host: str) -> str | None:
    """The site of a page host (``www.facebook.com`` -> ``facebook.com``), else ``None``."""
    if host in PAGE_SITES:
        return host
    first, _, rest = host.partition(".")
    return rest if first in _PAGE_PREFIXES and rest in PAGE_SITES else None


def _is_endpoint(site: str, path: str) -> bool:
    """Whether ``path`` on a page site loads something by itself (a script, pixel, frame)."""
    if path.endswith((".js", ".mjs")) or "/embed" in path:
        return True
    for prefix in PAGE_SITES[site]:
        if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/", ".", "_"):
            return True
    return False


class InlineScripts:
    """Reads inline scripts for one set of blocking rules; safe to share between requests.

    ``host_ends`` finds where a host name ends in a top-level label the rules know
    (``.com``, ``.ms``); ``match(host, path)`` is the rules' category of a URL.
    """

    def __init__(
        self,
        host_ends: re.Pattern[bytes],
        match: Callable[[str, str], str | None],
        purposes: PurposeMap,
        required: frozenset[str],
        *,
        google_tags_first: bool = False,
    ) -> None:
        self._ends = host_ends
        # Consent Mode "advanced": Google's own tag calls run before consent (denied).
        self._skipped_apis = _GOOGLE_TAG_APIS if google_tags_first else frozenset()
        self._match = match
        self._key_of = purposes.key_of
        # Stricter purposes rank higher; the required category lowest; a key the operator
        # made up (no built-in purpose) ranks with analytics.
        rank: dict[str, int] = {}
        for level, purpose in enumerate(("preferences", "analytics", "marketing"), 1):
            rank[purposes.key_of(purpose)] = level
        rank.update(dict.fromkeys(required, 0))
        for service, category in purposes.services.items():  # a service ranks as its category
            rank[service] = rank.get(category, 2)
        self._rank = rank
        self._logged: set[str] = set()

    def category(self, data: bytes) -> str | None:
        """The category key of the tracker ``data`` loads or calls, or ``None``."""
        verdict = self.read(data)
        if verdict is None:
            return None
        if verdict.review:
            self._log(verdict)
        return verdict.category

    def read(self, data: bytes) -> Verdict | None:
        """What ``data`` loads or calls (the strictest purpose when several), or ``None``."""
        named = _apis_named(data)
        if not named and not self._names_a_tracker(data):
            return None  # the first look: most scripts end here
        text, code = split_code(data)
        found: list[Verdict] = []
        google_tag = False
        loads: tuple[str | None] | None = None  # what loads something, once looked for
        for host, path in self._hosts(text):
            key = self._match(host, path)
            if key is None:
                continue
            site = _page_site(host)
            if site is None or _is_endpoint(site, path):
                found.append(Verdict(key, f"loads {host}{path}", review=False))
            else:
                if loads is None:
                    loads = (_loader(text, code),)
                if loads[0] is None:
                    continue  # a link or a mention
                found.append(Verdict(key, f"names {host} and {loads[0]}", review=True))
            google_tag = google_tag or ("." + host).endswith(_GOOGLE_TAG_HOSTS)
        for api, call in api_calls(code, named):
            if api.name in self._skipped_apis:
                continue
            google_tag = google_tag or api.name == b"gtag"
            reason = f"calls {call.decode('ascii', 'replace')}"
            found.append(Verdict(self._key_of(api.purpose), reason, review=True))
        if google_tag and not self._skipped_apis and _ADS_ID.search(text) is not None:
            reason = "configures a Google Ads or Floodlight id"
            found.append(Verdict(self._key_of("marketing"), reason, review=False))
        # The first of the strictest: a tracker URL before an API call of the same purpose.
        return max(found, key=lambda v: self._rank.get(v.category, 2), default=None)

    def named(self, data: bytes) -> str | None:
        """The category key of the strictest tracker ``data`` names anywhere (hosts and API
        names, comments and strings included), without reading what the code does: for a
        script whose exact text is not known, where naming one must be enough."""
        keys = [key for host, path in self._hosts(data) if (key := self._match(host, path))]
        for index in _apis_named(data):
            if APIS[index].name not in self._skipped_apis:
                keys.append(self._key_of(APIS[index].purpose))
        return max(keys, key=lambda key: self._rank.get(key, 2), default=None)

    def _names_a_tracker(self, data: bytes) -> bool:
        """Whether a tracker host is named anywhere in ``data`` (comments included)."""
        if b"." not in data:
            return False
        return any(self._match(host, path) is not None for host, path in self._hosts(data))

    def _hosts(self, text: bytes) -> Iterator[tuple[str, str]]:
        """``(host, path)`` of every host name ending in a label we know, lower-cased.

        Found by its ending (a search led by a literal ``.``); where the name starts is read
        backwards, at most `_HOST_WINDOW` bytes (a longer name keeps its last whole labels,
        all that a match looks at). ``"http://pixel" + ".quantserve.com"`` is
        ``quantserve.com``: a name may start with a dot.
        """
        start = 0
        last_end = -1
        for ending in self._ends.finditer(text):
            dot, end = ending.span()
            low = max(0, dot - _HOST_WINDOW)
            if last_end < 0 or _HOST_RUN.fullmatch(text, last_end, dot) is None:
                start = low + len(text[low:dot].rstrip(_HOST_CHARS))
                longer = start == low and low > 0
            else:  # the same run of host characters as the last ending: the same start
                longer = start < low
            if longer:  # the name runs on before the window: its whole labels in it only
                cut = text.find(b".", low, dot)
                start = dot if cut < 0 else cut + 1
            last_end = end
            escape = _ESCAPED.match(text, start - 1) if start else None
            name = text[escape.end() if escape else start : end].lstrip(b".")
            if b"." not in name:
                continue
            path = _PATH.match(text, end)
            tail = path.group().replace(b"\\", b"") if path is not None else b""
            yield name.decode("ascii").lower(), tail.decode("ascii") or "/"

    def _log(self, verdict: Verdict) -> None:
        """Say once per reason (bounded) why a script was blocked on a heuristic."""
        reason = verdict.reason
        if reason in self._logged or len(self._logged) >= _LOGGED_MAX:
            return
        self._logged.add(reason)
        logger.info(
            "an inline script is blocked as %r: it %s. If it is your own code that loads no "
            'tracker, mark it <script data-consent="necessary">.',
            verdict.category,
            reason,
        )
