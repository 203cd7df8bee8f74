"""Litestar: `ConsentPlugin`, and a start-up check for the wiring that cannot work.

Litestar routes first and runs middleware only inside the stack of the matched route.
Wired as ``middleware=[DefineMiddleware(ConsentMiddleware, ...)]``, the middleware never
sees ``/_consent...``: no route matches, so Litestar answers 404 before any middleware
runs, and the banner's buttons lead nowhere. `ConsentPlugin` adds two things that only
work together:

- a mounted ASGI route handler at ``settings.path``, so every URL under it is routed;
- the middleware, first in the app's list (outermost in every route's stack), so it sees
  those requests and answers them itself, before authentication or CSRF middleware.

Litestar also builds app-level middleware once per route (and per method). The plugin
therefore builds ONE `ConsentMiddleware`, with one key, one banner renderer and one records
writer, and gives each route a tiny entry that hands the request to it.

Litestar is imported only inside the plugin's hook, so this module (and
`warn_if_route_local`, which `ConsentMiddleware` calls for every app) imports without it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from consent.middleware import ConsentMiddleware
from consent.settings import ConsentSettings

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.handlers import ASGIRouteHandler
    from litestar.plugins import InitPluginProtocol
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ConsentPlugin", "warn_if_route_local"]

logger = logging.getLogger("consent")

#: Where a route's entry leaves the route's own ASGI app for the shared middleware.
_NEXT_APP = "consent.litestar.next_app"
#: Marks the mounted handler in its ``opt``; Litestar may copy handlers on registration.
_ENDPOINTS_OPT = "consent_endpoints"

_warned_route_local = False


class ConsentPlugin:
    """Wire `ConsentMiddleware` into a Litestar app so that its endpoints are reachable.

    ``Litestar(route_handlers=[...], plugins=[ConsentPlugin(settings)])``; keyword
    overrides work as for the middleware (``ConsentPlugin(exclude_paths=["/schema"])``).
    Implements Litestar's ``InitPluginProtocol`` (structurally, so that this module
    imports without Litestar).

    If the app's ``middleware=`` also lists ``ConsentMiddleware`` (a class or a
    ``DefineMiddleware``), the plugin adopts that entry's configuration when it was given
    none itself, and refuses to start when both are configured: two configurations could
    mean two keys, and a visitor's choice must be read with the key that signed it.
    After ``on_app_init``, the one shared instance is ``plugin.middleware``.
    """

    def __init__(self, settings: ConsentSettings | None = None, **overrides: Any) -> None:
        self._settings = settings
        self._overrides = overrides
        self.middleware: ConsentMiddleware | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the mounted endpoints handler and the middleware (first) to the app."""
        from litestar.middleware import DefineMiddleware

        factory, args, kwargs = self._configuration(app_config)
        core = factory(_route_app, *args, **kwargs)
        app_config.route_handlers.append(_endpoints_handler(core.settings.path))
        entry: Any = _RouteEntry  # an ASGI middleware class; typed with Starlette's ASGI types
        app_config.middleware.insert(0, DefineMiddleware(entry, core=core))
        if core.recorder is not None:
            # Route stacks never see the lifespan scope: start and stop the writer here.
            app_config.on_startup.append(core.recorder.start)
            app_config.on_shutdown.append(core.recorder.stop)
        self.middleware = core
        return app_config

    def _configuration(
        self, app_config: AppConfig
    ) -> tuple[type[ConsentMiddleware], tuple[Any, ...], dict[str, Any]]:
        """The middleware class and arguments: the plugin's own, or an adopted entry's."""
        from litestar.exceptions import ImproperlyConfiguredException
        from litestar.middleware import DefineMiddleware

        own: tuple[type[ConsentMiddleware], tuple[Any, ...], dict[str, Any]] = (
            ConsentMiddleware,
            (self._settings,),
            dict(self._overrides),
        )
        found: list[tuple[int, type[ConsentMiddleware], tuple[Any, ...], dict[str, Any]]] = []
        for index, entry in enumerate(app_config.middleware):
            target: object
            args: tuple[Any, ...]
            kwargs: dict[str, Any]
            if isinstance(entry, DefineMiddleware):
                target, args, kwargs = entry.middleware, tuple(entry.args), dict(entry.kwargs)
            else:
                target, args, kwargs = entry, (), {}
            if isinstance(target, type) and issubclass(target, ConsentMiddleware):
                found.append((index, target, args, kwargs))
        if not found:
            return own
        if len(found) > 1 or self._settings is not None or self._overrides:
            raise ImproperlyConfiguredException(
                "ConsentMiddleware is configured twice: in middleware=[...] and as "
                "ConsentPlugin(...) in plugins=[...]. Keep only the plugin, with the settings "
                "(Litestar runs middleware only for matched routes; the plugin is what makes "
                "the consent endpoints reachable)."
            )
        index, adopted, args, kwargs = found[0]
        del app_config.middleware[index]
        logger.info(
            "ConsentPlugin adopted %s from middleware=[...]; list it only in plugins=[...]",
            adopted.__name__,
        )
        return adopted, args, kwargs


