"""Per-descriptor settings worked out once at parse time equal the per-descriptor merge and
hash they replace, and only descriptors whose value differs get one of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill import settings
from meshdistill.settings import (
    PerDescriptor,
    config_hash,
    config_hash_per_descriptor,
    deep_merge,
    descriptor_config,
    section_for,
    section_per_descriptor,
    with_method,
)

REPO = Path(__file__).resolve().parents[2]
OVERRIDDEN = "D009203"
PLAIN = "D001943"


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(REPO)  # prompt paths are relative to the workflow
    defaults = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    overrides = {OVERRIDDEN: {"selection": {"min_margin": 0.5}, "retrieval": {"k": 2}}}
    expanded, _ = with_method(deep_merge(defaults, {"descriptors": {"overrides": overrides}}))
    return expanded


@pytest.mark.parametrize("section", settings.OVERRIDABLE_SECTIONS)
def test_sections_match_the_per_descriptor_merge(config: dict[str, Any], section: str) -> None:
    values = section_per_descriptor(config, section)
    for ui in (OVERRIDDEN, PLAIN):
        assert values.for_ui(ui) == section_for(config, section, ui)
    expected = set() if section == "abstracts" else {OVERRIDDEN}
    assert set(values.overridden) == expected
    assert values.for_ui(OVERRIDDEN) != values.shared or section == "abstracts"


def test_config_hashes_match_and_prompts_are_hashed_once(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    real_sha256 = settings.file_sha256

    def counting_sha256(path: Any) -> str:
        hashed.append(str(path))
        return real_sha256(path)

    monkeypatch.setattr(settings, "file_sha256", counting_sha256)
    hashes = config_hash_per_descriptor(config)
    prompt_files = [g["prompt"] for g in config["generators"]]
    prompt_files += [config["judge"]["prompt"], config["answerer"]["prompt"]]
    assert sorted(hashed) == sorted(prompt_files)
    assert set(hashes.overridden) == {OVERRIDDEN}
    for ui in (OVERRIDDEN, PLAIN):
        assert hashes.for_ui(ui) == config_hash(descriptor_config(config, ui))


def test_a_derived_value_keeps_only_descriptors_that_differ() -> None:
    values = PerDescriptor({"source": "local"}, {"D1": {"source": "entrez"}, "D2": {"x": 1}})
    entrez = values.map(lambda section: section.get("source", "local") == "entrez")
    assert entrez.shared is False
    assert dict(entrez.overridden) == {"D1": True}
    assert entrez.for_ui("D2") is False
