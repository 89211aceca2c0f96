"""`method:` presets: the chosen method fills the settings the config leaves out, explicit
settings win, and the expanded config is what the workflow reads (checked at parse time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill.errors import ConfigError
from meshdistill.settings import check_references, deep_merge, with_method

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    return yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))


def test_default_method_is_the_projects(defaults: dict[str, Any]) -> None:
    config, notes = with_method(defaults)
    assert notes == []
    assert config["scoring"]["measure"] == "lin"
    assert config["scoring"]["category"] == "letter"
    assert config["scoring"]["exclude_headings"] == ["check_tags"]
    assert config["selection"]["kailin_filter"] is None
    assert config["retrieval"]["method"] == "bm25"
    assert config["retrieval"]["k"] == 4
    check_references(config, REPO)


def test_kailin_method_sets_the_papers_settings(defaults: dict[str, Any]) -> None:
    config, notes = with_method(deep_merge(defaults, {"method": "kailin"}))
    assert notes == []
    assert config["scoring"]["measure"] == "kailin"
    assert config["scoring"]["category"] == "segment"
    assert config["scoring"]["exclude_headings"] == []
    assert config["scoring"]["set_method"] == "mean"
    assert config["selection"]["kailin_filter"] == {"score_threshold": 0.5}
    assert config["retrieval"]["method"] == "dense"
    assert config["retrieval"]["k"] == 4
    check_references(config, REPO)


def test_explicit_settings_win_and_are_noted(defaults: dict[str, Any]) -> None:
    overlay = {"method": "kailin", "retrieval": {"k": 8}, "scoring": {"exclude_headings": []}}
    config, notes = with_method(deep_merge(defaults, overlay))
    assert config["retrieval"]["k"] == 8
    assert config["scoring"]["measure"] == "kailin"
    assert notes == ["retrieval.k = 8 is set explicitly and wins over method kailin's 4"]


def test_unknown_method_and_missing_settings_are_named(defaults: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="'method'.*'paper'"):
        with_method(deep_merge(defaults, {"method": "paper"}))
    stripped = deep_merge(defaults, {})
    del stripped["methods"]["meshdistill"]["retrieval"]
    with pytest.raises(ConfigError, match=r"retrieval\.(method|k)"):
        with_method(stripped)


def test_kailin_with_pubmed_retrieval_is_refused(defaults: dict[str, Any]) -> None:
    overlay = {"method": "kailin", "retrieval": {"method": "pubmed"}}
    config, _ = with_method(deep_merge(defaults, overlay))
    with pytest.raises(ConfigError, match="scoring.measure.*pubmed"):
        check_references(config, REPO)
