"""The framework integrations in-process: Litestar plugin, Jinja, Django, FastAPI helpers.

The real-server matrix (tests/integration) runs them under every server; these tests pin
what is easier to see in one process: how the plugin treats a second configuration, that
one middleware serves every route, the warnings, and the template snippets of the README.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi import WebSocket as FastAPIWebSocket
from jinja2 import Environment
from litestar import Litestar, MediaType, WebSocket, get, websocket
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import ImproperlyConfiguredException
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient as LitestarClient
from starlette.testclient import TestClient

from consent import Consent, ConsentMiddleware, get_consent
from consent.integrations import django as django_integration
from consent.integrations import jinja as jinja_integration
from consent.integrations import litestar as litestar_integration
from consent.integrations.fastapi import ConsentDep
from consent.integrations.litestar import ConsentPlugin, warn_if_route_local
from tests.integration.recipes import recipe
from tests.support import SECRET, make_settings

ROOT = Path(__file__).resolve().parents[1]
PAGE = "<!doctype html><html><head></head><body><p>hi</p></body></html>"
BASE = "http://testserver.local"


@get("/page", media_type=MediaType.HTML)
async def page() -> str:
    return PAGE


@get("/other", media_type=MediaType.HTML)
async def other() -> str:
    return PAGE


def consent_of(*granted: str) -> Consent:
    return Consent(
        id="c0ffee",
        revision=1,
        granted=frozenset(("necessary", *granted)),
        denied=frozenset({"preferences", "analytics", "marketing"} - set(granted)),
        decided=True,
    )


def request_with(consent: Consent) -> SimpleNamespace:
    """What Django's ASGIRequest and Starlette's Request have in common: ``.scope``."""
    return SimpleNamespace(scope={"type": "http", "state": {"consent": consent}})


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each helper warns once per process; start every test with none given yet."""
    monkeypatch.setattr(litestar_integration, "_warned_route_local", False)
    monkeypatch.setattr(jinja_integration, "_warned", False)
    monkeypatch.setattr(django_integration, "_warned", False)


def consent_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "consent" and r.levelno == logging.WARNING
    ]


# -- importing without the frameworks -----------------------------------------------------


def test_core_and_integrations_import_without_any_framework() -> None:
    script = textwrap.dedent(
        """
        import sys
        for name in ("litestar", "fastapi", "django", "quart"):
            sys.modules[name] = None  # importing it now raises ImportError
        import consent
        from consent import ConsentMiddleware
        import consent.integrations.litestar, consent.integrations.django
        import consent.integrations.jinja

        async def app(scope, receive, send):
            pass

        ConsentMiddleware(app, secret_key="x" * 32, records={"enabled": False})
        try:
            import consent.integrations.fastapi
        except ImportError as exc:
            print("fastapi:", exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "fastapi: consent.integrations.fastapi needs FastAPI" in result.stdout


# -- Litestar -----------------------------------------------------------------------------


def test_plugin_makes_the_endpoints_reachable() -> None:
    app = Litestar([page], plugins=[ConsentPlugin(make_settings())])
    with LitestarClient(app, base_url=BASE) as client:
        assert client.get("/_consent").json()["decided"] is False
        html = client.get("/page").text
        assert '<div id="consent-banner"' in html
        preferences = client.get("/_consent/preferences")
        assert preferences.status_code == 200
        assert 'action="/_consent"' in preferences.text
        asset = html.split('src="/_consent/static/', 1)[1].split('"', 1)[0]
        assert client.get("/_consent/static/" + asset).status_code == 200
        decided = client.post(
            "/_consent",
            data={"action": "accept_all", "next": "/page"},
            headers={"origin": BASE},
            follow_redirects=False,
        )
        assert decided.status_code == 303
        assert decided.headers["location"] == "/page"
        assert client.get("/_consent").json()["decided"] is True
        # the mount catches this prefix too; it is not an endpoint, so 404
        assert client.get("/_consentx").status_code == 404
        assert client.get("/_consent/nothing-here").status_code == 404


@websocket("/ws")
async def consent_socket(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_json({"decided": get_consent(socket).decided})
    await socket.close()


def test_plugin_serves_websockets_with_the_consent() -> None:
    app = Litestar([page, consent_socket], plugins=[ConsentPlugin(make_settings())])
    with LitestarClient(app, base_url=BASE) as client:
        client.post("/_consent", json={"action": "reject_all"}, headers={"origin": BASE})
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_json() == {"decided": True}


def test_plugin_answers_before_csrf_middleware() -> None:
    """The banner's form carries no framework CSRF token; the endpoints check the origin."""
    app = Litestar(
        [page],
        plugins=[ConsentPlugin(make_settings())],
        csrf_config=CSRFConfig(secret="csrf-secret-0123456789abcdef"),
    )
    with LitestarClient(app, base_url=BASE) as client:
        decided = client.post(
            "/_consent",
            data={"action": "reject_all", "next": "/page"},
            headers={"origin": BASE},
            follow_redirects=False,
        )
        assert decided.status_code == 303
        foreign = client.post(
            "/_consent", data={"action": "accept_all"}, headers={"origin": "https://evil.example"}
        )
        assert foreign.status_code == 403


class CountingConsent(ConsentMiddleware):
    instances = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).instances += 1
        super().__init__(*args, **kwargs)


