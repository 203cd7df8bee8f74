"""The shipped cookie table: provenance, safety rules, overrides and real vendor cookies."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from consent.categories import CookieClassifier, default_categories

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "scripts" / "generate_cookie_table.py"
OVERRIDES = REPO_ROOT / "scripts" / "cookie_overrides.toml"
DOC = REPO_ROOT / "docs" / "cookie-table.md"
#: The snapshot the shipped table was generated from (with its licence and SOURCE.md).
SOURCE_CSV = REPO_ROOT / "data" / "open-cookie-database" / "open-cookie-database.csv"
CATEGORIES = ("necessary", "preferences", "analytics", "marketing")
OPTIONAL = ("preferences", "analytics", "marketing")
COOKIE_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def table_path() -> Any:
    return files("consent") / "data" / "cookies.json"


@cache
def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(table_path().read_text(encoding="utf-8"))
    return data


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_cookie_table", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


@cache
def classifier() -> CookieClassifier:
    return CookieClassifier(default_categories())


def names(category: str, kind: str) -> set[str]:
    return set(load()["categories"][category][kind])


# -- shape and provenance ---------------------------------------------------------------


def test_shape_and_provenance() -> None:
    data = load()
    assert list(data) == ["source", "commit", "license", "notice", "categories"]
    assert "github.com/jkwakman/Open-Cookie-Database" in data["source"]
    assert re.fullmatch(r"[0-9a-f]{40}", data["commit"])
    assert data["license"] == "Apache-2.0"
    assert "scripts/generate_cookie_table.py" in data["notice"]
    assert "scripts/cookie_overrides.toml" in data["notice"]
    assert list(data["categories"]) == list(CATEGORIES)
    for entry in data["categories"].values():
        assert list(entry) == ["exact", "prefix"]
        for kind in ("exact", "prefix"):
            assert entry[kind] == sorted(set(entry[kind])), "lists are sorted and unique"


def test_table_is_small() -> None:
    assert len(table_path().read_bytes()) < 100_000


def test_generator_reproduces_shipped_table(tmp_path: Path) -> None:
    output = tmp_path / "cookies.json"
    command = [sys.executable, str(GENERATOR), "--source", str(SOURCE_CSV)]
    command += ["--output", str(output), "--no-docs"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "necessary" in result.stdout
    assert output.read_bytes() == table_path().read_bytes(), (
        "src/consent/data/cookies.json is stale: run scripts/generate_cookie_table.py"
    )


def test_doc_counts_match_the_shipped_table() -> None:
    """docs/cookie-table.md states the size of each purpose; it must be today's."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- cookie-counts:begin -->", 1)[1].split("<!-- cookie-counts:end -->")[0]
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (\d+) \| (\d+) \|$", block, re.MULTILINE)
    documented = {purpose: tuple(map(int, counts)) for purpose, *counts in rows}
    shipped = {}
    for purpose in CATEGORIES:
        exact, prefix = len(names(purpose, "exact")), len(names(purpose, "prefix"))
        shipped[purpose] = (exact, prefix, exact + prefix)
    assert documented == shipped, "docs/cookie-table.md is stale: run the generator"
    total = re.search(r"^\| all \| (\d+) \| (\d+) \| (\d+) \|$", block, re.MULTILINE)
    assert total is not None
    assert tuple(map(int, total.groups())) == tuple(map(sum, zip(*shipped.values(), strict=True)))


# -- safety rules -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sessionid", "locale", "lang", "token", "u", "csrftoken"])
def test_generic_names_are_not_optional(name: str) -> None:
    for category in OPTIONAL:
        assert name not in names(category, "exact"), f"{name} listed in {category}"
        assert name not in names(category, "prefix"), f"{name} listed in {category}"
    assert classifier().classify(name) in (None, "necessary")


def test_no_optional_prefix_swallows_generic_names() -> None:
    generic = ["session", "sessionid", "locale", "lang", "token", "user_id", "csrftoken", "theme"]
    for category in OPTIONAL:
        for prefix in names(category, "prefix"):
            hits = [name for name in generic if name.startswith(prefix)]
            assert not hits, f"{category} prefix {prefix!r} matches {hits}"


