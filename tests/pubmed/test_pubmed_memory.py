"""Streaming keeps memory flat: tripling the file does not raise the allocation peak."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from meshdistill.pubmed.synthetic import write_synthetic_xml
from meshdistill.pubmed.xml import iter_pubmed_xml


def _peak_bytes(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_pubmed_xml(path))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    small = write_synthetic_xml(tmp_path / "small.xml.gz", 300, seed=1)
    large = write_synthetic_xml(tmp_path / "large.xml.gz", 900, seed=2)
    small_count, small_peak = _peak_bytes(small)
    large_count, large_peak = _peak_bytes(large)
    assert (small_count, large_count) == (300, 900)
    # Holding the records would take ~3x; streaming stays within noise of the small file.
    assert large_peak < small_peak * 1.3 + 256 * 1024
