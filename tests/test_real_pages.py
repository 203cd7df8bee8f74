"""The rewriter on real-world pages and vendor snippets (see fixtures/real-pages/SOURCE.md)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from consent.rewriter import HtmlRewriter
from tests._html import (
    ALL_OPTIONAL,
    BODY,
    HEAD,
    INJECTION,
    RULES,
    find,
    is_blocked,
    normalise,
    parse,
    placeholder,
    rewrite,
    scripts_naming,
)

PAGES = Path(__file__).resolve().parent / "fixtures" / "real-pages"
FILES = sorted(PAGES.glob("*.html")) if PAGES.is_dir() else []


def _missing() -> None:
    reason = f"real-page fixtures not found at {PAGES}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(params=FILES or [None], ids=lambda p: p.name if p else "missing")
def page(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    path: Path | None = request.param
    if path is None:
        _missing()
        raise AssertionError("unreachable")
    return path.name, path.read_bytes()


def load(name: str) -> bytes:
    if not FILES:
        _missing()
    return (PAGES / name).read_bytes()


def strip_injection(data: bytes) -> bytes:
    return data.replace(HEAD, b"").replace(BODY, b"")


# --- every page ---------------------------------------------------------------------------------


def test_tree_unchanged_apart_from_allowed_changes(page: tuple[str, bytes]) -> None:
    _, data = page
    out = rewrite(data, injection=INJECTION, placeholder=placeholder)
    assert normalise(parse(out)) == normalise(parse(data))


def test_tree_unchanged_when_everything_is_granted(page: tuple[str, bytes]) -> None:
    _, data = page
    out = rewrite(data, ALL_OPTIONAL, injection=INJECTION)
    assert strip_injection(out) == data


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_chunking_invariant(page: tuple[str, bytes], chunk: int) -> None:
    _, data = page
    whole = rewrite(data, injection=INJECTION, placeholder=placeholder)
    assert rewrite(data, chunks=chunk, injection=INJECTION, placeholder=placeholder) == whole


def test_fast_and_exact_paths_agree(page: tuple[str, bytes]) -> None:
    _, data = page
    exact = HtmlRewriter(RULES, frozenset(), injection=INJECTION, placeholder=placeholder)
    exact.fast_path = False
    assert exact.feed(data) + exact.close() == rewrite(
        data, injection=INJECTION, placeholder=placeholder
    )


def test_idempotent(page: tuple[str, bytes]) -> None:
    _, data = page
    for granted in (frozenset(), frozenset({"analytics"}), ALL_OPTIONAL):
        once = rewrite(data, granted, injection=INJECTION, placeholder=placeholder)
        assert rewrite(once, granted, injection=INJECTION, placeholder=placeholder) == once
        assert rewrite(once, granted, chunks=97, injection=INJECTION, placeholder=placeholder) == (
            once
        )


def test_blocked_output_is_restored_when_granted(page: tuple[str, bytes]) -> None:
    """Rewriting the blocked page with everything granted gives back every original attribute."""
    _, data = page
    blocked = rewrite(data, injection=INJECTION, placeholder=placeholder)
    restored = rewrite(blocked, ALL_OPTIONAL, injection=INJECTION, placeholder=placeholder)
    original, back = parse(data), parse(restored)
    before = [dict(e.attrib) for e in original.iter() if e.tag in ("script", "iframe", "img")]
    after = [
        {k: v for k, v in e.attrib.items() if k != "data-consent"}
        for e in back.iter()
        if e.tag in ("script", "iframe", "img") and not str(e.get("id", "")).startswith("consent-")
    ]
    assert after == before


def test_injected_once_into_full_documents(page: tuple[str, bytes]) -> None:
    name, data = page
    out = rewrite(data, injection=INJECTION)
    is_document = name.startswith(("readability_", "ddg_", "klaro_", "moaw_")) or (
        name == "snippet_recaptcha_v2_checkbox_page.html"
    )
    assert out.count(BODY) == (1 if is_document else 0)
    assert out.count(HEAD) == (1 if is_document else 0)
    if is_document:
        tree = parse(out)
        head = tree.find("head")
        assert head is not None
        # Before any Google tag: only the page's own <meta> tags come first.
        first = next(e for e in head if e.tag != "meta")
        assert first.get("id") == "consent-mode"
        body = tree.find("body")
        assert body is not None
        assert any(e.get("id") == "consent-banner" for e in body)


# --- what SOURCE.md says is in the pages ----------------------------------------------------------


def blocked_tree(name: str) -> ET.Element:
    return parse(rewrite(load(name), injection=INJECTION, placeholder=placeholder))


def assert_blocked(elements: list[ET.Element], count: int | None = None) -> None:
    assert elements, "expected at least one element"
    if count is not None:
        assert len(elements) == count
    for element in elements:
        assert is_blocked(element), ET.tostring(element)[:200]


def assert_live(elements: list[ET.Element]) -> None:
    assert elements, "expected at least one element"
    for element in elements:
        assert not is_blocked(element), ET.tostring(element)[:200]


def test_spiceworks() -> None:
    tree = blocked_tree("readability_spiceworks.html")
    assert_blocked(scripts_naming(tree, "googletagmanager.com/gtm.js"), 2)
    assert_blocked(find(tree, "iframe", "googletagmanager.com/ns.html"), 2)
    assert_blocked(scripts_naming(tree, "static.hotjar.com"))
    assert_blocked(scripts_naming(tree, "snap.licdn.com"))
    assert_blocked(find(tree, "img", "px.ads.linkedin.com"))
    assert_blocked(find(tree, "script", "securepubads.g.doubleclick.net"))
    assert_blocked(find(tree, "script", "platform.twitter.com"))
    assert_live(find(tree, "script", "www.google.com/recaptcha"))
    assert_live(find(tree, "script", "cdn.jsdelivr.net"))
    # A preload of the ad script fetches it as surely as the script would: blocked too.
    # Google Fonts, the site's own CDN and every other link stay as they are.
    blocked = [link for link in tree.iter("link") if link.get("data-consent") is not None]
    assert [link.get("data-consent-href") for link in blocked] == [
        "https://securepubads.g.doubleclick.net/tag/js/gpt.js"
    ]
    assert all(link.get("href") is None for link in blocked)


def test_article_author_tag() -> None:
    tree = blocked_tree("readability_article-author-tag.html")
    assert_blocked(find(tree, "script", "googletagmanager.com/gtag/js"))
    assert_blocked(find(tree, "img", "facebook.com/tr"))
    assert_blocked(scripts_naming(tree, "connect.facebook.net"))
    assert_blocked(find(tree, "script", "plausible.io"))
    assert_blocked(find(tree, "script", "maps.googleapis.com"))
    assert_blocked(find(tree, "img", "scorecardresearch.com"))
    assert_blocked(find(tree, "img", "pixel.quantserve.com"))
    assert_blocked(find(tree, "script", "pagead2.googlesyndication.com"))
    assert_live(find(tree, "script", "cdn.cookielaw.org"))
    assert_live(find(tree, "script", "js.stripe.com"))
    assert_live(find(tree, "script", "cdn.jsdelivr.net"))
    for script in tree.iter("script"):
        if script.get("type") == "application/ld+json":
            assert script.get("data-consent") is None


def test_videos_2() -> None:
    out = rewrite(load("readability_videos-2.html"), injection=INJECTION)
    # GTM is commented out on this page: comment text stays as it is
    assert b'<!-- <noscript><iframe src="//www.googletagmanager.com/ns.html?id=GTM-V9PX"' in out
    tree = parse(out)
    assert_blocked(find(tree, "iframe", "www.youtube.com/embed"), 6)
    assert_blocked(find(tree, "img", "facebook.com/tr"))
    assert_blocked(find(tree, "img", "googleads.g.doubleclick.net"))
    assert_blocked(find(tree, "script", "platform.twitter.com"))
    assert_blocked(find(tree, "script", "widgets.outbrain.com"))
    assert_blocked(find(tree, "script", "googleadservices.com"))
    assert_blocked(find(tree, "img", "pixel.quantserve.com"))
    assert_blocked(scripts_naming(tree, '".quantserve.com/aquant.js'))
    assert_blocked(scripts_naming(tree, "static.chartbeat.com/js/chartbeat.js"))
    assert_blocked(scripts_naming(tree, "static.ads-twitter.com/uwt.js"))


def test_medicalnewstoday() -> None:
    tree = blocked_tree("readability_medicalnewstoday.html")
    assert_blocked(find(tree, "img", "facebook.com/tr"), 2)
    assert_blocked(scripts_naming(tree, "connect.facebook.net"))
    assert_blocked(find(tree, "img", "pixel.quantserve.com"))
    assert_blocked(scripts_naming(tree, "krxd.net"))


def test_embedded_videos() -> None:
    tree = blocked_tree("readability_embedded-videos.html")
    iframes = list(tree.iter("iframe"))
    assert len(iframes) == 5
    assert_blocked(iframes)
    for iframe in iframes:
        assert iframe.get("data-consent") == "preferences"
        assert iframe.get("srcdoc") == placeholder("preferences")


def test_ddg_click_to_load() -> None:
    tree = blocked_tree("ddg_click-to-load.html")
    sdk = find(tree, "script", "connect.facebook.net")
    assert_blocked(sdk)
    assert sdk[0].get("nonce") == "1SgoaWbh"
    assert_blocked(find(tree, "iframe", "facebook.com/plugins"), 7)
    assert_live(find(tree, "script", "./main.js"))


def test_ddg_youtube() -> None:
    tree = blocked_tree("ddg_youtube-click-to-load.html")
    assert_blocked(find(tree, "iframe", "youtube"), 4)
    assert_blocked(find(tree, "script", "www.youtube.com/iframe_api"))
    assert_blocked(find(tree, "script", "apis.google.com"))


@pytest.mark.parametrize(
    ("name", "tag", "url_part"),
    [
        ("snippet_youtube_iframe.html", "iframe", "youtube.com/embed"),
        ("snippet_google_maps_embed_api_generic.html", "iframe", "google.com/maps/embed"),
        ("snippet_google_maps_embed_place_newline_in_src.html", "iframe", "google.com/maps"),
        ("snippet_ga4_gtag_royal-road.html", "script", "googletagmanager.com/gtag"),
        ("snippet_ga4_gtag_with_consent_default.html", "script", "googletagmanager.com/gtag"),
        ("snippet_gtm_spiceworks_cdata.html", "iframe", "googletagmanager.com/ns.html"),
        ("snippet_linkedin_insight_spiceworks.html", "img", "px.ads.linkedin.com"),
    ],
)
def test_snippet_urls_blocked(name: str, tag: str, url_part: str) -> None:
    assert_blocked(find(blocked_tree(name), tag, url_part))


@pytest.mark.parametrize(
    ("name", "text_part"),
    [
        ("snippet_clarity.html", "clarity.ms"),
        ("moaw_index_clarity.html", "clarity.ms"),
        ("snippet_hotjar_spiceworks_cdata.html", "static.hotjar.com"),
        ("snippet_gtm_spiceworks_cdata.html", "googletagmanager.com/gtm.js"),
        ("snippet_linkedin_insight_spiceworks.html", "snap.licdn.com"),
    ],
)
def test_snippet_inline_scripts_blocked(name: str, text_part: str) -> None:
    assert_blocked(scripts_naming(blocked_tree(name), text_part))


@pytest.mark.parametrize(
    "name",
    ["snippet_recaptcha_v2_checkbox_page.html", "snippet_recaptcha_v3_script_spiceworks.html"],
)
def test_recaptcha_untouched(name: str) -> None:
    data = load(name)
    assert strip_injection(rewrite(data, injection=INJECTION)) == data


def test_gtag_config_without_a_host_is_blocked_as_a_tracker_call() -> None:
    tree = blocked_tree("moaw_index_gtag_consent_default.html")
    assert_blocked(scripts_naming(tree, "gtag('consent', 'default'"))
    assert_live(scripts_naming(tree, "sessionStorage"))
    assert_live(find(tree, "script", "statslite.js"))
    assert_blocked(find(tree, "script", "googletagmanager.com/gtag"))


@pytest.mark.parametrize(
    "name", ["klaro_gtm_already_neutralised.html", "klaro_simple_already_neutralised.html"]
)
@pytest.mark.parametrize("granted", [frozenset(), ALL_OPTIONAL])
def test_klaro_pages_unchanged_except_injection(name: str, granted: frozenset[str]) -> None:
    data = load(name)
    out = rewrite(data, granted, injection=INJECTION, placeholder=placeholder)
    assert strip_injection(out) == data
    assert out.count(BODY) == 1
