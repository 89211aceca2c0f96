"""Persistent request cache: answered requests are never paid for twice.

SQLite in WAL mode with a busy timeout, so several Snakemake jobs (processes) can read and write
one file at once. Every answer is committed as it arrives, so a killed run keeps everything it
was told. WAL needs a local file system (not NFS); put the cache on local disk.

Every reply that was paid for is stored, valid or not: a reply is a fact about the exact
request (a better prompt or model is a different key), so a rerun replays an invalid first reply
and its re-ask from the cache instead of paying for both again. The ``failed_replies`` table of
older caches is kept for inspection only.

A file that is not an SQLite database, or one cut short (SQLite reports both when the schema is
first read), stops the run at opening with a message naming the file, before any request is
paid. (A full integrity check would read every page of what may be a
gigabyte-sized file in every job, so damage inside the file surfaces only when it is read.)
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from meshdistill.errors import InputError
from meshdistill.fileio import canonical_json
from meshdistill.llm.structured import provider_schema
from meshdistill.llm.types import LLMRequest

#: Seconds a writer waits for another process's lock before SQLite gives up.
DEFAULT_BUSY_TIMEOUT_S = 60.0

#: Bump when the key recipe changes so old entries can never be mistaken for new ones.
KEY_FORMAT_VERSION = 1


def request_key(
    identity: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]] | None,
    params: Mapping[str, Any],
    schema: Mapping[str, Any] | None,
    *,
    prompt: str | None = None,
    rating_values: Mapping[str, float] | None = None,
) -> str:
    """SHA-256 hex of the canonical JSON of everything that determines the reply.

    A chat request is keyed by its messages, a completion request by its prompt; the keys of
    the two modes can never meet. A rating request also names the answers it rates."""
    payload: dict[str, Any] = {
        "format": KEY_FORMAT_VERSION,
        "identity": dict(identity),
        "messages": [dict(m) for m in messages] if messages is not None else None,
        "params": dict(params),
        "schema": dict(schema) if schema is not None else None,
    }
    if prompt is not None:
        payload["prompt"] = prompt
    if rating_values is not None:
        payload["rating_values"] = dict(rating_values)
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def first_ask_key(identity: Mapping[str, Any], request: LLMRequest) -> str:
    """The cache key of a request's first ask (what a run looks up before sending)."""
    schema = provider_schema(request.schema_name) if request.schema_name else None
    return request_key(
        identity,
        request.messages,
        request.params,
        schema,
        prompt=request.prompt,
        rating_values=request.rating_values,
    )


#: Beside the cache: paid replies that could not be written into it (one JSON object a line).
SPILL_SUFFIX = ".spill.jsonl"


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# The cache's tables. ``batches`` and ``batch_requests``: batches submitted to a provider's batch
# API and not yet taken in, so a killed run's successor polls that batch instead of paying again.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS failed_replies ( key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "host TEXT NOT NULL, pid INTEGER NOT NULL, claimed_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, model TEXT NOT NULL, "
    "endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL, submitted_at REAL NOT NULL, "
    "status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS batch_requests (batch_id TEXT NOT NULL, key TEXT NOT NULL, "
    "PRIMARY KEY (batch_id, key))",
    "CREATE INDEX IF NOT EXISTS batch_requests_by_key ON batch_requests (key)",
)