def test_no_name_in_two_categories() -> None:
    seen: dict[str, str] = {}
    for category in CATEGORIES:
        for name in names(category, "exact") | names(category, "prefix"):
            other = seen.setdefault(name, category)
            assert other == category, f"{name!r} is in both {other} and {category}"


def test_every_name_is_a_cookie_token() -> None:
    for category in CATEGORIES:
        for kind in ("exact", "prefix"):
            bad = [n for n in names(category, kind) if not COOKIE_TOKEN.fullmatch(n)]
            assert not bad, f"invalid {category} {kind} names: {bad}"


def test_prefixes_are_longer_than_two_characters() -> None:
    for category in CATEGORIES:
        short = [p for p in names(category, "prefix") if len(p) <= 2]
        assert not short, f"{category} has over-broad prefixes {short}"


def test_no_optional_entry_looks_like_session_state_unreviewed() -> None:
    """Rule 7 on the output: an optional name that looks essential was decided by a reviewer."""
    hint = generator().ESSENTIAL_HINT
    reviewed = {override.entry.name for override in generator().load_overrides(OVERRIDES)}
    upstream_functional = {
        row.entry.name
        for row in generator().read_rows(SOURCE_CSV)
        if row.entry is not None and row.upstream == "Functional"
    }
    for kind in ("exact", "prefix"):
        suspicious = {
            name
            for name in names("preferences", kind)
            if hint.search(name) and name in upstream_functional and name not in reviewed
        }
        assert not suspicious, f"unreviewed essential-looking preferences: {suspicious}"


# -- the override list ------------------------------------------------------------------


def test_every_override_is_in_the_shipped_table() -> None:
    overrides = generator().load_overrides(OVERRIDES)
    assert len(overrides) > 100
    for override in overrides:
        kind = "prefix" if override.entry.prefix else "exact"
        assert override.entry.name in names(override.purpose, kind), override
        if not override.entry.prefix:
            assert classifier().classify(override.entry.name) == override.purpose, override


def test_override_list_is_one_entry_per_line() -> None:
    """Reviewable: each entry sits on its own line, so a diff shows one decision per line."""
    lines = OVERRIDES.read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line.lstrip().startswith("{ name = ")]
    assert len(entries) == len(generator().load_overrides(OVERRIDES))
    assert all(line.rstrip().endswith("},") for line in entries)


