from __future__ import annotations

from collections.abc import Sequence

from meshdistill.records import AbstractSection, Article, MeshHeading
from meshdistill.retrieval import PubMedRetriever, plain_query
from meshdistill.retrieval.pubmed import any_term_query


def article(pmid: str, abstract: str = "Some abstract.") -> Article:
    sections = [AbstractSection(None, abstract)] if abstract else []
    return Article(pmid, f"Title {pmid}", sections, [MeshHeading(f"D0000{pmid}", "x")])


class StubClient:
    """Answers like Entrez would, recording every call."""

    def __init__(self, ranking: dict[str, list[str]], articles: list[Article]) -> None:
        self.ranking = ranking
        self.articles = {a.pmid: a for a in articles}
        self.searches: list[tuple[str, int]] = []

    def search_relevance(self, query: str, retmax: int) -> list[str]:
        self.searches.append((query, retmax))
        return self.ranking.get(query, [])[:retmax]

    def fetch_pmids(self, pmids: Sequence[str]) -> list[Article]:
        return [self.articles[p] for p in sorted(pmids) if p in self.articles]


def test_keeps_pubmed_order_excludes_source_and_skips_unusable_hits() -> None:
    query = "Does metformin reduce HbA1c in adolescents?"
    ranking = {plain_query(query): ["11", "99", "12", "13", "14", "15", "16"]}
    articles = [
        article("11"),
        article("99"),
        article("12", ""),
        article("13"),
        article("14"),
        article("15"),
    ]
    client = StubClient(ranking, articles)
    hits = PubMedRetriever(client, extra_hits=2).search(query, k=3, exclude_pmids={"99"})
    # 99 is the source, 12 has no abstract, 16 is not fetchable
    assert [h.pmid for h in hits] == ["11", "13", "14"]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert [h.score for h in hits] == [1.0, 0.5, round(1 / 3, 6)]
    assert hits[0].mesh_uis == ("D000011",)
    assert client.searches == [(plain_query(query), 3 + 1 + 2)]


def test_falls_back_to_any_term_query_when_too_few_hits() -> None:
    query = "Does metformin reduce HbA1c?"
    ranking = {plain_query(query): ["1"], any_term_query(query): ["1", "2", "3"]}
    client = StubClient(ranking, [article("1"), article("2"), article("3")])
    hits = PubMedRetriever(client).search(query, k=3, exclude_pmids=())
    assert [h.pmid for h in hits] == ["1", "2", "3"]
    assert any_term_query(query) == "hba1c OR metformin OR reduce"
    no_fallback = PubMedRetriever(client, fallback_to_any_term=False)
    assert [h.pmid for h in no_fallback.search(query, k=3, exclude_pmids=())] == ["1"]


def test_plain_query_removes_search_syntax() -> None:
    assert plain_query('Is "BRCA1" [gene] AND (breast) cancer* linked?') == (
        "Is BRCA1 gene and breast cancer linked"
    )
