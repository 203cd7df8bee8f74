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

``"consent.integrations.django.consent_declaration"`` adds ``consent_declaration``: the
cookie declaration's tables (what ``GET /_consent/cookies`` shows, without its page) for
your privacy policy, ``{{ consent_declaration }}``. It is rendered only where a template
prints it, in the request's language (``request.LANGUAGE_CODE`` when Django's
``LocaleMiddleware`` set an offered one, else ``Accept-Language``), and it declares the
configuration ``CONSENT_*`` variables give (what ``ConsentMiddleware(get_asgi_application())``
reads).

Django itself is not imported: the processors only read the request they are given.
"""

from __future__ import annotations

import logging
from typing import Any

from markupsafe import Markup

from consent.declaration import accept_language, environment_declaration
from consent.middleware import get_consent
from consent.state import Consent

__all__ = ["consent", "consent_declaration"]

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


class _Declaration:
    """The declaration's tables, rendered when a template prints them (Django escapes what
    it prints unless it has ``__html__``, as `Markup` has)."""

    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        self._request = request

    def __html__(self) -> Markup:
        declaration = environment_declaration()
        language = getattr(self._request, "LANGUAGE_CODE", None)
        if not (isinstance(language, str) and language in declaration.locales.available):
            language = accept_language(self._request)
        return declaration.fragment(declaration.negotiate(language))

    def __str__(self) -> str:
        return self.__html__()


def consent_declaration(request: Any) -> dict[str, _Declaration]:
    """Template context: ``{"consent_declaration": <the declaration's tables>}``."""
    return {"consent_declaration": _Declaration(request)}
