"""Pages with trackers in odd places: hypothesis strategies and a seeded plain-random generator.

One builder (`Page`) draws every choice through a `Source`, so hypothesis (which shrinks each
choice towards the first option listed) and `random.Random` (for long offline runs, see
``python -m tests.fuzz``) make the same kinds of page. Options are listed simplest first.

A page is a prologue, a few pieces and an epilogue. A piece is a tracker element (every
fetching element of docs/blocking-contract.md, with its URL written in odd ways), a harmless
first-party element, some text, or a context wrapped around more pieces: tables (foster
parenting), select, template, SVG and MathML with their integration points and breakout tags,
misnested and unclosed elements, noscript, frameset/noframes, plaintext, CDATA, comments and
bogus comments, raw-text elements with end-tag-like text in attribute values and comments,
and script data escapes.
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


class Source(Protocol):
    def pick(self, options: Sequence[T]) -> T: ...

    def number(self, low: int, high: int) -> int: ...


class RandomSource:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def pick(self, options: Sequence[T]) -> T:
        return self.random.choice(options)

    def number(self, low: int, high: int) -> int:
        return self.random.randint(low, high)


class DrawSource:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def pick(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def number(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))


# --- URLs ----------------------------------------------------------------------------------------

TRACKERS = (
    "https://www.facebook.com/tr?id=1",
    "https://www.googletagmanager.com/gtag/js?id=G-X",
    "https://connect.facebook.net/en_US/fbevents.js",
    "https://www.youtube.com/embed/x",
    "https://static.hotjar.com/c/hotjar-1.js",
    "https://www.google-analytics.com/analytics.js",
    "https://player.vimeo.com/video/1",
    "https://www.google.com/recaptcha/../pagead/1p-conversion/1/",  # dot segments: marketing
)
HARMLESS = (
    "/static/app.js",
    "img/logo.png",
    "https://www.example.com/a.js",
    "//cdn.example.net/x.png",
    "https://www.google.com/recaptcha/api.js",  # necessary
    "https://js.stripe.com/v3/",  # necessary
    "https://www.facebook.com.example.org/tr",  # a look-alike, not Meta
    "https://notfacebook.com/tr",
    "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
    "?page=2",
)
_FULL_WIDTH = {c: chr(ord(c) - 0x21 + 0xFF01) for c in "abcdefghijklmnopqrstuvwxyz0123456789-"}


def _split(url: str) -> tuple[str, str, str]:
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return scheme, host, slash + path


def _refs(url: str) -> str:
    return url.replace("/", "&#x2F;", 2).replace(":", "&colon;").replace(".", "&period;", 1)


def _full_width(url: str, dot: str) -> str:
    scheme, host, path = _split(url)
    wide = "".join(_FULL_WIDTH.get(c, c) for c in host).replace(".", dot)
    return f"{scheme}://{wide}{path}"


def _percent(url: str) -> str:
    scheme, host, path = _split(url)
    return f"{scheme}://{host[:-1]}%{ord(host[-1]):02X}{path}"


def _upper(url: str) -> str:
    scheme, host, path = _split(url)
    return f"{scheme.upper()}://{host.upper()}{path}"


def _userinfo_port(url: str) -> str:
    scheme, host, path = _split(url)
    return f"{scheme}://me@{host}:443{path}"


def _trailing_dot(url: str) -> str:
    scheme, host, path = _split(url)
    return f"{scheme}://{host}.{path}"


# How a URL is written: (name, rewrite, needs quotes).
WRITINGS: tuple[tuple[str, Callable[[str], str], bool], ...] = (
    ("as is", lambda u: u, False),
    ("protocol-relative", lambda u: "//" + u.partition("://")[2], False),
    ("upper case", _upper, False),
    ("character references", _refs, False),
    ("full-width host", lambda u: _full_width(u, "\uff0e"), False),
    ("ideographic full stops", lambda u: _full_width(u, "\u3002"), False),
    ("percent-encoded host", _percent, False),
    ("backslashes", lambda u: u.replace("/", "\\"), False),
    ("extra slashes", lambda u: u.replace("://", ":////", 1), False),
    ("no slashes", lambda u: u.replace("://", ":", 1), False),
    ("userinfo and port", _userinfo_port, False),
    ("trailing dot", _trailing_dot, False),
    ("tab and newline", lambda u: u.replace("://", ":/\t/", 1).replace(".", ".\n", 1), True),
    ("spaces around", lambda u: "  " + u + " \n", True),
)


# --- the builder --------------------------------------------------------------------------------

RAW_TEXT = ("xmp", "style", "textarea", "title", "iframe", "noembed", "noframes", "noscript")
_END_TAG_SPELLINGS = ("</{}>", "</{} >", "</{}/>", "</{}\n>", '</{} x=">">', "</{}x>")


class Page:
    """Draws one page from a `Source`."""

    def __init__(self, source: Source, max_depth: int = 3) -> None:
        self.s = source
        self.max_depth = max_depth
        self.in_srcdoc = False

    # URLs and attributes

    def tracker(self) -> tuple[str, bool]:
        url = self.s.pick(TRACKERS)
        _, write, quoted = self.s.pick(WRITINGS)
        return write(url), quoted

    def harmless(self) -> tuple[str, bool]:
        return self.s.pick(HARMLESS), False

    def name(self, name: str) -> str:
        return self.s.pick((name, name.upper(), name[:1].upper() + name[1:]))

    def attr(self, name: str, value: str, quoted: bool = False) -> str:
        spacing = self.s.pick((" ", "\n", "/", "  "))
        style = self.s.pick(("double", "single", "unquoted") if not quoted else ("double",))
        if style == "double":
            text = '"' + value.replace('"', "&quot;") + '"'
        elif style == "single":
            text = "'" + value.replace("'", "&#39;") + "'"
        else:
            text = value
        return f"{spacing}{self.name(name)}={text}"

    def url_attr(self, name: str, bad: bool, srcset: bool = False) -> str:
        value, quoted = self.tracker() if bad else self.harmless()
        if srcset:
            value = self.s.pick((f"{value} 2x", f"/a.png 1x, {value} 2x", f"{value}"))
            quoted = quoted or " " in value
        return self.attr(name, value, quoted)

    def tag(self, name: str, attrs: str = "", void: bool = False) -> str:
        extra = self.s.pick(("", ' alt="a > b"', " async", " class=x"))
        close = self.s.pick((">", " />") if void else (">",))
        return f"<{self.name(name)}{extra}{attrs}{close}"

    # elements that fetch (the contract's table)

    def element(self, bad: bool) -> str:
        kind = self.s.pick(ELEMENTS)
        return kind(self, bad)

    def srcdoc(self, bad: bool) -> str:
        if self.in_srcdoc:  # one level of srcdoc is enough
            return f"<iframe{self.url_attr('src', bad)}></iframe>"
        self.in_srcdoc = True
        inner = self.element(bad) if self.s.number(0, 3) else self.piece(self.max_depth - 1)
        self.in_srcdoc = False
        escaped = html.escape(inner, quote=True)
        return f'<iframe srcdoc="{escaped}"{self.url_attr("src", False)}></iframe>'

    # pieces and contexts

    def piece(self, depth: int = 0) -> str:
        choice = self.s.number(0, 9 if depth < self.max_depth else 5)
        if choice <= 2:
            return self.element(True)
        if choice == 3:
            return self.element(False)
        if choice == 4:
            return self.s.pick(TEXT)
        if choice == 5:
            return self.s.pick(INLINE_SCRIPTS)
        inner = "".join(self.piece(depth + 1) for _ in range(self.s.number(1, 2)))
        return self.s.pick(CONTEXTS)(self, inner)

    def raw(self) -> str:
        return self.s.pick(RAW_TEXT)

    def end(self, name: str) -> str:
        return self.s.pick(_END_TAG_SPELLINGS).format(self.name(name))

    def document(self) -> str:
        kind = self.s.number(0, 11)
        if kind == 11:
            return self.frameset()
        pieces = "".join(self.piece() for _ in range(self.s.number(1, 4)))
        if kind >= 9:  # everything inside a <noscript> in <head>
            head = self.s.pick(("<head><noscript>", "<!doctype html><html><head><noscript>"))
            return head + pieces + self.s.pick(("</noscript></head><body>", "", "</head>"))
        return self.s.pick(PROLOGUES) + pieces + self.s.pick(EPILOGUES)

    def frameset(self) -> str:
        frames = "".join(
            f"<frame{self.url_attr('src', self.s.number(0, 2) > 0)}>"
            for _ in range(self.s.number(1, 3))
        )
        noframes = self.s.pick(("", f"<noframes>{self.piece(1)}</noframes>"))
        return f"<!doctype html><html><head></head><frameset>{frames}</frameset>{noframes}</html>"


def _script(p: Page, bad: bool) -> str:
    kind = p.s.pick(("", " type=text/javascript", " type=module", " type=''", " language=js"))
    return f"{p.tag('script', kind + p.url_attr('src', bad))}</script>"


def _svg_wrap(p: Page, markup: str) -> str:
    return p.s.pick((markup, f"<svg>{markup}</svg>"))


def _svg_href(p: Page) -> str:
    return p.s.pick(("href", "xlink:href"))


RELS = ("preload", "modulepreload", "prefetch", "prerender", "stylesheet", "icon", "PRELOAD")
ELEMENTS: tuple[Callable[[Page, bool], str], ...] = (
    lambda p, bad: f"<img{p.url_attr('src', bad)}>",
    _script,
    lambda p, bad: f"<iframe{p.url_attr('src', bad)}></iframe>",
    lambda p, bad: f"<img{p.url_attr('srcset', bad, srcset=True)}>",
    lambda p, bad: f"<picture><source{p.url_attr('srcset', bad, srcset=True)}><img></picture>",
    lambda p, bad: f"<video><source{p.url_attr('src', bad)}></video>",
    lambda p, bad: f"<input type=image{p.url_attr('src', bad)}>",
    lambda p, bad: f"<video{p.url_attr('src', bad)}></video>",
    lambda p, bad: f"<video{p.url_attr('poster', bad)}></video>",
    lambda p, bad: f"<audio{p.url_attr('src', bad)}></audio>",
    lambda p, bad: f"<video><track{p.url_attr('src', bad)}></video>",
    lambda p, bad: f"<embed{p.url_attr('src', bad)}>",
    lambda p, bad: f"<object{p.url_attr('data', bad)}></object>",
    lambda p, bad: p.tag("link", " rel=" + p.s.pick(RELS) + p.url_attr("href", bad), void=True),
    lambda p, bad: f"<link rel=preload as=image{p.url_attr('imagesrcset', bad, srcset=True)}>",
    lambda p, bad: f"<base{p.url_attr('href', bad)}>",
    lambda p, bad: _svg_wrap(p, f"<script{p.url_attr(_svg_href(p), bad)}></script>"),
    lambda p, bad: _svg_wrap(p, f"<image{p.url_attr(_svg_href(p), bad)}/>"),
    lambda p, bad: _svg_wrap(p, f"<use{p.url_attr(_svg_href(p), bad)}/>"),
    lambda p, bad: _svg_wrap(p, f"<filter><feImage{p.url_attr(_svg_href(p), bad)}/></filter>"),
    lambda p, bad: f"<a href=/x{p.url_attr('ping', bad)}>x</a>",
    lambda p, bad: f"<map name=m><area href=/x{p.url_attr('ping', bad)}></map>",
    lambda p, bad: f"<body{p.url_attr('background', bad)}>",
    lambda p, bad: f"<table{p.url_attr('background', bad)}><tr><td>x</td></tr></table>",
    lambda p, bad: f"<table><tr><td{p.url_attr('background', bad)}>x</td></tr></table>",
    lambda p, bad: f"<table><tr><th{p.url_attr('background', bad)}>x</th></tr></table>",
    lambda p, bad: f"<image{p.url_attr('src', bad)}>",  # <img> in HTML, SVG <image> in SVG
    lambda p, bad: p.srcdoc(bad),
)

TEXT = ("text", "a < b > c", "&amp; &lt;img&gt;", " ", "\n", "<br>", "<p>para", "</p>")
INLINE_SCRIPTS = (
    "<script>init()</script>",
    "<script>gtag('js', new Date()); s.src = "
    "'https://www.googletagmanager.com/gtag/js?id=G-1';</script>",
    "<script>var t = '</scr' + 'ipt>';</script>",
    '<script type=application/ld+json>{"u": "https://www.facebook.com/tr"}</script>',
)
PROLOGUES = (
    "",
    "<!doctype html>",
    "<!DOCTYPE html><html><head><title>t</title></head><body>",
    "<html><head><meta charset=utf-8></head><body class=x>",
)
EPILOGUES = ("", "</body></html>", "<p>end</p>", "</html>")

Context = Callable[[Page, str], str]


def _fmt(template: str) -> Context:
    return lambda p, x: template.format(x=x)


SCRIPT_OPENERS = (
    "/*",
    "<!--",
    "<!--<script>",
    "<!--<script></script>",
    "<!-->",
    "<!--->",
    "'<!--<script>'",
    "<!-- <SCRIPT ",
    "document.write('<script src=x>",
)
CONTEXTS: tuple[Context, ...] = (
    _fmt("<div>{x}</div>"),
    _fmt("<p>{x}"),
    # tables: foster parenting
    _fmt("<table>{x}</table>"),
    _fmt("<table><tr>{x}</tr></table>"),
    _fmt("<table><tr><td>{x}</td></tr></table>"),
    _fmt("<table><caption>{x}</caption></table>"),
    _fmt("<table><colgroup>{x}</colgroup></table>"),
    _fmt("<table><tbody>{x}"),
    # select, and raw-text tags inside it
    _fmt("<select>{x}</select>"),
    _fmt("<select><option>{x}</option></select>"),
    _fmt("<select><optgroup label=g>{x}</select>"),
    lambda p, x: f"<select><{(r := p.raw())}>{p.s.pick(('', '<br>', 'x'))}</select>{x}</{r}>",
    _fmt("<table><tr><td><select>{x}</select></td></tr></table>"),
    _fmt("<table><select>{x}</select></table>"),
    _fmt("<select>{x}"),
    _fmt("<select><input>{x}"),
    _fmt("<select><select>{x}"),
    _fmt("<select><svg>{x}</svg></select>"),
    # template
    _fmt("<template>{x}</template>"),
    _fmt("<template>{x}"),
    _fmt("<template><table></template>{x}"),
    _fmt("<template><div></template>{x}"),
    _fmt("<div><template shadowrootmode=open>{x}</template></div>"),
    # SVG
    _fmt("<svg>{x}</svg>"),
    _fmt("<svg>{x}"),
    _fmt("<svg><g>{x}</g></svg>"),
    _fmt("<svg><foreignObject>{x}</foreignObject></svg>"),
    _fmt("<svg><desc>{x}</desc></svg>"),
    _fmt("<svg><title>{x}</title></svg>"),
    _fmt("<svg><foreignObject><img><math></foreignObject>{x}</svg>"),
    _fmt("<svg></p>{x}"),
    _fmt("<svg></br>{x}"),
    _fmt("<a href=/><svg><path/></a>{x}"),
    _fmt("<svg><font color=red>{x}"),
    _fmt("<svg><font>{x}</font></svg>"),
    lambda p, x: f"<svg><{p.raw()}>{x}</svg>",
    # MathML
    _fmt("<math>{x}</math>"),
    lambda p, x: f"<math><{(t := p.s.pick(('mi', 'mo', 'mn', 'ms', 'mtext')))}>{x}</{t}></math>",
    _fmt("<math><annotation-xml encoding=text/html>{x}</annotation-xml></math>"),
    _fmt("<math><annotation-xml encoding='Application/XHTML+xml'>{x}</annotation-xml></math>"),
    _fmt("<math><annotation-xml>{x}</annotation-xml></math>"),
    _fmt("<math><annotation-xml encoding=text/html><svg></annotation-xml>{x}"),
    lambda p, x: f"<math>{p.end(p.s.pick(('div', 'span', 'p')))}<{p.raw()}><br>{x}",
    _fmt("<math><mi><svg>{x}</svg></mi></math>"),
    _fmt("<math><mi><mglyph>{x}</mglyph></mi></math>"),
    # noscript (raw text with scripting on, markup with it off)
    _fmt("<noscript>{x}</noscript>"),
    _fmt("<noscript>{x}"),
    _fmt('<noscript><p title="</noscript>{x}">'),
    _fmt("<noscript><!-- </noscript> -->{x}</noscript>"),
    # frameset leftovers, plaintext
    _fmt("<noframes>{x}</noframes>"),
    _fmt('<noframes><p title="</noframes>{x}">'),
    _fmt("<plaintext>{x}"),
    _fmt("<svg><plaintext>{x}"),
    _fmt("<math><mi><plaintext>{x}"),
    # CDATA in and out of foreign content
    _fmt("<![CDATA[ a > {x} ]]>"),
    _fmt("<svg><![CDATA[ a > {x} ]]></svg>"),
    _fmt("<svg><foreignObject><![CDATA[ a > {x} ]]></foreignObject></svg>"),
    _fmt("<svg><foreignObject><p><![CDATA[ a > {x} ]]></foreignObject></svg>"),
    _fmt("<math><mi><![CDATA[ a > {x} ]]></mi></math>"),
    # comments and bogus comments
    _fmt("<!-- {x} -->"),
    _fmt("<!-->{x}"),
    _fmt("<!--->{x}"),
    _fmt("<!-- a --!>{x}"),
    _fmt("<!-- a -- >{x} -->"),
    _fmt("<!-- <!-- -->{x}"),
    _fmt("<? a >{x}"),
    _fmt("</ a>{x}"),
    _fmt("<!a>{x}"),
    # raw text (RAWTEXT and RCDATA) and end-tag-like text
    lambda p, x: f"<{(r := p.raw())}>{x}{p.end(r)}",
    lambda p, x: f"<{(r := p.raw())}>/* {p.end(r)} */{x}</{r}>",
    lambda p, x: f'<{(r := p.raw())}><p title="{p.end(r)}">{x}">',
    lambda p, x: f'<p title="<{p.raw()}>">{x}',
    lambda p, x: f"<!-- <{p.raw()}> -->{x}",
    lambda p, x: f"<{(r := p.raw())}><!-- {p.end(r)} -->{x}</{r}>",
    # script data escapes
    lambda p, x: f"<script>{p.s.pick(SCRIPT_OPENERS)}</script>{x}{p.s.pick(('', '</script>'))}",
    lambda p, x: f"<script>{p.s.pick(SCRIPT_OPENERS)}{x}</script>",
)


def page(source: Source) -> bytes:
    return Page(source).document().encode("utf-8")


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A page with trackers (and first-party elements) in odd contexts, as UTF-8 bytes."""
    return page(DrawSource(draw))


