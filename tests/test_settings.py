"""Settings: defaults, sources and every misconfiguration failing at start-up by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from consent import Category, ConsentMiddleware, ConsentSettings
from consent.runtime import EPHEMERAL_KEY_WARNING
from tests.support import SECRET, host_app, make_settings


def test_defaults_follow_the_spec() -> None:
    settings = make_settings()
    assert [c.key for c in settings.categories] == [
        "necessary",
        "preferences",
        "analytics",
        "marketing",
    ]
    assert settings.required_category.key == "necessary"
    assert settings.cookie_lifetime_days == 182
    assert settings.cookie_samesite == "lax"
    assert settings.path == "/_consent"
    marketing = next(c for c in settings.categories if c.key == "marketing")
    assert marketing.gpc is True


def test_environment_variables_with_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("CONSENT_COOKIE_NAME", "cc")
    monkeypatch.setenv("CONSENT_REVISION", "3")
    monkeypatch.setenv("CONSENT_BANNER__PRIVACY_POLICY_URL", "/datenschutz")
    monkeypatch.setenv("CONSENT_EXCLUDE_PATHS", '["/admin"]')
    settings = ConsentSettings()
    assert settings.cookie_name == "cc"
    assert settings.revision == 3
    assert settings.banner.privacy_policy_url == "/datenschutz"
    assert settings.exclude_paths == ["/admin"]
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == SECRET


def test_secret_is_never_shown_in_repr() -> None:
    settings = make_settings()
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())


def test_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "consent.toml"
    config.write_text(
        f'secret_key = "{SECRET}"\n'
        "revision = 2\n"
        "[[categories]]\n"
        'key = "essential"\nlabel = "Essential"\nrequired = true\n'
        "[[categories]]\n"
        'key = "stats"\nlabel = {en = "Statistics", de = "Statistik"}\ncookies = ["_pk_*"]\n'
        "[records]\nenabled = false\n"
    )
    settings = ConsentSettings.from_toml(config)
    assert settings.revision == 2
    assert [c.key for c in settings.categories] == ["essential", "stats"]
    assert settings.categories[1].label_for("de-AT") == "Statistik"
    # the environment wins over the file
    monkeypatch.setenv("CONSENT_REVISION", "5")
    assert ConsentSettings.from_toml(config).revision == 5
    monkeypatch.setenv("CONSENT_CONFIG_FILE", str(config))
    assert ConsentSettings().categories[0].key == "essential"


def test_missing_toml_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        ConsentSettings.from_toml(tmp_path / "nope.toml")


def _optional(key: str = "stats", **extra: Any) -> dict[str, Any]:
    return {"key": key, "label": key.title(), **extra}


NECESSARY = {"key": "necessary", "label": "Necessary", "required": True}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"categories": [NECESSARY, _optional(preselected=True)]}, "categories", "preselected"),
        (
            {"categories": [NECESSARY, {**NECESSARY, "key": "also"}]},
            "categories",
            "exactly one category must be `required`",
        ),
        ({"categories": [_optional()]}, "categories", "found: none"),
        ({"categories": [NECESSARY, _optional("Not A Slug")]}, "categories", "pattern"),
        ({"categories": [NECESSARY, _optional(), _optional()]}, "categories", "duplicate"),
        ({"categories": [NECESSARY, _optional(cookies=["bad name"])]}, "categories", "cookie"),
        ({"categories": [NECESSARY, _optional(scripts=["http://x"])]}, "categories", "script"),
        ({"categories": [NECESSARY, _optional(unknown=1)]}, "categories", "Extra inputs"),
        ({"cookie_lifetime_days": 400}, "cookie_lifetime_days", "less than or equal to 395"),
        ({"cookie_lifetime_days": 0}, "cookie_lifetime_days", "greater than or equal"),
        ({"cookie_samesite": "none"}, "cookie_samesite", "'lax' or 'strict'"),
        ({"cookie_name": "a=b"}, "cookie_name", "cookie name"),
        ({"path": "/"}, "path", "own path"),
        ({"path": "consent"}, "path", "absolute"),
        ({"secret_key": "short"}, "secret_key", "16 characters"),
        ({"revision": 0}, "revision", "greater than or equal to 1"),
        ({"revision": 2**31}, "revision", "less than or equal to 2147483647"),  # a record field
        ({"trusted_origins": ["example.com"]}, "trusted_origins", "origin"),
        ({"banner": {"privacy_policy_url": "javascript:alert(1)"}}, "banner", "https"),
        ({"banner": {"default_locale": "xx"}}, "banner", "not in locales"),
        ({"records": {"url": "mysql://x"}}, "records", "sqlite"),
        ({"no_such_setting": 1}, "no_such_setting", "Extra inputs"),
    ],
)
def test_misconfiguration_fails_naming_the_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        make_settings(**overrides)
    text = str(info.value)
    assert field in text
    assert message in text


def test_category_preselected_only_when_required() -> None:
    assert Category(key="n", label="N", required=True, preselected=True).preselected
    with pytest.raises(ValidationError, match="explicit opt-in"):
        Category(key="a", label="A", preselected=True)


def test_middleware_overrides_win_over_settings() -> None:
    middleware = ConsentMiddleware(host_app(), make_settings(revision=2), cookie_name="cc")
    assert middleware.settings.cookie_name == "cc"
    assert middleware.settings.revision == 2


def test_missing_secret_warns_loudly() -> None:
    with pytest.warns(RuntimeWarning, match="no secret_key configured"):
        ConsentMiddleware(host_app(), records={"enabled": False})
    assert "production" in EPHEMERAL_KEY_WARNING


def _error(overrides: dict[str, Any]) -> tuple[str, str]:
    """The first error's field path and message for settings made with ``overrides``."""
    with pytest.raises(ValidationError) as info:
        make_settings(**overrides)
    error = info.value.errors()[0]
    return ".".join(str(part) for part in error["loc"]), error["msg"]