def test_plugin_adopts_a_define_middleware_entry_and_builds_one_instance(
    monkeypatch: pytest.MonkeyPatch, fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(CountingConsent, "instances", 0)
    plugin = ConsentPlugin()
    app = Litestar(
        [page, other],
        middleware=[DefineMiddleware(CountingConsent, settings=make_settings(revision=7))],
        plugins=[plugin],
    )
    assert CountingConsent.instances == 1  # Litestar asked for one per route and method
    assert isinstance(plugin.middleware, CountingConsent)
    assert plugin.middleware.settings.revision == 7
    assert not consent_warnings(caplog)
    with LitestarClient(app, base_url=BASE) as client:
        assert client.get("/_consent").json()["revision"] == 7
        assert '<div id="consent-banner"' in client.get("/other").text


def test_plugin_refuses_two_configurations() -> None:
    with pytest.raises(ImproperlyConfiguredException, match="configured twice"):
        Litestar(
            [page],
            middleware=[DefineMiddleware(ConsentMiddleware, settings=make_settings())],
            plugins=[ConsentPlugin(make_settings())],
        )


def test_plugin_starts_and_stops_the_records_writer(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    settings = make_settings(
        records={"enabled": True, "url": f"sqlite:///{database}", "spool_dir": str(tmp_path)}
    )
    plugin = ConsentPlugin(settings)
    app = Litestar([page], plugins=[plugin])
    assert plugin.middleware is not None
    recorder = plugin.middleware.recorder
    assert recorder is not None
    with LitestarClient(app, base_url=BASE) as client:
        assert recorder._started  # by the start-up hook, before any decision
        decided = client.post("/_consent", json={"action": "accept_all"}, headers={"origin": BASE})
        assert decided.status_code == 200
    assert not recorder._started  # stopped (and flushed) by the shutdown hook
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM consent_records").fetchone()
    assert count == 1


def test_define_middleware_alone_warns_once_naming_the_plugin(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="consent"):
        app = Litestar(
            [page, other], middleware=[DefineMiddleware(ConsentMiddleware, secret_key=SECRET)]
        )
    (message,) = consent_warnings(caplog)
    assert "ConsentPlugin" in message
    assert "/_consent" in message
    with LitestarClient(app, base_url=BASE) as client:
        assert client.get("/_consent").status_code == 404  # what the warning is about


def test_whole_litestar_app_wrapped_is_not_reported(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    """``ConsentMiddleware(Litestar(...))`` sees every request: a valid pure-ASGI wiring."""
    with caplog.at_level(logging.WARNING, logger="consent"):
        app = ConsentMiddleware(Litestar([page]), make_settings())
    assert not consent_warnings(caplog)
    with LitestarClient(app, base_url=BASE) as client:  # type: ignore[arg-type]
        assert client.get("/_consent").status_code == 200


def test_route_check_ignores_other_apps(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    class Foreign:
        __module__ = "litestar_htmx.middleware"  # a name that only starts like Litestar's

    async def plain(scope: Any, receive: Any, send: Any) -> None:
        pass

    for app in (plain, Foreign(), Litestar([page])):
        warn_if_route_local(app)
    assert not consent_warnings(caplog)


# -- Jinja --------------------------------------------------------------------------------


def test_jinja_global_reads_the_request_from_the_context() -> None:
    env = jinja_integration.install(Environment(autoescape=True))
    template = env.from_string("{{ consent().allows('analytics') }}|{{ consent(req).decided }}")
    out = template.render(
        request=request_with(consent_of("analytics")), req=request_with(consent_of())
    )
    assert out == "True|True"
    assert template.render(request=request_with(consent_of()), req=request_with(consent_of())) == (
        "False|True"
    )


def test_jinja_global_outside_the_middleware_is_none_with_one_warning(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    env = jinja_integration.install(Environment(autoescape=True))
    template = env.from_string("{{ consent() is none }}")
    assert template.render() == "True"
    assert template.render(request=SimpleNamespace(scope={"type": "http"})) == "True"
    assert len(consent_warnings(caplog)) == 1


def test_readme_jinja_snippet() -> None:
    env = jinja_integration.install(Environment(autoescape=True))
    template = env.from_string(recipe("jinja-template"))
    assert "Videos are off" in template.render(request=request_with(consent_of("analytics")))
    assert "Videos are off" not in template.render(request=request_with(consent_of("marketing")))


# -- Django -------------------------------------------------------------------------------


def test_django_context_processor() -> None:
    consent = consent_of("analytics")
    assert django_integration.consent(request_with(consent)) == {"consent": consent}


def test_django_context_processor_outside_the_middleware(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    wsgi_request = SimpleNamespace(META={}, path="/")  # no .scope at all
    asgi_request = SimpleNamespace(scope={"type": "http", "state": {}})
    assert django_integration.consent(wsgi_request) == {"consent": None}
    assert django_integration.consent(asgi_request) == {"consent": None}
    assert len(consent_warnings(caplog)) == 1


def test_readme_django_snippet_through_the_context_processor() -> None:
    from django.template import Engine, RequestContext

    engine = Engine(context_processors=["consent.integrations.django.consent"])
    template = engine.from_string(recipe("django-template"))

    def render(consent: Consent) -> str:
        return template.render(RequestContext(request_with(consent)))  # type: ignore[arg-type]

    assert "Videos are off" in render(consent_of("analytics"))
    assert "Videos are off" not in render(consent_of("marketing"))


# -- FastAPI ------------------------------------------------------------------------------


def fastapi_app(with_middleware: bool) -> FastAPI:
    app = FastAPI()

    @app.get("/state")
    def state(consent: ConsentDep) -> dict[str, Any]:
        return {"analytics": consent.allows("analytics"), "decided": consent.decided}

    @app.websocket("/ws")
    async def ws(websocket: FastAPIWebSocket, consent: ConsentDep) -> None:
        await websocket.accept()
        await websocket.send_json({"decided": consent.decided})
        await websocket.close()

    if with_middleware:
        app.add_middleware(ConsentMiddleware, settings=make_settings())
    return app


def test_fastapi_dependency() -> None:
    with TestClient(fastapi_app(True), base_url="http://testserver") as client:
        assert client.get("/state").json() == {"analytics": False, "decided": False}
        client.post(
            "/_consent", json={"action": "accept_all"}, headers={"origin": "http://testserver"}
        )
        assert client.get("/state").json() == {"analytics": True, "decided": True}
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_json() == {"decided": True}


def test_fastapi_dependency_without_the_middleware_is_a_server_error() -> None:
    with (
        TestClient(fastapi_app(False)) as client,
        pytest.raises(RuntimeError, match="ConsentMiddleware is not installed"),
    ):
        client.get("/state")
