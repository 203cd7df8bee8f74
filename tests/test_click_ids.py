"""Ad click identifiers: recognised exactly, removed byte for byte, only from same-site links."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.click_ids import (
    CLICK_ID_PARAMS,
    carries_click_ids,
    clean_link,
    is_top_level_navigation,
    strip_click_ids,
)

REQUIRED = frozenset(
    {
        *("gclid", "gclsrc", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid"),
        *("li_fat_id", "twclid", "mc_eid", "_hsenc", "_hsmi", "yclid", "igshid", "epik"),
        *("ScCid", "irclickid", "s_kwcid", "obclid"),
    }
)
ALL = sorted(CLICK_ID_PARAMS)


def test_the_required_identifiers_are_all_there() -> None:
    assert REQUIRED <= CLICK_ID_PARAMS
    assert not any(name.startswith("utm_") for name in CLICK_ID_PARAMS)


# --- query strings -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_each_identifier_is_stripped(name: str) -> None:
    raw = name.encode()
    query = b"a=1&" + raw + b"=Cj0KCQ&b=2"
    assert carries_click_ids(query)
    assert strip_click_ids(query) == b"a=1&b=2"
    assert strip_click_ids(raw + b"=x") == b""
    assert strip_click_ids(raw) == b""  # valueless
    assert strip_click_ids(raw + b"=") == b""  # empty value
    assert strip_click_ids(b"q=1&" + raw + b"=1&" + raw + b"=2") == b"q=1"  # repeated


@pytest.mark.parametrize("name", ALL)
def test_near_misses_are_kept(name: str) -> None:
    raw = name.encode()
    for query in (
        b"x" + raw + b"=1",
        raw + b"x=1",
        raw.upper() + b"=1" if raw.upper() != raw else b"X" + raw + b"=1",
        b"a=" + raw,  # a value, not a name
        b"a=1;" + raw + b"=2",  # ";" separates nothing
        raw[:-1] + b"+" + raw[-1:] + b"=1",  # "+" is a space, never removed
        raw + b"%20=1",
    ):
        assert not carries_click_ids(query), query
        assert strip_click_ids(query) is query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"%67clid=1&a=2", b"a=2"),  # percent-decoded before comparing: fail closed
        (b"g%63l%69d=1", b""),
        (b"%66%62%63%6C%69%64=1&b", b"b"),  # upper-case hex digits
        (b"%5Fhsenc=x&y=1", b"y=1"),
        (b"S%63Cid=1&z", b"z"),
        (b"%2567clid=1", None),  # decoded once: the name is "%67clid"
        (b"%47CLID=1", None),  # "GCLID": names are case-sensitive
    ],
)
def test_percent_encoded_names(query: bytes, expected: bytes | None) -> None:
    assert carries_click_ids(query) is (expected is not None)
    assert strip_click_ids(query) == (query if expected is None else expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"a&b=&gclid=1&&c+d=%20x&a=1", b"a&b=&&c+d=%20x&a=1"),  # every form kept, in order
        (b"gclid=1&q=caf%C3%A9+au+lait&gclid=2&sort=-price", b"q=caf%C3%A9+au+lait&sort=-price"),
        (b"&gclid=1", b""),
        (b"gclid=1&", b""),
        (b"a=1&gclid=1&", b"a=1&"),
        (b"a=1;b=2&fbclid=x;y", b"a=1;b=2"),
        (b"utm_source=google&utm_medium=cpc&gclid=1", b"utm_source=google&utm_medium=cpc"),
        (b"q=\xff\xfe&msclkid=1&r=\x00", b"q=\xff\xfe&r=\x00"),  # any bytes, untouched
    ],
)
def test_other_parameters_are_kept_byte_for_byte(query: bytes, expected: bytes) -> None:
    assert strip_click_ids(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"",
        b"a=1",
        b"page=2&sort=price&q=red%20shoes",
        b"utm_source=newsletter&utm_campaign=spring",
        b"q=gclid",  # the name as a value: the quick check passes, the exact one does not
        b"xgclid=1",
    ],
)
def test_nothing_to_strip_returns_the_same_object(query: bytes) -> None:
    assert strip_click_ids(query) is query
    assert not carries_click_ids(query)


_NAME_PARTS = st.sampled_from([*ALL, "a", "q", "", "%67clid", "utm_source", "x y", "gclid;"])
_PARAMS = st.lists(
    st.tuples(_NAME_PARTS, st.sampled_from(["", "=", "=1", "=a+b", "=%26", "=gclid"])),
    max_size=6,
)


@settings(max_examples=300)
@given(_PARAMS)
def test_stripping_agrees_with_a_plain_reading(params: list[tuple[str, str]]) -> None:
    query = "&".join(name + value for name, value in params).encode()
    decoded = {name.replace("%67", "g") for name, _ in params}
    expected = "&".join(n + v for n, v in params if n.replace("%67", "g") not in CLICK_ID_PARAMS)
    assert carries_click_ids(query) is bool(decoded & CLICK_ID_PARAMS)
    assert strip_click_ids(query) == expected.encode()
    assert not carries_click_ids(strip_click_ids(query))


# --- links ---------------------------------------------------------------------------------------

HOST = "www.example.com"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        # relative: always the page's own site
        ("/p?gclid=1", "/p"),
        ("/p?a=1&gclid=1&b=2", "/p?a=1&b=2"),
        ("p/q?fbclid=1&x", "p/q?x"),
        ("../up?msclkid=1", "../up"),
        ("?gclid=1", "?"),  # a bare "?" still drops the page's own query
        ("?gclid=1&page=2", "?page=2"),
        ("?gclid=1#top", "?#top"),
        ("/p?a=1&gclid=2#frag?gclid=3", "/p?a=1#frag?gclid=3"),  # the fragment as written
        ("/p#x?gclid=1", None),  # all fragment
        ("/p?%67clid=1", "/p"),
        ("/p?q=%20&ttclid=1&r=+", "/p?q=%20&r=+"),
        ("  /p?gclid=1\x00 ", "  /p\x00 "),  # edge whitespace and controls kept as written
        ("/caf\u00e9?gclid=1&q=\u00e9", "/caf\u00e9?q=\u00e9"),
        # absolute: the same host, another of the same site, ports ignored
        ("https://www.example.com/p?gclid=1", "https://www.example.com/p"),
        ("http://www.example.com?gclid=1&a", "http://www.example.com?a"),
        ("HTTPS://WWW.EXAMPLE.COM/?gclid=1", "HTTPS://WWW.EXAMPLE.COM/"),
        ("https://shop.example.com/?fbclid=1", "https://shop.example.com/"),
        ("https://example.com/?fbclid=1", "https://example.com/"),
        ("https://example.com:8443/x?fbclid=1", "https://example.com:8443/x"),
        ("https://example.com./x?fbclid=1", "https://example.com./x"),
        ("https://user:pw@example.com/x?gclid=1", "https://user:pw@example.com/x"),
        ("//example.com/x?gclid=1", "//example.com/x"),
        ("https://%65xample.com/?gclid=1", "https://%65xample.com/"),  # the host is decoded
        # other sites: left alone
        ("https://other.com/?gclid=1", None),
        ("https://example.com.evil.net/?gclid=1", None),
        ("https://www.example.com@evil.net/?gclid=1", None),  # userinfo
        ("//other.com/?gclid=1", None),
        ("https://notexample.com/?gclid=1", None),
        # not http(s), no query, no identifier
        ("mailto:a@example.com?gclid=1", None),
        ("javascript:go('?gclid=1')", None),
        ("tel:+1?gclid=1", None),
        ("/p", None),
        ("/p?a=1&utm_source=x", None),
        ("", None),
        # malformed: the browser refuses them, nothing to fear
        ("http://[::1/?gclid=1", None),
        ("https://example.com:99999/?gclid=1", None),
        ("https://example.com:8a/?gclid=1", None),
        ("https:///?gclid=1", None),
        ("https://exa<mple.com/?gclid=1", None),
    ],
)
def test_clean_link(href: str, expected: str | None) -> None:
    assert clean_link(href, HOST) == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        # Read as the WHATWG URL parser reads them, not as urllib would.
        ("https://other.com\\@www.example.com/?gclid=1", None),  # "\" ends the host
        ("https:\\\\www.example.com\\p?gclid=1", "https:\\\\www.example.com\\p"),
        ("\\\\www.example.com/?gclid=1", "\\\\www.example.com/"),
        ("/\\www.example.com/?gclid=1", "/\\www.example.com/"),
        ("\\/other.com/?gclid=1", None),
        ("///other.com/?gclid=1", None),  # extra slashes are ignored
        ("https:////www.example.com/?gclid=1", "https:////www.example.com/"),
        ("https://oth\ter.com/?gclid=1", None),  # tabs and newlines dropped: "other.com"
        ("https://www.exa\nmple.com/?gc\tlid=1", "https://www.example.com/"),
        ("/p?gc\r\nlid=1&a=\t1", "/p?a=1"),
        ("\n https://other.com/?gclid=1", None),
        # Unsure which site: cleaned (fail closed).
        ("http:other.com/?gclid=1", "http:other.com/"),  # relative on an http page
        ("https:/p?gclid=1", "https:/p"),
        ("https://b\u00fccher.example/?gclid=1", "https://b\u00fccher.example/"),  # IDNA
        (
            "https://\uff4f\uff54\uff48\uff45\uff52.com/?gclid=1",
            "https://\uff4f\uff54\uff48\uff45\uff52.com/",
        ),
        ("https://0x7f.1/?gclid=1", "https://0x7f.1/"),  # an IPv4 address to a browser
    ],
)
def test_clean_link_reads_urls_as_browsers_do(href: str, expected: str | None) -> None:
    assert clean_link(href, HOST) == expected


@pytest.mark.parametrize(
    ("page_host", "href", "expected"),
    [
        ("example.co.uk", "https://other.co.uk/?gclid=1", None),  # public suffix: other sites
        ("www.example.co.uk", "https://shop.example.co.uk/?gclid=1", "https://shop.example.co.uk/"),
        ("a.github.io", "https://b.github.io/?gclid=1", None),  # private section of the list
        ("a.github.io", "https://a.github.io/x?gclid=1", "https://a.github.io/x"),
        ("localhost:8000", "http://localhost:3000/?gclid=1", "http://localhost:3000/"),
        ("localhost:8000", "http://example.com/?gclid=1", None),
        ("127.0.0.1:8000", "http://127.0.0.1/?gclid=1", "http://127.0.0.1/"),
        ("127.0.0.1:8000", "http://127.0.0.2/?gclid=1", None),
        ("[::1]:8000", "http://[0:0::1]:9/?gclid=1", "http://[0:0::1]:9/"),
        ("[::1]:8000", "http://[::2]/?gclid=1", None),
        ("EXAMPLE.COM:443", "https://www.example.com/?gclid=1", "https://www.example.com/"),
        ("example.com", "/p?gclid=1", "/p"),
        # A page host we cannot judge: every link with click identifiers is cleaned.
        ("", "https://other.com/?gclid=1", "https://other.com/"),
        ("b\u00fccher.example", "https://other.com/?gclid=1", "https://other.com/"),
    ],
)
def test_clean_link_same_site(page_host: str, href: str, expected: str | None) -> None:
    assert clean_link(href, page_host) == expected


# --- navigations ---------------------------------------------------------------------------------


def _scope(method: str = "GET", **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


NAVIGATE = {"sec_fetch_mode": "navigate", "sec_fetch_dest": "document", "sec_fetch_site": "none"}
OLD_BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (_scope(**NAVIGATE), True),
        (_scope("HEAD", **NAVIGATE), True),
        (_scope("POST", **NAVIGATE), False),
        (_scope(**{**NAVIGATE, "sec_fetch_dest": "iframe"}), False),
        (_scope(**{**NAVIGATE, "sec_fetch_mode": "cors"}), False),
        (_scope(sec_fetch_mode="no-cors", sec_fetch_dest="image", accept="text/html"), False),
        (_scope(sec_fetch_site="same-origin", accept="text/html"), False),  # metadata decides
        (_scope(sec_fetch_mode="navigate"), False),  # without a destination
        (_scope(sec_fetch_mode=" Navigate ", sec_fetch_dest="DOCUMENT"), True),
        (_scope(**OLD_BROWSER), True),
        (_scope(accept="TEXT/HTML"), True),
        (_scope("HEAD", **OLD_BROWSER), True),
        (_scope("POST", **OLD_BROWSER), False),
        (_scope(accept="application/json"), False),
        (_scope(accept="*/*"), False),
        (_scope(), False),
        ({"type": "websocket", "headers": [(b"accept", b"text/html")]}, False),
        ({"type": "http", "method": "GET"}, False),
    ],
)
def test_is_top_level_navigation(scope: dict[str, Any], expected: bool) -> None:
    assert is_top_level_navigation(scope) is expected
