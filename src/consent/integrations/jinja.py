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
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from consent.middleware import get_consent
from consent.state import Consent

__all__ = ["consent", "install"]

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


def install(env: Environment, name: str = "consent") -> Environment:
    """Add the ``consent`` global (under ``name``) to ``env``; returns ``env``."""
    env.globals[name] = consent
    return env
