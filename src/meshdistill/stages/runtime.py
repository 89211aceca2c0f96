"""What every stage script shares: logging to the rule's log file and clear failures."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from meshdistill.errors import MeshDistillError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_path: str | Path | None) -> logging.Logger:
    """Send the package's log records to the rule's log file (and warnings to stderr)."""
    root = logging.getLogger("meshdistill")
    root.setLevel(logging.INFO)
    root.handlers.clear()
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(file_handler)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    return root


def run_stage(
    stage: str, log_path: str | Path | None, body: Callable[[logging.Logger], None]
) -> None:
    """Run a stage; a known error becomes one clear line (and exit status 1), not a traceback."""
    logger = configure_logging(log_path).getChild(stage)
    try:
        body(logger)
    except MeshDistillError as error:
        logger.error("%s", error)
        print(f"meshdistill {stage}: {error}", file=sys.stderr)
        sys.exit(1)
