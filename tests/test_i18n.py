"""Choosing the visitor's language from Accept-Language."""

from __future__ import annotations

import pytest

from consent.i18n import LocaleNegotiator, negotiate_locale

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


@pytest.mark.parametrize(
    "header", [None, "", "de-AT,de;q=0.9", "pt-br", "ja, fr;q=0.1", "*", ";;;", "x" * 10_000]
)
def test_negotiator_agrees_with_the_function(header: str | None) -> None:
    negotiator = LocaleNegotiator(OFFERED, "en")
    first = negotiator.negotiate(header)
    assert first == negotiate_locale(header, OFFERED, "en")
    assert negotiator.negotiate(header) == first  # memoised answer is the same


def test_negotiator_memo_stays_bounded() -> None:
    negotiator = LocaleNegotiator(OFFERED, "en")
    for index in range(2_000):
        assert negotiator.negotiate(f"x{index}, de") == "de"
    assert len(negotiator._cache) <= 512
    assert negotiator.multilingual
    assert not LocaleNegotiator(["en"], "en").multilingual
