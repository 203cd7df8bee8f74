"""The HTML pipeline: a policy-free streaming tokenizer and the handlers that rewrite pages.

* `consent.html.lexer`: tag patterns, attributes and edits (stateless);
* `consent.html.tree`: what the tokenizer must know of the browser's tree (SVG, MathML, doubt);
* `consent.html.tokenizer`: the streaming tokenizer; it hands the start tags a handler asked
  for to that handler and passes every other byte through untouched;
* `consent.html.blocking`: the consent handler (which elements fetch, for which category).

The banner and head tags are put in place by the tokenizer (`PageInjection`).
"""
