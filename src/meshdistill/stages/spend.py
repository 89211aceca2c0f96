"""A spend ledger shared by every job of the workflow, so `llm.budget_usd` caps the whole run.

Each job reads what earlier jobs paid before it starts and adds what it paid when it ends (also
when it stops on the budget or an error), under a file lock. Jobs running at the same moment each
see the spend committed before they started, so together they can overshoot the cap by at most
what they were allowed to reserve; each request reserves its worst-case cost first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock

from meshdistill.errors import InputError
from meshdistill.fileio import atomic_write_text

LEDGER_NAME = "spend.json"


class SpendLedger:
    def __init__(self, cache_path: str | Path) -> None:
        self.path = Path(cache_path).with_name(LEDGER_NAME)
        self._lock = FileLock(str(self.path) + ".lock")

    def spent_usd(self) -> float:
        with self._lock:
            return self._read()

    def check_writable(self) -> None:
        """Raise :class:`InputError` unless the ledger's folder can take the ledger file."""
        folder = self.path.parent
        if not os.access(folder, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK)
        ):
            raise InputError(
                str(self.path),
                "the spend ledger cannot be written, so llm.budget_usd could not count this "
                "run's spending; make it and its folder writable (it lives beside "
                "llm.cache_path) before any request is paid for",
            )

    def add(self, usd: float) -> None:
        if usd <= 0:
            return
        with self._lock:
            total = self._read() + usd
            atomic_write_text(self.path, json.dumps({"spent_usd": round(total, 9)}) + "\n")

    def _read(self) -> float:
        if not self.path.exists():
            return 0.0
        try:
            spent = json.loads(self.path.read_text(encoding="utf-8"))["spent_usd"]
            if isinstance(spent, bool) or not isinstance(spent, int | float) or spent < 0:
                raise ValueError(f"spent_usd is {spent!r}")
            return float(spent)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise InputError(
                str(self.path),
                f"the spend ledger is damaged ({error}). It should read "
                '{"spent_usd": <dollars spent so far>}: write the right figure into it, or '
                "delete it to count the budget (llm.budget_usd) from zero again",
            ) from None
