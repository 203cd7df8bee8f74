"""Every fenced code block of README.md and docs/*.md is executed, by its language.

The blocks are parsed from the files at collection time, so a block added later is a new
test case without any edit here. Each block is one case, named after its file, the line of
its opening fence and its language (``README.md:36-python``):

- ``python``: executed in a fresh namespace holding what the README leaves to the reader
  (``routes``, ``route_handlers``; ``CONSENT_SECRET_KEY`` and ``SESSION_SECRET`` in the
  environment); an ASGI ``app`` it defines then answers one request (to ``/``, or to the
  path the block routes) without a 5xx.
- ``html``: markup for a page, served through the middleware: what it labels with an
  optional category (``data-consent``) is blocked before the choice, as written after it.
- ``toml``: parsed; an ``override = [...]`` list must pass the cookie-table generator's own
  checks, any other TOML must be valid ``ConsentSettings``.
- ``bash`` and ``sh``: every line that is not a comment is run for real, in a temporary
  directory and without the developer's CONSENT_* variables, by the runner for its command
  (`RUNNERS`): ``consent records`` against a migrated SQLite file, the cookie-table
  generator in a copy of its inputs (its outputs must be the repo's, byte for byte), the
  demo on a free ``PORT``, ``export CONSENT_...`` followed by loading the settings.
  ``pip install`` is checked, not run (it would fetch the published release, not this
  checkout). A command without a runner fails; `EXEMPT` names the few that cannot run
  here, each with its reason.
- ``sql``: executed in a fresh PostgreSQL database (the records tests' throwaway server);
  its tables, columns and indexes must be exactly those the PostgreSQL store's own
  migration creates in another fresh database.
- A recipe (the block between ``<!-- recipe:NAME -->`` and ``<!-- /recipe -->``, whatever
  its language: ``jinja`` and ``django`` blocks are recipes) is the code the integration
  apps and template tests run (`tests.integration.recipes`); here it must be used by one.

Not code, skipped by rule and not collected: a block without a language (the diagram in
"How it is built") and a ``text`` block. Any other language fails with "no executor for
LANG", so a new kind of block cannot slip in unexecuted.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentMiddleware, ConsentSettings
from consent.assets import banner_sources
from tests._html import is_blocked, parse
from tests.integration.recipes import recipes
from tests.records import conftest as records_fixtures
from tests.support import chromium_path, decide, make_settings, serve_in_thread

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Languages that are not code (a block without a language is a diagram).
NOT_CODE = {"", "text"}
#: The PostgreSQL server of the records tests (`tests/records/conftest.py`): a throwaway one
#: started for the session, skipped locally without PostgreSQL, a failure under CI=true.
postgres_server = records_fixtures.postgres_server
postgres_url = records_fixtures.postgres_url


# -- the blocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One documented shell command: its line, its text, its words (comment dropped)."""

    line: int
    text: str
    argv: list[str]


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    file: str  # relative to the repository: README.md, docs/records.md
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    recipe: str | None  # NAME of a preceding <!-- recipe:NAME --> marker

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}-{self.lang}"

    def commands(self) -> list[Command]:
        """Shell commands (continuations joined) that are not comments."""
        found: list[Command] = []
        pending, start = "", 0
        for number, text in enumerate(self.code.splitlines(), self.line + 1):
            stripped = text.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            pending, start = (pending + " " + stripped, start) if pending else (stripped, number)
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            found.append(Command(start, pending, shlex.split(pending, comments=True)))
            pending = ""
        assert not pending, f"{self.id}: the last command ends in a continuation"
        return found