#: Every text setting (a category's are in test_categories.py), with ``{}`` where a stray
#: character goes: at the end, as a file or a here-doc leaves a newline.
TEXT_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"secret_key": SECRET + "{}"}, "secret_key"),
    ({"secret_key_fallbacks": [SECRET, SECRET + "{}"]}, "secret_key_fallbacks"),
    ({"cookie_name": "consent{}"}, "cookie_name"),
    ({"cookie_domain": "example.com{}"}, "cookie_domain"),
    ({"cookie_path": "/{}"}, "cookie_path"),
    ({"expire_cookie_domains": [".example.com{}"]}, "expire_cookie_domains"),
    ({"path": "/_consent{}"}, "path"),
    ({"exclude_paths": ["/admin{}"]}, "exclude_paths"),
    ({"trusted_origins": ["https://example.com{}"]}, "trusted_origins"),
    ({"banner": {"privacy_policy_url": "/privacy{}"}}, "banner.privacy_policy_url"),
    ({"banner": {"privacy_policy_url": "https://example.com/p{}"}}, "banner.privacy_policy_url"),
    ({"banner": {"locales": ["en", "de{}"]}}, "banner.locales"),
    ({"banner": {"default_locale": "en{}"}}, "banner.default_locale"),
    ({"banner": {"texts": {"en": {"banner.title{}": "Cookies"}}}}, "banner.texts"),
    ({"banner": {"texts": {"en{}": {"banner.title": "Cookies"}}}}, "banner.texts"),
    ({"banner": {"template_dir": "templates{}"}}, "banner.template_dir"),
    ({"records": {"url": "sqlite:///records.db{}"}}, "records.url"),
    ({"records": {"spool_dir": "spool{}"}}, "records.spool_dir"),
]


def _fill(value: Any, ch: str) -> Any:
    if isinstance(value, str):
        return value.replace("{}", ch)
    if isinstance(value, list):
        return [_fill(item, ch) for item in value]
    if isinstance(value, dict):
        return {_fill(key, ch): _fill(item, ch) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("overrides", "field"), TEXT_SETTINGS)