def write_overrides(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text("override = [\n" + "".join(f"  {e},\n" for e in entries) + "]\n")
    return path


GOOD = '{ name = "_hjSession_", kind = "prefix", purpose = "analytics", reason = "Hotjar" }'


def test_a_well_formed_override_loads(tmp_path: Path) -> None:
    (override,) = generator().load_overrides(write_overrides(tmp_path, GOOD))
    assert (override.entry.name, override.entry.prefix) == ("_hjSession_", True)
    assert (override.purpose, override.reason) == ("analytics", "Hotjar")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (['{ name = "_x1", kind = "exact", purpose = "analytics" }'], "missing keys: reason"),
        (['{ name = "_x1", kind = "exact", purpose = "analytics", reason = "r", why = "w" }'],
         "unknown keys: why"),
        (['{ name = "_x1", kind = "glob", purpose = "analytics", reason = "r" }'], "kind"),
        (['{ name = "_x1", kind = "exact", purpose = "ads", reason = "r" }'], "purpose"),
        (['{ name = "a b", kind = "exact", purpose = "analytics", reason = "r" }'],
         "cookie name"),
        (['{ name = "_x1", kind = "exact", purpose = "analytics", reason = " " }'], "reason"),
        (['{ name = "_x1", kind = "exact", purpose = "analytics", reason = "a\\nb" }'],
         "reason"),
        (['{ name = "_x1", kind = "exact", purpose = 1, reason = "r" }'], "must be a string"),
        (['"_x1"'], "expected a table"),
        ([GOOD, GOOD], "listed twice"),
        ([GOOD, GOOD.replace('"prefix"', '"exact"').replace("analytics", "marketing")],
         "two purposes"),
        (['{ name = "_h", kind = "prefix", purpose = "necessary", reason = "r" }'], "rule 5"),
        (['{ name = "locale", kind = "exact", purpose = "preferences", reason = "r" }'],
         "rule 6"),
        (['{ name = "mp_", kind = "prefix", purpose = "analytics", reason = "r" }'], "rule 6"),
    ],
)  # fmt: skip
def test_malformed_overrides_stop_the_generator(
    tmp_path: Path, entries: list[str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        generator().load_overrides(write_overrides(tmp_path, *entries))


def test_override_file_must_be_one_array(tmp_path: Path) -> None:
    path = tmp_path / "overrides.toml"
    path.write_text('[override]\nname = "x"\n')
    with pytest.raises(SystemExit, match="single top-level array"):
        generator().load_overrides(path)
    path.write_text("override = [\n")
    with pytest.raises(SystemExit, match=re.escape(str(path))):
        generator().load_overrides(path)


def test_a_short_exact_name_may_be_reviewed_but_not_a_generic_one(tmp_path: Path) -> None:
    """Rule 6a's length test yields to a reviewed exact name; GENERIC_NAMES never does."""
    ok = '{ name = "YSC", kind = "exact", purpose = "marketing", reason = "YouTube" }'
    assert generator().load_overrides(write_overrides(tmp_path, ok))
    for entry in (ok.replace('"exact"', '"prefix"'), ok.replace("YSC", "uid")):
        with pytest.raises(SystemExit, match="rule 6"):
            generator().load_overrides(write_overrides(tmp_path, entry))


def rows(*specs: tuple[str, bool, str]) -> list[Any]:
    gen = generator()
    return [gen.Row(name, gen.Entry(name, prefix), upstream) for name, prefix, upstream in specs]


def test_overrides_win_and_prefixes_claim_their_namespace(tmp_path: Path) -> None:
    gen = generator()
    overrides = gen.load_overrides(
        write_overrides(
            tmp_path,
            '{ name = "_hj", kind = "prefix", purpose = "analytics", reason = "Hotjar" }',
            '{ name = "_hjOptOut", kind = "exact", purpose = "necessary", reason = "opt-out" }',
            '{ name = "vendor_id", kind = "exact", purpose = "marketing", reason = "added" }',
        )
    )
    upstream = rows(
        ("_hjSession_", True, "Functional"),
        ("_hjid", False, "Analytics"),
        ("_hjOptOut", False, "Marketing"),
        ("PHPSESSID", False, "Functional"),
        ("theme_choice", False, "Functional"),
    )
    with pytest.raises(SystemExit, match="PHPSESSID"):
        gen.build_table(upstream, overrides, [])  # rule 7: a session id needs a decision
    report: list[str] = []
    table = gen.build_table(upstream[:3] + upstream[4:], overrides, report)
    assert table["analytics"] == {"exact": [], "prefix": ["_hj"]}
    assert table["necessary"] == {"exact": ["_hjOptOut"], "prefix": []}
    assert table["marketing"] == {"exact": ["vendor_id"], "prefix": []}
    assert table["preferences"] == {"exact": ["theme_choice"], "prefix": []}
    assert any("_hjSession_ -> analytics prefix _hj" in line for line in report)


def test_ambiguous_names_stay_out_unless_an_override_decides(tmp_path: Path) -> None:
    gen = generator()
    upstream = rows(("euconsent", False, "Marketing"), ("euconsent", True, "Functional"))
    assert all(not any(kinds.values()) for kinds in gen.build_table(upstream, [], []).values())
    decided = gen.load_overrides(
        write_overrides(
            tmp_path,
            '{ name = "euconsent", kind = "prefix", purpose = "necessary", reason = "TCF" }',
        )
    )
    assert gen.build_table(upstream, decided, [])["necessary"]["prefix"] == ["euconsent"]


# -- what the table says about real cookies ---------------------------------------------

#: Cookie names as browsers send them, by vendor, with the purpose the vendor's own
#: documentation gives them (mapped to our four purposes; see docs/cookie-table.md).
VENDOR_COOKIES: list[tuple[str, str, str | None]] = [
    # Google Analytics: developers.google.com/tag-platform/security/concepts/cookies
    ("Google Analytics", "_ga", "analytics"),
    ("Google Analytics", "_ga_QX3S1Q7H2B", "analytics"),
    ("Google Analytics", "_gid", "analytics"),
    # Google Ads: same Google page, conversion linker cookies for ad click attribution
    ("Google Ads", "_gcl_aw", "marketing"),
    ("Google Ads", "_gcl_gs", "marketing"),
    # Google Tag Manager conversion linker / Floodlight (Campaign Manager): same page
    ("GTM / Floodlight", "_gcl_au", "marketing"),
    ("GTM / Floodlight", "_gcl_dc", "marketing"),
    # Meta: developers.facebook.com "fbp and fbc parameters" (ad attribution cookies)
    ("Meta", "_fbp", "marketing"),
    ("Meta", "_fbc", "marketing"),
    # Hotjar: help.hotjar.com "Hotjar cookie information" (tracking code cookies)
    ("Hotjar", "_hjSessionUser_1234567", "analytics"),
    ("Hotjar", "_hjSession_1234567", "analytics"),
    ("Hotjar", "_hjTLDTest", "analytics"),
    # Microsoft Clarity: learn.microsoft.com "Clarity cookies"
    ("Microsoft Clarity", "_clck", "analytics"),
    ("Microsoft Clarity", "_clsk", "analytics"),
    # Microsoft Advertising UET: help.ads.microsoft.com UET conversion tracking cookies
    ("Bing UET", "_uetsid", "marketing"),
    ("Bing UET", "_uetvid", "marketing"),
    # LinkedIn: linkedin.com/legal/l/cookie-table (advertising section)
    ("LinkedIn", "li_fat_id", "marketing"),
    ("LinkedIn", "li_sugr", "marketing"),
    ("LinkedIn", "UserMatchHistory", "marketing"),
    # TikTok: ads.tiktok.com help "Cookies with TikTok Pixel"
    ("TikTok", "_ttp", "marketing"),
    ("TikTok", "_tt_enable_cookie", "marketing"),
    # X (Twitter): help.x.com "How X uses cookies" (advertising cookies)
    ("X / Twitter", "personalization_id", "marketing"),
    ("X / Twitter", "muc_ads", "marketing"),
    # Pinterest: help.pinterest.com Pinterest tag first-party cookies (conversions)
    ("Pinterest", "_pin_unauth", "marketing"),
    ("Pinterest", "_pinterest_ct_ua", "marketing"),
    # Snapchat: businesshelp.snapchat.com Snap Pixel first-party cookie
    ("Snapchat", "_scid", "marketing"),
    # Reddit: business.reddithelp.com Reddit Pixel first-party cookie
    ("Reddit", "_rdt_uuid", "marketing"),
    # HubSpot: knowledge.hubspot.com "Cookies set in a visitor's browser by HubSpot"
    ("HubSpot", "hubspotutk", "analytics"),
    ("HubSpot", "__hstc", "analytics"),
    ("HubSpot", "__hssc", "analytics"),
    ("HubSpot", "messagesUtk", "preferences"),  # chat widget (HubSpot: functionality)
    ("HubSpot", "__hs_opt_out", "necessary"),  # the visitor's cookie choice
    # Intercom: intercom.com/help "Intercom Messenger Cookies" (Messenger conversations)
    ("Intercom", "intercom-id-abc123de", "preferences"),
    ("Intercom", "intercom-session-abc123de", "preferences"),
    # Drift: Drift help-center cookie list (chat visitor and session ids)
    ("Drift", "driftt_aid", "preferences"),
    ("Drift", "drift_aid", "preferences"),
    # Zendesk: support.zendesk.com cookie policy (Chat widget and Help Center)
    ("Zendesk", "__zlcmid", "preferences"),
    ("Zendesk", "_zendesk_session", "necessary"),
    # Crisp: help.crisp.chat "Crisp chatbox cookie & IP policy" (chat session only)
    ("Crisp", "crisp-client%2Fsession%2F7a70678f-84e0-4a02-84ce-d12b72194c26", "preferences"),
    # Matomo: matomo.org FAQ "Which cookies are created by Matomo"
    ("Matomo", "_pk_id.1.1fff", "analytics"),
    ("Matomo", "_pk_ses.1.1fff", "analytics"),
    ("Matomo", "mtm_consent", "necessary"),
    # Mixpanel: docs.mixpanel.com JavaScript SDK cookie. The main cookie is only reachable
    # by the prefix `mp_`, which rule 6 keeps out, so it stays unclassified; the opt-out
    # record is a privacy choice.
    ("Mixpanel", "mp_0123456789abcdef_mixpanel", None),
    ("Mixpanel", "__mp_opt_in_out_0123456789abcdef", "necessary"),
    # Segment: segment.com docs, Analytics.js identity cookies
    ("Segment", "ajs_anonymous_id", "analytics"),
    ("Segment", "ajs_user_id", "analytics"),
    # Amplitude: amplitude.com docs, Browser SDK cookies
    ("Amplitude", "AMP_a1b2c3d4e5", "analytics"),
    ("Amplitude", "amplitude_id_a1b2c3d4e5example.com", "analytics"),
    # Heap: help.heap.io cookie list (_hp2_id.<environment id>)
    ("Heap", "_hp2_id.1234567890", "analytics"),
    # FullStory: help.fullstory.com "Why Fullstory uses first-party cookies"
    ("FullStory", "fs_uid", "analytics"),
    ("FullStory", "fs_cid", "necessary"),  # the visitor's consent state
    # Mouseflow: help.mouseflow.com "What is your cookie policy"
    ("Mouseflow", "mf_user", "analytics"),
    # Lucky Orange: help.luckyorange.com cookie list
    ("Lucky Orange", "_lo_uid", "analytics"),
    ("Lucky Orange", "_lo_v", "analytics"),
    # Crazy Egg: support.crazyegg.com cookie list (tracking script cookies)
    ("Crazy Egg", "_ce.s", "analytics"),
    ("Crazy Egg", "_ce.clock_data", "analytics"),
    # VWO: help.vwo.com "Cookies used by VWO" (A/B testing)
    ("VWO", "_vwo_uuid_v2", "analytics"),
    ("VWO", "_vwo_uuid", "analytics"),
    ("VWO", "_vis_opt_s", "analytics"),
    # Optimizely: docs.developers.optimizely.com "Cookies and localStorage" (experiments)
    ("Optimizely", "optimizelyEndUserId", "analytics"),
    # AB Tasty: docs.abtasty.com cookie list (A/B testing)
    ("AB Tasty", "ABTasty", "analytics"),
    ("AB Tasty", "ABTastySession", "analytics"),
    # Criteo: criteo.com privacy and cookie policy (retargeting)
    ("Criteo", "cto_bundle", "marketing"),
    # Taboola: taboola.com cookie policy (recommendations and ad attribution)
    ("Taboola", "t_gid", "marketing"),
    ("Taboola", "taboola_session_id", "marketing"),
    # Outbrain: outbrain.com cookie policy (recommendations and ads)
    ("Outbrain", "obuid", "marketing"),
    # Quantcast: quantcast.com cookie policy (audience measurement for advertising)
    ("Quantcast", "__qca", "marketing"),
    # YouTube: policies.google.com/technologies/cookies files YSC under security and
    # VISITOR_INFO1_LIVE under functionality. On a host page they only arrive with a
    # YouTube embed, and the project files embed ids as marketing (a policy decision).
    ("YouTube", "YSC", "marketing"),
    ("YouTube", "VISITOR_INFO1_LIVE", "marketing"),
    # Vimeo: vimeo.com/cookie_policy (vuid: analytics; player settings)
    ("Vimeo", "vuid", "analytics"),
    ("Vimeo", "Player", "preferences"),
    # Stripe: stripe.com cookie policy, fraud prevention cookies of Stripe.js
    ("Stripe", "__stripe_mid", "necessary"),
    ("Stripe", "__stripe_sid", "necessary"),
    # Cloudflare: developers.cloudflare.com "Cloudflare Cookies" (strictly necessary)
    ("Cloudflare", "__cf_bm", "necessary"),
    ("Cloudflare", "cf_clearance", "necessary"),
    ("Cloudflare", "__cflb", "necessary"),
    ("Cloudflare", "_cfuvid", "necessary"),
    # Shopify: shopify.com/legal/cookies (necessary vs reporting and analytics)
    ("Shopify", "cart", "necessary"),
    ("Shopify", "_secure_session_id", "necessary"),
    ("Shopify", "_tracking_consent", "necessary"),
    ("Shopify", "_shopify_y", "analytics"),
    ("Shopify", "_shopify_s", "analytics"),
    # Klaviyo: help.klaviyo.com "Understanding cookies in Klaviyo" (onsite tracking)
    ("Klaviyo", "__kla_id", "marketing"),
    # Adobe Analytics: experienceleague.adobe.com "Analytics cookies"
    ("Adobe Analytics", "s_cc", "analytics"),
    ("Adobe Analytics", "s_sq", "analytics"),
    ("Adobe Analytics", "s_ecid", "analytics"),
    # Yandex Metrica: yandex.com/support/metrica "Cookies used by Metrica"
    ("Yandex Metrica", "_ym_uid", "analytics"),
    ("Yandex Metrica", "_ym_d", "analytics"),
    ("Yandex Metrica", "_ym_isad", "analytics"),
]


def test_forty_vendors_are_pinned() -> None:
    assert len({vendor for vendor, _, _ in VENDOR_COOKIES}) >= 40


@pytest.mark.parametrize(
    ("vendor", "name", "expected"), VENDOR_COOKIES, ids=[f"{v}:{n}" for v, n, _ in VENDOR_COOKIES]
)
def test_vendor_cookie_purpose(vendor: str, name: str, expected: str | None) -> None:
    assert classifier().classify(name) == expected, f"{vendor} cookie {name}"


#: Cookies a site cannot work without: sessions, sign-in, CSRF, load balancing, consent.
SITE_ESSENTIAL = [
    "PHPSESSID",
    "JSESSIONID",
    "ASP.NET_SessionId",
    ".AspNetCore.Session",
    ".AspNetCore.Antiforgery.Ab12Cd",
    "__RequestVerificationToken",
    "XSRF-TOKEN",
    "connect.sid",
    "laravel_session",
    "ci_session",
    "wordpress_logged_in_0123abcd",
    "wordpress_sec_0123abcd",
    "wp_woocommerce_session_0123abcd",
    "next-auth.session-token",
    "__Secure-next-auth.session-token",
    "__Host-next-auth.csrf-token",
    "AWSALB",
    "AWSALBCORS",
    "ARRAffinity",
    "BIGipServerpool_web",
    "_GRECAPTCHA",
    "OptanonConsent",
    "CookieConsent",
    "euconsent-v2",
    "cookieyes-consent",
    "cmplz_marketing",
]


@pytest.mark.parametrize("name", SITE_ESSENTIAL)
def test_site_essential_cookies_are_necessary(name: str) -> None:
    assert classifier().classify(name) == "necessary"


#: Tracker cookies that upstream files as Functional and the old mapping made necessary.
TRACKERS_NEVER_NECESSARY = [
    "_hjSessionUser_1",
    "_hjSession_1",
    "_hjTLDTest",
    "YSC",
    "li_fat_id",
    "_vwo_uuid",
    "_vwo_uuid_v2",
    "_vis_opt_s",
    "ai_user",
    "t_pt_gid",
    "permutive-id",
]


@pytest.mark.parametrize("name", TRACKERS_NEVER_NECESSARY)
def test_trackers_are_not_necessary(name: str) -> None:
    assert classifier().classify(name) in OPTIONAL
