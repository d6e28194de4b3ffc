"""SQLite persistence for `--state FILE`: every committed object version, plus the sandbox's
signing key, certificate and clock offset, so a restarted sandbox carries on where it stopped.

Objects are stored as JSON (readable with the sqlite3 shell), one row per object, rewritten on
every change. IPN deliveries waiting for their (next) attempt are kept too, with when it falls
due on the wall clock, so a restarted sandbox goes on retrying them as Amazon would.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from paydesk.sandbox.model import AmazonObject, Authorization, Capture, OrderReference, Refund

_KINDS: dict[str, type] = {cls.__name__: cls for cls in (OrderReference, Authorization, Capture, Refund)}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ipn_queue (id INTEGER PRIMARY KEY, due REAL NOT NULL, delivery TEXT NOT NULL);
"""


def encode(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"cannot store {type(value).__name__}")


def decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return decode(inner, value)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        return tuple(decode(item_hint, item) for item in value)
    if hint is Decimal:
        return Decimal(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{f.name: decode(hints[f.name], value[f.name]) for f in fields(hint) if f.name in value})
    return value


class Store:
    """Thread-safe; the engine writes under its own lock, the server writes meta rows."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        if str(path) != ":memory:":  # --state var/sandbox/state.sqlite3 on a fresh clone
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def save(self, objects: Sequence[AmazonObject]) -> None:
        rows = [(obj.id, type(obj).__name__, json.dumps(encode(obj))) for obj in objects]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO objects (id, kind, body) VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def load(self) -> Iterable[AmazonObject]:
        with self._lock:
            rows = self._db.execute("SELECT kind, body FROM objects ORDER BY rowid").fetchall()
        return [decode(_KINDS[kind], json.loads(body)) for kind, body in rows]

    def get_meta(self, name: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, name: str, value: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    # -- IPN deliveries on their way: `delivery` is the dispatcher's own JSON-ready record ------

    def keep_ipn(self, delivery_id: int, due: float, delivery: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ipn_queue (id, due, delivery) VALUES (?, ?, ?)",
                (delivery_id, due, json.dumps(delivery)),
            )

    def forget_ipn(self, delivery_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ipn_queue WHERE id = ?", (delivery_id,))

    def queued_ipns(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT due, delivery FROM ipn_queue ORDER BY due, id").fetchall()
        return [(due, json.loads(delivery)) for due, delivery in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