@pytest.mark.parametrize(
    ("ch", "message"),
    [
        ("\n", "control character U+000A (newline)"),
        ("\r\n", "control character U+000D (carriage return)"),
        ("\x00", "control character U+0000 (NUL)"),
        ("\t", "control character U+0009 (tab)"),
        ("\x1b", "control character U+001B"),
        ("\x85", "control character U+0085"),  # C1 next line
        ("\udcff", "U+DCFF is a lone surrogate"),  # an environment variable not in UTF-8
    ],
    ids=["newline", "crlf", "nul", "tab", "escape", "c1", "surrogate"],
)
def test_a_control_character_in_any_text_setting_fails_naming_the_field(
    overrides: dict[str, Any], field: str, ch: str, message: str
) -> None:
    loc, msg = _error(_fill(overrides, ch))
    assert loc == field
    assert msg.startswith(f"Value error, {field.rsplit('.', 1)[-1]}: {message}")


@pytest.mark.parametrize(
    ("ch", "message"),
    [
        ("\x00", "control character U+0000 (NUL)"),
        ("\x1b", "control character U+001B"),
        ("\udcff", "U+DCFF is a lone surrogate"),
    ],
)
def test_banner_texts_refuse_control_characters(ch: str, message: str) -> None:
    loc, msg = _error({"banner": {"texts": {"en": {"banner.title": f"Cookies{ch}"}}}})
    assert loc == "banner.texts"
    assert msg.startswith(f"Value error, texts: {message}")


def test_prose_may_span_lines() -> None:
    # Texts only reach escaped markup: a TOML multi-line string ("""...""") is fine there.
    texts = {"en": {"banner.body": "We use cookies.\n\tYou choose which.\r\n"}}
    settings = make_settings(banner={"texts": texts})
    assert settings.banner.texts["en"]["banner.body"].startswith("We use cookies.\n")


