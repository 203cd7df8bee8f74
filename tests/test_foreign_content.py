"""Foreign content the tokenizer cannot be sure of: every reading is kept safe, none is broken.

A browser closes an ``<svg>`` left open inside a link at ``</a>``; a token stream cannot know
whether a link is open, so `consent.html.tree.ForeignStack` reads what follows both ways.
These cases come from differential fuzzing against html5lib (tests/fuzz) and are checked in
html5lib's tree: the tracker is blocked, the page around it reads as it did.
"""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests._html import find, is_blocked, normalise, parse, rewrite, rewrite_with
from tests.conftest import ClientFactory

YOUTUBE = "https://www.youtube.com/embed/x"
PIXEL = "https://www.facebook.com/tr?id=1"


def test_a_comment_in_a_script_that_svg_would_read_as_markup_hides_no_iframe() -> None:
    # The browser ends the SVG at </a>: <script> is script data and <!--</script> ends it.
    page = (
        f'<p><a href=/><svg><path d="M0 0"/></a><script><!--</script>'
        f'<iframe src="{YOUTUBE}"></iframe><p id=after>after'
    ).encode()
    out = rewrite(page)
    tree = parse(out)
    (iframe,) = find(tree, "iframe", "youtube.com")
    assert is_blocked(iframe)
    # The script's text is untouched, so the rest of the page is still a page.
    (script,) = tree.iter("script")
    assert script.text == "<!--"
    assert [p.get("id") for p in tree.iter("p")][-1] == "after"


@pytest.mark.parametrize("chunk", [None, 1, 3, 7])
def test_the_same_page_rewrites_the_same_in_any_chunks(chunk: int | None) -> None:
    page = (
        f"<a href=/><svg><g></a><script/><!--</script><img src='{PIXEL}'>"
        f"<style><!--</style><iframe src='{YOUTUBE}'></iframe>"
    ).encode()
    out = rewrite(page, chunks=chunk)
    assert out == rewrite(page)
    tree = parse(out)
    assert all(is_blocked(e) for e in find(tree, "img", "facebook.com"))
    assert all(is_blocked(e) for e in find(tree, "iframe", "youtube.com"))
    assert find(tree, "img", "facebook.com")
    assert find(tree, "iframe", "youtube.com")


def test_a_select_inside_an_integration_point_is_tracked() -> None:
    # Older parsers ignore <xmp> inside <select>: the image after </select> is markup there.
    page = (
        "<math><annotation-xml encoding=text/html><p></annotation-xml></math>"
        f'<select><xmp></select><img src="{PIXEL}"></xmp>'
    ).encode()
    assert f'data-consent-src="{PIXEL}"'.encode() in rewrite(page)


def test_well_formed_foreign_content_is_read_one_way_and_left_alone() -> None:
    # An HTML script inside a MathML text integration point, then raw text: no doubt, so
    # the image in <xmp> is text for every reading and stays as it is.
    page = f'<math><mi><svg><script>init()</script></svg><xmp><img src="{PIXEL}"></xmp></mi></math>'
    out, rewriter = rewrite_with(page.encode())
    assert out == page.encode()
    assert not rewriter.doubted


def test_doubt_is_reported_so_the_operator_can_close_the_svg() -> None:
    page = b"<a href=/><svg><path/></a><p>text</p>"
    out, rewriter = rewrite_with(page)
    assert rewriter.doubted
    assert normalise(parse(out)) == normalise(parse(page))


def test_the_operator_hears_of_it_once(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    page = "<!doctype html><body><a href=/><svg><path/></a><p>Home</p>"
    app = Starlette(routes=[Route("/{name}", lambda request: HTMLResponse(page))])
    client = client_for(app)
    with caplog.at_level(logging.WARNING, logger="consent"):
        for name in ("one", "two", "one"):
            assert client.get(f"/{name}").status_code == 200
    said = [r.getMessage() for r in caplog.records if "not closed" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("/one: an <svg> or <math> element is not closed")
