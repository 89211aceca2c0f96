from __future__ import annotations

from pathlib import Path

import pytest

from meshdistill.errors import InputError
from meshdistill.records import AbstractSection, Article, MeshHeading
from meshdistill.retrieval import BM25Retriever, corpus_fingerprint


def article(pmid: str, title: str, abstract: str, uis: tuple[str, ...] = ()) -> Article:
    return Article(
        pmid=pmid,
        title=title,
        abstract_sections=[AbstractSection(None, abstract)] if abstract else [],
        mesh_headings=[MeshHeading(ui, f"name {ui}") for ui in uis],
    )


CORPUS = [
    article(
        "30",
        "Insulin resistance in type 2 diabetes",
        "Skeletal muscle insulin resistance precedes type 2 diabetes.",
        ("D003924",),
    ),
    article("10", "Childhood asthma", "Airway inflammation and wheeze in children.", ("D001249",)),
    article(
        "20",
        "Hepatic insulin resistance",
        "Liver fat drives hepatic insulin resistance "
        "and fasting hyperglycaemia in type 2 diabetes.",
        ("D003924", "D007333"),
    ),
    article("40", "Statins and cholesterol", "Statins lower LDL cholesterol.", ("D019161",)),
    article("50", "Malaria vaccines", "RTS,S vaccine efficacy in infants.", ()),
]


@pytest.fixture(scope="module")
def retriever() -> BM25Retriever:
    return BM25Retriever.build(CORPUS)


def test_obviously_relevant_document_ranks_first(retriever: BM25Retriever) -> None:
    hits = retriever.search("Which statins lower LDL cholesterol?", k=3, exclude_pmids=())
    assert hits[0].pmid == "40"
    assert hits[0].rank == 1 and hits[0].mesh_uis == ("D019161",)
    assert hits[0].title == "Statins and cholesterol"


def test_excluded_pmid_is_never_returned(retriever: BM25Retriever) -> None:
    query = "How does liver fat cause hepatic insulin resistance in type 2 diabetes?"
    assert retriever.search(query, k=1, exclude_pmids=())[0].pmid == "20"
    for k in range(1, 6):
        hits = retriever.search(query, k=k, exclude_pmids={"20"})
        assert "20" not in [h.pmid for h in hits]
        assert len(hits) <= k
    hits = retriever.search(query, k=4, exclude_pmids=["20"])
    assert [h.pmid for h in hits][0] == "30"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_documents_sharing_no_term_are_not_returned(retriever: BM25Retriever) -> None:
    assert retriever.search("zebrafish photoreceptor", k=4, exclude_pmids=()) == []
    assert retriever.search("???", k=4, exclude_pmids=()) == []
    hits = retriever.search("statins", k=4, exclude_pmids=())
    assert [h.pmid for h in hits] == ["40"]


def test_ties_are_broken_by_pmid() -> None:
    twins = [article(pmid, "Identical title", "Identical abstract text.") for pmid in "97531"]
    tied = BM25Retriever.build(twins)
    for k in (1, 2, 5):
        hits = tied.search("identical", k=k, exclude_pmids={"3"})
        assert [h.pmid for h in hits] == ["1", "5", "7", "9"][:k]


def test_save_load_round_trip(retriever: BM25Retriever, tmp_path: Path) -> None:
    retriever.save(tmp_path / "index")
    loaded = BM25Retriever.load(tmp_path / "index", expected_fingerprint=corpus_fingerprint(CORPUS))
    assert len(loaded) == len(CORPUS)
    assert loaded.fingerprint == retriever.fingerprint
    for query in ["insulin resistance diabetes", "asthma wheeze children", "vaccine"]:
        assert loaded.search(query, 3, ["30"]) == retriever.search(query, 3, ["30"])


def test_build_and_save_are_deterministic(tmp_path: Path) -> None:
    BM25Retriever.build(CORPUS).save(tmp_path / "a")
    BM25Retriever.build(list(reversed(CORPUS))).save(tmp_path / "b")
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert "manifest.json" in names and "postings_impacts.bin" in names
    assert names == sorted(path.name for path in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_load_rejects_other_corpus_and_verify_finds_tampering(
    retriever: BM25Retriever, tmp_path: Path
) -> None:
    folder = tmp_path / "index"
    retriever.save(folder)
    with pytest.raises(InputError, match="different corpus"):
        BM25Retriever.load(folder, expected_fingerprint=corpus_fingerprint(CORPUS[:2]))
    text = (folder / "text.bin").read_bytes()
    (folder / "text.bin").write_bytes(text.replace(b"Statins", b"Fibrate"))
    # Opening does not re-read documents (that is what makes it cheap); an audit does.
    BM25Retriever.load(folder)
    with pytest.raises(InputError, match="fingerprint"):
        BM25Retriever.load(folder).verify()
    with pytest.raises(InputError, match="manifest.json is missing.*retrieval_index"):
        BM25Retriever.load(tmp_path / "nowhere")


def test_duplicate_pmids_keep_the_later_record() -> None:
    revised = article("40", "Statins revised", "PCSK9 inhibitors and statins.", ("D000001",))
    built = BM25Retriever.build([*CORPUS, revised])
    assert len(built) == len(CORPUS)
    assert built.search("PCSK9", 2, ())[0].mesh_uis == ("D000001",)


def test_empty_corpus_is_an_input_error() -> None:
    with pytest.raises(InputError, match="zero articles"):
        BM25Retriever.build([])


def test_to_record_matches_schema(retriever: BM25Retriever) -> None:
    import jsonschema

    from meshdistill.schemas import _registry, schemas_dir

    schema = {"$ref": "common.schema.json#/$defs/retrieved_document"}
    validator = jsonschema.Draft202012Validator(schema, registry=_registry(str(schemas_dir())))
    hits = retriever.search("insulin", 4, ())
    assert len(hits) == 2
    for hit in hits:
        validator.validate(hit.to_record())
