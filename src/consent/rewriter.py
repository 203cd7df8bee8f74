"""`HtmlRewriter`: one response's HTML, rewritten for one visitor's consent.

The pipeline is in `consent.html`: a policy-free streaming tokenizer
(`consent.html.tokenizer`) hands the start tags that may fetch to the consent handler
(`consent.html.blocking`), links to the click-identifier cleaner when asked
(`consent.html.links`), and injects the banner and head tags where they belong.
This module only puts them together, for the middleware and for tests.
"""

from __future__ import annotations

from collections.abc import Iterable

from consent.blocking import BlockingRules
from consent.html.blocking import BlockingPolicy, Placeholder
from consent.html.links import LinkCleaner
from consent.html.tokenizer import (
    SCRIPT_LIMIT,
    TAG_LIMIT,
    WHITESPACE_LIMIT,
    Handler,
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
    ``clean_links_for`` is the page's host (the ``Host`` value) when ad click identifiers
    must go from its same-site links (`consent.html.links`); None leaves links alone, at no
    cost per tag.
    """

    def __init__(
        self,
        policy: BlockingPolicy | BlockingRules,
        granted: Iterable[str],
        *,
        injection: PageInjection | None = None,
        placeholder: Placeholder | None = None,
        clean_links_for: str | None = None,
    ) -> None:
        if isinstance(policy, BlockingRules):
            policy = BlockingPolicy(policy)
        handler: Handler = policy.handler(granted, placeholder=placeholder)
        if clean_links_for is not None:
            handler = LinkCleaner(handler, clean_links_for)
        super().__init__(handler, injection=injection)
