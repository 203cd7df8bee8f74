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
        ({"cookie_name": "a b"}, "cookie_name", "cookie name"),
        ({"path": "/"}, "path", "own path"),
        ({"path": "consent"}, "path", "absolute"),
        ({"secret_key": "short"}, "secret_key", "16 characters"),
        ({"revision": 0}, "revision", "greater than or equal to 1"),
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
