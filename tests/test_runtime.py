"""Reading a request: hostile Cookie headers stay cheap, planted consent cookies never widen a
grant, and the consent cookie's name follows the scheme (``__Host-`` on https)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from consent import ConsentMiddleware, ConsentSettings
from consent.runtime import (
    LOG_LONG_COOKIE_HEADER,
    MAX_EXPIRED_PER_RESPONSE,
    MAX_EXPIRY_HEADERS_PER_RESPONSE,
    ConsentRuntime,
    _expiry_headers,
)
from consent.state import Consent
from tests.conftest import ClientFactory
from tests.support import http_scope, make_settings


def runtime(**overrides: Any) -> ConsentRuntime:
    return ConsentRuntime(make_settings(**overrides))


def signed(rt: ConsentRuntime, *granted: str) -> str:
    optional = set(rt.optional_keys)
    consent = Consent(
        id="visitor1",
        revision=1,
        granted=frozenset({rt.required_key, *granted}),
        denied=frozenset(optional - set(granted)),
        decided=True,
    )
    return rt.codec.dumps(consent)


def read(rt: ConsentRuntime, cookie: str, *, scheme: str = "http") -> Any:
    headers = [(b"host", b"testserver"), (b"cookie", cookie.encode("latin-1"))]
    return rt.read(http_scope(headers=headers, scheme=scheme))


# -- floods ----------------------------------------------------------------------------------


@pytest.mark.parametrize("names", [100, 1000, 6000])
def test_a_cookie_flood_expires_a_bounded_number_per_response(names: int) -> None:
    rt = runtime(expire_cookie_domains=[".testserver"])
    cookie = "; ".join(f"_ga_{i}=x" for i in range(names))  # GA4 container cookies
    view = read(rt, cookie)
    expired = view.cookie_state.expired_headers
    assert 0 < len(expired) <= MAX_EXPIRED_PER_RESPONSE * 2  # host-only and one domain each


def test_the_next_request_expires_the_next_batch(client_for: ClientFactory) -> None:
    client = client_for()
    names = [f"_ga_{i}" for i in range(40)]  # GA4 container cookies: analytics, not granted
    jar = {name: "1" for name in names}
    seen: set[str] = set()
    for _ in range(4):
        header = "; ".join(f"{name}={value}" for name, value in jar.items())
        response = client.get("/state", headers={"cookie": header})
        expired = [h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")]
        assert len(expired) <= MAX_EXPIRED_PER_RESPONSE
        for name in expired:
            jar.pop(name, None)  # what a browser does with Max-Age=0
        seen.update(expired)
    assert seen == set(names)
    assert not jar


def test_a_long_cookie_header_is_cut_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    rt = runtime(max_cookie_header_bytes=1024)
    consent = signed(rt, "analytics")
    padding = "; ".join(f"c{i}=v" for i in range(400))
    with caplog.at_level(logging.WARNING, logger="consent"):
        late = read(rt, f"{padding}; consent={consent}")
        read(rt, f"{padding}; other=1; consent={consent}")
    assert late.consent.decided is False  # past the cut: fail closed
    assert len(late.cookies) < 400
    assert sum(LOG_LONG_COOKIE_HEADER.split("%")[0] in r.message for r in caplog.records) == 1
    early = read(rt, f"consent={consent}; {padding}")
    assert early.consent.allows("analytics")


# -- several consent cookies (cookie tossing) --------------------------------------------------


def test_several_consent_cookies_grant_only_what_all_grant() -> None:
    rt = runtime()
    everything = signed(rt, "preferences", "analytics", "marketing")
    little = signed(rt, "preferences")
    for cookie in (
        f"consent={everything}; consent={little}",
        f"consent={little}; consent={everything}",
    ):
        consent = read(rt, cookie).consent
        assert consent.decided
        assert consent.granted == {"necessary", "preferences"}
        assert consent.denied == {"analytics", "marketing"}


@pytest.mark.parametrize("other", ["forged", "", "1|x|1|analytics|"])
def test_a_second_cookie_that_does_not_verify_makes_the_visitor_undecided(other: str) -> None:
    rt = runtime()
    consent = read(rt, f"consent={signed(rt, 'analytics')}; consent={other}").consent
    assert not consent.decided
    assert consent.granted == {"necessary"}


def test_a_flood_of_consent_cookies_is_undecided() -> None:
    rt = runtime()
    value = signed(rt, "analytics")
    consent = read(rt, "; ".join(f"consent={value}" for _ in range(10))).consent
    assert not consent.decided


def test_planted_copies_are_expired_on_the_configured_domains() -> None:
    rt = runtime(expire_cookie_domains=[".testserver"])
    view = read(rt, f"consent={signed(rt)}; consent={signed(rt, 'analytics')}")
    expired = [v.decode() for _, v in view.cookie_state.expired_headers]
    assert any(h.startswith("consent=;") and "Domain=.testserver" in h for h in expired)
    assert not any(h.startswith("consent=;") and "Domain" not in h for h in expired)


# -- the consent cookie's name -------------------------------------------------------------------


def test_https_uses_a_host_prefixed_cookie_and_ignores_a_plain_one() -> None:
    rt = runtime()
    value = signed(rt, "analytics")
    assert read(rt, f"__Host-consent={value}", scheme="https").consent.allows("analytics")
    # a plain `consent` can be planted by a sibling subdomain: not read on https
    assert not read(rt, f"consent={value}", scheme="https").consent.decided
    assert read(rt, f"consent={value}").consent.allows("analytics")  # plain http


@pytest.mark.parametrize(
    "overrides",
    [
        {"cookie_domain": ".example.com"},
        {"cookie_path": "/shop"},
        {"cookie_host_prefix": False},
        {"cookie_secure": False},
    ],
)
def test_no_host_prefix_where_browsers_would_refuse_it(overrides: dict[str, Any]) -> None:
    rt = runtime(**overrides)
    _, value = rt.consent_cookie_header(
        Consent.undecided("necessary", 1, consent_id="x"), secure=rt.is_secure({"scheme": "https"})
    )
    assert value.startswith(b"consent=")


def test_post_over_https_sets_the_prefixed_cookie_and_it_is_read_back() -> None:
    from starlette.testclient import TestClient

    from tests.support import host_app

    settings = ConsentSettings(secret_key="x" * 32, records={"enabled": False})
    client = TestClient(ConsentMiddleware(host_app(), settings), base_url="https://testserver")
    response = client.post(
        "/_consent", json={"action": "accept_all"}, headers={"origin": "https://testserver"}
    )
    assert response.headers["set-cookie"].startswith("__Host-consent=")
    assert "; Secure" in response.headers["set-cookie"]
    assert client.get("/state").json()["granted"] == sorted(
        ["analytics", "marketing", "necessary", "preferences"]
    )


# -- expiring declined cookies on the host's domains ----------------------------------------------

EXPIRED = "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"


def expired_on(rt: ConsentRuntime, cookie: str, host: bytes | None) -> list[str]:
    headers = [(b"cookie", cookie.encode("latin-1"))]
    if host is not None:
        headers.append((b"host", host))
    view = rt.read(http_scope(headers=headers))
    return [value.decode() for _, value in view.cookie_state.expired_headers]


def test_a_visitor_who_rejects_gets_ga_expired_on_the_registrable_domain() -> None:
    from starlette.testclient import TestClient

    from tests.support import host_app

    app = ConsentMiddleware(host_app(), make_settings())
    with TestClient(app, base_url="http://www.example.com") as client:
        response = client.post(
            "/_consent",
            json={"action": "reject_all"},
            headers={"origin": "http://www.example.com", "cookie": "_ga=GA1.1.123.456"},
        )
        assert response.status_code == 200
        set_cookies = response.headers.get_list("set-cookie")
        assert f"_ga{EXPIRED}; Domain=example.com" in set_cookies  # where gtag.js puts it
        assert f"_ga{EXPIRED}; Domain=www.example.com" in set_cookies
        assert f"_ga{EXPIRED}" in set_cookies  # host-only
        assert not any("github" in c or "Domain=com" in c for c in set_cookies)
        # and on every later page while the browser still sends it
        page = client.get("/state", headers={"cookie": "_ga=GA1.1.123.456"})
        assert f"_ga{EXPIRED}; Domain=example.com" in page.headers.get_list("set-cookie")


def test_declined_cookies_are_expired_on_every_domain_of_the_host() -> None:
    rt = runtime()
    expired = expired_on(rt, "_ga=1; _fbp=2; session=3", b"shop.eu.example.co.uk:8443")
    for name in ("_ga", "_fbp"):
        assert [h for h in expired if h.startswith(f"{name}=")] == [
            f"{name}{EXPIRED}",
            f"{name}{EXPIRED}; Domain=example.co.uk",
            f"{name}{EXPIRED}; Domain=eu.example.co.uk",
            f"{name}{EXPIRED}; Domain=shop.eu.example.co.uk",
        ]
    assert not any(h.startswith("session=") for h in expired)  # unclassified: allowed


def test_the_same_cookies_on_two_hosts_are_expired_on_each_hosts_domains() -> None:
    rt = runtime()
    first = expired_on(rt, "_ga=1", b"www.example.com")
    second = expired_on(rt, "_ga=1", b"www.example.org")
    assert f"_ga{EXPIRED}; Domain=example.com" in first
    assert f"_ga{EXPIRED}; Domain=example.org" in second
    assert not any("example.com" in h for h in second)  # the cached state is per host


@pytest.mark.parametrize(
    "host",
    [
        None,
        b"localhost:8000",
        b"127.0.0.1",
        b"[::1]:8000",
        b"github.io",
        b"\xff\xfe.example.com",
        b"a." * 5000 + b"example.com",
        b"www.example.com; Domain=evil.example",
    ],
)
def test_odd_hosts_get_host_only_expiry(host: bytes | None) -> None:
    expired = expired_on(runtime(), "_ga=1", host)
    assert expired == [f"_ga{EXPIRED}"]


def test_the_first_host_header_counts() -> None:
    rt = runtime()
    headers = [(b"cookie", b"_ga=1"), (b"host", b"www.example.com"), (b"host", b"evil.example")]
    view = rt.read(http_scope(headers=headers))
    expired = [v.decode() for _, v in view.cookie_state.expired_headers]
    assert f"_ga{EXPIRED}; Domain=example.com" in expired
    assert not any("evil" in h for h in expired)


def test_expiry_headers_are_capped_per_response_and_cookies_expired_whole() -> None:
    rt = runtime()
    cookie = "; ".join(f"_ga_{i}=x" for i in range(40))
    expired = expired_on(rt, cookie, b"shop.eu.example.co.uk")
    assert 0 < len(expired) <= MAX_EXPIRY_HEADERS_PER_RESPONSE
    names = [h.split("=", 1)[0] for h in expired]
    assert all(names.count(name) == 4 for name in names)  # host-only and three domains


def test_expire_cookie_domains_replaces_the_derived_domains() -> None:
    rt = runtime(expire_cookie_domains=[".example.org"])
    expired = expired_on(rt, "_ga=1", b"www.example.com")
    assert expired == [f"_ga{EXPIRED}", f"_ga{EXPIRED}; Domain=.example.org"]


def test_planted_consent_copies_are_expired_on_the_hosts_parent_domains() -> None:
    rt = runtime()
    cookie = f"consent={signed(rt)}; consent={signed(rt, 'analytics')}"
    expired = [h for h in expired_on(rt, cookie, b"www.example.com") if h.startswith("consent=")]
    assert expired == [
        f"consent{EXPIRED}; Domain=example.com",
        f"consent{EXPIRED}; Domain=www.example.com",
    ]  # never host-only: that one is ours


def test_the_consent_cookies_own_domain_is_never_expired_as_a_copy() -> None:
    rt = runtime(cookie_domain=".Example.com")
    cookie = f"consent={signed(rt)}; consent={signed(rt, 'analytics')}"
    expired = [h for h in expired_on(rt, cookie, b"www.example.com") if h.startswith("consent=")]
    assert expired == [f"consent{EXPIRED}", f"consent{EXPIRED}; Domain=www.example.com"]


def test_prefixed_cookies_are_expired_with_the_attributes_their_prefix_demands() -> None:
    suffixes = ("", "; Domain=example.com")
    secure = [v.decode() for _, v in _expiry_headers("__Secure-id", suffixes)]
    assert secure == [
        f"__Secure-id{EXPIRED}; Secure",
        f"__Secure-id{EXPIRED}; Domain=example.com; Secure",
    ]
    host = [v.decode() for _, v in _expiry_headers("__Host-id", suffixes)]
    assert host == [f"__Host-id{EXPIRED}; Secure"]  # host-only, Secure, Path=/: nothing else
