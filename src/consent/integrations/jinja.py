"""Jinja2: the visitor's consent as a template global.

The middleware already decides what reaches the browser; templates still need the
choice for what they render themselves (an "enable videos" notice, a link to the
preferences page, a different embed). ``install(env)`` adds one global:

.. code-block:: jinja

    {% set c = consent() %}          {# reads ``request`` from the template context #}
    {% if c and c.allows("analytics") %}...{% endif %}
    {{ consent(request).decided }}   {# or pass the request explicitly #}

``consent()`` returns the `Consent` of the request, or None (with one warning per
process) when the request did not pass through `ConsentMiddleware`, so that a page
rendered outside it (an error page, a test) still renders. It works with every
framework whose request object has an ASGI ``scope`` (Starlette, FastAPI, Litestar,
Quart) or is the scope itself.

``install`` also adds ``consent_declaration(locale=None)``: the cookie declaration's tables
(what ``GET /_consent/cookies`` shows, without its page around them), for the operator's
privacy policy. Its language is ``locale``, or the one negotiated from the context's
``request`` as for the preferences page. It declares the configuration ``install`` was given
(``settings``; pass the middleware's), else the one ``CONSENT_*`` variables give:

.. code-block:: jinja

    {{ consent_declaration() }}      {# or consent_declaration("de") #}
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from consent.declaration import CookieDeclaration, accept_language, environment_declaration
from consent.middleware import get_consent
from consent.settings import ConsentSettings
from consent.state import Consent

__all__ = ["consent", "declaration_helper", "install"]

logger = logging.getLogger("consent")
_warned = False


@pass_context
def consent(context: Context, request: Any = None) -> Consent | None:
    """The `Consent` of ``request`` (default: the context's ``request``), or None."""
    global _warned
    target = request if request is not None else context.get("request")
    try:
        return get_consent(target)
    except LookupError:
        if not _warned:
            _warned = True
            logger.warning(
                "consent() in a template: the request did not pass through ConsentMiddleware "
                "(or the template context has no `request`); it returns None"
            )
        return None


def declaration_helper(settings: ConsentSettings | None = None) -> Any:
    """The ``consent_declaration(locale=None)`` global for ``settings`` (None: the
    environment's), built on first use."""
    built: list[CookieDeclaration] = []

    @pass_context
    def consent_declaration(context: Context, locale: str | None = None) -> Markup:
        """The declaration's tables in ``locale`` (default: negotiated for the request)."""
        if not built:
            if settings is None:
                built.append(environment_declaration())
            else:
                built.append(CookieDeclaration.from_settings(settings))
        declaration = built[0]
        wanted = locale if locale else accept_language(context.get("request"))
        return declaration.fragment(declaration.negotiate(wanted))

    return consent_declaration


def install(
    env: Environment, name: str = "consent", *, settings: ConsentSettings | None = None
) -> Environment:
    """Add the ``consent`` global (under ``name``) and ``consent_declaration`` (declaring
    ``settings``, default: the environment's) to ``env``; returns ``env``."""
    env.globals[name] = consent
    env.globals["consent_declaration"] = declaration_helper(settings)
    return env