_FENCE = re.compile(r"(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)[^`]*")
_RECIPE = re.compile(r"<!-- recipe:(?P<name>[a-z0-9-]+) -->")


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order; an unclosed fence is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.fullmatch(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*")
        end = next((j for j in range(index + 1, len(lines)) if closing.fullmatch(lines[j])), None)
        if end is None:
            raise ValueError(f"{path.name}:{index + 1}: code block is never closed")
        body = [
            text[indent:] if text[:indent].isspace() else text for text in lines[index + 1 : end]
        ]
        before = [text for text in lines[:index] if text.strip()]
        marker = _RECIPE.fullmatch(before[-1].strip()) if before else None
        blocks.append(
            Block(
                file=path.relative_to(ROOT).as_posix(),
                line=index + 1,
                lang=opening["lang"].lower(),
                code="".join(f"{text}\n" for text in body),
                recipe=marker["name"] if marker else None,
            )
        )
        index = end + 1
    return blocks


ALL_BLOCKS = [block for path in DOCS for block in parse_blocks(path)]
BLOCKS = [block for block in ALL_BLOCKS if block.lang not in NOT_CODE]


# -- python ----------------------------------------------------------------------------------

#: What the README leaves to the reader ("`routes` and `route_handlers` stand for your own").
READER_NAMES: dict[str, Any] = {"routes": [], "route_handlers": []}
READER_ENV = {
    "CONSENT_SECRET_KEY": "doc-blocks-secret-key-0123456789",
    "SESSION_SECRET": "doc-blocks-session-secret-0123456789",
}
_ROUTE = re.compile(r"""@\w+\.(?:get|route|api_route)\(\s*["'](?P<path>/[^"']*)["']""")


def run_python(block: Block, request: pytest.FixtureRequest) -> None:
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for name, value in READER_ENV.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "doc_block", **READER_NAMES}
    # Leading newlines: a traceback names the block's own line in the Markdown file.
    exec(compile("\n" * block.line + block.code, block.file, "exec"), namespace)
    app = namespace.get("app")
    if app is None:
        return
    assert callable(app), f"{block.id}: `app` is not an ASGI callable"
    paths = _ROUTE.findall(block.code)
    path = "/" if not paths or "/" in paths else paths[0]
    with TestClient(app) as client:
        response = client.get(path)
    assert response.status_code < 500, f"{block.id}: GET {path} -> {response.status_code}"


# -- html ------------------------------------------------------------------------------------


def labelled(page: bytes) -> list[ET.Element]:
    """Elements that name an optional category in ``data-consent``."""
    required = {category.key for category in make_settings().categories if category.required}
    return [e for e in parse(page).iter() if e.get("data-consent") not in (None, *required)]


def run_html(block: Block, request: pytest.FixtureRequest) -> None:
    """Markup for a page: through the middleware, what it labels with an optional category is
    blocked before the visitor's choice and served as written after *Accept all*."""
    page = f"<!doctype html><html><head></head><body>\n{block.code}</body></html>".encode()

    async def home(_: Request) -> Response:
        return Response(page, media_type="text/html")

    client = request.getfixturevalue("client_for")(Starlette(routes=[Route("/", home)]))
    written = labelled(page)
    before = client.get("/")
    assert before.status_code == 200, f"{block.id}: {before.status_code}"
    tags = {element.tag for element in written}
    blocked = [element for element in labelled(before.content) if element.tag in tags]
    assert len(blocked) == len(written), f"{block.id}: {before.text}"
    assert all(is_blocked(element) for element in blocked), f"{block.id}: {before.text}"
    assert decide(client, "accept_all").status_code == 200
    after = client.get("/")
    served = [(e.tag, e.attrib) for e in labelled(after.content) if e.tag in tags]
    assert served == [(e.tag, e.attrib) for e in written], f"{block.id}: {after.text}"


# -- toml ------------------------------------------------------------------------------------


