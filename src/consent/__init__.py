"""Server-side cookie consent for ASGI applications.

Add `ConsentMiddleware` to any ASGI app; read a visitor's choice with
``request.state.consent`` or `get_consent`.
"""

from consent.categories import Category
from consent.middleware import ConsentMiddleware, get_consent
from consent.settings import ConsentSettings
from consent.state import Consent

__all__ = ["Category", "Consent", "ConsentMiddleware", "ConsentSettings", "get_consent"]
__version__ = "0.1.0"
