"""A request-rate limit shared by every process on the machine (or a shared file system).

Parallel Snakemake jobs each run their own client, yet NCBI counts requests per user. Each
request therefore books the next free time slot in a small state file under a file lock:
the file holds the earliest time the next request may go out. Booking is quick (read, write,
release), and the waiting happens outside the lock, so processes queue fairly by booking order.
Wall-clock time is used because it is the one clock every process (and node) shares.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

DEFAULT_LOCK_TIMEOUT_S = 60.0


class SharedThrottle:
    """Space requests at least ``interval_s`` apart across threads and processes.

    With ``state_path`` None the limit covers this process only (threads included).
    """

    def __init__(
        self,
        interval_s: float,
        state_path: Path | None = None,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval_s < 0:
            raise ValueError("interval_s must be non-negative")
        self.interval_s = interval_s
        self.state_path = Path(state_path) if state_path is not None else None
        self._clock = clock
        self._sleep = sleep
        self._thread_lock = threading.Lock()
        self._next_local = 0.0
        self._file_lock = (
            FileLock(str(self.state_path) + ".lock", timeout=lock_timeout_s)
            if self.state_path is not None
            else None
        )
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)

    def _book(self) -> float:
        """Reserve the next slot and return the time it starts."""
        now = self._clock()
        if self._file_lock is None or self.state_path is None:
            slot = max(now, self._next_local)
            self._next_local = slot + self.interval_s
            return slot
        with self._file_lock:
            try:
                text = self.state_path.read_text(encoding="ascii").strip()
                next_free = float(text) if text else 0.0
            except (FileNotFoundError, ValueError):
                next_free = 0.0  # a missing or torn file only costs one slot of accuracy
            slot = max(now, next_free)
            tmp = self.state_path.with_name(f"{self.state_path.name}.{os.getpid()}.tmp")
            tmp.write_text(repr(slot + self.interval_s), encoding="ascii")
            os.replace(tmp, self.state_path)
        return slot

    def wait(self) -> float:
        """Block until this caller may send one request; returns the seconds waited."""
        with self._thread_lock:
            slot = self._book()
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0
