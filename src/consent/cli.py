"""The ``consent`` command: records for privacy officers, explanations for operators.

``consent records export|show|texts|prune|stats|migrate``: the store comes from
``--url`` or the same settings the middleware reads (``CONSENT_RECORDS__URL``,
``CONSENT_CONFIG_FILE``). ``consent explain PAGE``: what each script, iframe, image and
cookie of a page (an HTML file, or a path of ``--app``) is classified as, and why.
Exit codes: 0 done, 1 store or app error or nothing found, 2 usage error. Errors are
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import IO, TYPE_CHECKING, Any, NoReturn

import anyio

from consent.audit.command import add_audit_command, run_audit_command
from consent.listening.cli import add_report_command
from consent.records.base import RecordStats, RecordStore, StoreError, open_store, redact_url
from consent.records.locations import sqlite_path
from consent.records.model import EARLIEST, LATEST, ConsentRecord, format_time

if TYPE_CHECKING:
    from consent.settings import ConsentSettings

__all__ = ["main"]

PROG = "consent"
CSV_COLUMNS = (
    "record_id",
    "recorded_at",
    "consent_id",
    "revision",
    "method",
    "granted",
    "denied",
    "locale",
    "texts_hash",
    "path",
    "user_agent",
    "ip_prefix",
    "gpc",
    "services",
    "jurisdiction",
    "policy",
    "variant",
)
_DAYS = re.compile(r"([+-]?\d+)d")
#: ISO 3166-1 country, optionally an ISO 3166-2 subdivision (ASCII only: ``str.upper`` would
#: turn ``ß`` into ``SS``).
_JURISDICTION = re.compile(r"[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?")
_POLICY = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Dates the stores can search: records are never made outside this window.
_RANGE = "use a date from 1970-01-01 to 9999-12-30"
_MAX_BATCH_SIZE = 100_000
#: Spreadsheets run cells starting with these as formulas; visitors control the user agent.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _UsageError(Exception):
    """Bad input found after parsing (answered with exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with the module's promise: a usage error is one line on stderr."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


# -- argument types -----------------------------------------------------------------------


def _moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time in UTC; naive means UTC. A bare date is midnight (or the next).

    Dates at the edges of what `datetime` holds overflow when shifted (the end of
    9999-12-31, an offset on 0001-01-01): that is a usage error, not a traceback.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=timezone.utc)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: {_RANGE}") from None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date (2025-01-31) or date-time (2025-01-31T12:00:00Z)"
        ) from None


def _since(text: str) -> datetime:
    moment = _moment(text)
    if not EARLIEST <= moment < LATEST:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: {_RANGE}")
    return moment


def _until(text: str) -> datetime:
    moment = _moment(text, end_of_day=True)
    if not EARLIEST < moment <= LATEST:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: {_RANGE}")
    return moment


def _older_than(text: str) -> datetime:
    """A cut-off between 1970 and now: a later one would delete records made today."""
    now = datetime.now(timezone.utc)
    match = _DAYS.fullmatch(text.strip())
    if match:
        digits = match.group(1)
        days = int(digits) if len(digits) <= 9 else 10**9  # int() of a huge string is slow
        if days < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: use at least 1d")
        if days > (now - EARLIEST).days:
            raise argparse.ArgumentTypeError(
                f"{text!r} reaches back before 1970-01-01, where no record can be"
            )
        return now - timedelta(days=days)
    try:
        moment = _moment(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use a number of days (400d) or an ISO date (2024-01-31)"
        ) from None
    if moment < EARLIEST:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: {_RANGE}")
    if moment > now:
        raise argparse.ArgumentTypeError(f"{text!r} is in the future: that deletes every record")
    return moment


def _batch_size(text: str) -> int:
    """Rows per round trip, bounded: a huge number would only fail inside the driver."""
    if (
        not (text.isascii() and text.isdigit() and len(text) <= 6)
        or not 1 <= int(text) <= _MAX_BATCH_SIZE
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use a whole number from 1 to {_MAX_BATCH_SIZE}"
        )
    return int(text)


def _consent_id(text: str) -> str:
    """Printable text only: an undecodable argument (a lone surrogate) could reach no store."""
    if not text or not text.isprintable() or len(text) > 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a consent id")
    return text


def _digest(text: str) -> str:
    digest = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SHA-256 hash (64 hex digits)")
    return digest


