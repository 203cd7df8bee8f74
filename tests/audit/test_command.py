"""``consent audit`` usage and setup errors: exit code 2 and one line on stderr."""

from __future__ import annotations

import socket
import sys

import pytest

from consent import ConsentMiddleware
from consent.audit.classify import Classifier
from consent.audit.command import _settings as audit_settings
from consent.cli import main
from tests.support import host_app, make_settings


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.test/"], "is not an http(s) URL"),
        (["http://a.example/", "http://b.test/"], "is not on the site of"),
        (["http://a.example/", "--max-pages", "0"], "use a number from 1"),
        (["http://a.example/", "--max-seconds", "nan"], "use a number from 1"),
        (["http://a.example/", "--chromium", "/nonexistent/chromium"], "Chromium not found"),
        (["http://a.example/", "--app", "nosuchmodule_xyz:app"], "nosuchmodule_xyz"),
    ],
)
def test_usage_and_setup_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", *args]) == 2
    assert message in one_line_error(capsys)


def test_without_playwright_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    assert main(["audit", "http://a.example/"]) == 2
    assert "pip install 'asgi-consent[audit]'" in one_line_error(capsys)


def test_bad_settings_are_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSENT_COOKIE_LIFETIME_DAYS", "9999")
    assert main(["audit", "http://a.example/"]) == 2
    assert "invalid settings: cookie_lifetime_days" in one_line_error(capsys)


@pytest.mark.browser
def test_unreachable_site(chromium: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["audit", f"http://127.0.0.1:{port}/", "--chromium", chromium])
    assert code == 2
    assert "could not load" in one_line_error(capsys)


#: An app for ``--app``: its settings file ``sessionid_x`` under analytics.
APP = ConsentMiddleware(
    host_app(), make_settings(category_overrides={"analytics": {"cookies": ["sessionid_x"]}})
)


def test_app_settings_classify() -> None:
    settings, source = audit_settings("tests.audit.test_command:APP")
    assert Classifier(settings).cookie("sessionid_x") == ("analytics", None)
    assert "tests.audit.test_command:APP" in source
    with pytest.raises(ValueError, match="no ConsentMiddleware"):
        audit_settings("tests.support:make_settings")
