"""A directory of raw E-utilities replies, so a rerun does not ask NCBI again.

Each reply is stored under a SHA-256 of the endpoint, the utility and its parameters, without
the e-mail, API key and tool name (they do not change the answer and must never be written to
disk). The endpoint is part of the key so that two servers sharing one folder (NCBI and a
mirror, or a test server) never answer for each other.
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


def cache_key(endpoint: str, utility: str, params: Mapping[str, object]) -> str:
    kept = {k: str(v) for k, v in params.items() if k not in IDENTITY_PARAMS and v is not None}
    blob = json.dumps(
        {"endpoint": endpoint, "utility": utility, "params": kept},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, directory: Path, endpoint: str) -> None:
        self.directory = Path(directory)
        self.endpoint = endpoint

    def path_for(self, utility: str, params: Mapping[str, object]) -> Path:
        """The file that holds (or would hold) the reply to this request."""
        key = cache_key(self.endpoint, utility, params)
        return self.directory / key[:2] / f"{key}.xml"

    def get(self, utility: str, params: Mapping[str, object]) -> bytes | None:
        try:
            return self.path_for(utility, params).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, utility: str, params: Mapping[str, object], body: bytes) -> None:
        path = self.path_for(utility, params)
        atomic_write_bytes(path, body)
        # A readable note of what the reply answers helps when inspecting the cache by hand.
        note = {k: str(v) for k, v in sorted(params.items()) if k not in IDENTITY_PARAMS}
        note_path = path.with_suffix(".json")
        if not note_path.exists():
            described = {"endpoint": self.endpoint, "utility": utility, "params": note}
            atomic_write_text(note_path, json.dumps(described, sort_keys=True))

    def discard(self, utility: str, params: Mapping[str, object]) -> None:
        self.path_for(utility, params).unlink(missing_ok=True)
