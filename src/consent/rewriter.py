"""`HtmlRewriter`: one response's HTML, rewritten for one visitor's consent.

The pipeline is in `consent.html`: a policy-free streaming tokenizer
(`consent.html.tokenizer`) hands the start tags that may fetch to the consent handler
(`consent.html.blocking`) and injects the banner and head tags where they belong.
This module only puts the two together, for the middleware and for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from consent.blocking import BlockingRules
from consent.html.blocking import BlockingPolicy
from consent.html.tokenizer import (
    SCRIPT_LIMIT,
    TAG_LIMIT,
    WHITESPACE_LIMIT,
    PageInjection,
    Tokenizer,
)

__all__ = [
    "SCRIPT_LIMIT",
    "TAG_LIMIT",
    "WHITESPACE_LIMIT",
    "BlockingPolicy",
    "HtmlRewriter",
    "PageInjection",
]


class HtmlRewriter(Tokenizer):
    """Rewrite one HTML response body for one visitor's consent, chunk by chunk.

    ``policy`` is the middleware's `BlockingPolicy` (it owns the caches of decided tags,
    shared between responses); plain `BlockingRules` get a policy of their own.
    ``granted`` holds the category keys the visitor allows (required ones are added).
    ``placeholder(key)`` returns the HTML document shown in a blocked iframe (``srcdoc``).
    """

    def __init__(
        self,
        policy: BlockingPolicy | BlockingRules,
        granted: Iterable[str],
        *,
        injection: PageInjection | None = None,
        placeholder: Callable[[str], str] | None = None,
    ) -> None:
        if isinstance(policy, BlockingRules):
            policy = BlockingPolicy(policy)
        super().__init__(policy.handler(granted, placeholder=placeholder), injection=injection)
