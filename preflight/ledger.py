"""The ledger: a SQLite file that remembers what was sent to Mosaic, so nothing is sent twice.

It holds, per API base URL (the real API and a test stand-in are different worlds):

- ``uploads``: a file's sha256 and kind, the asset id Mosaic gave it, and how far its upload got
  (``stored`` in cloud storage, ``final`` once finalized). A finalized upload is reused.
- ``checks``: batch results, keyed by the sources' content, the policy and the checker's
  version (see :mod:`preflight.batch`): the report's JSON and its pictures, compressed.
- ``avatars``: each create, keyed by the name and the sources' identities (content sha256, or the
  asset id given), with the avatar's id and last status. A row without an id is a create whose
  answer never came back (a crash, a dropped connection): the next run looks for it on the API
  before creating again. ``names_before`` lists the ids that already had that name, so the
  lookup can tell the new one apart.

Every write is one transaction; the API key is never stored.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import UsageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    base_url TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('stored', 'final')),
    updated REAL NOT NULL,
    PRIMARY KEY (base_url, kind, sha256)
);
CREATE TABLE IF NOT EXISTS avatars (
    row INTEGER PRIMARY KEY,
    base_url TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    sources TEXT NOT NULL,
    names_before TEXT NOT NULL,
    avatar_id TEXT,
    status TEXT,
    status_message TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checks (
    key TEXT PRIMARY KEY,
    report TEXT NOT NULL,
    evidence BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS avatars_by_key ON avatars (base_url, key);
CREATE UNIQUE INDEX IF NOT EXISTS avatars_by_id ON avatars (base_url, avatar_id);
"""


def default_path() -> Path:
    """$PREFLIGHT_HOME/ledger.sqlite, else ~/.local/share/preflight/ledger.sqlite."""
    home = os.environ.get("PREFLIGHT_HOME")
    base = Path(home) if home else Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "preflight"
    return base / "ledger.sqlite"


@dataclass(frozen=True)
class Upload:
    asset_id: str
    state: str


@dataclass(frozen=True)
class AvatarRecord:
    row: int
    name: str
    sources: dict[str, str]
    names_before: list[str]
    avatar_id: str | None
    status: str | None


class Ledger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot open the ledger {self.path} ({exc}); set PREFLIGHT_HOME to a writable folder") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        with self._db:  # BEGIN ... COMMIT, or ROLLBACK on an error
            self._db.execute("BEGIN IMMEDIATE")
            return self._db.execute(sql, args)

    # -- uploads -----------------------------------------------------------------------------

    def upload(self, base_url: str, kind: str, sha256: str) -> Upload | None:
        row = self._db.execute("SELECT asset_id, state FROM uploads WHERE base_url=? AND kind=? AND sha256=?",
                               (base_url, kind, sha256)).fetchone()
        return Upload(*row) if row else None

    def record_upload(self, base_url: str, kind: str, sha256: str, asset_id: str, state: str) -> None:
        self._write("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?)",
                    (base_url, kind, sha256, asset_id, state, time.time()))

    def forget_upload(self, base_url: str, kind: str, sha256: str) -> None:
        self._write("DELETE FROM uploads WHERE base_url=? AND kind=? AND sha256=?", (base_url, kind, sha256))

    # -- checked source sets -----------------------------------------------------------------

    def checked(self, key: str) -> tuple[str, bytes] | None:
        """The report JSON and the compressed evidence stored under ``key``."""
        row = self._db.execute("SELECT report, evidence FROM checks WHERE key=?", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def store_checked(self, key: str, report: str, evidence: bytes) -> None:
        self._write("INSERT OR REPLACE INTO checks VALUES (?, ?, ?, ?)", (key, report, evidence, time.time()))

    # -- avatars -----------------------------------------------------------------------------

    def avatar(self, base_url: str, key: str) -> AvatarRecord | None:
        """The latest create for these sources and name, finished or not."""
        row = self._db.execute(
            "SELECT row, name, sources, names_before, avatar_id, status FROM avatars "
            "WHERE base_url=? AND key=? ORDER BY row DESC LIMIT 1", (base_url, key)).fetchone()
        if row is None:
            return None
        return AvatarRecord(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4], row[5])

    def known_ids(self, base_url: str) -> set[str]:
        rows = self._db.execute("SELECT avatar_id FROM avatars WHERE base_url=? AND avatar_id IS NOT NULL", (base_url,))
        return {r[0] for r in rows}

    def begin_create(self, base_url: str, key: str, name: str, sources: dict[str, str], names_before: list[str]) -> int:
        """Written before the create request is sent."""
        now = time.time()
        cursor = self._write(
            "INSERT INTO avatars (base_url, key, name, sources, names_before, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (base_url, key, name, json.dumps(sources, sort_keys=True), json.dumps(names_before), now, now))
        return int(cursor.lastrowid or 0)

    def finish_create(self, row: int, avatar_id: str, status: str, status_message: str | None) -> None:
        self._write("UPDATE avatars SET avatar_id=?, status=?, status_message=?, updated=? WHERE row=?",
                    (avatar_id, status, status_message, time.time(), row))

    def drop_create(self, row: int) -> None:
        """A create the API refused for certain: nothing to look for later."""
        self._write("DELETE FROM avatars WHERE row=? AND avatar_id IS NULL", (row,))

    def set_status(self, base_url: str, avatar_id: str, status: str, status_message: str | None) -> None:
        self._write("UPDATE avatars SET status=?, status_message=?, updated=? WHERE base_url=? AND avatar_id=?",
                    (status, status_message, time.time(), base_url, avatar_id))
