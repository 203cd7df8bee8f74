"""Settings: defaults, sources and every misconfiguration failing at start-up by name."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

import consent.settings_loading as settings_loading
from consent import Category, ConsentMiddleware, ConsentSettings
from consent.runtime import EPHEMERAL_KEY_WARNING
from consent.settings import LOG_NO_PRIVACY_POLICY
from consent.settings_loading import startup_notices
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
    assert settings.cookie_lifetime_days == 184  # six months, whichever they are
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


# -- issue 11: records where they were asked for; errors that say what to do ----------------


def test_records_default_to_the_user_data_directory_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    records = make_settings(records={"enabled": True}).records
    assert records.url is None
    assert records.spool_dir is None
    assert records.default_location
    assert records.store_url == f"sqlite:///{data}/asgi-consent/consent-records.db"
    assert records.spool_path.parent == data / "asgi-consent" / "spool"
    assert not data.exists()  # created by the store when it opens, not by the settings


def test_the_default_spool_is_one_per_store(tmp_path: Path) -> None:
    def spool(url: str) -> Path:
        return make_settings(records={"enabled": True, "url": url}).records.spool_path

    a, b = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    assert spool(a) != spool(b)
    assert spool(a) == spool(a)
    # The password and options are not part of the store's identity.
    assert spool("postgresql://u:one@db:5432/c") == spool("postgresql://u:two@db/c?sslmode=on")
    assert spool("postgresql://u@db/c") != spool("postgresql://u@db/other")
    configured = {"enabled": True, "url": a, "spool_dir": "/var/spool/consent"}
    assert make_settings(records=configured).records.spool_path == Path("/var/spool/consent")


def test_a_records_url_whose_directory_is_missing_names_field_and_directory(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere"
    loc, msg = _error({"records": {"enabled": True, "url": f"sqlite:///{missing}/r.db"}})
    assert loc == "records.url"
    assert f"the directory '{missing}' does not exist" in msg
    off = make_settings(records={"enabled": False, "url": f"sqlite:///{missing}/r.db"})
    assert off.records.url is not None


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("CONSENT_EXCLUDE_PATHS", "/admin", """CONSENT_EXCLUDE_PATHS='["/admin"]'"""),
        (
            "CONSENT_TRUSTED_ORIGINS",
            "https://a.example, https://b.example",
            """CONSENT_TRUSTED_ORIGINS='["https://a.example", "https://b.example"]'""",
        ),
        ("CONSENT_BANNER__LOCALES", "en", """CONSENT_BANNER__LOCALES='["en"]'"""),
        ("CONSENT_EXPIRE_COOKIE_DOMAINS", "", """CONSENT_EXPIRE_COOKIE_DOMAINS='["..."]'"""),
        ("CONSENT_CATEGORY_OVERRIDES", "analytics", "CONSENT_CATEGORY_OVERRIDES__KEY=..."),
        ("CONSENT_BANNER__TEXTS", "de", """CONSENT_BANNER__TEXTS='{"key": ...}'"""),
        ("CONSENT_RECORDS", "off", "CONSENT_RECORDS__ENABLED, CONSENT_RECORDS__URL"),
    ],
)
def test_a_list_or_mapping_as_plain_text_gets_the_json_form(
    name: str, value: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        ConsentSettings()
    message = str(info.value)
    assert message.startswith(f"{name} is a ")
    assert shown in message
    assert "\n" not in message
    assert info.value.__context__ is None  # one message, no JSON decode error behind it


def test_a_secret_list_as_plain_text_is_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_SECRET_KEY_FALLBACKS", "old-key-one-1234567,old-key-two")
    with pytest.raises(SettingsError) as info:
        ConsentSettings()
    message = str(info.value)
    assert """CONSENT_SECRET_KEY_FALLBACKS='["..."]'""" in message
    assert "old-key" not in message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "CONSENT_SECRETKEY",
            "unknown setting CONSENT_SECRETKEY (did you mean CONSENT_SECRET_KEY?)",
        ),
        (
            "CONSENT_BANNER__DEFAULT_LOCAL",
            "unknown setting CONSENT_BANNER__DEFAULT_LOCAL "
            "(did you mean CONSENT_BANNER__DEFAULT_LOCALE?)",
        ),
        (
            "CONSENT_RECORDS_URL",
            "unknown setting CONSENT_RECORDS_URL (did you mean CONSENT_RECORDS__URL?)",
        ),
        (
            "CONSENT_SECRET_KEY__X",
            "unknown setting CONSENT_SECRET_KEY__X (did you mean CONSENT_SECRET_KEY?)",
        ),
        (
            "CONSENT_EXCLUDE_PATHS__0",
            "unknown setting CONSENT_EXCLUDE_PATHS__0 (did you mean CONSENT_EXCLUDE_PATHS?)",
        ),
        ("CONSENT_WHATEVER", "unknown setting CONSENT_WHATEVER"),
    ],
)
def test_unknown_consent_variables_fail_at_start_up(
    name: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic-settings ignores them: a typo in the key's name would run on a random key."""
    monkeypatch.setenv(name, SECRET)
    with pytest.raises(SettingsError) as info:
        ConsentSettings()
    assert str(info.value) == message
    with pytest.raises(SettingsError):
        ConsentMiddleware(host_app())


