"""Blocking rules: which consent category a URL or an inline script belongs to.

The rules are compiled once from the configured categories (operator patterns) and the built-in
table shipped in ``data/trackers.json``, then queried for every ``<script>``, ``<iframe>`` and
``<img>`` the HTML rewriter meets, so lookups are dictionary walks over the parent domains of a
host, cached per URL.

Patterns are ``host`` or ``host/path-prefix``. A host matches itself and its subdomains; a path
prefix is a plain string prefix of the URL path (``facebook.com/tr`` matches ``/tr?id=1`` and
``/tr/``). The most specific host wins, and within a host the longest path prefix wins. A ``*``
inside a host (``cdn*.example.com``) matches any characters; such patterns are checked after the
exact hosts of the same table, and are not used to recognise hosts named in inline scripts.

Precedence:

1. Operator patterns (``Category.scripts``) are consulted first; if any of them matches, the
   built-in table is not consulted at all (so an operator can move or override a built-in entry).
2. The built-in table is keyed by purpose (``necessary``, ``preferences``, ``analytics``,
   ``marketing``); each entry decides by the category that covers its purpose (see
   ``consent.purposes``). A purpose no category covers maps to a key nobody can grant, so its
   trackers stay blocked (fail closed). ``necessary`` is always covered by the required
   category: security and payment services (reCAPTCHA, Stripe, ...) are never blocked.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Protocol
from urllib.parse import unquote

from consent.inline_scripts import InlineScripts
from consent.purposes import PURPOSES, PurposeMap

__all__ = ["GOOGLE_TAG_LOADERS", "BlockingRules", "CategoryLike", "load_builtin_table"]


class CategoryLike(Protocol):
    """What the rules need from a configured category (``consent.categories.Category`` fits)."""

    @property
    def key(self) -> str: ...

    @property
    def required(self) -> bool: ...

    @property
    def scripts(self) -> Sequence[str]: ...

    @property
    def covers(self) -> Sequence[str]: ...


# Bounds for the lookup caches: large enough for every URL of a busy site, small enough that a
# page full of unique URLs cannot grow memory without limit (the cache is simply cleared).
_URL_CACHE_SIZE = 4096
_URL_CACHE_MAX = 2048  # longer URLs (data: URIs, tracking parameters) are not kept
_INLINE_CACHE_SIZE = 512
_INLINE_CACHE_MAX_TEXT = 8 * 1024

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Browsers drop tabs and newlines anywhere in a URL and trim C0 controls and spaces at both ends.
_URL_DROP = str.maketrans("", "", "\t\n\r")
_URL_TRIM = "".join(chr(c) for c in range(0x21))
# Hosts whose Google tag turns marketing when loaded for a Google Ads or Floodlight id.
#: Hosts of Google's tags, which Ads and Floodlight ids make marketing whatever their host.
GOOGLE_TAG_HOSTS = (".googletagmanager.com", ".google-analytics.com", ".doubleclick.net")
#: Google's tag loaders, which read Consent Mode: allowed before consent in "advanced" mode.
GOOGLE_TAG_LOADERS = ("www.googletagmanager.com/gtag/js", "www.googletagmanager.com/gtm.js")


def load_builtin_table() -> dict[str, list[str]]:
    """Return the shipped tracker table as ``{purpose: [pattern, ...]}``."""
    package = resources.files(__package__ or "consent")
    data = json.loads(package.joinpath("data/trackers.json").read_text("utf-8"))
    return {purpose: list(data.get(purpose, [])) for purpose in PURPOSES}


def _split_pattern(pattern: str) -> tuple[str, str] | None:
    """Normalise an operator or table pattern to ``(host, path_prefix)``."""
    text = pattern.strip()
    scheme = _SCHEME.match(text)
    if scheme and text[scheme.end() : scheme.end() + 2] == "//":
        text = text[scheme.end() :]
    text = text.lstrip("/")
    if text.startswith("*."):
        text = text[2:]
    text = text.lstrip(".")
    host, slash, path = text.partition("/")
    host = host.lower().rstrip(".")
    if not host:
        return None
    return host, (slash + path) if slash else ""


class _Table:
    """Patterns grouped by host (longest path prefix first), plus the few with ``*`` in them."""

    __slots__ = ("depth", "globs", "hosts")

    def __init__(self, entries: Iterable[tuple[str, str | None]]) -> None:
        grouped: dict[str, dict[str, str | None]] = {}
        self.globs: list[tuple[re.Pattern[str], str, str | None]] = []
        for pattern, category in entries:
            split = _split_pattern(pattern)
            if split is None:
                continue
            host, path = split
            if "*" in host:  # "cdn*.example.com": a label wildcard, checked after exact hosts
                glob = re.escape(host).replace(r"\*", "[^/]*")
                self.globs.append((re.compile(r"(?:[^/]*\.)?" + glob), path, category))
                continue
            grouped.setdefault(host, {}).setdefault(path, category)
        self.hosts = {
            host: tuple(sorted(paths.items(), key=lambda item: len(item[0]), reverse=True))
            for host, paths in grouped.items()
        }
        self.depth = max((host.count(".") + 1 for host in self.hosts), default=1)

    def lookup(self, host: str, path: str) -> tuple[str, str | None] | None:
        """Walk ``host`` and its parent domains; return ``(pattern, category)`` or ``None``.

        Only the last ``depth`` labels can match (the most any host here has), so a hostile
        host name with thousands of labels costs no more than a short one.
        """
        labels = host.rsplit(".", self.depth)
        name = host if len(labels) <= self.depth else host[len(labels[0]) + 1 :]
        while True:
            entries = self.hosts.get(name)
            if entries is not None:
                for prefix, category in entries:
                    if not prefix or path.startswith(prefix):
                        return name + prefix, category
            dot = name.find(".")
            if dot < 0:
                break
            name = name[dot + 1 :]
        for glob, prefix, category in self.globs:
            if glob.fullmatch(host) and (not prefix or path.startswith(prefix)):
                return glob.pattern + prefix, category
        return None


_NO_HOST = "\0"  # a cache miss (None is a cached answer)
_CLEAN_URL = re.compile(
    r"(?i:https?:)?//([A-Za-z0-9.-]+)(?::[0-9]*)?(/[A-Za-z0-9/_~!$'()*+,;=:@.-]*)?"
)


def _suffixes(host: str, depth: int) -> list[str]:
    """``a.b.example.com`` and its parent domains, the last ``depth`` labels at most."""
    labels = host.rsplit(".", depth)
    if len(labels) > depth:
        labels = labels[1:]
    return [".".join(labels[i:]) for i in range(len(labels))]


def _clean_split(url: str) -> tuple[str, str] | None:
    """`_split_url` for the common URL that needs none of its care: ``https://host/path``
    in plain ASCII, no references, escapes, credentials, dot segments or backslashes."""
    m = _CLEAN_URL.match(url)
    if m is None:
        return None
    end = m.end()
    if end < len(url) and url[end] not in "?#":
        return None  # something the pattern does not cover: take the careful way
    path = m.group(2) or "/"
    if "/." in path:
        return None  # possibly a dot segment
    host = m.group(1).lower().rstrip(".")
    return (host, path) if host else None


def _split_url(url: str) -> tuple[str, str] | None:
    """Return ``(host, path)`` of an absolute or protocol-relative http(s) URL, else ``None``.

    Follows what browsers do with attribute values: character references are decoded, tabs and
    newlines dropped, backslashes read as slashes, and extra slashes after the scheme skipped.
    """
    if "&" in url:
        url = html.unescape(url)
    url = url.translate(_URL_DROP).strip(_URL_TRIM)
    scheme = _SCHEME.match(url)
    if scheme:
        if url[: scheme.end()].lower() not in ("http:", "https:"):
            return None
        rest = url[scheme.end() :]
    elif url[:2] in ("//", "\\\\", "/\\", "\\/"):
        rest = url
    else:
        return None
    rest = rest.replace("\\", "/").lstrip("/")
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if 0 <= found < end:
            end = found
    authority = rest[:end]
    path = rest[end:]
    for stop in "?#":
        found = path.find(stop)
        if found >= 0:
            path = path[:found]
    host = authority.rpartition("@")[2]
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    if "%" in host:
        host = unquote(host)
    if not host.isascii():
        host = _ascii_host(host)
    host = host.lower().rstrip(".")
    if not host:
        return None
    if "." in path or "%2" in path:
        path = _without_dot_segments(path)
    return host, path or "/"


_DOT_SEGMENTS = frozenset({".", "..", "%2e", "%2e%2e", ".%2e", "%2e."})


def _without_dot_segments(path: str) -> str:
    """``path`` as the browser resolves it: ``/recaptcha/../pagead/`` is ``/pagead/``.

    Without this, a path-prefix rule (``www.google.com/recaptcha/`` is necessary) could be
    walked out of. ``%2e`` counts as a dot, as in the URL standard's dot segments.
    """
    segments = path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments[1:], 1):
        folded = segment.lower()
        last = index == len(segments) - 1
        if folded in _DOT_SEGMENTS:
            if folded not in (".", "%2e") and out:
                out.pop()
            if last:
                out.append("")  # "/a/.." is "/", "/a/." is "/a/"
            continue
        out.append(segment)
    return "/" + "/".join(out)


def _ascii_host(host: str) -> str:
    """A host as the browser's URL parser maps it (IDNA): full-width letters and the
    ideographic full stop (U+FF46 ... U+3002 ...) become ``facebook.com``.

    A name that does not map is left as it is: browsers refuse to fetch from it.
    """
    # Attribute values are read as latin-1 bytes: a UTF-8 page's host is re-read as UTF-8.
    with contextlib.suppress(UnicodeError):
        host = host.encode("latin-1").decode("utf-8")
    # Label by label: one label that does not map (an empty one, from a leading or doubled
    # dot) must not keep the others from mapping (a full-width ".facebook.net", U+FF0E
    # first, is ".facebook.net").
    labels = _IDNA_DOTS.sub(".", host).split(".")
    return ".".join(_ascii_label(label) for label in labels)


_IDNA_DOTS = re.compile("[\u3002\uff0e\uff61]")  # what IDNA reads as a full stop


def _ascii_label(label: str) -> str:
    if label.isascii():
        return label
    try:
        return label.encode("idna").decode("ascii")
    except UnicodeError:
        return label  # browsers refuse to fetch from a name that does not map


class BlockingRules:
    """Compiled blocking rules; immutable and safe to share between requests."""

    def __init__(
        self,
        purposes: PurposeMap,
        required: Iterable[str],
        operator: Iterable[tuple[str, str | None]] = (),
        builtin: Iterable[tuple[str, str | None]] = (),
    ) -> None:
        self.purposes = purposes
        self.google_tags_first = False  # Consent Mode "advanced", see `from_categories`
        self.keys: tuple[str, ...] = purposes.keys
        self.required: frozenset[str] = frozenset(required)
        self._operator = _Table(operator)
        self._builtin = _Table(builtin)
        self._url_cache: dict[str, str | None] = {}
        self._inline_cache: dict[bytes, str | None] = {}
        self._host_cache: dict[str, str | None] = {}
        # Hosts with a path-prefix rule (www.google.com/recaptcha/), or a glob: the category
        # of a URL on such a host (or below it) is not the host's alone.
        self._path_rules = frozenset(
            host
            for table in (self._operator, self._builtin)
            for host, entries in table.hosts.items()
            if any(prefix for prefix, _ in entries)
        )
        self._path_depth = max((h.count(".") + 1 for h in self._path_rules), default=1)
        # A glob may match any host: then no answer is kept per host.
        self._globs = bool(self._operator.globs or self._builtin.globs)
        tlds = {host.rpartition(".")[2] for host in (*self._operator.hosts, *self._builtin.hosts)}
        self._hosts_re = _host_regex(tlds)

    @property
    def tables(self) -> tuple[_Table, _Table]:
        """The compiled patterns: the operator's, then the shipped ones (the order they are
        consulted in), for copies that must not drift (the runtime guard's host table)."""
        return self._operator, self._builtin

    @property
    def hosts(self) -> frozenset[str]:
        """Every host a pattern names exactly (``www.google.com`` for a ``/pagead/`` rule);
        patterns with ``*`` in the host are left out."""
        return frozenset((*self._operator.hosts, *self._builtin.hosts))

    @classmethod
    def from_categories(
        cls,
        categories: Sequence[CategoryLike],
        *,
        builtin_hosts: bool = True,
        purposes: PurposeMap | None = None,
        google_tags_first: bool = False,
        services: Iterable[tuple[str, Sequence[str]]] = (),
    ) -> BlockingRules:
        """Compile the rules for ``categories``; ``builtin_hosts`` adds the shipped table.

        ``purposes`` (shared with the rest of the middleware, so each unknown name is
        reported once) is built from ``categories`` when not given. ``google_tags_first``
        is Consent Mode "advanced": Google's tag loaders (gtag.js, GTM) and their inline
        snippets run before consent, every signal denied until the visitor decides.
        ``services`` (``(key, hosts)``) file their hosts under the service key, ahead of the
        shipped table for the same pattern (a more specific shipped pattern still wins).
        """
        if purposes is None:
            purposes = PurposeMap.of(categories)
        required = [category.key for category in categories if category.required]
        operator = [(pattern, c.key) for c in categories for pattern in c.scripts]
        if google_tags_first and required:
            operator += [(pattern, required[0]) for pattern in GOOGLE_TAG_LOADERS]
        builtin: list[tuple[str, str | None]] = [
            (pattern, key) for key, hosts in services for pattern in hosts
        ]
        if builtin_hosts:
            for purpose, patterns in load_builtin_table().items():
                target = purposes.key_of(purpose)
                builtin.extend((pattern, target) for pattern in patterns)
        rules = cls(purposes, required, operator, builtin)
        rules.google_tags_first = google_tags_first
        return rules

    def category_of_url(self, url: str) -> str | None:
        """Category key of the service ``url`` loads from, or ``None`` (relative, unknown)."""
        cache = self._url_cache
        try:
            return cache[url]
        except KeyError:
            pass
        split = _clean_split(url) or _split_url(url)
        category = None if split is None else self._match_host(*split)
        if category is not None and "id=" in url and split is not None:
            category = self._ads_tag(url, split[0], category)
        if len(url) <= _URL_CACHE_MAX:
            if len(cache) >= _URL_CACHE_SIZE:
                cache.clear()
            cache[url] = category
        return category

    def category_of_inline_script(self, text: str | bytes) -> str | None:
        """Category of the tracker an inline script loads or calls, or ``None``.

        Naming a tracker is not enough (a share link, a list of video URLs, a comment): see
        `consent.inline_scripts`. When a script does several things the strictest purpose
        wins, and a required category only when nothing else is found.
        """
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        cacheable = len(data) <= _INLINE_CACHE_MAX_TEXT
        if cacheable:
            try:
                return self._inline_cache[data]
            except KeyError:
                pass
        found = self._inline_reader.category(data)
        if cacheable:
            if len(self._inline_cache) >= _INLINE_CACHE_SIZE:
                self._inline_cache.clear()
            self._inline_cache[data] = found
        return found

    def category_named_in_inline_script(self, text: bytes) -> str | None:
        """Category of the strictest tracker an inline script's text names anywhere: for a
        script whose exact text is not known (`consent.html.tokenizer`), naming is enough."""
        return self._inline_reader.named(text)

    def explain_inline_script(self, text: str) -> tuple[str | None, str]:
        """``(category, why)`` for an inline script, for people (`consent explain`)."""
        verdict = self._inline_reader.read(text.encode("utf-8", "surrogatepass"))
        if verdict is None:
            return None, "loads and calls no known tracker"
        return verdict.category, f"its code {verdict.reason}"

    @functools.cached_property
    def _inline_reader(self) -> InlineScripts:
        """The inline-script reader for these rules (built on first use)."""
        return InlineScripts(
            self._hosts_re,
            self._match_host,
            self.purposes,
            self.required,
            google_tags_first=self.google_tags_first,
        )

    def alias(self, name: str) -> str | None:
        """The category key a name in markup means: ours, a purpose, or another tool's
        name for one (Cookiebot, vanilla-cookieconsent); ``None`` (logged once) if unknown."""
        return self.purposes.resolve(name)

    def never_categorised(self, hosts: list[str] | None) -> bool:
        """Whether every one of ``hosts`` was looked up before and no rule names it, on any
        path (what `_match_host` keeps): then no URL on them has a category. False for None
        or a host not looked up yet."""
        if hosts is None:
            return False
        cache = self._host_cache
        return all(cache.get(host, _NO_HOST) is None for host in hosts)

    def _match_host(self, host: str, path: str) -> str | None:
        """`_match`, cached per host when no rule on its way up depends on the path.

        Pages differ in their URLs far more than in their hosts (every image of a site
        comes from a few CDN hosts), so this is one dict lookup for most URLs.
        """
        cache = self._host_cache
        found = cache.get(host, _NO_HOST)
        if found is not _NO_HOST:
            return found
        category = self._match(host, path)
        if not self._globs and self._path_rules.isdisjoint(_suffixes(host, self._path_depth)):
            if len(cache) >= _URL_CACHE_SIZE:
                cache.clear()
            cache[host] = category
        return category

    def _ads_tag(self, url: str, host: str, category: str) -> str:
        """Marketing for a Google tag loaded for a Google Ads or Floodlight id
        (``gtag/js?id=AW-...``, ``DC-...``), whatever its host is filed under."""
        marketing = self.purposes.key_of("marketing")
        if (
            category == marketing
            or self.google_tags_first  # Consent Mode advanced: Ads tags load too, denied
            or not ("." + host).endswith(GOOGLE_TAG_HOSTS)
        ):
            return category
        query = url[url.find("?") + 1 :] if "?" in url else ""
        return marketing if "id=AW-" in query or "id=DC-" in query else category

    def _match(self, host: str, path: str) -> str | None:
        found = self._operator.lookup(host, path) or self._builtin.lookup(host, path)
        return None if found is None else found[1]

    def explain_url(self, url: str) -> tuple[str | None, str]:
        """``(category, why)`` for ``url``, for people (`consent explain`), not the hot path."""
        split = _split_url(url)
        if split is None:
            return None, "first-party or not http(s): never blocked by host"
        host, path = split
        for table, whose in ((self._operator, "your pattern"), (self._builtin, "built-in pattern")):
            found = table.lookup(host, path)
            if found is not None:
                if found[1] in self.purposes.services:
                    whose = f"service {found[1]}:"
                return self.category_of_url(url), f"{whose} {found[0]}"
        return None, f"{host} is in no table: not blocked (add it to a category's `scripts`)"


def _host_regex(tlds: Iterable[str]) -> re.Pattern[bytes]:
    """Find where a host name ends in a top-level label we know (``.com``, ``.ms``).

    A search led by the literal dot is many times faster than one that tries every position
    for the start of a name; `consent.inline_scripts` reads back to where the name starts.
    """
    labels = sorted((re.escape(t.encode("ascii", "ignore")) for t in tlds if t), reverse=True)
    if not labels:
        return re.compile(rb"(?!)")
    return re.compile(rb"\.(?i:" + b"|".join(labels) + rb")(?![A-Za-z0-9-])")
