"""Answers in the source's own words (quality.answer_quotes_source), on replies the bundled
Gemma 3 270M model wrote in default runs, against abstracts of the bundled sample corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from meshdistill.pubmed.xml import iter_pubmed_xml
from meshdistill.quality import QualitySettings
from meshdistill.quality.quoting import Quote, quote_sources
from meshdistill.records import Article
from meshdistill.stages.filtered import checked_answer

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "corpus" / "sample_pubmed.xml"
DEFAULTS = QualitySettings()

MAMMOGRAPHY = "99000002"
TAMOXIFEN = "99000001"
DEMENTIA = "99000050"
ANTIPLATELET = "99000019"


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {article.pmid: article for article in iter_pubmed_xml(SAMPLE)}


def evidence(article: Article) -> list[str]:
    return [article.title, article.abstract]


def test_a_reply_that_swapped_the_figures_of_two_tests_quotes_the_sentence_stating_them(
    articles: dict[str, Article],
) -> None:
    # 88% and 74% are the sensitivity and specificity of magnetic resonance imaging, not a
    # sensitivity of mammography: every word and figure is the abstract's, their order is not.
    reply = (
        "The sensitivity of mammography was 88% and the specificity of magnetic resonance "
        "imaging was 74%."
    )
    quote = quote_sources(reply, evidence(articles[MAMMOGRAPHY]), DEFAULTS)
    assert quote == Quote(
        "Magnetic resonance imaging showed a sensitivity of 88% and specificity of 74% for "
        "residual disease, whereas mammography reached 79% and 52%, respectively."
    )


def test_a_reply_naming_the_wrong_therapy_quotes_the_conclusion_it_rewords(
    articles: dict[str, Article],
) -> None:
    # The trial found stopping aspirin (ending dual therapy) reasonable, not dual therapy.
    reply = (
        "Dual antiplatelet therapy is a reasonable strategy for many patients after myocardial "
        "infarction treated with modern stents."
    )
    quote = quote_sources(reply, evidence(articles[ANTIPLATELET]), DEFAULTS)
    assert quote.text == (
        "Stopping aspirin after three months therefore appears a reasonable strategy for many "
        "patients after myocardial infarction treated with modern stents."
    )


def test_a_figure_given_to_another_exposure_is_quoted_as_the_sentences_it_joined(
    articles: dict[str, Article],
) -> None:
    # 1.4-fold is the risk of diabetes in midlife; the reply gives it to metformin. No single
    # sentence holds it, so it is quoted as the two it joined, each true as the source says it.
    reply = (
        "Metformin is associated with a 1.4-fold higher risk of dementia in people with "
        "diabetes, but the association with Alzheimer pathology is weaker."
    )
    quote = quote_sources(reply, evidence(articles[DEMENTIA]), DEFAULTS)
    assert quote.text == (
        "Type 2 diabetes in midlife was associated with a 1.4-fold higher risk, and each "
        "one-percentage-point increase in average glycated haemoglobin among people with "
        "diabetes raised risk by 12%. Better midlife glycaemic control may reduce later "
        "dementia risk, although the relationship with Alzheimer pathology itself requires "
        "study with biomarkers."
    )
    # Allowed one sentence, it rewords none.
    single = replace(DEFAULTS, answer_quote_max_sentences=1)
    quote = quote_sources(reply, evidence(articles[DEMENTIA]), single)
    assert quote.text is None
    assert "the closest hold 54% of its words and figures, at least 75% needed" in quote.problem


def test_a_reply_rewording_nothing_in_the_source_is_no_quote(
    articles: dict[str, Article],
) -> None:
    reply = "Metformin halves the risk of vascular dementia in non-diabetic smokers."
    quote = quote_sources(reply, evidence(articles[DEMENTIA]), DEFAULTS)
    assert quote.text is None
    assert quote.problem.startswith("its sentence 'Metformin halves the risk")


def test_section_labels_are_left_out_and_each_sentence_is_quoted_once(
    articles: dict[str, Article],
) -> None:
    reply = (
        "By the third year, 27% of patients had interrupted therapy. "
        "27% of patients interrupted therapy by the third year."
    )
    quote = quote_sources(reply, evidence(articles[TAMOXIFEN]), DEFAULTS)
    assert quote.text == (
        "By the third year, 27% of patients had interrupted therapy for more than ninety days."
    )


GLYCAEMIC = "99000018"


def test_how_the_study_was_done_is_left_out_of_a_quote(articles: dict[str, Article]) -> None:
    # The bundled model's reply: the enrolment sentence joined to the result stating 19%/13%.
    reply = (
        "We enrolled 268 patients and those with glycated haemoglobin above 8% had larger "
        "infarcts (median 19% versus 13% of left ventricular mass)."
    )
    quote = quote_sources(reply, evidence(articles[GLYCAEMIC]), DEFAULTS)
    assert quote.text == (
        "Patients with glycated haemoglobin above 8% had larger infarcts (median 19% versus 13% "
        "of left ventricular mass) and more microvascular obstruction than those with better "
        "control."
    )
    only_methods = (
        "We enrolled 268 patients with type 2 diabetes and a first myocardial infarction."
    )
    quote = quote_sources(only_methods, evidence(articles[GLYCAEMIC]), DEFAULTS)
    assert quote.text is None
    assert quote.problem.startswith(
        "it quotes only how or why the study was done ('We enrolled 268"
    )
    # A structured abstract's METHODS section is methods whatever its wording.
    reply = "Persistence with tamoxifen was derived from pharmacy dispensing records."
    assert quote_sources(reply, evidence(articles[TAMOXIFEN]), DEFAULTS).text is None
    keep_methods = replace(DEFAULTS, method_sections=(), method_phrases=())
    assert quote_sources(reply, evidence(articles[TAMOXIFEN]), keep_methods).text == (
        "Persistence with tamoxifen was derived from pharmacy dispensing records, and recurrence "
        "was ascertained through linked pathology and imaging reports."
    )


def test_the_quoted_answer_is_what_the_gates_judge_and_what_is_kept(
    articles: dict[str, Article],
) -> None:
    article = articles[DEMENTIA]
    question = "What is the effect of metformin on later dementia risk?"
    # Rewording the right sentence: kept in the source's words.
    reply = "Participants with diabetes who used metformin had a risk similar to other agents."
    verdict, kept = checked_answer(reply, question, evidence(article), False, DEFAULTS)
    assert verdict is None
    assert kept == (
        "Participants with diabetes who used metformin had a risk similar to those using other "
        "agents after accounting for diabetes severity."
    )
    # Copying a sentence that is not about metformin: the quote does not answer the question.
    reply = "Type 2 diabetes in midlife was associated with a 1.4-fold higher risk."
    verdict, kept = checked_answer(reply, question, evidence(article), False, DEFAULTS)
    assert verdict is not None and kept is None
    assert verdict.gate == "answer_off_question"
    # Switched off, the reply itself is the answer.
    as_written = replace(DEFAULTS, answer_quotes_source=False)
    reply = "Participants with diabetes who used metformin had a risk similar to other agents."
    assert checked_answer(reply, question, evidence(article), False, as_written) == (None, reply)
