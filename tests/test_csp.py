"""Narrowing a Content-Security-Policy per visitor (`consent.csp`): parsing, nonces,
hashes, 'strict-dynamic', wildcards, several policies, bad input, the header editor."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from consent.blocking import BlockingRules
from consent.csp import (
    CSP_HEADER,
    CSP_REPORT_ONLY_HEADER,
    CspNarrowing,
    CspSettings,
    narrow_policy,
    report_only_policy,
)
from consent.csp_reports import csp_parts
from consent.runtime import blocking_rules_for, names_for
from consent.state import Consent
from tests.conftest import ClientFactory
from tests.support import make_settings

SETTINGS = make_settings()
SERVICES, PURPOSES = names_for(SETTINGS, strict=True)
RULES: BlockingRules = blocking_rules_for(SETTINGS, PURPOSES, SERVICES)
NONE = frozenset({"necessary"})
URI = "/_consent/csp-report"
REPORTING = f"; report-uri {URI}; report-to consent-csp"


def narrow(value: str, allowed: frozenset[str] = NONE, *, report: bool = False) -> str:
    return narrow_policy(
        value,
        RULES,
        allowed,
        report_uri=URI if report else None,
        tracker_domains=editor().domains,
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # host sources of declined trackers go; everything else stays as written
        (
            "script-src 'self' https://www.google-analytics.com cdn.example.com",
            "script-src 'self' cdn.example.com",
        ),
        # nonces, hashes and keywords are never touched
        (
            "script-src 'nonce-r4nd0m' 'sha256-abc=' 'unsafe-eval' www.googletagmanager.com",
            "script-src 'nonce-r4nd0m' 'sha256-abc=' 'unsafe-eval'",
        ),
        # only declined sources: nothing is left, which CSP spells 'none'
        ("img-src https://www.facebook.com", "img-src 'none'"),
        # a subdomain wildcard of a tracker domain is that tracker
        ("connect-src 'self' https://*.google-analytics.com", "connect-src 'self'"),
        # case, ports and paths in sources
        ("Script-Src HTTPS://WWW.GOOGLE-ANALYTICS.COM:443/ga.js 'self'", "script-src 'self'"),
        # a path-specific source of a mixed host goes; the bare host (reCAPTCHA) stays
        (
            "frame-src https://www.google.com/pagead/ https://www.google.com",
            "frame-src https://www.google.com",
        ),
        # -elem and -attr variants, child-src and media-src
        (
            "script-src-elem connect.facebook.net; child-src www.youtube.com; media-src "
            "www.youtube.com 'self'",
            "script-src-elem 'none'; child-src 'none'; media-src 'self'",
        ),
        # a repeated directive: browsers read the first only, so only the first is narrowed
        (
            "img-src www.facebook.com; img-src www.facebook.com",
            "img-src 'none'; img-src www.facebook.com",
        ),
        # default-src: written out for the tracker directives, kept for styles and fonts
        (
            "default-src 'self' https://connect.facebook.net",
            "default-src 'self' https://connect.facebook.net; script-src 'self'; "
            "connect-src 'self'; img-src 'self'; media-src 'self'; frame-src 'self'",
        ),
        # frames go through child-src before default-src
        (
            "default-src 'self' www.youtube.com; child-src 'self'; script-src 'self'",
            "default-src 'self' www.youtube.com; child-src 'self'; script-src 'self'; "
            "connect-src 'self'; img-src 'self'; media-src 'self'",
        ),
    ],
)
def test_declined_tracker_sources_are_removed(policy: str, expected: str) -> None:
    assert narrow(policy) == expected


@pytest.mark.parametrize(
    "policy",
    [
        "script-src 'self' https://www.google-analytics.com; img-src www.facebook.com",
        "default-src 'self' https://connect.facebook.net",
        "script-src 'strict-dynamic' 'nonce-x' https:",
    ],
)
def test_a_visitor_who_allows_everything_keeps_the_policy(policy: str) -> None:
    everything = consent("preferences", "analytics", "marketing").allowed
    assert narrow(policy, everything) is policy


def test_only_the_declined_category_goes() -> None:
    policy = "script-src https://www.google-analytics.com https://connect.facebook.net"
    allowed = frozenset({"necessary", "analytics", "google-analytics"})
    assert narrow(policy, allowed) == "script-src https://www.google-analytics.com"


@pytest.mark.parametrize(
    "policy",
    [
        "script-src *",
        "script-src https: 'self'",
        "connect-src https://*",
        "img-src *.google.com",  # holds declined and necessary hosts alike
    ],
)
def test_sources_that_admit_every_host_are_left_and_logged_once(
    policy: str, caplog: pytest.LogCaptureFixture
) -> None:
    logged: set[str] = set()
    with caplog.at_level(logging.INFO, logger="consent"):
        for _ in range(3):
            narrowed = narrow_policy(
                policy, RULES, NONE, logged=logged, tracker_domains=editor().domains
            )
            assert narrowed is policy
    assert len([r for r in caplog.records if "cannot subtract" in r.message]) == 1


def test_strict_dynamic_still_narrows_and_says_what_it_cannot_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = (
        "script-src 'strict-dynamic' 'nonce-n0nce' https://www.googletagmanager.com; "
        "connect-src https://www.google-analytics.com 'self'"
    )
    with caplog.at_level(logging.INFO, logger="consent"):
        narrowed = narrow(policy)
    # the host goes (browsers without 'strict-dynamic' read it); the nonce keeps trust
    assert narrowed == "script-src 'strict-dynamic' 'nonce-n0nce'; connect-src 'self'"
    assert any("strict-dynamic" in r.message for r in caplog.records)


def test_each_of_several_policies_is_narrowed() -> None:
    policy = (
        "script-src 'self' www.google-analytics.com, img-src www.facebook.com 'self', "
        "frame-ancestors 'none'"
    )
    assert narrow(policy) == "script-src 'self', img-src 'self', frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # no reporting of its own: ours is added
        ("img-src www.facebook.com", "img-src 'none'" + REPORTING),
        # report-uri takes several addresses: ours joins the app's
        (
            "img-src www.facebook.com; report-uri https://csp.example/r",
            f"img-src 'none'; report-uri https://csp.example/r {URI}",
        ),
        # report-to: the app's collector keeps its reports (report-uri would be ignored)
        ("img-src www.facebook.com; report-to app", "img-src 'none'; report-to app"),
        # nothing narrowed: no reporting added either
        ("img-src 'self'", "img-src 'self'"),
    ],
)
def test_reporting_is_added_only_where_it_harms_nothing(policy: str, expected: str) -> None:
    assert narrow(policy, report=True) == expected


@pytest.mark.parametrize(
    "policy",
    [
        "",
        " ",
        ";;;",
        ",,,",
        "garbage",
        "script-src",
        "script-src 'self",
        "\x00\xff\u00e9; img-src \x7f",
        "script-src https://",
        "script-src http://[::1]:8000 https://*.*.com *.  .com",
        "img-src " + "a." * 5000 + "com",
        "default-src;" * 1000,
        "script-src www.google-analytics.com\x00",
    ],
)
def test_garbage_never_raises(policy: str) -> None:
    result = narrow(policy)
    assert isinstance(result, str)
    assert "www.google-analytics.com " not in result + " "


def test_report_only_policy_reports_third_parties_and_blocks_nothing() -> None:
    policy = report_only_policy(URI)
    assert policy.startswith("default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:")
    assert f"report-uri {URI}" in policy
    assert "report-to consent-csp" in policy


def test_report_only_needs_reporting() -> None:
    with pytest.raises(ValidationError, match=r"csp\.reporting"):
        CspSettings(report_only_when_absent=True, reporting=False)


# -- the header editor -------------------------------------------------------------------


def editor(**options: object) -> CspNarrowing:
    narrowing = csp_parts(
        CspSettings(**options),  # type: ignore[arg-type]
        RULES,
        endpoint_path="/_consent",
    ).narrowing
    assert narrowing is not None
    return narrowing


def consent(*granted: str) -> Consent:
    undecided = Consent.undecided("necessary", 1, names=PURPOSES)
    return dataclasses.replace(undecided, granted=frozenset({"necessary", *granted}))


def test_granted_visitor_needs_no_editing() -> None:
    csp = editor()
    assert csp.for_consent(consent("preferences", "analytics", "marketing")) is None
    assert csp.for_consent(consent("analytics")) is csp


def test_every_csp_header_is_narrowed_and_others_are_kept() -> None:
    csp = editor()
    headers = [
        (b"Content-Type", b"text/html"),
        (b"Content-Security-Policy", b"script-src 'self' www.google-analytics.com"),
        (b"content-security-policy", b"img-src www.facebook.com"),
        (b"Content-Security-Policy-Report-Only", b"img-src www.facebook.com"),
    ]
    edited = csp.edit(headers, consent().allowed, html=True)
    assert edited is not None
    assert edited[0] == headers[0]
    assert edited[1][1].startswith(b"script-src 'self'; report-uri")
    assert edited[2][1].startswith(b"img-src 'none'; report-uri")
    assert edited[3] == headers[3]  # report-only blocks nothing: left as it is
    assert edited[4] == (b"reporting-endpoints", b'consent-csp="/_consent/csp-report"')


def test_no_csp_no_change_and_cached_values() -> None:
    csp = editor()
    assert csp.edit([(b"content-type", b"text/html")], consent().allowed, html=True) is None
    headers = [(CSP_HEADER, b"img-src www.facebook.com")]
    first = csp.edit(headers, consent().allowed, html=False)
    second = csp.edit(headers, consent().allowed, html=False)
    assert first is not None
    assert second is not None
    assert first[0][1] is second[0][1]  # the second came from the cache
    nonce = [(CSP_HEADER, b"img-src www.facebook.com; script-src 'nonce-abc'")]
    csp.edit(nonce, consent().allowed, html=False)
    assert (nonce[0][1], consent().allowed) not in csp._cache  # unique per response


def test_report_only_when_absent() -> None:
    csp = editor(report_only_when_absent=True)
    assert csp.for_consent(consent("preferences", "analytics", "marketing")) is csp
    edited = csp.edit([(b"content-type", b"text/html")], consent().allowed, html=True)
    assert edited is not None
    assert edited[1][0] == CSP_REPORT_ONLY_HEADER
    assert edited[2][0] == b"reporting-endpoints"
    # not on other responses, and never next to the app's own policy
    assert csp.edit([(b"content-type", b"text/css")], consent().allowed, html=False) is None
    own = [(b"content-security-policy-report-only", b"default-src 'self'")]
    assert csp.edit(own, consent().allowed, html=True) is None


def test_narrow_off() -> None:
    parts = csp_parts(CspSettings(narrow=False), RULES, endpoint_path="/_consent")
    assert parts.narrowing is None
    assert parts.endpoint is not None


def test_only_pages_have_their_policy_narrowed(client_for: ClientFactory) -> None:
    """A document's policy governs what its scripts add; one on a JSON answer binds nothing
    and passes as the app wrote it (and costs nothing)."""
    policy = "default-src 'self'; img-src 'self' https://www.facebook.com"

    async def page(request: Request) -> Response:
        return HTMLResponse("<!doctype html><p>hi", headers={"Content-Security-Policy": policy})

    async def data(request: Request) -> Response:
        return JSONResponse({}, headers={"Content-Security-Policy": policy})

    client = client_for(Starlette(routes=[Route("/", page), Route("/api", data)]))
    assert "facebook" not in client.get("/").headers["content-security-policy"]
    assert client.get("/api").headers["content-security-policy"] == policy
