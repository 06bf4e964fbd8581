"""SQLite persistence for the sandbox state (stdlib ``sqlite3``, JSON blob per entity).

The state writes through after every mutating request: one transaction holds every entity the
request changed, so a crash never leaves half a request on disk. The store is shared by the
event-loop thread and, in tests, the thread that started the server, so a lock serialises access.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entities ("
    " kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, key))",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, data TEXT NOT NULL)",
)


class SqliteStore:
    """A file holding ``(kind, key) -> JSON`` rows plus a small ``meta`` table."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA busy_timeout=5000")
        for statement in _SCHEMA:
            self._connection.execute(statement)

    def write(
        self,
        puts: Iterable[tuple[str, str, str]],
        deletes: Iterable[tuple[str, str]],
        meta: Iterable[tuple[str, str]],
    ) -> None:
        """Apply one batch of changes atomically."""
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.executemany(
                    "INSERT OR REPLACE INTO entities (kind, key, data) VALUES (?, ?, ?)", list(puts)
                )
                cursor.executemany("DELETE FROM entities WHERE kind = ? AND key = ?", list(deletes))
                cursor.executemany(
                    "INSERT OR REPLACE INTO meta (key, data) VALUES (?, ?)", list(meta)
                )
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def read(self) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
        """Every entity row and the meta table."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT kind, key, data FROM entities ORDER BY kind, key"
            ).fetchall()
            meta = dict(self._connection.execute("SELECT key, data FROM meta").fetchall())
        return [(str(kind), str(key), str(data)) for kind, key, data in rows], meta

    def wipe(self) -> None:
        """Delete everything."""
        with self._lock:
            self._connection.execute("DELETE FROM entities")
            self._connection.execute("DELETE FROM meta")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._connection.close()
