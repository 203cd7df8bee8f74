"""FastAPI: the visitor's consent as a dependency.

.. code-block:: python

    from consent.integrations.fastapi import ConsentDep

    @app.get("/")
    def home(consent: ConsentDep) -> dict[str, bool]:
        return {"analytics": consent.allows("analytics")}

A dependency instead of ``get_consent(request)`` keeps the handler's signature honest
(what it depends on is declared, and tests can override it with
``app.dependency_overrides[current_consent]``). It works for HTTP and websocket routes.
"""

from __future__ import annotations

from typing import Annotated

try:
    from fastapi import Depends
    from starlette.requests import HTTPConnection
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("consent.integrations.fastapi needs FastAPI: pip install fastapi") from exc

from consent.middleware import get_consent
from consent.state import Consent

__all__ = ["ConsentDep", "current_consent"]


def current_consent(connection: HTTPConnection) -> Consent:
    """The `Consent` of this request; a missing middleware is a server error, not a guess."""
    try:
        return get_consent(connection)
    except LookupError as exc:
        raise RuntimeError(
            "current_consent: ConsentMiddleware is not installed on this app "
            "(app.add_middleware(ConsentMiddleware, ...))"
        ) from exc


#: ``consent: ConsentDep`` in a path operation or another dependency.
ConsentDep = Annotated[Consent, Depends(current_consent)]