@cache
def cookie_table_generator() -> ModuleType:
    path = ROOT / "scripts" / "generate_cookie_table.py"
    spec = importlib.util.spec_from_file_location("generate_cookie_table", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def run_toml(block: Block, request: pytest.FixtureRequest) -> None:
    try:
        data = tomllib.loads(block.code)
    except tomllib.TOMLDecodeError as error:
        pytest.fail(f"{block.id}: not valid TOML: {error}", pytrace=False)
    if "override" in data:  # an excerpt of scripts/cookie_overrides.toml
        path = request.getfixturevalue("tmp_path") / "cookie_overrides.toml"
        path.write_text(block.code, encoding="utf-8")
        try:
            entries = cookie_table_generator().load_overrides(path)
        except SystemExit as error:  # the generator's OverrideError: what a run would print
            pytest.fail(f"{block.id}: {error}", pytrace=False)
        assert entries, f"{block.id}: no entry"
    else:  # settings, as a CONSENT_CONFIG_FILE holds them
        ConsentSettings(**{**data, "secret_key": READER_ENV["CONSENT_SECRET_KEY"]})


# -- bash and sh -----------------------------------------------------------------------------

#: Commands that cannot run inside the test suite: (file, command) -> why.
EXEMPT = {
    ("README.md", "bash scripts/test.sh"): (
        "this is the command CI runs; tests/test_docs.py checks .ci/run calls it"
    ),
}
#: The venv's scripts (``consent``, ``python3``) come first on PATH, as in an activated venv.
VENV_BIN = Path(sys.executable).parent


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the developer's CONSENT_* settings, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONSENT_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def bash(script: str, workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )


def consent_records(block: Block, command: Command, workdir: Path) -> None:
    """A records command against a migrated, empty SQLite store: 0 or 1 (nothing found),
    never 2 (a usage error: the documented syntax is wrong)."""
    assert (VENV_BIN / "consent").exists(), f"no consent script next to {sys.executable}"
    env = clean_env(CONSENT_RECORDS__URL=f"sqlite:///{workdir}/records.db")
    migrated = bash("consent records migrate", workdir, env)
    assert migrated.returncode == 0, f"{block.id}: migrate failed: {migrated.stderr}"
    done = bash(command.text, workdir, env)
    where = f"{block.file}:{command.line}: `{command.text}` exited {done.returncode}: {done.stderr}"
    assert done.returncode != 2, f"usage error: {where}"
    assert done.returncode in (0, 1), where
    assert "Traceback" not in done.stderr, where
    if done.returncode == 1:  # the CLI's own one-line error, not bash's
        assert done.stderr.startswith("consent: error:"), where


def export_setting(block: Block, command: Command, workdir: Path) -> None:
    """``export CONSENT_...=...`` as documented: the middleware's settings accept the value."""
    names = [word.split("=", 1)[0] for word in command.argv[1:]]
    assert names, f"{block.file}:{command.line}: nothing exported"
    assert all(name.startswith("CONSENT_") for name in names), f"not a setting: {names}"
    check = "; ".join(
        [
            "import os, consent",
            f"assert all(os.environ.get(n) for n in {names!r}), 'empty'",
            "consent.ConsentSettings()",
        ]
    )
    done = bash(f"{command.text}\nexec python3 -c {shlex.quote(check)}", workdir, clean_env())
    assert done.returncode == 0, f"{block.file}:{command.line}: {done.stderr}"


@cache
def project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["project"])


def pip_install(block: Block, command: Command, workdir: Path) -> None:
    """Checked, not run (it would fetch the published release, not this checkout): every
    requirement names this project and extras it has."""
    from packaging.requirements import Requirement

    requirements = [Requirement(word) for word in command.argv[2:] if not word.startswith("-")]
    assert requirements, f"{block.file}:{command.line}: nothing to install"
    for requirement in requirements:
        assert requirement.name == project()["name"], requirement
        assert requirement.extras <= set(project()["optional-dependencies"]), requirement


def generate_cookie_table(block: Block, command: Command, workdir: Path) -> None:
    """The generator in a copy of what it reads and writes: its outputs must be the repo's."""
    generator = cookie_table_generator()
    repo = workdir / "repo"
    for directory in ("scripts", "src/consent/data"):
        shutil.copytree(ROOT / directory, repo / directory)
    for path in (generator.DEFAULT_SOURCE, generator.DEFAULT_DOCS):
        target = repo / path.relative_to(generator.REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    argv = [sys.executable, *command.argv[1:]]  # for .venv/bin/python
    done = subprocess.run(argv, cwd=repo, env=clean_env(), capture_output=True, timeout=300)
    assert done.returncode == 0, f"{block.file}:{command.line}: {done.stderr!r}"
    for path in (generator.DEFAULT_OUTPUT, generator.DEFAULT_DOCS):
        relative = path.relative_to(generator.REPO_ROOT)
        assert (repo / relative).read_bytes() == path.read_bytes(), (
            f"{block.file}:{command.line}: `{command.text}` does not reproduce {relative}"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo(block: Block, command: Command, workdir: Path) -> None:
    """The demo site on a free port: within 60 s, `/` answers 200 with the banner."""
    port = free_port()
    log = workdir / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command.argv,
            cwd=ROOT,
            env=clean_env(PORT=str(port)),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: uvicorn goes with it
        )
    try:
        deadline, response = time.monotonic() + 60, None
        while response is None and time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.5)
        detail = log.read_text(errors="replace")[-3000:]
        assert response is not None, f"{block.id}: no answer on port {port} in 60 s\n{detail}"
        assert response.status_code == 200, f"{block.id}: {response.status_code}\n{detail}"
        assert 'id="consent-banner"' in response.text, f"{block.id}: no banner"
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


