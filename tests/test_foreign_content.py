"""Foreign content the tokenizer cannot be sure of: every reading is kept safe, none is broken.

A browser closes an ``<svg>`` left open inside a link at ``</a>``; a token stream cannot know
whether a link is open, so `consent.html.tree.ForeignStack` reads what follows both ways.
These cases come from differential fuzzing against html5lib (tests/fuzz) and are checked in
html5lib's tree: the tracker is blocked, the page around it reads as it did.
"""

from __future__ import annotations

import logging
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent.rewriter import HtmlRewriter
from tests._html import POLICY, find, is_blocked, normalise, parse, rewrite, rewrite_with
from tests.conftest import ClientFactory
from tests.fuzz.harness import blocked_problems, report

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


@pytest.mark.parametrize(
    ("page", "doubted"),
    [
        ("<select><option>a<input name=q><noframes>x</noframes>", True),  # older parsers: closed
        ("<table><tr><td><select><option>a<td>b</table>", True),  # closed in a table, older ones
        ("<select><option>a</select><input name=q><noframes>x</noframes>", False),
        ("<select><option>a</select><table><tr><td>b</table>", False),
    ],
)
def test_a_select_some_parsers_close_is_reported(page: str, doubted: bool) -> None:
    # A tag that closes a select left open in older parsers only: from there the page is read
    # two ways, and the operator hears of it as of an unclosed <svg>.
    _, rewriter = rewrite_with(f"<!doctype html><body>{page}".encode())
    assert rewriter.doubted is doubted


GA = "https://www.google-analytics.com/collect"


@pytest.mark.parametrize("chunk", [None, 5])
@pytest.mark.parametrize(
    "code",
    [
        'if (a > b) { for (i = 0; i < n; i++) s = "x"; }',  # our reading: a tag "<n;", no quote
        "if (a > b) { x = 1; } // <!-- ]]> in a comment of ours: the readings meet there",
        "const f = (x) => x",  # no "<" at all
    ],
)
def test_an_svg_script_with_cdata_is_judged_by_its_own_text(code: str, chunk: int | None) -> None:
    # Inline SVG scripts keep their code in CDATA, often with ">" and "<" in it. Where no
    # "]]>" lies inside a tag of ours, the tree builders' reading is the one judged: a tracker
    # later in the page does not block the script, and the page is not reported.
    page = f'<body><svg><script><![CDATA[ {code} ]]></script></svg><img src="{GA}">'.encode()
    out, rewriter = rewrite_with(page, chunks=chunk)
    assert out.startswith(b"<body><svg><script><![CDATA[")
    assert f'data-consent-src="{GA}"'.encode() in out  # (the pixel is blocked)
    assert not rewriter.doubted


@pytest.mark.parametrize("chunk", [None, 5])
@pytest.mark.parametrize(
    "markup",
    [
        '<p title="]]>*/ /*"><a>*/fetch("{GA}")//]]></a></script></svg>',  # a quoted value
        '<p title="]]>*/ /*">*/</script><a>fetch("{GA}")//]]></a></svg>',  # then </script>
        '</b title="]]>*/ /*"><a>*/fetch("{GA}")//]]></a></script>',  # an end tag's value
    ],
)
def test_an_svg_script_whose_cdata_runs_on_through_our_escape_is_blocked(
    markup: str, chunk: int | None
) -> None:
    # Our reading takes "<![CDATA[" for a bogus comment that ends at the first ">" (as
    # Chromium's preload scanner does), so a "]]>" inside one of its tags is escaped: for the
    # tree builders the section then runs on, and the script's text takes in the tracker
    # call that was an element's text. Judged by the bytes that follow, it is blocked.
    page = f"<body><svg><script><![CDATA[/*>*/x=1;/*{markup.format(GA=GA)}".encode()
    out, rewriter = rewrite_with(page, chunks=chunk)
    assert out.startswith(b'<body><svg><script type="text/plain" data-consent="analytics">')
    assert rewriter.doubted  # read two ways: the operator hears of it


