"""Blocking rules: URL and inline-script classification, precedence, aliases."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.blocking import BlockingRules, _clean_split, _split_url, load_builtin_table
from tests._html import DEFAULT_CATEGORIES, RULES, Cat


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Google Analytics / Tag Manager
        ("https://www.googletagmanager.com/gtm.js?id=GTM-X", "analytics"),
        ("https://www.googletagmanager.com/gtag/js?id=G-1", "analytics"),
        ("//www.googletagmanager.com/ns.html?id=GTM-V9PX", "analytics"),
        ("https://www.google-analytics.com/analytics.js", "analytics"),
        ("https://region1.analytics.google.com/g/collect", "analytics"),
        # Meta
        ("https://connect.facebook.net/en_US/fbevents.js", "marketing"),
        ("https://www.facebook.com/tr?id=1&ev=PageView&noscript=1", "marketing"),
        ("https://www.facebook.com/plugins/like.php?href=x", "marketing"),
        # others
        ("https://static.hotjar.com/c/hotjar-1.js?sv=5", "analytics"),
        ("https://snap.licdn.com/li.lms-analytics/insight.min.js", "marketing"),
        ("https://px.ads.linkedin.com/collect/?pid=1&fmt=gif", "marketing"),
        ("https://analytics.tiktok.com/i18n/pixel/events.js", "marketing"),
        ("https://www.clarity.ms/tag/abc", "analytics"),
        ("https://bat.bing.com/bat.js", "marketing"),
        ("https://securepubads.g.doubleclick.net/tag/js/gpt.js", "marketing"),
        ("//pagead2.googlesyndication.com/pagead/js/adsbygoogle.js", "marketing"),
        ("//www.googleadservices.com/pagead/conversion.js", "marketing"),
        ("https://platform.twitter.com/widgets.js", "marketing"),
        ("https://static.ads-twitter.com/uwt.js", "marketing"),
        ("https://s.pinimg.com/ct/core.js", "marketing"),
        ("https://plausible.io/js/plausible.js", "analytics"),
        ("https://cdn.matomo.cloud/x/matomo.js", "analytics"),
        ("https://static.chartbeat.com/js/chartbeat.js", "analytics"),
        ("https://sb.scorecardresearch.com/p?c1=2", "analytics"),
        ("//pixel.quantserve.com/pixel/p-1.gif", "marketing"),
        ("https://cdn.taboola.com/libtrc/x/loader.js", "marketing"),
        ("https://widgets.outbrain.com/outbrain.js", "marketing"),
        ("https://static.criteo.net/js/ld/publishertag.js", "marketing"),
        ("https://c.amazon-adsystem.com/aax2/apstag.js", "marketing"),
        ("https://cdn.krxd.net/controltag/x.js", "marketing"),
        ("https://z.moatads.com/x/moatad.js", "marketing"),
        ("https://cdn.segment.com/analytics.js/v1/x/analytics.min.js", "analytics"),
        ("https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js", "analytics"),
        ("https://cdn.amplitude.com/libs/amplitude.js", "analytics"),
        ("https://cdn.heapanalytics.com/js/heap-1.js", "analytics"),
        ("https://edge.fullstory.com/s/fs.js", "analytics"),
        ("https://cdn.mouseflow.com/projects/x.js", "analytics"),
        ("https://script.crazyegg.com/pages/scripts/1.js", "analytics"),
        ("https://js.hs-scripts.com/1.js", "marketing"),
        # external media
        ("https://www.youtube.com/embed/DHfRfU3XUEo", "preferences"),
        ("https://youtube.com/embed/videoseries?list=PL1", "preferences"),
        ("https://www.youtube-nocookie.com/embed/W85oD8FEF78?autoplay=1", "preferences"),
        ("https://i.ytimg.com/vi/x/hqdefault.jpg", "preferences"),
        ("https://player.vimeo.com/video/32246206", "preferences"),
        ("https://maps.googleapis.com/maps/api/js?v=3", "preferences"),
        ("https://www.google.com/maps/embed/v1/place?key=K&q=x", "preferences"),
        ("https://open.spotify.com/embed/track/1", "preferences"),
        ("https://w.soundcloud.com/player/?url=x", "preferences"),
        # necessary services win over broader hosts
        ("https://www.google.com/recaptcha/api.js?render=x", "necessary"),
        ("https://www.gstatic.com/recaptcha/releases/x/recaptcha__en.js", "necessary"),
        ("https://www.recaptcha.net/recaptcha/api.js", "necessary"),
        ("https://js.hcaptcha.com/1/api.js", "necessary"),
        ("https://challenges.cloudflare.com/turnstile/v0/api.js", "necessary"),
        ("https://js.stripe.com/v3/", "necessary"),
        ("https://www.paypal.com/sdk/js?client-id=x", "necessary"),
        ("https://cdn.cookielaw.org/consent/x/otSDKStub.js", "necessary"),
        # not ours to decide
        ("https://www.google.com/search?q=x", None),
        ("https://fonts.googleapis.com/css2?family=Roboto", None),
        ("https://cdn.jsdelivr.net/npm/js-cookie@3.0.1/dist/js.cookie.min.js", None),
        ("https://example.com/app.js", None),
        ("https://notgoogletagmanager.com/gtm.js", None),
        ("https://googletagmanager.com.example.org/gtm.js", None),
        ("/static/app.js", None),
        ("app.js", None),
        ("./main.js", None),
        ("", None),
        ("data:text/javascript,alert(1)", None),
        ("javascript:void(0)", None),
        ("about:blank", None),
        ("blob:https://www.googletagmanager.com/x", None),
    ],
)
def test_category_of_url(url: str, expected: str | None) -> None:
    assert RULES.category_of_url(url) == expected


#: "facebook.net" in full-width letters and a full-width full stop (U+FF0E)
_FULL_WIDTH_FACEBOOK_NET = "".join(chr(ord(c) + 0xFEE0) for c in "facebook.net")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # character references, as found in attribute values
        ("https://www.facebook.com/tr?id=1&amp;ev=PageView", "marketing"),
        ("https:&#x2F;&#x2F;connect.facebook.net/en_US/sdk.js", "marketing"),
        ("https:&#47;&#47;www.googletagmanager.com/gtm.js", "analytics"),
        ("https&colon;//www.googletagmanager.com/gtm.js", "analytics"),
        ("&#104;ttps://www.clarity.ms/tag/x", "analytics"),
        # surrounding whitespace and newlines, newline inside the value
        ("  https://www.youtube.com/embed/x\n", "preferences"),
        ("\n\thttps://www.google.com/maps/embed/v1/place?key=K\n&q=Space+Needle", "preferences"),
        ("https://www.google\n.com/maps/embed", "preferences"),
        # case-insensitive scheme and host; paths stay case-sensitive
        ("HTTPS://WWW.GoogleTagManager.COM/gtm.js", "analytics"),
        ("//Connect.Facebook.NET/en_US/fbevents.js", "marketing"),
        ("https://WWW.GOOGLE.COM/recaptcha/api.js", "necessary"),
        ("https://www.google.com/RECAPTCHA/api.js", None),
        # browser URL quirks: backslashes, extra slashes, user info, port, trailing dot
        ("https:\\\\www.googletagmanager.com\\gtm.js", "analytics"),
        ("/\\www.googletagmanager.com/gtm.js", "analytics"),
        ("https:///www.googletagmanager.com/gtm.js", "analytics"),
        ("https:www.googletagmanager.com/gtm.js", "analytics"),
        ("https://user:pw@www.googletagmanager.com:443/gtm.js", "analytics"),
        ("https://www.googletagmanager.com./gtm.js", "analytics"),
        ("https://www.googletagmanager%2Ecom/gtm.js", "analytics"),
        ("http://www.google-analytics.com/ga.js#x", "analytics"),
        # IDNA: full-width letters and dots map label by label, an empty label included
        (
            "https://" + _FULL_WIDTH_FACEBOOK_NET.replace("\uff46", "connect\uff0e\uff46", 1),
            "marketing",
        ),
        ("http:\uff0e" + _FULL_WIDTH_FACEBOOK_NET, "marketing"),
        ("https://www。youtube。com/embed/x", "preferences"),
    ],
)
def test_category_of_url_decodes_like_a_browser(url: str, expected: str | None) -> None:
    assert RULES.category_of_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "(function(w,d,s,l,i){j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;"
            "})(window,document,'script','dataLayer','GTM-X');",
            "analytics",
        ),
        (
            "!function(f,b,e,v,n,t,s){t.src=v;}(window, document,'script',"
            "'https://connect.facebook.net/en_US/fbevents.js');fbq('init', '1');",
            "marketing",
        ),
        (
            "(function(h,o,t,j){})(window,document,'//static.hotjar.com/c/hotjar-','.js?sv=');",
            "analytics",
        ),
        ('t.src="https://www.clarity.ms/tag/"+i;', "analytics"),
        ('b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js";', "marketing"),
        ("var u='https:\\/\\/connect.facebook.net\\/en_US\\/sdk.js';", "marketing"),
        (b"s.src = '//www.google-analytics.com/analytics.js';", "analytics"),
        ('elem.src = "https://secure" + ".quantserve.com/aquant.js";', "marketing"),
        # a tracker API called, no host named (tests/test_inline_scripts.py has more)
        ("window.dataLayer = window.dataLayer || []; gtag('config', 'G-1');", "analytics"),
        # first-party code, and host-like tokens that are not tracker hosts
        ("window.dataLayer = window.dataLayer || []; dataLayer.push({event: 'x'});", None),
        ("document.getElementsByTagName('script')[0].parentNode.insertBefore(j, f);", None),
        ("fetch('/api/items.json').then(r => r.json())", None),
        ("", None),
        (b"\xff\xfe binary \x00", None),
        # a necessary service alone stays necessary; a tracker named too wins
        ("load('https://www.google.com/recaptcha/api.js')", "necessary"),
        (
            "load('https://www.google.com/recaptcha/api.js'); load('//static.hotjar.com/c/x.js')",
            "analytics",
        ),
        # a host named in a comment only is not loaded
        ("grecaptcha.ready(function(){}); // www.google.com/recaptcha/ only", None),
    ],
)
def test_category_of_inline_script(text: str | bytes, expected: str | None) -> None:
    assert RULES.category_of_inline_script(text) == expected


def test_inline_cache_is_bounded_and_consistent() -> None:
    rules = BlockingRules.from_categories(DEFAULT_CATEGORIES)
    for i in range(2000):
        assert rules.category_of_inline_script(f"x{i}.clarity.ms") == "analytics"
    assert rules.category_of_inline_script("nothing.example") is None


def test_url_cache_is_bounded() -> None:
    rules = BlockingRules.from_categories(DEFAULT_CATEGORIES)
    for i in range(10_000):
        rules.category_of_url(f"https://example.com/{i}.js")
    assert len(rules._url_cache) <= 4096
    assert rules.category_of_url("https://www.clarity.ms/tag/x") == "analytics"


def test_operator_patterns_take_precedence_over_the_builtin_table() -> None:
    categories = [
        Cat("necessary", required=True),
        Cat("preferences"),
        Cat("analytics", scripts=("cdn.example.net/stats/", "youtube.com")),
        Cat("marketing", scripts=("https://ads.example.org",)),
    ]
    rules = BlockingRules.from_categories(categories)
    assert rules.category_of_url("https://www.youtube.com/embed/x") == "analytics"
    assert rules.category_of_url("https://cdn.example.net/stats/s.js") == "analytics"
    assert rules.category_of_url("https://cdn.example.net/app.js") is None
    assert rules.category_of_url("https://x.ads.example.org/a.js") == "marketing"
    # untouched built-in entries still apply
    assert rules.category_of_url("https://connect.facebook.net/x.js") == "marketing"


def test_operator_can_make_a_builtin_host_necessary() -> None:
    rules = BlockingRules.from_categories(
        [Cat("necessary", required=True, scripts=("www.googletagmanager.com",)), Cat("analytics")]
    )
    assert rules.category_of_url("https://www.googletagmanager.com/gtm.js") == "necessary"
    assert rules.category_of_url("https://www.google-analytics.com/ga.js") == "analytics"


def test_longest_path_prefix_wins_within_a_host() -> None:
    rules = BlockingRules.from_categories(
        [
            Cat("essential", required=True, scripts=("example.com/pay/",)),
            Cat("ads", scripts=("example.com", "example.com/pay/track")),
        ],
        builtin_hosts=False,
    )
    assert rules.category_of_url("https://example.com/pay/form.js") == "essential"
    assert rules.category_of_url("https://example.com/pay/track.js") == "ads"
    assert rules.category_of_url("https://shop.example.com/x.js") == "ads"


def test_builtin_entries_of_uncovered_purposes_can_never_be_granted() -> None:
    """A site without a marketing category still blocks the Meta pixel (fail closed)."""
    rules = BlockingRules.from_categories([Cat("necessary", required=True), Cat("analytics")])
    assert rules.category_of_url("https://www.googletagmanager.com/gtm.js") == "analytics"
    assert rules.category_of_url("https://connect.facebook.net/en_US/fbevents.js") == "!marketing"
    assert rules.category_of_url("https://www.youtube.com/embed/x") == "!preferences"


def test_builtin_necessary_entries_map_to_the_required_category_whatever_its_key() -> None:
    rules = BlockingRules.from_categories(
        [Cat("essential", required=True), Cat("marketing", scripts=("google.com",))]
    )
    # the operator's broad pattern wins (operator first) ...
    assert rules.category_of_url("https://www.google.com/recaptcha/api.js") == "marketing"
    rules = BlockingRules.from_categories([Cat("essential", required=True), Cat("marketing")])
    assert rules.category_of_url("https://www.google.com/recaptcha/api.js") == "essential"
    assert rules.required == frozenset({"essential"})


def test_without_builtin_hosts() -> None:
    rules = BlockingRules.from_categories(DEFAULT_CATEGORIES, builtin_hosts=False)
    assert rules.category_of_url("https://www.googletagmanager.com/gtm.js") is None
    assert rules.category_of_inline_script("'//www.googletagmanager.com/gtm.js'") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("necessary", "necessary"),
        ("preferences", "preferences"),
        ("analytics", "analytics"),
        ("marketing", "marketing"),
        ("statistics", "analytics"),
        ("Statistics", "analytics"),
        (" marketing ", "marketing"),
        ("functionality", "preferences"),
        ("functional", "preferences"),
        ("ads", "marketing"),
        ("advertising", "marketing"),
        ("targeting", "marketing"),
        ("performance", "analytics"),
        ("essential", "necessary"),
        ("strictly-necessary", "necessary"),
        ("unknown", None),
        ("", None),
    ],
)
def test_alias(name: str, expected: str | None) -> None:
    assert RULES.alias(name) == expected


def test_alias_returns_the_category_covering_the_purpose() -> None:
    rules = BlockingRules.from_categories(
        [Cat("essential", required=True), Cat("stats"), Cat("ads")]
    )
    assert rules.alias("stats") == "stats"
    assert rules.alias("statistics") == "stats"  # both stand for analytics
    assert rules.alias("analytics") == "stats"
    assert rules.alias("marketing") == "ads"
    assert rules.alias("functional") == "!preferences"  # nobody covers it: never granted
    assert rules.alias("analytic") is None  # a typo: unknown, stays blocked
    assert rules.alias("necessary") == "essential"
    assert rules.alias("ESSENTIAL") == "essential"


def test_builtin_table_is_our_own_and_well_formed() -> None:
    raw = json.loads(resources.files("consent").joinpath("data/trackers.json").read_text("utf-8"))
    assert "asgi-consent" in raw["notice"]
    table = load_builtin_table()
    assert set(table) == {"necessary", "preferences", "analytics", "marketing"}
    patterns = [p for entries in table.values() for p in entries]
    assert 150 < len(patterns) < 500
    assert len(patterns) == len(set(patterns))
    for pattern in patterns:
        assert pattern == pattern.strip()
        assert "://" not in pattern
        host = pattern.split("/", 1)[0]
        assert host == host.lower()
        assert "." in host


def test_long_dotted_chains_stay_linear() -> None:
    # Each label could start a host name; matching must not restart at every dot.
    assert RULES.category_of_inline_script(b"a." * 50_000 + b"x") is None
    assert RULES.category_of_inline_script(b"x" + b".a" * 50_000 + b".clarity.ms") == "analytics"


def test_wildcard_patterns() -> None:
    rules = BlockingRules.from_categories(
        [
            Cat("necessary", required=True),
            Cat("analytics", scripts=("*.stats.example", "cdn*.metrics.example/js/")),
        ],
        builtin_hosts=False,
    )
    assert rules.category_of_url("https://a.stats.example/x.js") == "analytics"
    assert rules.category_of_url("https://stats.example/x.js") == "analytics"
    assert rules.category_of_url("https://cdn7.metrics.example/js/m.js") == "analytics"
    assert rules.category_of_url("https://eu.cdn7.metrics.example/js/m.js") == "analytics"
    assert rules.category_of_url("https://cdn7.metrics.example/img/m.png") is None
    assert rules.category_of_url("https://www.metrics.example/js/m.js") is None


def test_real_category_model_fits() -> None:
    from consent.categories import Category, default_categories

    categories = [*default_categories()]
    categories[2] = Category(key="analytics", label="Analytics", scripts=("stats.example.org",))
    rules = BlockingRules.from_categories(categories)
    assert rules.category_of_url("https://stats.example.org/s.js") == "analytics"
    assert rules.category_of_url("https://www.googletagmanager.com/gtm.js") == "analytics"
    assert rules.required == frozenset({"necessary"})


_URL_PARTS = st.sampled_from(
    [
        "https:",
        "HTTP:",
        "//",
        "/",
        "\\",
        "www.",
        "example.com",
        ".",
        "..",
        ":",
        "8080",
        "@",
        "%2e",
        "?",
        "#",
        "&amp;",
        "\t",
        " ",
        "a",
        "-",
        "_",
        "~",
        "x.js",
        "recaptcha",
        "\u3002",
    ]
)


@given(st.lists(_URL_PARTS, max_size=12).map("".join))
def test_fast_url_split_agrees_with_the_careful_one(url: str) -> None:
    fast = _clean_split(url)
    assert fast is None or fast == _split_url(url)


def test_host_answers_are_reused_only_where_no_path_rule_applies() -> None:
    rules = BlockingRules.from_categories(
        [
            Cat("essential", required=True, scripts=("example.com/pay/",)),
            Cat("ads", scripts=("example.com", "tracker.example")),
        ],
        builtin_hosts=False,
    )
    for _ in range(2):  # the second round answers from the caches
        assert rules.category_of_url("https://a.tracker.example/1.js") == "ads"
        assert rules.category_of_url("https://a.tracker.example/pay/2.js") == "ads"
        assert rules.category_of_url("https://shop.example.com/pay/x.js") == "essential"
        assert rules.category_of_url("https://shop.example.com/other.js") == "ads"
        assert rules.category_of_url("https://example.com/pay/../ads.js") == "ads"
    assert "a.tracker.example" in rules._host_cache
    assert "shop.example.com" not in rules._host_cache
