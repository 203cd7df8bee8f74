"""The ``consent`` command: proof-of-consent records for privacy officers and operators.

``consent records export|show|texts|prune|stats|migrate``. The store comes from
``--url`` or the same settings the middleware reads (``CONSENT_RECORDS__URL``,
``CONSENT_CONFIG_FILE``). Exit codes: 0 done, 1 store error or nothing found,
2 usage error. Errors are one line on stderr, never a traceback.
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
from typing import IO, Any

import anyio

from consent.records.base import RecordStats, RecordStore, StoreError, open_store, redact_url
from consent.records.model import ConsentRecord, format_time

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
)
_DAYS = re.compile(r"^(\d{1,5})d$")
#: Spreadsheets run cells starting with these as formulas; visitors control the user agent.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _UsageError(Exception):
    """Bad input found after parsing (answered with exit code 2)."""


# -- argument types -----------------------------------------------------------------------


def _moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time; naive means UTC. A bare date is midnight (or the next one)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=timezone.utc)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date (2025-01-31) or date-time (2025-01-31T12:00:00Z)"
        ) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _since(text: str) -> datetime:
    return _moment(text)


def _until(text: str) -> datetime:
    return _moment(text, end_of_day=True)


def _older_than(text: str) -> datetime:
    match = _DAYS.match(text.strip())
    if match:
        days = int(match.group(1))
        if days < 1:
            raise argparse.ArgumentTypeError("use at least 1d")
        return datetime.now(timezone.utc) - timedelta(days=days)
    try:
        return _moment(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use a number of days (400d) or an ISO date (2024-01-31)"
        ) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Server-side cookie consent: proof-of-consent records."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    records = commands.add_parser("records", help="export, look up, prune and count records")
    actions = records.add_subparsers(dest="action", required=True, metavar="ACTION")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        help="store URL (sqlite:///consent.db, postgresql://...); default: the settings' "
        "records.url (CONSENT_RECORDS__URL)",
    )
    period = argparse.ArgumentParser(add_help=False)
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
        "--batch-size", type=_positive, default=1000, help="rows fetched per round trip"
    )

    show = actions.add_parser(
        "show", parents=[common], help="one visitor's history, with the texts they saw"
    )
    show.add_argument("consent_id", help="the consent id (shown on the preferences page)")
    show.add_argument("--format", choices=("text", "json"), default="text")

    texts = actions.add_parser("texts", parents=[common], help="the banner texts behind a hash")
    texts.add_argument("hash", help="SHA-256 hex from a record's texts_hash")

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
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        url = args.url or _settings_url()
        since, until = getattr(args, "since", None), getattr(args, "until", None)
        if since and until and since >= until:
            raise _UsageError("--since must be before --until")
        store = open_store(url)
    except (_UsageError, ValueError) as exc:
        _error(str(exc))
        return 2
    except StoreError as exc:
        _error(str(exc))
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


def _settings_url() -> str:
    from pydantic import ValidationError

    from consent.settings import ConsentSettings

    try:
        return ConsentSettings().records.url
    except ValidationError as exc:
        raise _UsageError(f"invalid settings: {exc}") from None


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


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
    ]


async def _export(store: RecordStore, args: argparse.Namespace) -> int:
    out: IO[str] = args.out
    writer = csv.writer(out) if args.format == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    batches = store.iter_records(args.since, args.until, batch_size=args.batch_size)
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
        print(f"  granted:    {', '.join(record.granted) or '-'}")
        print(f"  denied:     {', '.join(record.denied) or '-'}")
        print(f"  GPC:        {'yes' if record.gpc else 'no'}")
        print(f"  network:    {record.ip_prefix or '-'}")
        print(f"  user agent: {record.user_agent or '-'}")
        print(f"  record id:  {record.record_id}")
        if record.texts_hash in shown:
            print(f"  texts:      {record.texts_hash} (as above)")
            continue
        shown.add(record.texts_hash)
        version = texts[record.texts_hash]
        if version is None:
            print(f"  texts:      {record.texts_hash} (not in the store)")
            continue
        print(f"  texts:      {record.texts_hash}")
        for key, value in sorted(version.items()):
            print(f"    {key}: {value}")
    return 0


async def _texts(store: RecordStore, digest: str) -> int:
    version = await store.texts(digest.strip().lower())
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
    print()
    print(f"{'category':<14}{'granted':>10}{'decided':>10}{'rate':>9}")
    for category in stats.categories:
        rate = _percent(category.granted, category.decisions)
        print(f"{category.key:<14}{category.granted:>10}{category.decisions:>10}{rate:>9}")
    return 0