#: Pieces of an SVG script's text: what ends our bogus comment, opens or closes our tags and
#: quoted values, comments and CDATA sections, elements that change our reading's state.
SCRIPT_PIECES = [">", "]]>", '<p title="', '"', "'", "<a>", "</b x='", "<!--", "-->", "=", " "]
SCRIPT_PIECES += ["<style>", "<img src=/a.png>", "x", "<", "</script>", "<![CDATA[", "</style>"]
SCRIPT_PIECES += ["</svg>", "<noscript>", "</noscript>", "<textarea>", "<p>", "<svg>", "\n"]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    opener=st.sampled_from(["<![CDATA[>", "<![CDATA[/*>*/", "<!--</script>", "<!--</script >"]),
    before=st.lists(st.sampled_from(SCRIPT_PIECES), max_size=4),
    quote=st.sampled_from(['"', "'"]),
    terminator=st.sampled_from(["]]>", "-->", "--!>"]),
    hide=st.sampled_from(["//", "*/ /*", "/*", ""]),
    after=st.lists(st.sampled_from(SCRIPT_PIECES), max_size=4),
    closer=st.sampled_from(["]]>", "<!---->", "<!-- -->", ""]),
    show=st.sampled_from(["", "*/", "\n", "*/\n"]),
)
def test_no_escape_of_ours_makes_an_svg_script_call_a_tracker(
    opener: str,
    before: list[str],
    quote: str,
    terminator: str,
    hide: str,
    after: list[str],
    closer: str,
    show: str,
) -> None:
    # Our reading takes "<![CDATA[" for a bogus comment, and leaves a comment at the preload
    # scanner's "</script" in it; a "]]>" or "-->" then inside a quoted value of one of its
    # tags is escaped, and for the tree builder the section or comment runs on. The script's
    # text then takes in, or loses, what was markup and text (a "//" that hid a call, say),
    # and may call a tracker it did not call as written. Wherever that may happen, it is
    # judged by the bytes after it (`_hidden_text_may_run_on`): no reading runs the call.
    value = quote + terminator + hide + quote
    tail = "".join(after) + closer + show + f'fetch("{GA}")//'
    page = f"<body><svg><script>x=1;{opener}{''.join(before)}<p title={value}>{tail}"
    page += "</script></svg>"
    out, problems = blocked_problems(page.encode())
    assert not [p for p in problems if p.startswith("loads")], report(page.encode(), out, problems)


def test_a_script_read_as_markup_is_judged_as_our_edits_write_it() -> None:
    # Browsers ignore this "</svg>" (a <p> is open), so the script is an HTML script and runs
    # its raw bytes; our reading also reads them as markup and rewrites the srcdoc in them,
    # writing its references out decoded. The raw bytes hide the embed's URL from the reader
    # ("&#x27;//..."); the decoded ones name it, so the script is judged by those too.
    page = (
        b"<svg><foreignObject><p></svg><script>document.write('<iframe srcdoc=\"&lt;image\n"
        b'src=&#x27;//player.vimeo.com/video/1&#x27;&gt;" Src=img/logo.png>'
    )
    out = rewrite(page)
    assert b'<script type="text/plain" data-consent="preferences">' in out


