#!/usr/bin/env python3
"""Build ``src/consent/data/cookies.json`` from the Open Cookie Database CSV.

The built-in table lets the middleware classify well-known third-party cookie
names without configuration. Each upstream row (platform, category, cookie name,
wildcard flag) is mapped to one of our four categories:

    Functional, Necessary, Security -> necessary
    Personalization                 -> preferences
    Analytics                       -> analytics
    Marketing                       -> marketing

A cookie the table puts in an optional category is deleted or blocked until the
visitor consents, so a wrong entry breaks the host application. The rules below
therefore err on the side of leaving a name out: an unlisted cookie is simply
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
4. Ambiguity: a name (exact or prefix) that maps to more than one of our
   categories is dropped from all of them. We cannot tell which vendor's cookie
   a site sets; the operator can classify it. ``--verbose`` lists these names.
5. Prefix entries of two characters or fewer are dropped in every category: a
   prefix such as ``_s`` or ``P_`` would swallow a large share of all names.
6. For the optional categories only (preferences, analytics, marketing), names
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
   Collisions in ``necessary`` are left alone: that category is always allowed,
   so a host cookie that happens to share a name loses nothing.

Output is deterministic: keys in a fixed order, names sorted by code point,
compact separators, one category per line and a final newline, so a re-run on
the same CSV reproduces the file byte for byte.

Usage: python scripts/generate_cookie_table.py [--source CSV] [--output JSON]
       [--commit SHA] [--verbose]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / "data/open-cookie-database/open-cookie-database.csv"
DEFAULT_OUTPUT = REPO_ROOT / "src/consent/data/cookies.json"

SOURCE = "Open Cookie Database (https://github.com/jkwakman/Open-Cookie-Database)"
#: Upstream commit of the CSV snapshot (see SOURCE.md next to the CSV); override with --commit.
SNAPSHOT_COMMIT = "0ee5a17fe1cb002943f89370d24fc26a4226061c"
LICENSE = "Apache-2.0"
NOTICE = (
    "Derived from the Open Cookie Database (Apache-2.0, see NOTICE and "
    "LICENSE.open-cookie-database); names filtered and mapped to asgi-consent "
    "categories by scripts/generate_cookie_table.py"
)

CATEGORY_MAP: dict[str, str] = {
    "Functional": "necessary",
    "Necessary": "necessary",
    "Security": "necessary",
    "Personalization": "preferences",
    "Analytics": "analytics",
    "Marketing": "marketing",
}
CATEGORIES = ("necessary", "preferences", "analytics", "marketing")
OPTIONAL = frozenset(CATEGORIES) - {"necessary"}

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

# RFC 6265 cookie-name = token (RFC 2616): visible ASCII except separators.
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={}')
_PLACEHOLDER = re.compile(r"\*|%[^%]*%|\{[^}]*\}|<[^>]*>|x{3,}|X{3,}|N{3,}")


@dataclass(frozen=True)
class Entry:
    """One normalised table entry: a name that is either exact or a prefix."""

    name: str
    prefix: bool


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


def is_generic(entry: Entry) -> bool:
    """Rule 6: could this optional-category entry collide with a host app's cookie?"""
    if len(entry.name) <= 3 and not entry.name.startswith("_"):
        return True
    lowered = entry.name.lower()
    if entry.prefix:
        return lowered.rstrip("-_.") in GENERIC_NAMES or any(
            generic.startswith(lowered) for generic in GENERIC_NAMES
        )
    return lowered in GENERIC_NAMES


def read_rows(source: Path) -> list[tuple[str, Entry | None, str]]:
    """Return ``(raw name, normalised entry or None, our category)`` for each CSV row."""
    rows: list[tuple[str, Entry | None, str]] = []
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            category = CATEGORY_MAP.get(row[CATEGORY_COLUMN].strip())
            if category is None:
                raise SystemExit(f"unknown upstream category {row[CATEGORY_COLUMN]!r}")
            raw = row[NAME_COLUMN]
            wildcard = row[WILDCARD_COLUMN].strip() == "1"
            rows.append((raw, normalise(raw, wildcard), category))
    return rows


def build_table(
    rows: list[tuple[str, Entry | None, str]], report: list[str]
) -> dict[str, dict[str, list[str]]]:
    """Apply rules 4-6 and return ``{category: {"exact": [...], "prefix": [...]}}``."""
    categories_of: dict[str, set[str]] = defaultdict(set)
    entries: set[tuple[Entry, str]] = set()
    for raw, entry, category in rows:
        if entry is None:
            report.append(f"invalid    {category:<11} {raw!r}")
            continue
        categories_of[entry.name].add(category)
        entries.add((entry, category))

    table: dict[str, dict[str, set[str]]] = {
        category: {"exact": set(), "prefix": set()} for category in CATEGORIES
    }
    for entry, category in sorted(entries, key=lambda item: (item[0].name, item[0].prefix)):
        kind = "prefix" if entry.prefix else "exact"
        if len(categories_of[entry.name]) > 1:
            reason = "ambiguous " + "/".join(sorted(categories_of[entry.name]))
        elif entry.prefix and len(entry.name) <= 2:
            reason = "short prefix"
        elif category in OPTIONAL and is_generic(entry):
            reason = "generic"
        else:
            table[category][kind].add(entry.name)
            continue
        report.append(f"{reason:<10} {category:<11} {kind:<6} {entry.name}")
    return {
        category: {kind: sorted(names) for kind, names in kinds.items()}
        for category, kinds in table.items()
    }


def render(table: dict[str, dict[str, list[str]]], commit: str) -> str:
    """Serialise the table compactly with one category per line."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    header = {"source": SOURCE, "commit": commit, "license": LICENSE, "notice": NOTICE}
    head = ",".join(f"{dump(key)}:{dump(value)}" for key, value in header.items())
    body = ",\n".join(f"{dump(key)}:{dump(table[key])}" for key in CATEGORIES)
    return "{" + head + ',"categories":{\n' + body + "\n}}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="upstream CSV")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON to write")
    parser.add_argument("--commit", default=SNAPSHOT_COMMIT, help="upstream snapshot commit")
    parser.add_argument("--verbose", action="store_true", help="list every dropped entry")
    args = parser.parse_args(argv)

    report: list[str] = []
    table = build_table(read_rows(args.source), report)
    text = render(table, args.commit)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")

    if args.verbose:
        for line in sorted(set(report)):
            print(line)
    counts = ", ".join(
        f"{key} {len(table[key]['exact'])}+{len(table[key]['prefix'])}" for key in CATEGORIES
    )
    print(f"{args.output}: {counts} (exact+prefix); {len(set(report))} entries dropped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
