"""Shipped texts: default category labels and descriptions per language.

Operators override any of them through settings; these are the defaults.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CATEGORY_TEXTS"]

#: ``{category key: {locale: {"label": ..., "description": ...}}}``
DEFAULT_CATEGORY_TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "necessary": {
        "en": {
            "label": "Necessary",
            "description": "Needed for the site to work, for security and to remember "
            "this choice. Always on.",
        },
    },
    "preferences": {
        "en": {
            "label": "Preferences",
            "description": "Remember settings such as language or region, and show "
            "embedded content from other sites such as videos and maps.",
        },
    },
    "analytics": {
        "en": {
            "label": "Analytics",
            "description": "Help us understand how the site is used by counting visits "
            "and measuring performance.",
        },
    },
    "marketing": {
        "en": {
            "label": "Marketing",
            "description": "Used by advertising partners to show relevant ads and "
            "measure campaigns across sites.",
        },
    },
}