def test_the_operator_hears_of_it_once(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    page = "<!doctype html><body><a href=/><svg><path/></a><p>Home</p>"
    app = Starlette(routes=[Route("/{name}", lambda request: HTMLResponse(page))])
    client = client_for(app)
    with caplog.at_level(logging.WARNING, logger="consent"):
        for name in ("one", "two", "one"):
            assert client.get(f"/{name}").status_code == 200
    said = [r.getMessage() for r in caplog.records if "two ways" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("/one: browsers read part of this page two ways")


# --- icons and sprites: ordinary SVG is read in C, and still judged -----------------------------

SPRITE = (
    '<svg xmlns="http://www.w3.org/2000/svg" style="display:none">'
    '<symbol id="i-home" viewBox="0 0 24 24"><g fill="none"><path d="M3 12l9-9 9 9"/></g></symbol>'
    '<symbol id="i-mail" viewBox="0 0 24 24"><path d="M4 4h16v16H4z"/><circle r="4"/></symbol>'
    "</svg>"
)
ICONS = (
    '<nav><a href="/"><svg class="icon" aria-hidden="true"><use href="#i-home"></use></svg>Home'
    "</a><a href=/mail><svg class=icon><use xlink:href='#i-mail'/></svg>Mail</a></nav>"
)


def test_icons_and_sprites_pass_as_they_are() -> None:
    page = f"<!doctype html><body>{SPRITE}{ICONS}<p>after</p>".encode()
    out, rewriter = rewrite_with(page)
    assert out == page
    assert not rewriter.doubted


@pytest.mark.parametrize(
    "svg",
    [
        f'<svg><g><image href="{PIXEL}"/></g></svg>',
        '<svg class="icon"><use href="//www.facebook.com/tr#a"></use></svg>',
        '<svg class="icon">\n  <use href="https://www.facebook.com/tr#a" />\n</svg>',
        f'<svg><symbol id="a"><image href="{PIXEL}" /></symbol></svg>',
        f'<svg><g><g><feImage href="{PIXEL}"></feImage></g></g></svg>',
        f'<svg><use href="#i-home"></use><image HREF="{PIXEL}"></image></svg>',
    ],
)
def test_a_tracker_among_icons_is_still_blocked(svg: str) -> None:
    page = f"<!doctype html><body>{SPRITE}{ICONS}{svg}<p>after</p>".encode()
    out = rewrite(page)
    assert re.search(rb"""[\s"'](?i:href)=["']?[^"'>]*facebook""", out) is None
    assert b'data-consent-href="' in out
    assert svg.encode() not in out  # it changed
    assert f"{SPRITE}{ICONS}".encode() in out  # the icons did not


def test_a_labelled_icon_is_judged_by_its_label() -> None:
    svg = '<svg><use data-consent="marketing" href="#i-home"></use></svg>'
    page = f"<!doctype html><body>{SPRITE}{svg}".encode()
    assert b'data-consent-href="#i-home"' in rewrite(page)
    assert rewrite(page, {"marketing"}) == page


def _svg_document(rnd: random.Random) -> bytes:
    """A page of SVG as it comes: icons, sprites, odd nesting, unquoted values, trackers."""
    names = ["g", "path", "symbol", "use", "image", "a", "circle", "foreignObject", "desc", "p"]
    names += ["script", "style", "font", "br", "svg", "math", "mi", "G", "Use", "feImage"]
    values = ['"#i"', "'/a.png'", f'"{PIXEL}"', '"//www.facebook.com/tr"', "a/", '"a/"']
    values += ['"data-x"', '"x:y"', '"a&amp;b"', '"/x/\n"', '""', '"M1 2"', "'>'", "icon"]
    attributes = ["href", "xlink:href", "src", "d", "class", "data-src", "color", "DATA-X"]

    def tag(depth: int) -> str:
        if rnd.random() < 0.15:
            return rnd.choice(["text", "a < b", "&amp;", "<!-- c -->", "<![CDATA[ x ]]>", "</p>"])
        name = rnd.choice(names)
        attrs = "".join(
            rnd.choice(" \n") + f"{rnd.choice(attributes)}={rnd.choice(values)}"
            for _ in range(rnd.randint(0, 2))
        )
        end = rnd.choice([">", ">", "/>", " />", "/ >"])
        if end != ">" or depth > 3:
            return f"<{name}{attrs}{end}"
        inner = "".join(tag(depth + 1) for _ in range(rnd.randint(0, 3)))
        close = rnd.choice([f"</{name}>", f"</{name.upper()} >", "", f"</{rnd.choice(names)}>"])
        return f"<{name}{attrs}>{inner}{close}"

    parts = [
        rnd.choice(["<svg>", '<svg class="icon">', "<svg class=icon>", "<svg/>", "<math>"])
        + "".join(tag(1) for _ in range(rnd.randint(0, 4)))
        + rnd.choice(["</svg>", "</svg>", "</SVG >", ""])
        for _ in range(rnd.randint(1, 5))
    ]
    parts.append(f'<img src="{PIXEL}"><p>after</p>')
    return ("<!doctype html><body>" + "".join(parts)).encode()


@pytest.mark.parametrize("seed", range(4))
def test_reading_svg_in_c_changes_nothing(seed: int) -> None:
    # The fast path reads icons and runs of ordinary SVG by pattern; tag by tag must agree.
    rnd = random.Random(seed)
    for _ in range(150):
        page = _svg_document(rnd)
        fast = rewrite(page)
        exact = HtmlRewriter(POLICY, frozenset())
        exact.fast_path = False
        assert exact.feed(page) + exact.close() == fast, page
        assert rewrite(page, chunks=5) == fast, page


# --- a <select> that only some readings open ------------------------------------------------


@pytest.mark.parametrize(
    "before",
    [
        # Only a browser without scripting opens this select (with scripting, <noscript> is
        # text), so the <select> after it closes it there and opens one with scripting on.
        "<noscript><select></noscript>",
        # </template> closes the select inside the template with the rest of its content.
        "<template><select></template>",
    ],
)
def test_a_select_some_readings_never_opened_hides_no_image(before: str) -> None:
    # In a select, older parsers ignore <noframes>: the image after </select> loads there.
    page = f'{before}<select><noframes></select><img src="{PIXEL}"></noframes>'.encode()
    assert f'data-consent-src="{PIXEL}"'.encode() in rewrite(page)


def test_an_svg_script_is_judged_by_its_text_through_cdata_not_up_to_the_first_end_tag() -> None:
    # Inside CDATA "</script>" is text: the script's code runs on to "]]></script>".
    code = 'var end = "</script>"; new Image().src = "https://www.googletagmanager.com/gtag/js";'
    out = rewrite(f"<svg><script><![CDATA[{code}]]></script></svg><p>after".encode())
    (script,) = parse(out).iter("{http://www.w3.org/2000/svg}script")
    assert script.get("type") == "text/plain"
    # A comment is no part of the code: a tracker named only there blocks nothing.
    quiet = f"<svg><script><!-- {code} --></script></svg>".encode()
    assert rewrite(quiet) == quiet


def test_an_inline_script_is_judged_by_all_the_text_it_runs_not_where_readings_split() -> None:
    # Older parsers ignore <xmp> in a <select>: the script is real and its code runs past
    # </xmp>, where a newer parser's raw text ends and our reading switches to markup.
    page = (
        b"<select><xmp><script>var a = 1</xmp>; "
        b"new Image().src = 'https://www.googletagmanager.com/gtag/js';</script></select>"
    )
    (script,) = parse(rewrite(page)).iter("script")  # html5lib reads it as the older parsers
    assert script.get("type") == "text/plain"
    # The same split at every chunk boundary: the verdict waits for the script's end.
    whole = rewrite(page)
    assert all(rewrite(page, chunks=[cut]) == whole for cut in range(1, len(page)))
