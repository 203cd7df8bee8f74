"""`consent explain`: an operator asks why an element or a cookie is treated as it is."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from consent.cli import main

PAGE = """<!doctype html><html><head>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ"></script>
<script src="/static/app.js"></script>
<script type="application/ld+json">{"sameAs": ["https://facebook.com/x"]}</script>
</head><body>
<iframe src="https://www.youtube.com/embed/abc"></iframe>
<img src="https://www.facebook.com/tr?id=1&amp;ev=PageView">
<script data-consent="analytic">x()</script>
<script src="https://www.google.com/recaptcha/api.js"></script>
<img data-consent-src="https://www.facebook.com/tr?id=2" alt="">
</body></html>"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def findings(out: str) -> dict[str, dict[str, object]]:
    return {f["what"]: f for f in json.loads(out)["findings"]}


def test_an_html_file_is_explained_element_by_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    code, out, _ = run(capsys, "explain", str(page), "--cookie", "_ga", "--format", "json")
    assert code == 0
    found = findings(out)
    gtag = found["https://www.googletagmanager.com/gtag/js?id=G-XYZ"]
    assert gtag["category"] == "google-analytics"  # a service of analytics
    assert gtag["verdict"] == "blocked until 'google-analytics' or 'analytics' is granted"
    assert gtag["why"] == "service google-analytics: www.googletagmanager.com/gtag/js"
    assert found["/static/app.js"]["verdict"] == "allowed"
    assert found["https://www.youtube.com/embed/abc"]["category"] == "youtube"
    assert found["https://www.google.com/recaptcha/api.js"]["verdict"] == "allowed"
    assert found["https://www.facebook.com/tr?id=2"]["category"] == "meta-pixel"  # our output
    typo = found["inline: x()"]
    assert typo["verdict"] == "blocked: unknown name"
    assert "'analytic'" in str(typo["why"])
    assert found["_ga (named)"]["category"] == "google-analytics"


def test_text_report_names_uncovered_purposes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CONSENT_CATEGORIES",
        '[{"key": "necessary", "required": true, "preselected": true}, {"key": "statistics"}]',
    )
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    code, out, _ = run(capsys, "explain", str(page))
    assert code == 0
    assert "never allowed (no category covers them): preferences, marketing" in out
    assert "blocked until 'google-analytics' or 'statistics' is granted" in out
    assert "never allowed: no category covers the purpose 'marketing'" in out


APP = """
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.middleware import Middleware

from consent import ConsentMiddleware, ConsentSettings


async def home(request):
    response = HTMLResponse('<script src="https://connect.facebook.net/en_US/fbevents.js">'
                            '</script><p>hi</p>')
    response.set_cookie("_fbp", "1")
    response.set_cookie("my_widget_state", "1")
    return response


settings = ConsentSettings(
    secret_key="x" * 32,
    records={"enabled": False},
    categories=[{"key": "essential", "required": True, "preselected": True}, {"key": "ads"}],
)
app = Starlette(
    routes=[Route("/", home)], middleware=[Middleware(ConsentMiddleware, settings=settings)]
)
"""


def test_a_path_of_the_app_is_explained_with_the_apps_own_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "explain_demo_app.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, _ = run(capsys, "explain", "/", "--app", "explain_demo_app:app", "--format", "json")
    sys.modules.pop("explain_demo_app", None)
    assert code == 0
    report = json.loads(out)
    assert report["source"].startswith("GET / -> 200 text/html")
    assert report["categories"] == {"essential": ["necessary"], "ads": ["marketing"]}
    found = findings(out)
    # The app's own markup and cookies, before the middleware changed anything.
    assert found["https://connect.facebook.net/en_US/fbevents.js"]["category"] == "meta-pixel"
    assert found["_fbp (Set-Cookie)"]["verdict"] == "blocked until 'meta-pixel' or 'ads' is granted"
    assert found["my_widget_state (Set-Cookie)"]["category"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain", "missing.html"], "no such file"),
        (["explain", "/", "--app", "nomodule"], "expected module:attribute"),
        (["explain", "/", "--app", "no_such_module_here:app"], "No module named"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1
