"""`meshdistill similarity`: one output line per input line, in order, with the scores the
workflow's scorers give; bad input names the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshdistill.cli import main
from meshdistill.mesh import MeshTree, build_scorer
from meshdistill.pubmed.corpus import load_corpus

REPO = Path(__file__).resolve().parents[2]
MESH = str(REPO / "data/mesh/desc_subset.xml")
CORPUS = str(REPO / "data/corpus/sample_pubmed.xml")
CHECK_TAGS = str(REPO / "data/mesh/check_tags.tsv")


@pytest.fixture(scope="module")
def articles():  # type: ignore[no-untyped-def]
    return load_corpus([CORPUS])[0]


def write_pairs(path: Path, articles, count: int = 5) -> list[dict]:  # type: ignore[no-untyped-def]
    lines = [
        {
            "source": articles[i].heading_uis,
            "retrieved": [articles[i + 1].heading_uis, articles[i + 7].heading_uis + ["D999999"]],
        }
        for i in range(count)
    ]
    lines.append({"source": [], "retrieved": [[articles[0].heading_uis[0]]]})
    lines.append({"source": articles[0].heading_uis, "retrieved": []})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return lines


def run(tmp_path: Path, *options: str) -> list[dict]:
    output = tmp_path / "scores.jsonl"
    arguments = ["similarity", "--mesh", MESH, "--input", str(tmp_path / "pairs.jsonl")]
    assert main([*arguments, "--output", str(output), *options]) == 0
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("options", "measure", "ic_kind", "method", "category", "exclude"),
    [
        (["--measure", "kailin", "--corpus", CORPUS], "kailin", "intrinsic", "mean", "letter", []),
        (
            ["--measure", "jiang", "--information-content", "corpus", "--corpus", CORPUS,
             "--set-method", "best_match", "--category", "segment"],
            "jiang", "corpus", "best_match", "segment", [],
        ),
        (
            ["--measure", "lin", "--exclude-headings", "check_tags", "D000970",
             "--check-tags-file", CHECK_TAGS],
            "lin", "intrinsic", "mean", "letter", ["D000328", "D000368", "D008875", "D000970"],
        ),
    ],
)  # fmt: skip
def test_scores_match_the_workflow_scorer(  # type: ignore[no-untyped-def]
    tmp_path: Path, articles, options, measure, ic_kind, method, category, exclude
) -> None:
    lines = write_pairs(tmp_path / "pairs.jsonl", articles)
    scores = run(tmp_path, *options)
    assert len(scores) == len(lines)
    tree = MeshTree.load(MESH)
    annotations = [a.heading_uis for a in articles]
    scorer = build_scorer(tree, measure, ic_kind, annotations, category=category, exclude=exclude)
    for line, result in zip(lines, scores, strict=True):
        expected = scorer.retrieval_score(line["source"], line["retrieved"], method=method)
        assert result["score"] == pytest.approx(expected, abs=1e-12)
        assert len(result["document_scores"]) == len(line["retrieved"])
    assert scores[-2]["score"] == 0.0 and scores[-1] == {"score": 0.0, "document_scores": []}
    assert any(result["score"] > 0.05 for result in scores)


def test_bad_input_and_missing_corpus_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"source": ["D001943"], "retrieved": [["D001943"]]}\n{"source": "x"}\n')
    arguments = ["similarity", "--mesh", MESH, "--input", str(pairs), "--output"]
    assert main([*arguments, str(tmp_path / "out.jsonl")]) == 1
    assert "pairs.jsonl (record item 2): 'source' must be a list of UIs" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()
    assert main([*arguments, str(tmp_path / "out.jsonl"), "--measure", "kailin"]) == 1
    assert "--corpus" in capsys.readouterr().err
