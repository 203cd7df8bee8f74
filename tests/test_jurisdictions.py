"""Where a visitor is: CDN headers read only when the operator trusts them."""

from __future__ import annotations

from typing import Any

import pytest

from consent.jurisdictions import GeolocationSettings, Geolocator
from consent.runtime import ConsentRuntime
from tests.support import http_scope, make_settings


def locate(source: str, country: bytes | None, region: bytes | None = None, **extra: Any) -> str:
    return Geolocator(GeolocationSettings(source=source, **extra)).from_headers(country, region)


@pytest.mark.parametrize(
    ("country", "region", "code"),
    [
        (b"US", b"CA", "US-CA"),
        (b"us", b"ca", "US-CA"),
        (b"US", b"US-CA", "US-CA"),  # the full ISO 3166-2 code
        (b"DE", None, "DE"),
        (b"DE", b"", "DE"),
        (b"GB", b"ENG", "GB-ENG"),
        (b"XX", None, ""),  # Cloudflare: unknown
        (b"T1", None, ""),  # Cloudflare: Tor
        (b"USA", None, ""),
        (b"U\xff", None, ""),
        (b"US", b"C A", "US"),  # an odd subdivision is dropped, the country kept
        (None, b"CA", ""),
    ],
)
def test_cloudflare_headers(country: bytes | None, region: bytes | None, code: str) -> None:
    assert locate("cloudflare", country, region) == code


def test_akamai_edgescape() -> None:
    value = b"georegion=246,country_code=US,region_code=CA,city=SANJOSE,lat=37.33"
    assert locate("akamai", value) == "US-CA"
    assert locate("akamai", b"country_code=FR") == "FR"
    assert locate("akamai", b"garbage") == ""


def test_nothing_is_trusted_unless_the_operator_names_a_cdn() -> None:
    runtime = ConsentRuntime(make_settings())
    view = runtime.read(http_scope(headers=[(b"cf-ipcountry", b"US")]))
    assert view.consent.jurisdiction == ""
    assert view.consent.policy == "opt_in"
    assert view.consent.granted == {"necessary"}


def test_a_cdn_header_decides_the_policy_per_request() -> None:
    runtime = ConsentRuntime(make_settings(geolocation={"source": "cloudfront"}))
    us = runtime.read(
        http_scope(
            headers=[
                (b"cloudfront-viewer-country", b"US"),
                (b"cloudfront-viewer-country-region", b"CA"),
            ]
        )
    )
    assert (us.consent.jurisdiction, us.consent.policy) == ("US-CA", "us")
    de = runtime.read(http_scope(headers=[(b"cloudfront-viewer-country", b"DE")]))
    assert (de.consent.jurisdiction, de.consent.policy) == ("DE", "opt_in")
    # Another CDN's header means nothing here.
    other = runtime.read(http_scope(headers=[(b"cf-ipcountry", b"US")]))
    assert other.consent.policy == "opt_in"


def test_custom_header_names_any_case() -> None:
    settings = make_settings(geolocation={"source": "headers", "country_header": "X-Geo-Country"})
    runtime = ConsentRuntime(settings)
    view = runtime.read(http_scope(headers=[(b"X-Geo-Country", b"us")]))
    assert view.consent.jurisdiction == "US"


def resolve_from_client(scope: Any) -> str | None:
    host = (scope.get("client") or ("", 0))[0]
    return {"203.0.113.7": "us-ny", "203.0.113.8": "not a code"}.get(host)


def failing_resolver(scope: Any) -> str | None:
    raise RuntimeError("GeoIP database missing")


def test_a_resolver_of_the_operators_own(caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(geolocation={"resolver": f"{__name__}:resolve_from_client"})
    runtime = ConsentRuntime(settings)
    scope = http_scope()
    scope["client"] = ("203.0.113.7", 5000)
    assert runtime.read(scope).consent.jurisdiction == "US-NY"
    scope["client"] = ("203.0.113.8", 5000)
    assert runtime.read(scope).consent.jurisdiction == ""
    assert "no jurisdiction code" in caplog.text


def test_a_failing_resolver_gives_the_default_policy_never_an_error() -> None:
    settings = make_settings(geolocation={"resolver": f"{__name__}:failing_resolver"})
    view = ConsentRuntime(settings).read(http_scope())
    assert view.consent.policy == "opt_in"
    assert view.consent.granted == {"necessary"}