class RequestCache:
    """Key -> JSON answer store, safe across threads and processes.

    A reply that cannot be written (disk full, the file turned read-only) goes to a spill file
    beside the cache instead of being lost; the next cache opened on the same path serves it and,
    when it can write, moves it into the database."""

    def __init__(self, path: str | Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.spill_path = self.path.with_name(self.path.name + SPILL_SUFFIX)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._spilled: dict[str, dict[str, Any]] = {}
        # Autocommit (isolation_level=None): each put is its own durable transaction.
        self._conn = sqlite3.connect(
            str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            self._open(busy_timeout_s)
        except sqlite3.DatabaseError as error:
            self._conn.close()
            raise self._unusable(str(error)) from None
        self._take_back_spill()

    def _take_back_spill(self) -> None:
        if not self.spill_path.exists():
            return
        for line in self.spill_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                self._spilled[str(entry["key"])] = dict(entry["value"])
        try:
            with self._lock:
                for key, value in self._spilled.items():
                    self._conn.execute(
                        "INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)",
                        (key, canonical_json(value)),
                    )
        except sqlite3.Error:
            return  # still not writable: keep serving them from the spill file
        self.spill_path.unlink()
        self._spilled.clear()

    def check_writable(self) -> None:
        """Raise :class:`InputError` naming the file unless a reply can be stored (checked before
        the first request, so nothing is paid for that could not be kept)."""
        probe = "meshdistill-write-check"
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT OR REPLACE INTO answers (key, value) VALUES (?, '{}')", (probe,)
                )
                self._conn.execute("DELETE FROM answers WHERE key = ?", (probe,))
        except sqlite3.Error as error:
            raise InputError(
                str(self.path),
                f"the LLM request cache cannot be written ({error}); make the file and its "
                "folder writable, or point llm.cache_path at a writable place, before any "
                "request is paid for",
            ) from None

    def _unusable(self, problem: str) -> InputError:
        return InputError(
            str(self.path),
            f"the LLM request cache is damaged ({problem}). Move it aside (keep it if you want "
            "to try recovering answers with `sqlite3 FILE .recover`) or delete it together with "
            "its -wal and -shm files, then run again: answers it held are asked (and paid for) "
            "again",
        )

    def _open(self, busy_timeout_s: float) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        # Several processes may open a new cache at once; the journal-mode switch can meet a
        # lock that SQLite's busy handler does not wait for, so it is retried here.
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        # NORMAL in WAL survives a killed process; only a power cut may lose the last commits.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                self._conn.execute(statement)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
            spilled = self._spilled.get(key)
        if row is None:
            return dict(spilled) if spilled is not None else None
        return dict(json.loads(row[0]))

    def put(self, key: str, value: Mapping[str, Any]) -> bool:
        """Store a reply; ``False`` when it went to the spill file instead of the database."""
        text = canonical_json(value)
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)", (key, text)
                )
            return True
        except sqlite3.Error as error:
            self._spill(key, value, str(error))
            return False

    def _spill(self, key: str, value: Mapping[str, Any], problem: str) -> None:
        line = canonical_json({"key": key, "value": dict(value)}) + "\n"
        try:
            with self._lock, open(self.spill_path, "a", encoding="utf-8") as spill:
                spill.write(line)
                spill.flush()
                os.fsync(spill.fileno())
                self._spilled[key] = dict(value)
        except OSError as error:
            raise InputError(
                str(self.path),
                f"a paid reply could not be stored ({problem}), nor kept in {self.spill_path} "
                f"({error.strerror or error}); free disk space before running again",
            ) from None

    # --- claims: one process sends a request, the others wait for its answer -------------
    def claim(self, key: str, owner: str, stale_after_s: float) -> bool:
        """Claim ``key`` for sending; ``False`` while another live claim holds it. A claim older
        than ``stale_after_s``, or held by a process of this host that no longer runs, lapses."""
        try:
            return self._claim(key, owner, stale_after_s)
        except sqlite3.Error:
            return True  # a cache that cannot record claims cannot coordinate: just send

    def _claim(self, key: str, owner: str, stale_after_s: float) -> bool:
        now = time.time()
        host = socket.gethostname()
        with self._lock:
            row = self._conn.execute(
                "SELECT owner, host, pid, claimed_at FROM claims WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                holder, holder_host, pid, claimed_at = row
                alive = holder_host != host or _process_runs(int(pid))
                if holder != owner and alive and now - float(claimed_at) < stale_after_s:
                    return False
                self._conn.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, holder))
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO claims (key, owner, host, pid, claimed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, owner, host, os.getpid(), now),
            )
            return cursor.rowcount == 1

    def release(self, key: str, owner: str) -> None:
        try:
            with self._lock:
                self._conn.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, owner))
        except sqlite3.Error:
            pass  # an unreleased claim lapses by age

    # --- batches: provider batch jobs awaiting their results ------------------------------
    def record_batch(
        self,
        batch_id: str,
        model: str,
        endpoint: str,
        input_file_id: str,
        keys: Sequence[str],
        status: str = "submitted",
    ) -> None:
        """Remember a batch (or an uploaded input file about to become one, ``status``
        "uploaded") and the request keys it answers, in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?)",
                    (batch_id, model, endpoint, input_file_id, time.time(), status),
                )
                self._conn.executemany(
                    "INSERT OR IGNORE INTO batch_requests (batch_id, key) VALUES (?, ?)",
                    [(batch_id, key) for key in keys],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def adopt_batch(self, recorded_id: str, batch_id: str) -> None:
        """Record that the upload ``recorded_id`` became the submitted batch ``batch_id``."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "UPDATE batches SET batch_id = ?, status = 'submitted' WHERE batch_id = ?",
                    (batch_id, recorded_id),
                )
                self._conn.execute(
                    "UPDATE batch_requests SET batch_id = ? WHERE batch_id = ?",
                    (batch_id, recorded_id),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def open_batch_of(self, key: str, model: str) -> str | None:
        """The batch (or upload) of ``model`` not yet taken in that asks ``key``, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT b.batch_id FROM batch_requests r JOIN batches b USING (batch_id) "
                "WHERE r.key = ? AND b.model = ? AND b.status IN ('submitted', 'uploaded') "
                "ORDER BY b.submitted_at DESC LIMIT 1",
                (key, model),
            ).fetchone()
        return None if row is None else str(row[0])

    def batch_record(self, batch_id: str) -> dict[str, Any] | None:
        """What was recorded about a batch or upload: endpoint, input file, time, status."""
        with self._lock:
            row = self._conn.execute(
                "SELECT endpoint, input_file_id, submitted_at, status FROM batches "
                "WHERE batch_id = ?",
                (batch_id,),
            ).fetchone()
        if row is None:
            return None
        names = ("endpoint", "input_file_id", "submitted_at", "status")
        return dict(zip(names, row, strict=True))

    def close_batch(self, batch_id: str, status: str) -> None:
        """Mark a batch as taken in (its results are in the cache) or given up (``status``)."""
        with self._lock:
            self._conn.execute(
                "UPDATE batches SET status = ? WHERE batch_id = ?", (status, batch_id)
            )

    def contains(self, key: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM answers WHERE key = ?", (key,)).fetchone()
        return row is not None

    def put_failed(self, key: str, value: Mapping[str, Any]) -> None:
        """Keep an invalid reply for inspection; :meth:`get` never returns it."""
        text = canonical_json(value)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO failed_replies (key, value) VALUES (?, ?)", (key, text)
            )

    def get_failed(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM failed_replies WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def __len__(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RequestCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
