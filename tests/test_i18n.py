"""Choosing the visitor's language from Accept-Language."""

from __future__ import annotations

import pytest

from consent.i18n import negotiate_locale

OFFERED = ["en", "de", "fr", "pt-BR"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("de", "de"),
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("fr;q=0.4, de;q=0.8", "de"),
        ("pt-br", "pt-BR"),
        ("PT-BR", "pt-BR"),
        ("ja, fr;q=0.1", "fr"),
        ("ja", "en"),
        ("*", "en"),
        ("de;q=0, fr", "fr"),  # q=0 means "not this one"
        ("de;q=abc, fr", "fr"),  # malformed weights are skipped, not fatal
        (";;;,,,<script>", "en"),
        ("x" * 10_000, "en"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate_locale(header, OFFERED, "en") == expected
