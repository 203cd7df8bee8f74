"""The runtime guard's host table: the server's blocking rules, for ``guard.js`` to read.

The server neutralises every tracker in the HTML it sends; code that runs later (a tag
manager, a single-page app, a widget) can still add elements. ``guard.js`` holds those to
the same rules, so it needs the same table: the tracker hosts of `BlockingRules` (the
shipped table, the operator's ``scripts`` and services' hosts) with the category or service
key each one needs. It is generated from the compiled rules at start-up, never kept by
hand, and served as a content-hashed asset (`GUARD_TABLE`), so browsers cache it for as long
as the configuration stays the same. See ``docs/guard.md``.
"""

from __future__ import annotations

import json
from typing import Any

from consent.blocking import GOOGLE_TAG_HOSTS, BlockingRules
from consent.purposes import PURPOSE_ALIASES, normal_name

__all__ = ["GUARD_TABLE", "host_table", "host_table_script"]

#: The generated asset's name (served as ``hosts.<hash>.js``).
GUARD_TABLE = "hosts.js"


def host_table(rules: BlockingRules) -> dict[str, Any]:
    """The compact table ``guard.js`` reads.

    ``t``: the operator's table, then the shipped one, in the order `BlockingRules`
    consults them; each is ``[{host: [[path, key], ...]}, [[regex, path, key], ...]]``
    (exact hosts, their longest path prefix first, then the ``*`` patterns as regular
    expressions). The key ``""`` stands for a pattern that blocks nothing. ``n``: what
    other names in markup mean (``statistics`` is our analytics key), ``r``: the required
    keys, ``a``: the marketing key and Google's tag hosts, for a Google tag loaded for an
    Ads or Floodlight id (absent in Consent Mode "advanced").
    """
    tables: list[list[Any]] = []
    # The compiled tables themselves, so the browser's copy cannot drift from the server's.
    for table in rules.tables:
        hosts = {
            host: [[prefix, key or ""] for prefix, key in entries]
            for host, entries in table.hosts.items()
        }
        globs = [[glob.pattern, prefix, key or ""] for glob, prefix, key in table.globs]
        tables.append([hosts, globs])
    purposes = rules.purposes
    names = {key.lower(): key for key in (*purposes.keys, *purposes.services)}
    for alias, purpose in PURPOSE_ALIASES.items():
        names.setdefault(normal_name(alias), purposes.key_of(purpose))
    found: dict[str, Any] = {
        "t": tables,
        "n": {name: key for name, key in names.items() if name != key},
        "r": sorted(rules.required),
    }
    if not rules.google_tags_first:
        found["a"] = [purposes.key_of("marketing"), [h.lstrip(".") for h in GOOGLE_TAG_HOSTS]]
    return found


def host_table_script(rules: BlockingRules) -> bytes:
    """`host_table` as a script that hands it to ``guard.js`` through its own element.

    A script, not JSON: it must be there, synchronously, before any script of the page
    runs, and ``<script type=application/json src>`` is never fetched. It sets a property
    of its own ``<script>`` element instead of a global: nothing of the page can rely on
    it, and nothing leaks into ``window``.
    """
    data = json.dumps(host_table(rules), separators=(",", ":"), sort_keys=True)
    return f"document.currentScript.hosts={data};\n".encode("ascii")
