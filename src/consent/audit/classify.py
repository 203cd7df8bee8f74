"""Names and URLs seen in the browser, filed the way the middleware files them.

The audit must judge with the project's own tables, not a second opinion: cookies go
through `consent.runtime.classifier_for`, request URLs through
`consent.runtime.blocking_rules_for`, web storage keys through `consent.storage`. A
verdict of the audit is then exactly a verdict of the middleware under the same settings.
"""

from __future__ import annotations

from consent.runtime import HOST_PREFIX, blocking_rules_for, classifier_for, names_for
from consent.settings import ConsentSettings
from consent.storage import storage_patterns

__all__ = ["Classifier", "Filed"]

#: ``(category key, service key)``; either may be ``None``.
Filed = tuple[str | None, str | None]


class Classifier:
    """Category keys for cookies, storage keys and URLs under one set of settings."""

    def __init__(self, settings: ConsentSettings) -> None:
        # Not strict: a name the settings do not know is reported, never raised.
        services, purposes = names_for(settings, strict=False)
        self._cookies = classifier_for(settings, purposes, services)
        self._rules = blocking_rules_for(settings, purposes, services)
        self._service_owner = services.category_of
        self.required = settings.required_category.key
        self._own_cookies = frozenset({settings.cookie_name, HOST_PREFIX + settings.cookie_name})
        self._storage: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
            (key, tuple(entry["exact"]), tuple(entry["prefix"]))
            for key, entry in storage_patterns(purposes.by_purpose).items()
        ]

    def filed(self, key: str | None) -> Filed:
        """``(category, service)`` for a key the tables answer: services live inside a
        category, and the report names both."""
        if key is None:
            return None, None
        owner = self._service_owner.get(key)
        return (key, None) if owner is None else (owner, key)

    def cookie(self, name: str) -> Filed:
        """Where a cookie name is filed; the consent cookie itself is necessary."""
        if name in self._own_cookies:
            return self.required, None
        return self.filed(self._cookies.classify(name))

    def storage(self, key: str) -> str | None:
        """The category of a ``localStorage``/``sessionStorage`` key (exact, then prefix)."""
        for category, exact, _ in self._storage:
            if key in exact:
                return category
        for category, _, prefixes in self._storage:
            if key.startswith(prefixes):
                return category
        return None

    def url(self, url: str) -> Filed:
        """Where the service ``url`` belongs (``(None, None)``: no known tracker)."""
        return self.filed(self._rules.category_of_url(url))
