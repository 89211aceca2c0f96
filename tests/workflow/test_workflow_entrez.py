"""The workflow against a local E-utilities server: abstracts from PubMed (ESearch + history +
EFetch) and online retrieval (ESearch sort=relevance + EFetch), through the real Entrez client."""

from __future__ import annotations

import re

import pytest

from meshdistill.testing.eutils_server import EutilsTestServer
from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow

TARGETS = {"D001943": "Breast Neoplasms", "D009203": "Myocardial Infarction"}


def sample_articles(workflow: Workflow) -> dict[str, str]:
    text = workflow.path("data/corpus/sample_pubmed.xml").read_text()
    articles = re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, flags=re.DOTALL)
    return {re.search(r"<PMID[^>]*>(\d+)</PMID>", a).group(1): a for a in articles}  # type: ignore[union-attr]


def major_topic_index(articles: dict[str, str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for ui, name in TARGETS.items():
        index[name] = sorted(
            pmid for pmid, xml in articles.items() if re.search(rf'UI="{ui}" MajorTopicYN="Y"', xml)
        )
    return index


@pytest.mark.parametrize("retrieval_method", ["bm25", "pubmed"])
def test_abstracts_from_pubmed(workflow: Workflow, retrieval_method: str) -> None:
    articles = sample_articles(workflow)
    index = major_topic_index(articles)
    # Online retrieval searches with the question text: these words find every article.
    index["findings"] = index["treatment"] = sorted(articles)
    with EutilsTestServer(articles_xml=articles, term_index=index) as eutils:
        config = workflow.config()
        config["descriptors"] = {"uis": sorted(TARGETS)}
        config["abstracts"].update(source="entrez", max_abstracts=3)
        config["abstracts"]["entrez"] = {"base_url": eutils.url, "batch_size": 2}
        config["retrieval"] = {"method": retrieval_method}
        workflow.write_config(config)
        workflow.snakemake(env={"NCBI_EMAIL": "tests@example.org"})

        for ui, name in TARGETS.items():
            fetched = workflow.jsonl(f"results/abstracts/{ui}.jsonl")
            pmids = [r["pmid"] for r in fetched]
            assert len(pmids) == 3 and set(pmids) <= set(index[name]), (pmids, index[name])
            assert all(
                any(h["ui"] == ui and h["major_topic"] for h in r["mesh_headings"]) for r in fetched
            )
            for record in workflow.jsonl(f"results/scored/{ui}.jsonl"):
                assert record["retrieval"]["method"] == retrieval_method
                assert record["pmid"] not in {d["pmid"] for d in record["retrieval"]["documents"]}
        assert workflow.path("results/dataset/sft.jsonl").exists()
        efetch = [r for r in eutils.request_log if r.path.endswith("efetch.fcgi")]
        assert efetch, "abstracts were fetched with EFetch"
        assert all("tests@example.org" == r.params.get("email") for r in eutils.request_log)
        requests_after_first_run = len(eutils.request_log)

        # Raw responses are cached: rebuilding the abstracts refetches nothing.
        for path in workflow.path("results/abstracts").iterdir():
            path.unlink()
        workflow.snakemake(
            "--forceall", "results/abstracts/D001943.jsonl", env={"NCBI_EMAIL": "tests@example.org"}
        )
        assert len(eutils.request_log) == requests_after_first_run


def test_html_page_instead_of_efetch_xml_fails_the_job_and_is_not_cached(
    workflow: Workflow,
) -> None:
    articles = sample_articles(workflow)
    with EutilsTestServer(articles_xml=articles, term_index=major_topic_index(articles)) as eutils:
        config = workflow.config()
        config["descriptors"] = {"uis": ["D001943"]}
        config["abstracts"].update(source="entrez", max_abstracts=3)
        config["abstracts"]["entrez"] = {"base_url": eutils.url, "batch_size": 2}
        workflow.write_config(config)
        eutils.corrupt_next("efetch", "truncate", "html")
        target = "results/abstracts/D001943.jsonl"
        env = {"NCBI_EMAIL": "tests@example.org"}
        for fault in ("not whole PubMed XML", "HTML page"):
            failed = workflow.snakemake(target, check=False, env=env)
            assert failed.returncode != 0 and fault in failed.stderr, failed.stderr
            assert not workflow.path(target).exists()
        workflow.snakemake(target, env=env)  # the server is well again: nothing bad was cached
        assert len(workflow.jsonl(target)) == 3