#: Where the README's examples point: replaced by a live demo on a free port.
EXAMPLE_SITE = "https://www.example.com"
REPORT_TOKEN = "doc-blocks-report-token-0123456789"


def consent_report(block: Block, command: Command, workdir: Path) -> None:
    """``consent report`` against the demo in listen-only mode, after a page was served."""
    from examples.newsroom import create_app

    settings = make_settings(records={"enabled": False}, mode="listen", report_token=REPORT_TOKEN)
    with serve_in_thread(create_app(settings)) as base:
        assert httpx.get(base + "/").status_code == 200
        text = command.text.replace(EXAMPLE_SITE, base)
        done = bash(text, workdir, clean_env(CONSENT_REPORT_TOKEN=REPORT_TOKEN))
    assert done.returncode == 0, f"{block.file}:{command.line}: {done.stderr}"
    assert "/" in done.stdout, done.stdout


def consent_audit(block: Block, command: Command, workdir: Path) -> None:
    """``consent audit`` on the demo, two pages, nothing leaving the machine: clean, and the
    reports where the command says."""
    from examples.newsroom import create_app

    if chromium_path() is None:
        message = "Chromium not found (install Debian's chromium or set CHROMIUM_PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with serve_in_thread(create_app(make_settings(records={"enabled": False}))) as base:
        text = command.text.replace(EXAMPLE_SITE, base) + " --max-pages 2 --offline"
        done = bash(text, workdir, clean_env())
    assert done.returncode == 0, f"{block.file}:{command.line}: {done.stdout}{done.stderr}"
    written = {path.name for path in workdir.iterdir()}
    for word in command.argv:
        if word.endswith((".html", ".json")):
            assert word in written, f"{block.file}:{command.line}: no {word}"


Runner = Callable[[Block, Command, Path], None]
#: A documented command's first words -> how to run it safely.
RUNNERS: dict[tuple[str, ...], Runner] = {
    ("consent", "records"): consent_records,
    ("consent", "report"): consent_report,
    ("consent", "audit"): consent_audit,
    ("export",): export_setting,
    ("pip", "install"): pip_install,
    (".venv/bin/python", "scripts/generate_cookie_table.py"): generate_cookie_table,
    ("bash", "scripts/demo.sh"): demo,
}
#: A placeholder such as <consent-id>: bash reads it as a redirection from a file.
_PLACEHOLDER = re.compile(r"<[\w-]+>")


def run_shell(block: Block, request: pytest.FixtureRequest) -> None:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    for command in block.commands():
        if (block.file, " ".join(command.argv)) in EXEMPT:
            continue
        where = f"{block.file}:{command.line}: `{command.text}`"
        assert not any(map(_PLACEHOLDER.search, command.argv)), f"{where}: a placeholder"
        runner = next(
            (run for words, run in RUNNERS.items() if tuple(command.argv[: len(words)]) == words),
            None,
        )
        assert runner is not None, f"{where}: no runner for this command"
        workdir = tmp_path / f"line-{command.line}"
        workdir.mkdir()
        runner(block, command, workdir)


# -- sql -------------------------------------------------------------------------------------

_COLUMNS = """
    SELECT table_name, ordinal_position, column_name, data_type, udt_name, is_nullable,
        column_default, is_identity, identity_generation
    FROM information_schema.columns WHERE table_schema = 'public'
    ORDER BY table_name, ordinal_position"""
_INDEXES = """
    SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
    ORDER BY tablename, indexname"""