class _RouteEntry:
    """One route's entry into the shared middleware (Litestar builds one per route)."""

    __slots__ = ("app", "core", "prefix")

    def __init__(self, app: ASGIApp, core: ConsentMiddleware) -> None:
        self.app = app
        self.core = core
        self.prefix = core.settings.path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if getattr(handler, "opt", {}).get(_ENDPOINTS_OPT):
            # A mount gets the path left after its prefix ("/preferences/"); the
            # middleware matches whole paths, so put the prefix back.
            scope = {**scope, "path": self.prefix + scope["path"].rstrip("/")}
        scope[_NEXT_APP] = self.app
        await self.core(scope, receive, send)


async def _route_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The shared middleware's downstream app: the matched route's own stack."""
    app: ASGIApp = scope.pop(_NEXT_APP)
    await app(scope, receive, send)


def _endpoints_handler(path: str) -> ASGIRouteHandler:
    """A mounted ASGI handler that routes everything under ``path`` to the middleware."""
    from litestar import asgi
    from litestar.types import Receive as LitestarReceive
    from litestar.types import Scope as LitestarScope
    from litestar.types import Send as LitestarSend

    async def consent_endpoints(scope: Scope, receive: Receive, send: Send) -> None:
        # The middleware answers its own endpoints; this sees only other paths the
        # mount catches (Litestar matches mount prefixes without a "/" boundary).
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        body = b"Not Found"
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return asgi(
        path=path,
        is_mount=True,
        copy_scope=True,
        name="consent_endpoints",
        opt={_ENDPOINTS_OPT: True, "exclude_from_auth": True, "exclude_from_csrf": True},
        signature_namespace={
            "Scope": LitestarScope,
            "Receive": LitestarReceive,
            "Send": LitestarSend,
        },
    )(consent_endpoints)


def warn_if_route_local(app: object, path: str = "/_consent") -> None:
    """Warn once when ``app`` is a Litestar route's stack, not a whole ASGI app.

    `ConsentMiddleware` calls this for every app it wraps, so it is cheap and does not
    import Litestar: it looks at the module of the wrapped object's type. A whole
    ``Litestar`` app (``ConsentMiddleware(Litestar(...))``) is fine and not reported.
    """
    global _warned_route_local
    if _warned_route_local:
        return
    # With no other middleware in the stack, Litestar hands over the bound ``route.handle``.
    target = getattr(app, "__self__", app)
    module = type(target).__module__
    if not (module == "litestar" or module.startswith("litestar.")) or module == "litestar.app":
        return
    _warned_route_local = True
    logger.warning(
        "ConsentMiddleware is wired as Litestar route middleware (it wraps %s.%s): Litestar "
        "runs middleware only for matched routes, so the consent endpoints under %s answer "
        "404 and the banner cannot record a choice. Use plugins=[ConsentPlugin(...)] from "
        "consent.integrations.litestar instead of middleware=[DefineMiddleware("
        "ConsentMiddleware, ...)].",
        module,
        type(target).__qualname__,
        path,
    )


if TYPE_CHECKING:
    _plugin_check: type[InitPluginProtocol] = ConsentPlugin
