"""A directory of raw E-utilities replies, so a rerun does not ask NCBI again.

Each reply is stored under a SHA-256 of the utility and its parameters, without the e-mail,
API key and tool name (they do not change the answer and must never be written to disk).
Files are written to a temporary name and renamed, so a crash or a parallel job never leaves
a half-written reply behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from meshdistill.fileio import atomic_write_bytes, atomic_write_text

# Parameters that identify the caller rather than the request.
IDENTITY_PARAMS = frozenset({"email", "api_key", "tool"})


def cache_key(utility: str, params: Mapping[str, object]) -> str:
    kept = {k: str(v) for k, v in params.items() if k not in IDENTITY_PARAMS and v is not None}
    blob = json.dumps({"utility": utility, "params": kept}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.xml"

    def get(self, utility: str, params: Mapping[str, object]) -> bytes | None:
        try:
            return self._path(cache_key(utility, params)).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, utility: str, params: Mapping[str, object], body: bytes) -> None:
        key = cache_key(utility, params)
        path = self._path(key)
        atomic_write_bytes(path, body)
        # A readable note of what the reply answers helps when inspecting the cache by hand.
        note = {k: str(v) for k, v in sorted(params.items()) if k not in IDENTITY_PARAMS}
        note_path = path.with_suffix(".json")
        if not note_path.exists():
            atomic_write_text(
                note_path, json.dumps({"utility": utility, "params": note}, sort_keys=True)
            )

    def discard(self, utility: str, params: Mapping[str, object]) -> None:
        self._path(cache_key(utility, params)).unlink(missing_ok=True)
