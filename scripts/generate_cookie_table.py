#!/usr/bin/env python3
"""Build ``src/consent/data/cookies.json`` from the Open Cookie Database CSV.

The built-in table lets the middleware classify well-known cookie names without
configuration. Its keys are purposes, and a purpose decides what happens to a
cookie: ``necessary`` is always allowed, the optional purposes are deleted or
blocked until the visitor consents. So the table has two ways to be wrong:

* a tracker filed as ``necessary`` is never dropped (a privacy failure);
* a host's own session, CSRF or cart cookie filed as optional breaks the host
  for every visitor who declines.

Mapping. Each upstream row (platform, category, cookie name, wildcard flag)
gets a purpose from its upstream category:

    Necessary, Security         -> necessary
    Functional, Personalization -> preferences
    Analytics                   -> analytics
    Marketing                   -> marketing

Upstream "Functional" means "the vendor's product needs it", which covers
session ids and CSRF tokens as much as Hotjar's session recording and
YouTube's visitor id. None of it is proof that a *site* needs the cookie, so it
defaults to ``preferences`` and the reviewed overrides in
``scripts/cookie_overrides.toml`` say what is really ``necessary`` and which
vendor cookies belong to analytics or marketing. ``necessary`` is kept for what
a site cannot work without: sessions and sign-in, CSRF tokens, load balancer
affinity, security and bot challenges, payment fraud checks, and records of the
visitor's privacy choice (consent-manager cookies and vendors' opt-out flags:
dropping those would only undo the choice).

Overrides. One entry per name or prefix, with a purpose and a one-line reason.
An override wins over every upstream row of the same name (exact or prefix);
a prefix override also claims upstream entries whose names start with it, so
one entry settles a vendor's namespace (more specific overrides still win).
Overrides may add names upstream lacks. A malformed entry stops the generator,
and so does one that breaks the rules below (a prefix of two characters, or an
optional-purpose name that rule 6 would drop): the list is for reviewed
exceptions to the data, not to the safety rules. The one allowance is rule 6a's
length test for an exact name, which a reviewer has checked is a vendor's own
(``YSC``); names on ``GENERIC_NAMES`` and short prefixes stay out.

Rules for the upstream rows. A wrong entry breaks a host or leaks a tracker, so
they err on the side of leaving a name out: an unlisted cookie is simply
unclassified and the operator can still place it with their own patterns.

1. Names are stripped of surrounding whitespace (browsers do the same when they
   parse a cookie, RFC 6265 section 5.2), so an upstream ``"name\\t"`` typo
   still yields the name the browser really sends.
2. Placeholders: upstream sometimes writes a variable part as ``*``, ``%NAME%``,
   ``{...}``, ``<...>`` or a run of ``xxx``/``XXX``/``NNN``. When the placeholder
   ends the name, the text before it becomes a prefix entry; a placeholder in
   the middle cannot be expressed as a plain prefix and the row is skipped.
3. Names that are empty or not an RFC 6265 cookie-name token (control
   characters, spaces, non-ASCII, or one of ``()<>@,;:\\"/[]?={}``) are dropped:
   they cannot be sent as cookies, so they would only be dead weight (several
   are really localStorage keys).
4. Ambiguity: a name (exact or prefix) that maps to more than one purpose is
   dropped from all of them. We cannot tell which vendor's cookie a site sets;
   an override or the operator can classify it. ``--verbose`` lists these names.
5. Prefix entries of two characters or fewer are dropped in every purpose: a
   prefix such as ``_s`` or ``P_`` would swallow a large share of all names.
6. For the optional purposes only (preferences, analytics, marketing), names
   generic enough to be a host application's own cookie are dropped, because
   misfiling one would make the host's feature vanish for visitors who decline:
   a. names and prefixes of three characters or fewer unless they start with
      ``_`` (``u``, ``id``, ``uid``, ``NID``; prefixes ``cap``, ``mp_``). The
      exact ones are almost all set on an ad or social network's own domain,
      which a first-party middleware never sees, so dropping them costs little
      coverage; a prefix matches strictly more than the same exact name, so it
      gets the same treatment;
   b. names on ``GENERIC_NAMES`` (compared case-insensitively), which lists the
      names web frameworks, CMSs and ordinary applications use for sessions,
      authentication, CSRF, locale, cart, consent banners and the like;
   c. prefixes that would match a name on ``GENERIC_NAMES`` (``cap`` would
      match ``captcha``), or that are such a name plus a trailing separator
      (``data-``, ``visitor_id``).
   Collisions in ``necessary`` are left alone: that purpose is always allowed,
   so a host cookie that happens to share a name loses nothing.
7. Review gate: a Functional row that would land in ``preferences`` by default
   while its name looks like session, sign-in, CSRF, consent or cart state
   (``ESSENTIAL_HINT``) stops the generator until an override decides it. A new
   upstream snapshot therefore cannot quietly move a login cookie to an
   optional purpose.

Output is deterministic: keys in a fixed order, names sorted by code point,
compact separators, one purpose per line and a final newline, so a re-run on
the same CSV and overrides reproduces the file byte for byte. The counts per
purpose are also written between the ``cookie-counts`` markers of
``docs/cookie-table.md`` (a test checks they match the JSON).

Usage: python scripts/generate_cookie_table.py [--source CSV] [--overrides TOML]
       [--output JSON] [--docs MD | --no-docs] [--commit SHA] [--verbose]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the project supports 3.10 through the tomli backport
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / "data/open-cookie-database/open-cookie-database.csv"
DEFAULT_OVERRIDES = REPO_ROOT / "scripts/cookie_overrides.toml"
DEFAULT_OUTPUT = REPO_ROOT / "src/consent/data/cookies.json"
DEFAULT_DOCS = REPO_ROOT / "docs/cookie-table.md"

SOURCE = "Open Cookie Database (https://github.com/jkwakman/Open-Cookie-Database)"
#: Upstream commit of the CSV snapshot (see SOURCE.md next to the CSV); override with --commit.
SNAPSHOT_COMMIT = "0ee5a17fe1cb002943f89370d24fc26a4226061c"
LICENSE = "Apache-2.0"
NOTICE = (
    "Derived from the Open Cookie Database (Apache-2.0, see NOTICE and "
    "LICENSE.open-cookie-database); names filtered, mapped to asgi-consent purposes "
    "and corrected by the reviewed overrides in scripts/cookie_overrides.toml, "
    "by scripts/generate_cookie_table.py"
)

CATEGORY_MAP: dict[str, str] = {
    "Necessary": "necessary",
    "Security": "necessary",
    "Functional": "preferences",
    "Personalization": "preferences",
    "Analytics": "analytics",
    "Marketing": "marketing",
}
CATEGORIES = ("necessary", "preferences", "analytics", "marketing")
OPTIONAL = frozenset(CATEGORIES) - {"necessary"}
KINDS = ("exact", "prefix")

NAME_COLUMN = "Cookie / Data Key name"
CATEGORY_COLUMN = "Category"
WILDCARD_COLUMN = "Wildcard match"

#: Names a host application plausibly sets for itself (lower case; see rule 6b).
GENERIC_NAMES = frozenset(
    {
        # sessions and identity
        "session", "_session", "sessionid", "session_id", "sessid", "sess", "sid", "ssid",
        "uid", "id", "uuid", "guid", "user", "userid", "user_id", "username", "guest_id",
        "visitor", "visitor_id", "visitor-id", "visit", "device_id", "deviceid",
        "client_id", "clientid",
        # authentication and CSRF
        "token", "auth", "auth_token", "access_token", "refresh_token", "jwt", "login",
        "logged_in", "remember_me", "remember_token", "csrf", "_csrf", "csrftoken",
        "csrf_token", "xsrf-token",
        # locale and display preferences
        "locale", "lang", "language", "country", "region", "currency", "tz", "timezone",
        "theme", "color_mode", "dark_mode", "preferences", "prefs", "settings",
        # consent banners
        "consent", "cookieconsent", "cookie_consent", "cookies_accepted", "cookies_consent",
        "cookie_notice", "gdpr", "gdpr_status", "is_gdpr", "optout", "opt_out", "opt-out",
        # routine application state
        "test", "test_cookie", "version", "hash", "callback", "audit", "sync", "debug",
        "mode", "view", "viewer", "state", "nonce", "redirect", "return_to", "next",
        "messages", "flash", "cart", "basket", "store", "shop", "captcha", "data",
        "partner", "affiliate",
        # request context an application may remember
        "ref", "referrer", "referer", "pagereferrer", "sitereferrer", "external_referer",
        "querystring", "searchterm", "source", "campaign", "geoip", "europe",
        "serverpool", "dispatcher",
    }
)  # fmt: skip

#: Rule 7: name fragments of session, sign-in, CSRF, consent and cart state.
ESSENTIAL_HINT = re.compile(
    r"sess|sid|csrf|xsrf|forgery|auth(?!or)|login|logged|token|consent|privacy|opt.?out|"
    r"cart|checkout|captcha|affinity|balanc",
    re.IGNORECASE,
)

# RFC 6265 cookie-name = token (RFC 2616): visible ASCII except separators.
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={}')
_PLACEHOLDER = re.compile(r"\*|%[^%]*%|\{[^}]*\}|<[^>]*>|x{3,}|X{3,}|N{3,}")
_OVERRIDE_FIELDS = frozenset({"name", "kind", "purpose", "reason"})
_MAX_REASON = 200


@dataclass(frozen=True)
class Entry:
    """One normalised table entry: a name that is either exact or a prefix."""

    name: str
    prefix: bool

    @property
    def kind(self) -> str:
        return "prefix" if self.prefix else "exact"


@dataclass(frozen=True)
class Row:
    """One upstream CSV row: the raw name, its entry (None if invalid), its category."""

    raw: str
    entry: Entry | None
    upstream: str

    @property
    def purpose(self) -> str:
        return CATEGORY_MAP[self.upstream]


@dataclass(frozen=True)
class Override:
    """One reviewed entry of the override list."""

    entry: Entry
    purpose: str
    reason: str

    def claims(self, entry: Entry) -> bool:
        """Whether this override replaces the upstream ``entry``."""
        if entry.name == self.entry.name:
            return True
        return self.entry.prefix and entry.name.startswith(self.entry.name)


class OverrideError(SystemExit):
    """A malformed or rule-breaking override entry (exits with its message)."""


def is_cookie_token(name: str) -> bool:
    """True if ``name`` is a non-empty RFC 6265 cookie-name token."""
    return bool(name) and all("!" <= ch <= "~" and ch not in _SEPARATORS for ch in name)


def normalise(raw_name: str, wildcard: bool) -> Entry | None:
    """Apply rules 1-3: strip, turn a trailing placeholder into a prefix, validate."""
    name = raw_name.strip()
    placeholder = _PLACEHOLDER.search(name)
    if placeholder is not None:
        if placeholder.end() != len(name):
            return None  # variable part in the middle: not a plain prefix
        name, wildcard = name[: placeholder.start()], True
    if not is_cookie_token(name):
        return None
    return Entry(name, wildcard)


def is_generic(entry: Entry, *, reviewed: bool = False) -> bool:
    """Rule 6: could this optional-purpose entry collide with a host app's cookie?

    ``reviewed`` exact names (overrides) skip the length test of rule 6a only: a
    reviewer has checked that a short name such as ``YSC`` is a vendor's own.
    """
    short = len(entry.name) <= 3 and not entry.name.startswith("_")
    if short and not (reviewed and not entry.prefix):
        return True
    lowered = entry.name.lower()
    if entry.prefix:
        return lowered.rstrip("-_.") in GENERIC_NAMES or any(
            generic.startswith(lowered) for generic in GENERIC_NAMES
        )
    return lowered in GENERIC_NAMES


def read_rows(source: Path) -> list[Row]:
    """Every CSV row with its normalised entry (None when rules 1-3 reject the name)."""
    rows: list[Row] = []
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            upstream = row[CATEGORY_COLUMN].strip()
            if upstream not in CATEGORY_MAP:
                raise SystemExit(f"unknown upstream category {row[CATEGORY_COLUMN]!r}")
            raw = row[NAME_COLUMN]
            wildcard = row[WILDCARD_COLUMN].strip() == "1"
            rows.append(Row(raw, normalise(raw, wildcard), upstream))
    return rows


def parse_override(item: object, where: str) -> Override:
    """Validate one raw TOML entry; raise OverrideError saying what is wrong."""
    if not isinstance(item, dict):
        raise OverrideError(f"{where}: expected a table, got {type(item).__name__}")
    keys = set(item)
    if keys != _OVERRIDE_FIELDS:
        missing = ", ".join(sorted(_OVERRIDE_FIELDS - keys)) or "-"
        extra = ", ".join(sorted(keys - _OVERRIDE_FIELDS)) or "-"
        raise OverrideError(f"{where}: missing keys: {missing}; unknown keys: {extra}")
    for key in sorted(_OVERRIDE_FIELDS):
        if not isinstance(item[key], str):
            raise OverrideError(f"{where}: {key} must be a string")
    name, kind, purpose = item["name"], item["kind"], item["purpose"]
    reason = item["reason"].strip()
    where = f"{where} ({name!r})"
    if not is_cookie_token(name):
        raise OverrideError(f"{where}: not an RFC 6265 cookie name")
    if kind not in KINDS:
        raise OverrideError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if purpose not in CATEGORIES:
        raise OverrideError(f"{where}: purpose must be one of {', '.join(CATEGORIES)}")
    if not reason or len(reason) > _MAX_REASON or not reason.isprintable():
        raise OverrideError(f"{where}: reason must be one printable line of 1-{_MAX_REASON} chars")
    entry = Entry(name, kind == "prefix")
    if entry.prefix and len(name) <= 2:
        raise OverrideError(f"{where}: prefix of two characters or fewer (rule 5)")
    if purpose in OPTIONAL and is_generic(entry, reviewed=True):
        raise OverrideError(f"{where}: generic name in an optional purpose (rule 6)")
    return Override(entry, purpose, reason)


def load_overrides(path: Path) -> list[Override]:
    """Read and check the override list: every entry well-formed, no name decided twice."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise OverrideError(f"{path}: {error}") from error
    if set(data) != {"override"} or not isinstance(data["override"], list):
        raise OverrideError(f"{path}: expected a single top-level array `override = [...]`")
    overrides: list[Override] = []
    purpose_of: dict[str, str] = {}
    seen: set[Entry] = set()
    for index, item in enumerate(data["override"], 1):
        override = parse_override(item, f"{path.name}: override #{index}")
        name = override.entry.name
        if override.entry in seen:
            raise OverrideError(f"{path.name}: override #{index}: {name!r} is listed twice")
        if purpose_of.setdefault(name, override.purpose) != override.purpose:
            raise OverrideError(
                f"{path.name}: override #{index}: {name!r} has two purposes "
                f"({purpose_of[name]}, {override.purpose})"
            )
        seen.add(override.entry)
        overrides.append(override)
    return overrides


