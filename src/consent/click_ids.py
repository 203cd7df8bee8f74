"""Ad click identifiers: recognise and remove them from query strings and same-site links.

Link decoration (EDPB Guidelines 2/2023 on the technical scope of Art. 5(3) ePrivacy) puts
a per-click identifier of the visitor in the URL, where the site's tags pick it up and
store it. Without consent to marketing it must neither reach the app nor survive in the
same-site links of the page. The parameters, one vendor each:

* ``gclid``: Google Ads click ID (auto-tagging).
* ``gclsrc``: Google Search Ads 360 / Campaign Manager click source, sent beside ``gclid``.
* ``gbraid``: Google Ads click ID for app-to-web clicks on iOS (ATT-limited measurement).
* ``wbraid``: Google Ads click ID for web-to-app clicks on iOS.
* ``dclid``: Google Campaign Manager 360 / Display & Video 360 click ID.
* ``srsltid``: Google Merchant Center auto-tagging click ID (Shopping listings).
* ``_gl``: Google tag linker; carries the ``_ga`` client ID and the stored ``gclid``.
* ``fbclid``: Meta (Facebook) click ID.
* ``igshid``: Instagram (Meta) share ID, tied to the account that shared the link.
* ``msclkid``: Microsoft Advertising (Bing Ads) click ID.
* ``ttclid``: TikTok Ads click ID.
* ``li_fat_id``: LinkedIn Ads first-party click ID (Insight Tag).
* ``twclid``: X (Twitter) Ads click ID.
* ``ScCid``: Snapchat Ads click ID.
* ``epik``: Pinterest Ads click ID.
* ``rdt_cid``: Reddit Ads click ID.
* ``qclid``: Quora Ads click ID.
* ``yclid``: Yandex Direct click ID.
* ``obclid``: Outbrain click ID.
* ``irclickid``: Impact (affiliate network) click ID.
* ``s_kwcid``: Adobe Advertising AMO ID (identifies the ad click for Adobe Analytics).
* ``ef_id``: Adobe Advertising click ID.
* ``mc_eid``: Mailchimp subscriber ID in email links.
* ``_hsenc``: HubSpot email tracking, the encoded contact.
* ``_hsmi``: HubSpot email tracking, the message.
* ``mkt_tok``: Marketo email tracking token (the lead).
* ``_kx``: Klaviyo email tracking, the profile.

``utm_*`` parameters are not stripped: they name a campaign, medium and source shared by
every visitor who followed the same link, not an identifier of this visitor's click.

Names match exactly (case-sensitive) after percent-decoding, as the app and the tags read
them: ``%67clid`` is ``gclid``. Only ``&`` separates parameters (``;`` does not) and ``+``
is left alone; what is kept stays byte for byte.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, unquote_to_bytes

from starlette.types import Scope

from consent.cookie_domains import derive_domains

__all__ = [
    "CLICK_ID_PARAMS",
    "carries_click_ids",
    "clean_link",
    "is_top_level_navigation",
    "strip_click_ids",
]

CLICK_ID_PARAMS: frozenset[str] = frozenset(
    {
        "gclid",
        "gclsrc",
        "gbraid",
        "wbraid",
        "dclid",
        "srsltid",
        "_gl",
        "fbclid",
        "igshid",
        "msclkid",
        "ttclid",
        "li_fat_id",
        "twclid",
        "ScCid",
        "epik",
        "rdt_cid",
        "qclid",
        "yclid",
        "obclid",
        "irclickid",
        "s_kwcid",
        "ef_id",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "_kx",
    }
)
_NAMES = frozenset(name.encode("ascii") for name in CLICK_ID_PARAMS)


#: What a name needs to be a click identifier, as a cheap search: a literal every name holds
#: ("id" for most, else the name itself), or a percent-encoded letter or ``_`` (``%4x`` to
#: ``%7x``: every name is made of those). A hit is then checked exactly.
NAME_HINT = (
    "|".join(
        re.escape(anchor)
        for anchor in sorted({"id"} | {name for name in CLICK_ID_PARAMS if "id" not in name})
    )
    + "|%[4-7]"
)
_QUERY_HINT = re.compile(NAME_HINT.encode("ascii"))
_LINK_HINT = re.compile(NAME_HINT)


def _is_click_id(name: bytes) -> bool:
    if b"%" in name:
        name = unquote_to_bytes(name)
    return name in _NAMES


def carries_click_ids(query: bytes) -> bool:
    """Whether a query string (ASGI ``query_string``) holds a click identifier."""
    if _QUERY_HINT.search(query) is None:
        return False
    return any(_is_click_id(part.partition(b"=")[0]) for part in query.split(b"&"))


def strip_click_ids(query: bytes) -> bytes:
    """``query`` without its click identifiers; ``query`` itself when it has none."""
    if _QUERY_HINT.search(query) is None:
        return query
    parts = query.split(b"&")
    kept = [part for part in parts if not _is_click_id(part.partition(b"=")[0])]
    if len(kept) == len(parts):
        return query
    return b"&".join(kept)


# --- links ---------------------------------------------------------------------------------

_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")  # the URL parser drops them anywhere
_C0_SPACE = "".join(map(chr, range(0x21)))  # stripped from both ends by the URL parser
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_AUTHORITY_END = re.compile(r"[/\\?#]")
#: Code points that make a domain invalid (WHATWG "forbidden domain code point").
_FORBIDDEN_DOMAIN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_ENDS_IN_NUMBER = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)")
#: What `_link_site` says of a relative link, and of one whose host cannot be judged.
_SAME = ""
_UNSURE = "\0unsure"


def clean_link(href: str, page_host: str) -> str | None:
    """``href`` without click identifiers in its query, for a link on a page served on
    ``page_host`` (a ``Host`` value); None when nothing changes.

    Only same-site links change: relative ones, and http(s) links whose host shares the
    page's registrable domain. ``href`` is read as the WHATWG URL parser reads it (tabs and
    newlines dropped, ``\\`` as ``/``, edge whitespace ignored), so a link cannot reach
    another host in the browser than the one judged here. Where its host cannot be judged
    (a non-ASCII or odd numeric host, ``http:`` without ``//``) a link with click identifiers
    is cleaned anyway; a URL the browser refuses is left alone.
    """
    if "\t" in href or "\n" in href or "\r" in href:
        href = href.translate(_TAB_NEWLINE)
    if _LINK_HINT.search(href) is None:
        return None
    core = href.strip(_C0_SPACE)
    if not core:
        return None
    lead = len(href) - len(href.lstrip(_C0_SPACE))
    fragment = core.find("#")
    end = fragment if fragment >= 0 else len(core)
    mark = core.find("?", 0, end)
    if mark < 0:
        return None
    raw = core[mark + 1 : end].encode("utf-8", "surrogatepass")
    kept = strip_click_ids(raw)
    if kept is raw:
        return None
    site = _link_site(core)
    if site is None:
        return None  # another scheme, or a URL the browser refuses
    if site not in (_SAME, _UNSURE):
        page = _page_site(page_host)
        if page is not None and site != page:
            return None  # another site (and the page's own is known)
    before = core[:mark]
    rest = kept.decode("utf-8", "surrogatepass")
    if rest or not before:
        rest = "?" + rest  # a bare "?" still drops the current page's query
    return href[:lead] + before + rest + core[end:] + href[lead + len(core) :]


def _link_site(url: str) -> str | None:
    """The site a link goes to: `_SAME` for a relative link, `_UNSURE` when its host cannot
    be judged, None when it is not http(s) or the browser would refuse it."""
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme is not None else 0
    if scheme is not None and scheme.group().lower() not in ("http:", "https:"):
        return None
    after = url[start:]
    slashes = start + len(after) - len(after.lstrip("/\\"))
    if slashes - start < 2:
        # Without a scheme: path-absolute, path-relative or query-only. With one: "http:host"
        # and "http:/path" are relative on a page of the same scheme and name a host on a
        # page of the other; the page's scheme is not known here.
        return _SAME if scheme is None else _UNSURE
    end = _AUTHORITY_END.search(url, slashes)
    authority = url[slashes : end.start() if end is not None else len(url)]
    host = _host(authority.rpartition("@")[2])
    if host is None or host == _UNSURE:
        return host
    return _site(host)


def _host(host_port: str) -> str | None:
    """The host of ``host[:port]`` as the URL parser normalises it; None if it is refused."""
    if host_port.startswith("["):
        close = host_port.find("]")
        if close < 0:
            return None
        host, port = host_port[: close + 1], host_port[close + 1 :]
        if port and not port.startswith(":"):
            return None
        port = port[1:]
        try:
            host = "[" + ipaddress.IPv6Address(host[1:-1]).compressed + "]"
        except ValueError:
            return None
    else:
        host, _, port = host_port.partition(":")
        if "%" in host:
            host = unquote(host)
        if not host.isascii():
            return _UNSURE  # IDNA would map it first: not judged here
        host = host.lower()
        if not host or _FORBIDDEN_DOMAIN.search(host):
            return None
        labels = host.split(".")
        last = labels[-1] or (labels[-2] if len(labels) > 1 else "")
        if _ENDS_IN_NUMBER.fullmatch(last):
            try:
                host = str(ipaddress.IPv4Address(host))
            except ValueError:
                return _UNSURE  # "0x7f.1", "127.1", ...: IPv4 to a browser, read otherwise here
    if port and (not port.isdigit() or int(port) > 65535):
        return None
    return host


@lru_cache(maxsize=1024)
def _site(host: str) -> str:
    """A normalised host's site: its registrable domain, or the host itself (an IP
    address, ``localhost``, a public suffix)."""
    host = host.rstrip(".") or host
    domains = derive_domains(host)
    return domains[0] if domains else host


@lru_cache(maxsize=1024)
def _page_site(page_host: str) -> str | None:
    """The site of the page's ``Host`` value; None when it cannot be judged (then every
    link with click identifiers is cleaned)."""
    host = _host(page_host.strip())
    if host is None or host == _UNSURE:
        return None
    return _site(host)


# --- requests --------------------------------------------------------------------------------


def is_top_level_navigation(scope: Scope) -> bool:
    """Whether an ASGI request is the browser loading a page in a tab or window: the one kind
    of request a redirect to the clean URL is right for (not a fetch, an iframe, an image).

    Fetch Metadata decides (``Sec-Fetch-Mode: navigate``, ``Sec-Fetch-Dest: document``);
    a browser that sends none of it is asked for HTML in ``Accept``.
    """
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD"):
        return False
    mode = dest = None
    metadata = False
    accepts_html = False
    for name, value in scope.get("headers") or ():
        if name.startswith(b"sec-fetch-"):
            metadata = True
            if name == b"sec-fetch-mode":
                mode = value.strip().lower()
            elif name == b"sec-fetch-dest":
                dest = value.strip().lower()
        elif name == b"accept" and b"text/html" in value.lower():
            accepts_html = True
    if metadata:
        return mode == b"navigate" and dest == b"document"
    return accepts_html
