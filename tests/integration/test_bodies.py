"""Bodies through real servers: JSON untouched, streamed responses complete and in order."""

from __future__ import annotations

import json

import pytest

from tests.integration import markup
from tests.integration.apps.common import HTML_CHUNKS, JSON_BODY, TEXT_CHUNKS
from tests.integration.conftest import Live

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("decided", [False, True], ids=["undecided", "accepted"])
def test_json_is_byte_identical(live: Live, decided: bool) -> None:
    response = live.get("/json", cookies=live.accepted() if decided else None)
    assert response.status == 200, response.describe()
    assert response.content_type == "application/json"
    assert response.body == JSON_BODY
    assert json.loads(response.body) == json.loads(JSON_BODY)


def test_streamed_text_is_intact(live: Live) -> None:
    response = live.get("/stream.txt")
    assert response.status == 200, response.describe()
    assert response.content_type == "text/plain"
    assert response.body == b"".join(TEXT_CHUNKS)


def test_streamed_html_is_rewritten_and_complete(live: Live) -> None:
    response = live.get("/stream")
    assert response.status == 200, response.describe()
    assert response.content_type == "text/html"
    html = response.text
    positions = [html.find(f'<p id="part-{n}">') for n in (1, 2, 3)]
    assert -1 not in positions, html
    assert positions == sorted(positions), html
    assert html.rstrip().endswith("</body></html>")
    assert html.split("<body>", 1)[1].lstrip().startswith('<div id="consent-banner"')
    (script,) = markup.scripts_loading(html, "googletagmanager.com")
    assert script.get("type") == "text/plain", script


def test_streamed_html_after_accepting_is_the_apps_body(live: Live) -> None:
    """Nothing to block and no banner: only the injected head assets may differ."""
    response = live.get("/stream", cookies=live.accepted())
    assert response.status == 200, response.describe()
    html = response.text
    original = b"".join(HTML_CHUNKS).decode()
    body = original.split("<body>", 1)[1]
    assert body in html, html
    (script,) = markup.scripts_loading(html, "googletagmanager.com")
    assert markup.is_live_script(script), script