def test_every_kind_of_known_variable_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "consent.toml"
    config.write_text("revision = 4\n", encoding="utf-8")
    known = {
        "CONSENT_CONFIG_FILE": str(config),
        "CONSENT_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1/test",  # our tests'
        "CONSENT_TEST_DJANGO_DB": "/tmp/django.db",
        "CONSENT_BENCH_POSTGRES_URL": "postgresql://postgres@127.0.0.1/bench",
        "consent_secret_key": SECRET,  # matched case-insensitively, as pydantic-settings does
        "CONSENT_BANNER__TEXTS__DE__banner.title": "Kekse?",
        "CONSENT_CATEGORY_OVERRIDES__ANALYTICS__LABEL": "Stats",
        "CONSENT_CATEGORY_OVERRIDES__MARKETING": '{"cookies": ["_x"]}',
        "CONSENT_RECORDS__ENABLED": "false",
        "CONSENT_COOKIE_SECURE": "true",
        "CONSENT_EXCLUDE_PATHS": '["/admin"]',
    }
    for name, value in known.items():
        monkeypatch.setenv(name, value)
    settings = ConsentSettings()
    assert settings.revision == 4
    assert settings.banner.texts == {"de": {"banner.title": "Kekse?"}}
    assert next(c for c in settings.categories if c.key == "analytics").label == "Stats"
    assert settings.records.enabled is False


def test_toml_syntax_errors_name_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "consent.toml"
    config.write_text('cookie_name = "cc"\n\n[banner]\nlocales = en\n', encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        ConsentSettings.from_toml(config)
    assert str(info.value) == f"{config}:4:11: Invalid value"
    config.write_bytes(b'revision = 2\ncookie_name = "c\xff"\n')
    with pytest.raises(SettingsError, match=r":2:17: not UTF-8 text$"):
        ConsentSettings.from_toml(config)


def test_validation_errors_from_a_toml_file_name_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "consent.toml"
    config.write_text(
        f'secret_key = "{SECRET}"\ncookie_name = "a b"\nsecrt = 1\n'
        '[banner]\ndefault_locle = "en"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        ConsentSettings.from_toml(config)
    assert info.value.title == (
        f"ConsentSettings (values from {config}: cookie_name, banner.default_locle, secrt)"
    )
    # The errors themselves are unchanged: unknown keys are refused (extra="forbid").
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [
        (("cookie_name",), "value_error"),
        (("banner", "default_locle"), "extra_forbidden"),
        (("secrt",), "extra_forbidden"),
    ]
    assert "a b" not in str(info.value)  # inputs stay hidden
    # A value from the environment is not blamed on the file.
    config.write_text("revision = 2\n", encoding="utf-8")
    monkeypatch.setenv("CONSENT_COOKIE_NAME", "a b")
    with pytest.raises(ValidationError) as info:
        ConsentSettings.from_toml(config)
    assert info.value.title == "ConsentSettings"


def test_no_privacy_policy_url_by_default_and_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(settings_loading, "_noticed", set())
    with caplog.at_level(logging.WARNING, logger="consent"):
        with startup_notices(False):
            make_settings()
        assert not caplog.records  # the consent command starts no site
        for _ in range(3):
            assert make_settings().banner.privacy_policy_url is None
        make_settings(banner={"privacy_policy_url": "/privacy"})
    (said,) = caplog.records
    assert said.msg == LOG_NO_PRIVACY_POLICY
    assert "GDPR Art. 13" in said.getMessage()
    assert "CONSENT_BANNER__PRIVACY_POLICY_URL" in said.getMessage()


def test_a_configured_privacy_policy_url_gives_no_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(settings_loading, "_noticed", set())
    with caplog.at_level(logging.WARNING, logger="consent"):
        make_settings(banner={"privacy_policy_url": "/privacy"})
    assert not caplog.records