def test_errors_never_show_the_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("short-secret", SECRET + "\n"):
        with pytest.raises(ValidationError) as info:
            make_settings(secret_key=key)
        assert key.strip() not in str(info.value)
    monkeypatch.setenv("CONSENT_SECRET_KEY", SECRET + "\n")
    with pytest.raises(ValidationError) as info:
        ConsentSettings()
    assert SECRET not in str(info.value)
    assert "secret_key: control character U+000A (newline)" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"cookie_name": "a;b"}, "cookie_name", "cookie_name: ';' is not allowed"),
        ({"cookie_name": "a,b"}, "cookie_name", "cookie_name: ',' is not allowed"),
        ({"cookie_name": "a b"}, "cookie_name", "cookie_name: whitespace is not allowed"),
        ({"cookie_path": "/;x"}, "cookie_path", "cookie_path: ';' is not allowed"),
        ({"cookie_path": "/; Domain=evil.example"}, "cookie_path", "cookie_path: ';'"),
        ({"cookie_path": "/a,b"}, "cookie_path", "cookie_path: ',' is not allowed"),
        ({"cookie_path": "/a b"}, "cookie_path", "cookie_path: whitespace is not allowed"),
        ({"cookie_path": "/a\u00a0b"}, "cookie_path", "cookie_path: whitespace"),
        ({"cookie_domain": "example.com;"}, "cookie_domain", "cookie_domain: ';' is not"),
        ({"cookie_domain": "a.example,b.example"}, "cookie_domain", "cookie_domain: ','"),
        ({"cookie_domain": "example.com "}, "cookie_domain", "cookie_domain: whitespace"),
        (
            {"expire_cookie_domains": [".example.com", ".example.com; Secure"]},
            "expire_cookie_domains",
            "expire_cookie_domains: ';' is not allowed",
        ),
        (
            {"expire_cookie_domains": ["a.example,b.example"]},
            "expire_cookie_domains",
            "expire_cookie_domains: ',' is not allowed",
        ),
        (
            {"expire_cookie_domains": [" .example.com"]},
            "expire_cookie_domains",
            "expire_cookie_domains: whitespace",
        ),
    ],
)
def test_cookie_attributes_cannot_split_the_header(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    loc, msg = _error(overrides)
    assert loc == field
    assert msg.startswith(f"Value error, {message}")
    assert msg.endswith("in a cookie attribute")


OFF_SITE = "(browsers read it as '/', which can lead off-site)"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"banner": {"privacy_policy_url": "/\\evil.example"}},
            "banner.privacy_policy_url",
            OFF_SITE,
        ),
        (
            {"banner": {"privacy_policy_url": "/\\/evil.example"}},
            "banner.privacy_policy_url",
            OFF_SITE,
        ),
        ({"banner": {"privacy_policy_url": "/a\\b"}}, "banner.privacy_policy_url", OFF_SITE),
        ({"banner": {"privacy_policy_url": "//evil.example"}}, "banner.privacy_policy_url", "`//`"),
        (
            {"banner": {"privacy_policy_url": "/privacy policy"}},
            "banner.privacy_policy_url",
            "whitespace",
        ),
        (
            {"banner": {"privacy_policy_url": "https://\\evil.example"}},
            "banner.privacy_policy_url",
            "'\\'",
        ),
        (
            {"banner": {"privacy_policy_url": "https://a.example\\@b.example"}},
            "banner.privacy_policy_url",
            "'\\'",
        ),
        (
            {"banner": {"privacy_policy_url": "https://exa mple.com"}},
            "banner.privacy_policy_url",
            "whitespace",
        ),
        (
            {"banner": {"privacy_policy_url": "https://"}},
            "banner.privacy_policy_url",
            "with a host",
        ),
        (
            {"banner": {"privacy_policy_url": "https:///privacy"}},
            "banner.privacy_policy_url",
            "with a host",
        ),
        (
            {"banner": {"privacy_policy_url": "https://[::1/p"}},
            "banner.privacy_policy_url",
            "with a host",
        ),
        ({"path": "/\\evil.example"}, "path", OFF_SITE),
        ({"path": "//evil.example"}, "path", "`//`"),
        ({"cookie_path": "/\\x"}, "cookie_path", OFF_SITE),
        ({"cookie_path": "//x"}, "cookie_path", "`//`"),
        ({"exclude_paths": ["/admin", "/\\admin"]}, "exclude_paths", OFF_SITE),
        ({"exclude_paths": ["//admin"]}, "exclude_paths", "`//`"),
        ({"exclude_paths": ["/ad min"]}, "exclude_paths", "whitespace"),
        ({"exclude_paths": ["admin"]}, "exclude_paths", "absolute"),
        ({"trusted_origins": ["https://example.com\\"]}, "trusted_origins", "'\\' is not allowed"),
        ({"trusted_origins": ["https://a.example\\@b.example"]}, "trusted_origins", "'\\'"),
    ],
)
def test_urls_and_paths_cannot_lead_off_site(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    loc, msg = _error(overrides)
    assert loc == field
    assert msg.startswith(f"Value error, {field.rsplit('.', 1)[-1]}: ")
    assert message in msg


@pytest.mark.parametrize(
    "locale", ["en_US", "e", "en-", "-en", "<b>", "en US", "deutsch-österreich"]
)
def test_locales_must_be_language_tags(locale: str) -> None:
    loc, msg = _error({"banner": {"locales": ["en", locale], "default_locale": "en"}})
    assert loc == "banner.locales"
    assert msg == f"Value error, locales: {locale!r} is not a language tag like `de` or `pt-BR`"


def test_ordinary_values_still_pass() -> None:
    settings = make_settings(
        cookie_name="__consent-v2",
        cookie_domain=".example.com",
        cookie_path="/shop",
        expire_cookie_domains=[".example.com", "example.com"],
        path="/consent/",
        exclude_paths=["/admin", "/über", "/api/v1;matrix=1"],
        trusted_origins=["https://Example.com/", "http://[::1]:8443"],
        banner={
            "privacy_policy_url": "https://example.com/privacy?lang=de#cookies",
            "locales": ["en", "pt-BR", "zh-Hant-TW"],
            "texts": {"pt-BR": {"banner.title": "Cookies, sim? «ok»"}},
        },
    )
    assert settings.path == "/consent"
    assert settings.trusted_origins == ["https://example.com", "http://[::1]:8443"]
    assert make_settings(banner={"privacy_policy_url": "/privacy#x"}).banner.privacy_policy_url