async def schema_of(url: str) -> list[tuple[Any, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = [*await conn.fetch(_COLUMNS), *await conn.fetch(_INDEXES)]
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


async def compare_with_store(url: str, sql: str) -> tuple[list[Any], list[Any]]:
    """(the documented schema, the store's) in two fresh databases of ``url``'s server."""
    import asyncpg

    from consent.records.base import open_store

    names = [f"consent_doc_{uuid.uuid4().hex[:12]}_{kind}" for kind in ("doc", "store")]
    urls = [urlsplit(url)._replace(path=f"/{name}").geturl() for name in names]
    admin = await asyncpg.connect(url, timeout=10)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            conn = await asyncpg.connect(urls[0], timeout=10)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()
            async with open_store(urls[1]) as store:
                await store.schema_version()  # opening migrates
            return await schema_of(urls[0]), await schema_of(urls[1])
        finally:
            for name in names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


def run_sql(block: Block, request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue("postgres_url")
    documented, migrated = asyncio.run(compare_with_store(url, block.code))
    only_doc = [row for row in documented if row not in migrated]
    only_store = [row for row in migrated if row not in documented]
    assert documented == migrated, (
        f"{block.id} differs from the store's migration: documented only {only_doc}; "
        f"migration only {only_store}"
    )


# -- recipes and the table of executors ------------------------------------------------------


def check_recipe(block: Block) -> None:
    """The block is the recipe the integration tests extract, and some test runs it (the
    apps in tests/integration; the template recipes are rendered by test_integrations.py)."""
    assert block.recipe is not None
    assert recipes().get(block.recipe) == block.code, f"{block.id}: extracted differently"
    here = Path(__file__).resolve()
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "tests").rglob("*.py")
        if path.resolve() != here
    )
    used = rf"""\b(?:run_recipe|recipe)\(\s*["']{re.escape(block.recipe)}["']"""
    assert re.search(used, sources), f"{block.id}: no test runs recipe {block.recipe!r}"


# -- css and js (the banner's theming recipes) -------------------------------------------------

_CUSTOM_PROPERTY = re.compile(r"(--[a-z0-9-]+)\s*:")


def run_css(block: Block, request: pytest.FixtureRequest) -> None:
    """A theming recipe: every custom property it sets is one the shipped banner.css reads
    (a renamed property would make the recipe silently do nothing)."""
    assert block.code.count("{") == block.code.count("}"), f"{block.id}: unbalanced braces"
    names = _CUSTOM_PROPERTY.findall(block.code)
    assert names, f"{block.id}: sets no custom property"
    shipped = (banner_sources() / "banner.css").read_text("utf-8")
    unread = [name for name in names if f"var({name}" not in shipped]
    assert not unread, f"{block.id}: banner.css never reads {unread}"


def run_js(block: Block, request: pytest.FixtureRequest) -> None:
    """A page-script recipe, run in Chromium on a page with the banner: the dark-mode
    switch must give the banner the dark colours, and the light one the light colours."""
    from playwright.sync_api import sync_playwright

    chromium = request.getfixturevalue("chromium")

    async def home(_: Request) -> Response:
        return Response(
            "<!doctype html><html><head></head><body><p>hi</p></body></html>",
            media_type="text/html",
        )

    app = ConsentMiddleware(Starlette(routes=[Route("/", home)]), make_settings())
    background = "getComputedStyle(document.getElementById('consent-banner')).backgroundColor"
    colours = {}
    with serve_in_thread(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page(color_scheme="light")
            page.goto(base + "/")
            for dark in (True, False):
                page.evaluate(f"(isDark) => {{ {block.code} }}", dark)
                colours[dark] = page.evaluate(background)
        finally:
            browser.close()
    assert colours[True] != colours[False], f"{block.id}: the switch changed nothing"
    assert colours[True] == "rgb(29, 30, 34)", f"{block.id}: not the dark banner"


EXECUTORS: dict[str, Callable[[Block, pytest.FixtureRequest], None]] = {
    "python": run_python,
    "toml": run_toml,
    "html": run_html,
    "bash": run_shell,
    "sh": run_shell,
    "sql": run_sql,
    "css": run_css,
    "js": run_js,
}
MARKS = {"sql": [pytest.mark.postgres]}


@pytest.mark.parametrize(
    "block",
    [pytest.param(block, id=block.id, marks=MARKS.get(block.lang, [])) for block in BLOCKS],
)
def test_block_runs(block: Block, request: pytest.FixtureRequest) -> None:
    if block.recipe is not None:
        check_recipe(block)
        return
    executor = EXECUTORS.get(block.lang)
    if executor is None:
        pytest.fail(f"{block.id}: no executor for {block.lang}")
    executor(block, request)


def test_blocks_are_found() -> None:
    """The parser sees the README's blocks (a broken parser must not pass by finding none)."""
    langs = {block.lang for block in ALL_BLOCKS if block.file == "README.md"}
    assert {"python", "toml", "bash"} <= langs
    assert {block.recipe for block in BLOCKS if block.recipe} == set(recipes())


def test_exemptions_name_documented_commands() -> None:
    documented = {
        (block.file, " ".join(command.argv))
        for block in BLOCKS
        if block.lang in ("bash", "sh")
        for command in block.commands()
    }
    assert set(EXEMPT) <= documented, sorted(set(EXEMPT) - documented)
