"""`consent.html.injection`: its one-match answers agree with its tag-by-tag reading.

`charset_end` and `ours_next` answer most pages with one pattern match; where that match
applies it must say what the exact reading says, for any first tag, however odd.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consent.html.injection import (
    charset_end,
    charset_end_exactly,
    ours_next,
    ours_next_exactly,
)

#: First tags as attributes: names, "=" in every role, values quoted, unquoted and broken
#: (quotes that open nothing, ">" inside quotes), ids that are and are not ours.
NAMES = ["a", "c", "id", "ID", "width", "charset", "=", "'", 'x"y', "http-equiv", "content"]
EQUALS = ["", "=", " = ", "==", "= ", " ="]
VALUES = ["", "b", "'x c='", "'>'", '"a>b"', "b='x", "consent-1", '"consent-x"', "'", '"', "utf-8"]
GAPS = [" ", "", "/", "\n", "\t", "' ", "> "]
STARTS = ["", " ", "\n", "<meta ", "<META/", "<div ", "<p", "<meta charset=", "<!-- x -->"]

attribute = st.builds(
    lambda name, equals, value, gap: name + equals + value + gap,
    st.sampled_from(NAMES),
    st.sampled_from(EQUALS),
    st.sampled_from(VALUES),
    st.sampled_from(GAPS),
)
first_tags = st.builds(
    lambda start, attributes, end: (start + "".join(attributes) + end).encode(),
    st.sampled_from(STARTS),
    st.lists(attribute, max_size=6),
    st.sampled_from(["", ">", ">x"]),
)


@settings(max_examples=2000)
@given(first=first_tags, final=st.booleans(), tag_limit=st.sampled_from([8, 65536]))
def test_ours_next_in_one_match_agrees_with_the_exact_reading(
    first: bytes, final: bool, tag_limit: int
) -> None:
    assert ours_next(first, 0, final, tag_limit) == ours_next_exactly(first, 0, final, tag_limit)


@settings(max_examples=2000)
@given(first=first_tags, final=st.booleans())
def test_charset_end_in_one_match_agrees_with_the_exact_reading(first: bytes, final: bool) -> None:
    assert charset_end(first, 0, final) == charset_end_exactly(first, 0, final)


def test_the_usual_first_tags_are_answered() -> None:
    viewport = b'\n<meta name="viewport" content="width=device-width, initial-scale=1">'
    assert ours_next(viewport, 0, False, 65536) is False  # "width=" holds no id attribute
    assert ours_next(b'<script id="consent-mode" src="/m.js">', 0, False, 65536) is True
    declaration = b'\n<meta charset="utf-8">\n<title>'
    assert charset_end(declaration, 0, False) == declaration.index(b">") + 1
