"""Set-Cookie through real servers: trackers' cookies wait for consent, sessions do not."""

from __future__ import annotations

import pytest

from tests.integration.apps.common import GA_COOKIE
from tests.integration.conftest import Live

pytestmark = pytest.mark.integration


def test_analytics_cookie_dropped_before_consent(live: Live) -> None:
    response = live.get("/cookies")
    assert response.status == 200, response.describe()
    assert response.text == "cookies"
    assert GA_COOKIE[0] not in response.set_cookies(), response.describe()


def test_session_cookie_kept_before_consent(live: Live) -> None:
    response = live.get("/cookies")
    assert live.session_cookie in response.set_cookies(), response.describe()


def test_analytics_cookie_kept_after_accepting(live: Live) -> None:
    response = live.get("/cookies", cookies=live.accepted())
    assert response.status == 200, response.describe()
    cookies = response.cookie_values()
    assert cookies.get(GA_COOKIE[0]) == GA_COOKIE[1], response.describe()
    assert live.session_cookie in cookies, response.describe()


def test_analytics_cookie_dropped_after_rejecting(live: Live) -> None:
    rejected = live.decide("reject_all")
    assert rejected.status == 303, rejected.describe()
    response = live.get("/cookies", cookies=rejected.cookie_values())
    assert GA_COOKIE[0] not in response.set_cookies(), response.describe()
    assert live.session_cookie in response.set_cookies(), response.describe()