def random_documents(seed: int, count: int) -> list[bytes]:
    """``count`` pages from a seeded plain-random generator (the same for the same seed)."""
    return [page(RandomSource(seed * 1_000_003 + index)) for index in range(count)]


# --- tag sequences ---------------------------------------------------------------------------

#: Tags that change how a parser reads what follows, alone and in odd orders: selects (and
#: what closes them in some parsers), templates, noscript, SVG and MathML with their
#: integration points and breakouts, links that close an open SVG, raw text, plaintext, script
#: data escapes, CDATA, comments, and quotes that may or may not open an attribute value.
STATE_TAGS = (
    "<select>", "</select>", "<template>", "</template>", "<noscript>", "</noscript>",
    "<svg>", "</svg>", "<math>", "</math>", "<mtext>", "<mi>", "</mi>", "<desc>",
    "<foreignObject>", "</foreignObject>", "<annotation-xml encoding=text/html>",
    "<a href=/>", "</a>", "<table>", "</table>", "<tr>", "</tr>", "<td>", "<caption>",
    "<input>", "<keygen>", "<textarea>", "</textarea>", "<textarea/>", "<option>",
    "</option>", "<optgroup>", "<hr>", "<noframes>", "</noframes>", "<xmp>", "</xmp>",
    "<style>", "</style>", "<iframe>", "</iframe>", "<noembed>", "</noembed>", "<title>",
    "</title>", "<plaintext>", "<listing>", "<pre>", "<p>", "</p>", "<font color=red>",
    "<script>", "</script>", "<script><!--<script>", "<!--<script>", "--></script>",
    "<svg><script>", "<math><style>", "<svg><foreignObject><select>", "<a href=/><svg>",
    "<!--", "-->", "<![CDATA[", "]]>", '<p title="', '">', "<p title='", "'>",
    "<frameset>", "<image>", "<object>", "</object>", "<form>", "</form>", "<button>",
    "<select/>", "</br>", "<datalist>", "<dialog>",
)  # fmt: skip
#: Elements that fetch, each naming a tracker (``{url}``) the way the contract lists them.
SEQUENCE_TRACKERS = (
    "<img src={url}>",
    "<iframe src={url}></iframe>",
    "<script src={url}></script>",
    "<link rel=preload as=image href={url}>",
    "<video poster={url}></video>",
    "<input type=image src={url}>",
    "<embed src={url}>",
    "<picture><source srcset={url}></picture>",
)


def sequence_page(source: Source) -> bytes:
    """A flat run of `STATE_TAGS` with trackers between them, a tracker last."""
    parts = ["<!doctype html><body>"]
    for _ in range(source.number(3, 16)):
        if source.number(0, 2) == 0:
            element = source.pick(SEQUENCE_TRACKERS)
            parts.append(element.format(url=source.pick(TRACKERS)))
        parts.append(source.pick(STATE_TAGS))
    parts.append(source.pick(SEQUENCE_TRACKERS).format(url=source.pick(TRACKERS)))
    return "".join(parts).encode("utf-8")


def random_tag_sequences(seed: int, count: int) -> list[bytes]:
    """``count`` pages of `sequence_page` from a seeded plain-random generator."""
    return [sequence_page(RandomSource(seed * 1_000_003 + index)) for index in range(count)]
