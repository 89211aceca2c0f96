"""Small file and serialisation helpers shared across the package: canonical JSON, content
hashes, and atomic writes (a killed job never leaves half a file behind)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

HASH_BLOCK_BYTES = 1 << 20


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal data gives equal text (and equal hashes)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _current_umask() -> int:
    # Linux reports the umask in /proc; elsewhere it can only be read by setting it, which
    # for a moment leaves other threads creating files under umask 0.
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def default_file_mode() -> int:
    """The mode ``open()`` gives a new file (0666 less the umask, so 0644 under the usual 022)."""
    return 0o666 & ~_current_umask()


def atomic_write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> None:
    """Write via a temporary file in the same folder, then rename it into place.

    The file gets ``mode``, by default the one any other output gets (see
    :func:`default_file_mode`) rather than the 0600 of the temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, default_file_mode() if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)