def _jurisdiction(text: str) -> str:
    if not _JURISDICTION.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a jurisdiction code: a country (US) or a country and its region "
            "(US-CA)"
        )
    return text.upper()


def _policy(text: str) -> str:
    if not _POLICY.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a policy name: 1 to 64 letters, digits, '-' or '_' (opt_in)"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Server-side cookie consent: records and explanations.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    explain = commands.add_parser(
        "explain", help="what each script, iframe, image and cookie of a page is, and why"
    )
    explain.add_argument(
        "page", help="an HTML file, or a URL path of the app given with --app (/pricing)"
    )
    explain.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="the ASGI app to ask for PAGE (as for uvicorn: myproject.asgi:application)",
    )
    explain.add_argument(
        "--cookie",
        action="append",
        default=[],
        metavar="NAME",
        help="also classify this cookie name (cookies set by scripts); may be repeated",
    )
    explain.add_argument("--format", choices=("text", "json"), default="text")
    add_report_command(commands)  # consent report: see `consent.listening.cli`
    add_audit_command(commands)  # consent audit: see `consent.audit.command`
    records = commands.add_parser("records", help="export, look up, prune and count records")
    actions = records.add_subparsers(dest="action", required=True, metavar="ACTION")

    common = _Parser(add_help=False)
    common.add_argument(
        "--url",
        help="store URL (sqlite:////var/lib/consent/records.db, postgresql://...); default: "
        "the settings' records.url (CONSENT_RECORDS__URL), else the per-user data directory",
    )
    period = _Parser(add_help=False)
    period.add_argument(
        "--since", type=_since, help="first day or moment included (ISO, UTC when no offset)"
    )
    period.add_argument(
        "--until", type=_until, help="last day included, or the moment the period ends (ISO)"
    )

    export = actions.add_parser(
        "export", parents=[common, period], help="stream records as CSV or JSON Lines"
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument(
        "--batch-size", type=_batch_size, default=1000, help="rows fetched per round trip"
    )
    export.add_argument(
        "--jurisdiction",
        type=_jurisdiction,
        action="append",
        default=[],
        metavar="CODE",
        help="only records made there (US also matches US-CA; any case); may be repeated",
    )
    export.add_argument(
        "--policy",
        type=_policy,
        action="append",
        default=[],
        metavar="NAME",
        help="only records made under this policy (opt_in, us, ...); may be repeated",
    )

    show = actions.add_parser(
        "show", parents=[common], help="one visitor's history, with the texts they saw"
    )
    show.add_argument(
        "consent_id", type=_consent_id, help="the consent id (shown on the preferences page)"
    )
    show.add_argument("--format", choices=("text", "json"), default="text")

    texts = actions.add_parser("texts", parents=[common], help="the banner texts behind a hash")
    texts.add_argument("hash", type=_digest, help="SHA-256 hex from a record's texts_hash")

    prune = actions.add_parser(
        "prune", parents=[common], help="delete records older than the retention period"
    )
    prune.add_argument(
        "--older-than",
        type=_older_than,
        required=True,
        metavar="AGE",
        help="a number of days (400d) or an ISO date: records made before it are deleted",
    )
    prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    stats = actions.add_parser(
        "stats", parents=[common, period], help="acceptance rates per category and method"
    )
    stats.add_argument("--format", choices=("text", "json"), default="text")

    actions.add_parser(
        "migrate", parents=[common], help="create or upgrade the schema, print its version"
    )
    return parser


# -- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as exc:  # a bug: still one line, as promised, naming what went wrong
        _error(f"unexpected {type(exc).__name__}: {exc}")
        return 1


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "explain":
        return _explain(args)
    if args.command == "report":
        return int(args.run(args))
    if args.command == "audit":
        return run_audit_command(args)
    try:
        url, default_location = (args.url, False) if args.url else _settings_url()
        since, until = getattr(args, "since", None), getattr(args, "until", None)
        if since and until and since >= until:
            raise _UsageError("--since must be before --until")
        migrate = args.action == "migrate"
        store = open_store(url, make_directory=default_location and migrate)
    except (_UsageError, ValueError) as exc:
        _error(str(exc))
        return 2
    except StoreError as exc:
        _error(str(exc))
        return 1
    path = sqlite_path(url)
    if path and path != ":memory:" and not migrate and not os.path.exists(path):
        # Opening would create an empty database and report nothing in it, as if there
        # were no decisions: only `migrate` makes a new one.
        _error(f"no records database at {path}; pass --url or set CONSENT_RECORDS__URL")
        return 1
    try:
        with contextlib.ExitStack() as stack:
            if getattr(args, "output", None):
                args.out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
            else:
                args.out = sys.stdout
            return anyio.run(partial(_run, args, store))
    except StoreError as exc:
        _error(f"records store: {exc}")
        return 1
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        _error(f"{exc.strerror or exc}: {exc.filename or redact_url(url)}")
        return 1


def _explain(args: argparse.Namespace) -> int:
    from pathlib import Path

    from consent import explain

    try:
        if args.app:
            if not args.page.startswith("/"):
                raise _UsageError(f"with --app, PAGE is a URL path such as /, not {args.page!r}")
            app = explain.load_app(args.app)
            page = explain.fetch_from_app(app, args.page)
            settings = explain.find_settings(app) or _settings()
        else:
            path = Path(args.page)
            if not path.is_file():
                raise _UsageError(f"{args.page}: no such file (for a path of an app, add --app)")
            page = explain.read_file(path)
            settings = _settings()
    except (_UsageError, ValueError, ImportError, AttributeError) as exc:
        _error(str(exc))
        return 2
    except OSError as exc:
        _error(f"{exc.strerror or exc}: {exc.filename or args.page}")
        return 1
    findings = explain.explain_page(settings, page, args.cookie)
    print(explain.render(findings, page, settings, args.format))
    return 0


def _settings() -> ConsentSettings:
    """The settings the middleware would read (environment, ``CONSENT_CONFIG_FILE``)."""
    from pydantic import ValidationError

    from consent.settings import ConsentSettings
    from consent.settings_loading import startup_notices

    try:
        with startup_notices(False):  # notices about the site, not about this command
            return ConsentSettings()
    except ValidationError as exc:
        # One line, field by field (pydantic's own text spreads each error over lines).
        problems = "; ".join(
            ": ".join(
                part for part in (".".join(str(p) for p in error["loc"]), error["msg"]) if part
            )
            for error in exc.errors()
        )
        # The title names the TOML file when its values are at fault.
        source = exc.title.removeprefix(ConsentSettings.__name__).strip()
        raise _UsageError(f"invalid settings: {problems}{' ' if source else ''}{source}") from None


def _settings_url() -> tuple[str, bool]:
    """The store URL the middleware would use, and whether it is the default location."""
    records = _settings().records
    return records.store_url, records.default_location


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


async def _run(args: argparse.Namespace, store: RecordStore) -> int:
    async with store:
        if args.action == "export":
            return await _export(store, args)
        if args.action == "show":
            return await _show(store, args.consent_id, args.format)
        if args.action == "texts":
            return await _texts(store, args.hash)
        if args.action == "prune":
            return await _prune(store, args.older_than, dry_run=args.dry_run)
        if args.action == "stats":
            return await _stats(store, args)
        print(f"{store.display_url}: schema version {await store.schema_version()}")
        return 0


# -- export -------------------------------------------------------------------------------


def _csv_safe(value: str | None) -> str:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value or ""


def _csv_row(record: ConsentRecord) -> list[Any]:
    return [
        record.record_id,
        format_time(record.recorded_at),
        record.consent_id,
        record.revision,
        record.method,
        " ".join(record.granted),
        " ".join(record.denied),
        record.locale,
        record.texts_hash,
        record.path,
        _csv_safe(record.user_agent),
        record.ip_prefix or "",
        "true" if record.gpc else "false",
        " ".join(record.services),
        _csv_safe(record.jurisdiction),
        _csv_safe(record.policy),
        _csv_safe(record.variant),
    ]


async def _export(store: RecordStore, args: argparse.Namespace) -> int:
    out: IO[str] = args.out
    writer = csv.writer(out) if args.format == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    batches = store.iter_records(
        args.since,
        args.until,
        batch_size=args.batch_size,
        jurisdictions=args.jurisdiction,
        policies=args.policy,
    )
    async with contextlib.aclosing(batches):
        async for batch in batches:
            # One batch in memory at a time, written out before the next is fetched.
            if writer is not None:
                writer.writerows(_csv_row(record) for record in batch)
            else:
                out.writelines(
                    json.dumps(record.to_dict(), ensure_ascii=False) + "\n" for record in batch
                )
            out.flush()
    return 0


# -- show / texts -------------------------------------------------------------------------


async def _show(store: RecordStore, consent_id: str, output: str) -> int:
    history = await store.history(consent_id)
    if not history:
        _error(f"no records for consent id {consent_id!r}")
        return 1
    texts: dict[str, dict[str, str] | None] = {}
    for record in history:
        if record.texts_hash not in texts:
            texts[record.texts_hash] = await store.texts(record.texts_hash)
    if output == "json":
        document = {
            "consent_id": consent_id,
            "records": [record.to_dict() for record in history],
            "texts": texts,
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"consent id {consent_id}: {len(history)} decision(s)")
    shown: set[str] = set()
    for record in history:
        print()
        print(
            f"{format_time(record.recorded_at)}  {record.method}  revision {record.revision}"
            f"  locale {record.locale}  page {record.path}"
        )
        print(f"  granted:      {', '.join(record.granted) or '-'}")
        print(f"  denied:       {', '.join(record.denied) or '-'}")
        print(f"  services:     {', '.join(record.services) or '-'}")
        print(f"  jurisdiction: {record.jurisdiction or '-'}")
        print(f"  policy:       {record.policy or '-'}")
        print(f"  variant:      {record.variant or '-'}")
        print(f"  GPC:          {'yes' if record.gpc else 'no'}")
        print(f"  network:      {record.ip_prefix or '-'}")
        print(f"  user agent:   {record.user_agent or '-'}")
        print(f"  record id:    {record.record_id}")
        if record.texts_hash in shown:
            print(f"  texts:        {record.texts_hash} (as above)")
            continue
        shown.add(record.texts_hash)
        version = texts[record.texts_hash]
        if version is None:
            print(f"  texts:        {record.texts_hash} (not in the store)")
            continue
        print(f"  texts:        {record.texts_hash}")
        for key, value in sorted(version.items()):
            print(f"    {key}: {value}")
    return 0


async def _texts(store: RecordStore, digest: str) -> int:
    version = await store.texts(digest)
    if version is None:
        _error(f"no texts stored under {digest!r}")
        return 1
    print(json.dumps(version, ensure_ascii=False, indent=2, sort_keys=True))
    return 0


# -- prune / stats ------------------------------------------------------------------------


async def _prune(store: RecordStore, before: datetime, *, dry_run: bool) -> int:
    if dry_run:
        count = await store.count(None, before)
        print(f"would delete {count} record(s) made before {format_time(before)}")
    else:
        count = await store.prune(before)
        print(f"deleted {count} record(s) made before {format_time(before)}")
    return 0


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _period(stats: RecordStats) -> str:
    since = format_time(stats.since) if stats.since else "the first record"
    until = format_time(stats.until) if stats.until else "now"
    return f"{since} .. {until}"


async def _stats(store: RecordStore, args: argparse.Namespace) -> int:
    stats = await store.stats(args.since, args.until)
    if args.format == "json":
        document = {
            "since": format_time(stats.since) if stats.since else None,
            "until": format_time(stats.until) if stats.until else None,
            "decisions": stats.decisions,
            "methods": stats.methods,
            "policies": stats.policies,
            "categories": [
                {
                    "key": c.key,
                    "granted": c.granted,
                    "denied": c.denied,
                    "decisions": c.decisions,
                    "rate": c.rate,
                }
                for c in stats.categories
            ],
        }
        print(json.dumps(document, indent=2))
        return 0
    print(f"decisions {_period(stats)}: {stats.decisions}")
    if not stats.decisions:
        return 0
    print()
    print(f"{'method':<14}{'count':>10}{'share':>9}")
    for method, count in stats.methods.items():
        print(f"{method:<14}{count:>10}{_percent(count, stats.decisions):>9}")
    if any(stats.policies):  # no table when every decision predates recorded policies
        names = {name: name or "(unknown)" for name in stats.policies}
        width = max(14, *(len(label) + 2 for label in names.values()))
        print()
        print(f"{'policy':<{width}}{'count':>10}{'share':>9}")
        for name, count in stats.policies.items():
            print(f"{names[name]:<{width}}{count:>10}{_percent(count, stats.decisions):>9}")
    print()
    print(f"{'category':<14}{'granted':>10}{'decided':>10}{'rate':>9}")
    for category in stats.categories:
        rate = _percent(category.granted, category.decisions)
        print(f"{category.key:<14}{category.granted:>10}{category.decisions:>10}{rate:>9}")
    return 0