def claimed_by(entry: Entry, overrides: Iterable[Override]) -> Override | None:
    """The most specific override that replaces ``entry`` (same name first), if any."""
    claims = [override for override in overrides if override.claims(entry)]
    return max(
        claims,
        key=lambda o: (o.entry.name == entry.name, len(o.entry.name), not o.entry.prefix),
        default=None,
    )


def build_table(
    rows: list[Row], overrides: list[Override], report: list[str]
) -> dict[str, dict[str, list[str]]]:
    """Apply the overrides and rules 4-7: ``{purpose: {"exact": [...], "prefix": [...]}}``."""
    purposes_of: dict[str, set[str]] = defaultdict(set)
    entries: set[tuple[Entry, str, str]] = set()
    for row in rows:
        if row.entry is None:
            report.append(f"invalid    {row.purpose:<11} {row.raw!r}")
            continue
        override = claimed_by(row.entry, overrides)
        if override is not None:
            if override.purpose != row.purpose or override.entry != row.entry:
                report.append(
                    f"overridden {row.purpose:<11} {row.entry.kind:<6} {row.entry.name}"
                    f" -> {override.purpose} {override.entry.kind} {override.entry.name}"
                )
            continue
        purposes_of[row.entry.name].add(row.purpose)
        entries.add((row.entry, row.purpose, row.upstream))

    table: dict[str, dict[str, set[str]]] = {
        purpose: {kind: set() for kind in KINDS} for purpose in CATEGORIES
    }
    unreviewed: set[str] = set()
    for entry, purpose, upstream in sorted(entries, key=lambda e: (e[0].name, e[0].prefix)):
        if len(purposes_of[entry.name]) > 1:
            reason = "ambiguous " + "/".join(sorted(purposes_of[entry.name]))
        elif entry.prefix and len(entry.name) <= 2:
            reason = "short prefix"
        elif purpose in OPTIONAL and is_generic(entry):
            reason = "generic"
        else:
            if upstream == "Functional" and ESSENTIAL_HINT.search(entry.name):
                unreviewed.add(entry.name + ("*" if entry.prefix else ""))
            table[purpose][entry.kind].add(entry.name)
            continue
        report.append(f"{reason:<10} {purpose:<11} {entry.kind:<6} {entry.name}")
    if unreviewed:
        raise SystemExit(
            "Functional rows that look like session, sign-in, CSRF, consent or cart state "
            "need an override in scripts/cookie_overrides.toml (rule 7): "
            + ", ".join(sorted(unreviewed))
        )
    for override in overrides:
        table[override.purpose][override.entry.kind].add(override.entry.name)
    return {
        purpose: {kind: sorted(names) for kind, names in kinds.items()}
        for purpose, kinds in table.items()
    }


