"""Django: a template context processor with the visitor's consent.

Add ``"consent.integrations.django.consent"`` to ``TEMPLATES[...]["OPTIONS"]
["context_processors"]``; every template rendered with a request then has ``consent``
(a `Consent`). Django templates cannot call methods with arguments, so test membership:

.. code-block:: django

    {% if consent and "analytics" in consent.granted %}...{% endif %}

It reads ``request.scope`` (Django's ``ASGIRequest``), where `ConsentMiddleware` put
the visitor's choice, so ``application = ConsentMiddleware(get_asgi_application())``
in ``asgi.py`` is what makes it work. A request that did not pass through the
middleware (WSGI, the test client, a path served before it) gets ``None`` and one
warning per process instead of an error page: templates must render either way.

Django itself is not imported: the processor only reads the request it is given.
"""

from __future__ import annotations

import logging
from typing import Any

from consent.middleware import get_consent
from consent.state import Consent

__all__ = ["consent"]

logger = logging.getLogger("consent")
_warned = False


def consent(request: Any) -> dict[str, Consent | None]:
    """Template context: ``{"consent": <Consent>}``, or ``None`` outside the middleware."""
    global _warned
    try:
        return {"consent": get_consent(request)}
    except LookupError:
        if not _warned:
            _warned = True
            logger.warning(
                "consent.integrations.django.consent: this request did not pass through "
                "ConsentMiddleware (wrap get_asgi_application() in asgi.py); "
                "templates get consent=None"
            )
        return {"consent": None}
