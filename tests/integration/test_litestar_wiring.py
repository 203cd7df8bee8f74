"""Litestar wired with plain ``DefineMiddleware``: the warning at start-up is the fix's pointer.

The plugin's own cells are in the matrix; this is the wiring that cannot work, run for real
so the warning is proven where a user would see it: in the server's output.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import LITESTAR_DEFINE_CELL, Live, cells_param

pytestmark = [pytest.mark.integration, cells_param([LITESTAR_DEFINE_CELL])]


def test_start_up_warns_and_names_the_plugin(live: Live) -> None:
    live.get("/page")  # the server is up and has built its routes
    lines = [line for line in live.output().splitlines() if "ConsentPlugin" in line]
    assert len(lines) == 1, live.output()
    assert "route middleware" in lines[0]
    assert "/_consent" in lines[0]


def test_what_it_warns_about_is_real(live: Live) -> None:
    """Pages still get the banner, but its endpoints are unreachable: 404."""
    page = live.get("/page")
    assert page.status == 200, page.describe()
    assert 'id="consent-banner"' in page.text
    for path in ("/_consent", "/_consent/preferences"):
        assert live.get(path).status == 404
