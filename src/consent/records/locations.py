"""Where records live when the operator did not say: one per-user data directory.

Never the working directory: a server started from another directory (a deploy, a
systemd unit, a test run) would silently begin a new, empty database there, and
proof of consent would be scattered over whichever directories the process happened
to start in. The default is the platform's per-user data directory (via
`platformdirs`): ``$XDG_DATA_HOME/asgi-consent`` (``~/.local/share/asgi-consent``) on
Linux, ``~/Library/Application Support/asgi-consent`` on macOS,
``%LOCALAPPDATA%\\asgi-consent`` on Windows.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

__all__ = [
    "APP_DIR",
    "DEFAULT_DATABASE",
    "default_data_dir",
    "default_spool_dir",
    "default_store_url",
    "make_private_dirs",
    "sqlite_path",
]

#: The directory name under the per-user data directory.
APP_DIR = "asgi-consent"
#: The SQLite file used when ``records.url`` is unset.
DEFAULT_DATABASE = "consent-records.db"

_SQLITE = "sqlite:///"


def default_data_dir() -> Path:
    """The per-user data directory of asgi-consent (not created here)."""
    return platformdirs.user_data_path(APP_DIR, appauthor=False)


def default_store_url() -> str:
    """``sqlite:///`` URL of `DEFAULT_DATABASE` in `default_data_dir` (an absolute path)."""
    return f"{_SQLITE}{default_data_dir() / DEFAULT_DATABASE}"


def sqlite_path(url: str) -> str | None:
    """The file path of a ``sqlite:///`` URL (``""`` when it has none), None for others."""
    if not url.startswith(_SQLITE):
        return None
    return url[len(_SQLITE) :].split("?", 1)[0]


def default_spool_dir(store_url: str) -> Path:
    """``spool/<store id>`` under the data directory: one spool per store.

    Every app of a user shares the data directory, and whichever process finds a
    spooled record delivers it: with one shared spool, an app with its own store
    could deliver another app's records into the wrong database. The id names the
    store (an absolute SQLite path, or PostgreSQL host, port and database) without
    credentials or options, so a changed password or query string keeps the spool.
    """
    return default_data_dir() / "spool" / _store_id(store_url)


def _store_id(url: str) -> str:
    path = sqlite_path(url)
    if path is not None:
        identity = "sqlite:" + (path if path == ":memory:" else os.path.abspath(path))
    else:
        try:
            parts = urlsplit(url)
            identity = f"postgresql://{parts.hostname or ''}:{parts.port or 5432}{parts.path}"
        except ValueError:  # a malformed port: still one stable id, without the password
            identity = url.split("?", 1)[0].rsplit("@", 1)[-1]
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents, each owner-only (``0700``).

    `Path.mkdir` gives only the last directory the mode; records are personal data,
    so a parent created for them (the data directory itself) must not be world-readable.
    """
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
