"""Which abstracts come first (abstracts.order): oldest, newest, seeded random and, from
PubMed, relevance; on the bundled sample corpus and against the local E-utilities server."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill import settings as cfg
from meshdistill.errors import ConfigError
from meshdistill.pubmed.entrez import EntrezClient
from meshdistill.pubmed.order import ordered_pmids
from meshdistill.pubmed.xml import iter_pubmed_xml
from meshdistill.records import Article
from meshdistill.stages.abstracts import pick_articles
from meshdistill.testing.eutils_server import EutilsTestServer
from tests.pubmed.test_pubmed_entrez import NAME, make_articles, settings_for

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "corpus" / "sample_pubmed.xml"
BREAST_NEOPLASMS = "D001943"
PMIDS = ["99000012", "8", "99000003", "10", "123456"]


def sha_order(pmids: list[str], seed: int) -> list[str]:
    return sorted(pmids, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())


def test_oldest_and_newest_compare_pmids_as_numbers() -> None:
    assert ordered_pmids(PMIDS, "oldest", 0) == ["8", "10", "123456", "99000003", "99000012"]
    assert ordered_pmids(PMIDS, "newest", 0) == ["99000012", "99000003", "123456", "10", "8"]


def test_random_is_a_seeded_hash_order_independent_of_input_order() -> None:
    first = ordered_pmids(PMIDS, "random", 7)
    assert first == sha_order(PMIDS, 7)
    assert ordered_pmids(list(reversed(PMIDS)), "random", 7) == first
    assert ordered_pmids(PMIDS, "random", 8) == sha_order(PMIDS, 8) != first
    # adding a PMID does not reshuffle the others
    assert [p for p in ordered_pmids([*PMIDS, "77"], "random", 7) if p != "77"] == first


def test_relevance_cannot_order_a_local_list() -> None:
    with pytest.raises(ConfigError, match="abstracts.order"):
        ordered_pmids(PMIDS, "relevance", 0)


@pytest.fixture(scope="module")
def sample() -> list[Article]:
    return list(iter_pubmed_xml(SAMPLE))


def _pick(sample: list[Article], order: str, seed: int = 0, limit: int = 3) -> list[str]:
    chosen = pick_articles(
        sample, BREAST_NEOPLASMS, major_topic_only=True, limit=limit, order=order, seed=seed
    )
    return [article.pmid for article in chosen]


def test_each_order_on_the_sample_corpus(sample: list[Article]) -> None:
    everything = _pick(sample, "oldest", limit=100)
    assert len(everything) >= 5
    assert everything == sorted(everything, key=int)
    assert _pick(sample, "oldest") == everything[:3]
    assert _pick(sample, "newest") == everything[::-1][:3]
    assert _pick(sample, "random", seed=3) == sha_order(everything, 3)[:3]
    assert _pick(sample, "random", seed=3) == _pick(list(reversed(sample)), "random", seed=3)
    random_picks = {tuple(_pick(sample, "random", seed=s)) for s in range(5)}
    assert len(random_picks) > 1


def _config() -> dict[str, Any]:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    assert config["abstracts"]["source"] == "local"
    expanded, _notes = cfg.with_method(config)  # as the workflow does before any check
    return expanded


def test_relevance_with_a_local_source_is_a_config_error_naming_the_setting() -> None:
    config = _config()
    config["abstracts"]["order"] = "relevance"
    with pytest.raises(ConfigError) as info:
        cfg.check_references(config, REPO)
    assert info.value.setting == "abstracts.order"
    assert "entrez" in str(info.value)

    config = _config()
    config["descriptors"]["overrides"] = {BREAST_NEOPLASMS: {"abstracts": {"order": "relevance"}}}
    with pytest.raises(ConfigError) as info:
        cfg.check_abstract_order(config)
    assert info.value.setting == f"descriptors.overrides.{BREAST_NEOPLASMS}.abstracts.order"

    config = _config()
    config["abstracts"].update(source="entrez", order="relevance")
    cfg.check_abstract_order(config)


def test_the_card_summary_names_the_order() -> None:
    config = _config()
    config["abstracts"].update(order="random", seed=5)
    corpus = cfg.settings_summary(config)["corpus"]
    assert corpus["order"] == "random" and corpus["seed"] == 5
    config["abstracts"]["order"] = "newest"
    corpus = cfg.settings_summary(config)["corpus"]
    assert corpus["order"] == "newest" and "seed" not in corpus


# -- PubMed ---------------------------------------------------------------------------------

ARTICLES = make_articles(30, no_abstract={3})  # PMID 1003 has no abstract: skipped
USABLE = [pmid for pmid in ARTICLES if pmid != "1003"]


def _fetch(tmp_path: Path, order: str, seed: int = 0, cache: bool = False) -> list[str]:
    with EutilsTestServer(copy.deepcopy(ARTICLES)) as server:
        extra: dict[str, object] = {"cache_dir": tmp_path / "cache"} if cache else {}
        settings = settings_for(
            server, tmp_path, max_records=5, batch_size=4, order=order, seed=seed, **extra
        )
        records, report = EntrezClient(settings).fetch_descriptor(NAME)
    # max_records bounds the records fetched; unusable ones are fetched, then skipped
    assert report.fetched == 5 and report.kept == len(records)
    return [article.pmid for article in records]


def test_entrez_orders(tmp_path: Path) -> None:
    newest = _fetch(tmp_path, "newest")
    assert newest == ["1029", "1028", "1027", "1026", "1025"]
    # the test server ranks by ascending PMID for sort=relevance
    assert _fetch(tmp_path, "relevance") == ["1000", "1001", "1002", "1004"]
    assert _fetch(tmp_path, "oldest") == ["1000", "1001", "1002", "1004"]
    expected = [pmid for pmid in sha_order(list(ARTICLES), 9)[:5] if pmid in USABLE]
    assert _fetch(tmp_path, "random", seed=9) == expected
    assert _fetch(tmp_path, "random", seed=10) != expected
    assert _fetch(tmp_path, "random", seed=9) == _fetch(tmp_path, "random", seed=9)


def test_entrez_orders_do_not_share_cached_replies(tmp_path: Path) -> None:
    newest = _fetch(tmp_path, "newest", cache=True)
    assert _fetch(tmp_path, "relevance", cache=True) != newest
    assert _fetch(tmp_path, "newest", cache=True) == newest


def test_entrez_order_is_validated() -> None:
    with pytest.raises(ConfigError, match="entrez.order"):
        EntrezClient.from_config({"order": "alphabetical"}, {})
