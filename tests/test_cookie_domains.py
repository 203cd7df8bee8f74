"""The domains a declined cookie is expired on: from the request's host up to its registrable
domain (Public Suffix List), host-only for anything else, never an error."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import publicsuffixlist
import pytest

from consent import cookie_domains
from consent.cookie_domains import MAX_DOMAINS, CookieDomains, derive_domains


@pytest.mark.parametrize(
    ("host", "domains"),
    [
        ("www.example.com", ("example.com", "www.example.com")),
        ("example.com", ("example.com",)),
        ("a.b.example.co.uk", ("example.co.uk", "b.example.co.uk", "a.b.example.co.uk")),
        ("shop.eu.example.co.uk", ("example.co.uk", "eu.example.co.uk", "shop.eu.example.co.uk")),
        # a private-section public suffix: each github.io site is its own registrable domain
        ("example.github.io", ("example.github.io",)),
        ("docs.example.github.io", ("example.github.io", "docs.example.github.io")),
        # the port, a trailing dot and case make no difference
        ("www.example.com:8443", ("example.com", "www.example.com")),
        ("www.example.com.", ("example.com", "www.example.com")),
        ("WWW.Example.COM", ("example.com", "www.example.com")),
        ("WWW.EXAMPLE.COM.:80", ("example.com", "www.example.com")),
        # IDNs arrive as punycode; an unknown TLD is a public suffix of its own (as in browsers)
        ("www.xn--mnchen-3ya.de", ("xn--mnchen-3ya.de", "www.xn--mnchen-3ya.de")),
        ("printer.lan", ("printer.lan",)),
    ],
)
def test_domains_run_from_the_registrable_domain_to_the_host(
    host: str, domains: tuple[str, ...]
) -> None:
    assert derive_domains(host) == domains


@pytest.mark.parametrize(
    "host",
    [
        # public suffixes themselves: browsers refuse cookies on them
        "github.io",
        "co.uk",
        "com",
        # single labels and IP literals: host-only cookies alone exist there
        "localhost",
        "localhost:8000",
        "127.0.0.1",
        "127.0.0.1:8000",
        "[::1]",
        "[::1]:8000",
        "::1",
        "[2001:db8::1]",
        "example.123",  # a numeric last label is an IPv4 address to a browser
        "foo.0x7f",
        # garbage
        "",
        " ",
        ".",
        ".example.com",
        "example..com",
        "exa mple.com",
        "example.com:abc",
        "example.com:80:80",
        "http://example.com",
        "user@example.com",
        "example.com/path",
        "m\u00fcnchen.de",  # raw UTF-8 is not what browsers send
        "www.example.com\x00.evil",
        "www.example.com\r\nSet-Cookie: x=1",
        "a" * 64 + ".com",  # a label longer than DNS allows
        "a." * 130 + "com",  # a name longer than DNS allows
    ],
)
def test_everything_else_is_host_only(host: str) -> None:
    assert derive_domains(host) == ()


def test_a_public_suffix_is_never_used() -> None:
    for host in ("example.github.io", "a.b.example.github.io", "x.y.z.github.io"):
        assert "github.io" not in derive_domains(host)
        assert "io" not in derive_domains(host)


def test_deep_hosts_keep_the_registrable_domain_and_the_host() -> None:
    domains = derive_domains("a.b.c.d.e.f.example.com")
    assert len(domains) == MAX_DOMAINS
    assert domains[0] == "example.com"
    assert domains[-1] == "a.b.c.d.e.f.example.com"
    assert "f.example.com" in domains  # the levels nearest the registrable domain


def test_a_10000_label_host_is_host_only_and_cheap() -> None:
    host = "a." * 10_000 + "example.com"
    start = time.perf_counter()
    for _ in range(1000):
        assert derive_domains(host) == ()
    assert time.perf_counter() - start < 1.0  # a length check, no look-up (~1 ms here)
    domains = CookieDomains()
    assert domains.for_host(host.encode()) == ()
    assert domains.key(host.encode()) == b""  # not kept as a cache key either


def test_results_are_cached_per_host_in_a_bounded_cache() -> None:
    domains = CookieDomains()
    first = domains.for_host(b"www.example.com")
    assert domains.for_host(b"www.example.com") is first
    for i in range(5000):  # a flood of hosts (one client can send any Host it likes)
        domains.for_host(f"h{i}.example.com".encode())
    assert len(domains._cache) <= domains._cache.limit


def test_an_override_replaces_the_derived_domains_for_every_host() -> None:
    domains = CookieDomains([".example.org"])
    assert domains.for_host(b"www.example.com") == (".example.org",)
    assert domains.for_host(b"localhost") == (".example.org",)
    assert domains.key(b"www.example.com") == b""  # nothing depends on the host


def test_garbage_bytes_never_raise() -> None:
    domains = CookieDomains()
    for raw in (b"\xff\xfe", b"\x00", b"[", b"]:", b":" * 300, bytes(range(256))):
        assert domains.for_host(raw) == ()


def test_the_list_is_the_bundled_snapshot_and_nothing_is_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = Path(publicsuffixlist.__file__).parent
    assert Path(publicsuffixlist.PSLFILE).parent == package
    assert Path(publicsuffixlist.PSLFILE).stat().st_size > 100_000

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the Public Suffix List must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    cookie_domains._public_suffix_list.cache_clear()  # load it again, offline
    try:
        assert derive_domains("www.example.co.uk") == ("example.co.uk", "www.example.co.uk")
    finally:
        cookie_domains._public_suffix_list.cache_clear()