def render(table: dict[str, dict[str, list[str]]], commit: str) -> str:
    """Serialise the table compactly with one purpose per line."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    header = {"source": SOURCE, "commit": commit, "license": LICENSE, "notice": NOTICE}
    head = ",".join(f"{dump(key)}:{dump(value)}" for key, value in header.items())
    body = ",\n".join(f"{dump(key)}:{dump(table[key])}" for key in CATEGORIES)
    return "{" + head + ',"categories":{\n' + body + "\n}}\n"


COUNTS_BEGIN = "<!-- cookie-counts:begin -->"
COUNTS_END = "<!-- cookie-counts:end -->"


def counts_table(table: dict[str, dict[str, list[str]]]) -> str:
    """The Markdown table of exact names and prefixes per purpose, with totals."""
    lines = ["| purpose | exact names | prefixes | total |", "|---|--:|--:|--:|"]
    totals = [0, 0]
    for purpose in CATEGORIES:
        exact, prefix = len(table[purpose]["exact"]), len(table[purpose]["prefix"])
        totals = [totals[0] + exact, totals[1] + prefix]
        lines.append(f"| `{purpose}` | {exact} | {prefix} | {exact + prefix} |")
    lines.append(f"| all | {totals[0]} | {totals[1]} | {sum(totals)} |")
    return "\n".join(lines)


def update_docs(path: Path, table: dict[str, dict[str, list[str]]]) -> None:
    """Replace the counts between the ``cookie-counts`` markers of ``path``."""
    text = path.read_text(encoding="utf-8")
    if text.count(COUNTS_BEGIN) != 1 or text.count(COUNTS_END) != 1:
        raise SystemExit(f"{path}: expected one {COUNTS_BEGIN} ... {COUNTS_END} block")
    head, rest = text.split(COUNTS_BEGIN)
    _, tail = rest.split(COUNTS_END)
    block = f"{COUNTS_BEGIN}\n{counts_table(table)}\n{COUNTS_END}"
    path.write_text(head + block + tail, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="upstream CSV")
    parser.add_argument(
        "--overrides", type=Path, default=DEFAULT_OVERRIDES, help="reviewed override list"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON to write")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="doc with the counts")
    docs.add_argument("--no-docs", action="store_true", help="leave the doc alone")
    parser.add_argument("--commit", default=SNAPSHOT_COMMIT, help="upstream snapshot commit")
    parser.add_argument("--verbose", action="store_true", help="list every dropped entry")
    args = parser.parse_args(argv)

    overrides = load_overrides(args.overrides)
    report: list[str] = []
    table = build_table(read_rows(args.source), overrides, report)
    text = render(table, args.commit)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    if not args.no_docs:
        update_docs(args.docs, table)

    if args.verbose:
        for line in sorted(set(report)):
            print(line)
    counts = ", ".join(
        f"{key} {len(table[key]['exact'])}+{len(table[key]['prefix'])}" for key in CATEGORIES
    )
    dropped = sum(1 for line in set(report) if not line.startswith("overridden"))
    print(
        f"{args.output}: {counts} (exact+prefix); {len(overrides)} overrides; "
        f"{dropped} upstream entries dropped"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
