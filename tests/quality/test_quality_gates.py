"""The quality gates on real texts: outputs of the bundled Gemma 3 270M model that reached the
dataset before the gates existed (issue 9), and good questions and answers that must pass,
all against abstracts of the bundled sample corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshdistill.errors import ConfigError
from meshdistill.pubmed.xml import iter_pubmed_xml
from meshdistill.quality import (
    GATES,
    QualitySettings,
    Verdict,
    answer_verdict,
    question_form_verdict,
    question_verdict,
)
from meshdistill.quality.gates import (
    loop_problem,
    repeated_ngram_fraction,
    sentences,
    standalone_problem,
)
from meshdistill.records import Article

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "corpus" / "sample_pubmed.xml"
DEFAULTS = QualitySettings()

CTDNA = "99000005"
METFORMIN = "99000006"
GLYCAEMIC = "99000018"
TROPONIN = "99000017"

# The instruction and worked example of the question prompt the small model was given.
INSTRUCTIONS = [
    "You write exam questions about biomedical research.",
    'Write one clear question that this abstract answers. Do not mention "the abstract" '
    'or "the study".',
    "Write one specific question about {topic}.",
]
EXAMPLES = ["Does aspirin lower the risk of stroke in adults with atrial fibrillation?"]


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {article.pmid: article for article in iter_pubmed_xml(SAMPLE)}


def ask(question: str, article: Article, quality: QualitySettings = DEFAULTS) -> Verdict | None:
    return question_verdict(
        question,
        title=article.title,
        abstract=article.abstract,
        example_questions=EXAMPLES,
        instruction_texts=INSTRUCTIONS,
        settings=quality,
    )


def answer(
    text: str,
    question: str,
    article: Article,
    *,
    truncated: bool = False,
    context: tuple[str, ...] = (),
    quality: QualitySettings = DEFAULTS,
) -> Verdict | None:
    return answer_verdict(
        text,
        question=question,
        evidence=[article.abstract, *context],
        truncated=truncated,
        settings=quality,
    )


# -- questions ----------------------------------------------------------------------------

GOOD_QUESTIONS = [
    (CTDNA, "Is circulating tumour DNA a useful early marker of relapse in breast cancer?"),
    (
        METFORMIN,
        "Does metformin use in women with type 2 diabetes reduce breast cancer-specific mortality?",
    ),
    (GLYCAEMIC, "Is poor glycemic control linked to larger infarcts in type 2 diabetes?"),
]


@pytest.mark.parametrize(("pmid", "question"), GOOD_QUESTIONS)
def test_good_questions_pass(articles: dict[str, Article], pmid: str, question: str) -> None:
    assert ask(question, articles[pmid]) is None


def test_the_garbled_chosen_question_of_the_first_run_echoes_scaffolding(
    articles: dict[str, Article],
) -> None:
    question = (
        "Title: Glycemic control and infarct size in patients with type 2 diabetes presenting "
        "with acute myocardial infarction }, {Topic: Write one specific questionabout?"
    )
    verdict = ask(question, articles[GLYCAEMIC])
    assert verdict == Verdict("question_scaffolding", "echoes prompt scaffolding 'Title:'")
    without_labels = replace(DEFAULTS, scaffolding_labels=())
    verdict = ask(question, articles[GLYCAEMIC], without_labels)
    assert verdict == Verdict("question_scaffolding", "echoes prompt scaffolding '{'")


def test_the_rejected_question_of_the_first_run_is_scaffolding_and_off_topic(
    articles: dict[str, Article],
) -> None:
    question = "How to answer the abstract?"
    verdict = ask(question, articles[GLYCAEMIC])
    assert verdict is not None
    assert verdict.gate == "question_scaffolding"
    assert "the abstract" in verdict.detail
    no_scaffolding = replace(DEFAULTS, disabled_gates=("question_scaffolding",))
    verdict = ask(question, articles[GLYCAEMIC], no_scaffolding)
    assert verdict is not None
    assert verdict.gate == "question_off_topic"


@pytest.mark.parametrize(
    "question",
    [
        "Abstract: what was the median interval between detection and relapse?",
        "What is the median interval [months] between detection and relapse?",
        "Question: Is circulating tumour DNA detected before relapse?",
        "What does this abstract say about circulating tumour DNA and relapse?",
        "Which marker of relapse is described in the passage about breast cancer?",
        "Write one clear question about circulating tumour DNA and relapse?",
    ],
)
def test_scaffolding_is_caught_in_its_forms(articles: dict[str, Article], question: str) -> None:
    verdict = ask(question, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "question_scaffolding"


def test_instruction_words_that_are_the_abstracts_own_are_no_echo(
    articles: dict[str, Article],
) -> None:
    question = "Do women with type 2 diabetes on metformin have lower breast cancer mortality?"
    instruction = ["Ask about women with type 2 diabetes."]
    verdict = question_verdict(
        question,
        title=articles[METFORMIN].title,
        abstract=articles[METFORMIN].abstract,
        example_questions=[],
        instruction_texts=instruction,
        settings=DEFAULTS,
    )
    assert verdict is None


@pytest.mark.parametrize(
    "question",
    [
        "Does aspirin lower the risk of stroke in adults with atrial fibrillation?",
        "does aspirin lower the risk of stroke in adults with atrial fibrillation ?",
        "Does aspirin lower the risk of stroke in older adults with atrial fibrillation?",
    ],
)
def test_copies_of_the_worked_example_are_caught(
    articles: dict[str, Article], question: str
) -> None:
    verdict = ask(question, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "question_copies_example"


TAMOXIFEN = "99000001"


def test_the_title_with_is_in_front_is_caught(articles: dict[str, Article]) -> None:
    # Written by the bundled model for the sample's tamoxifen abstract (not a question at all).
    question = (
        "Is adjuvant tamoxifen persistence and five-year recurrence in hormone "
        "receptor-positive breast cancer?"
    )
    verdict = ask(question, articles[TAMOXIFEN])
    assert verdict is not None
    assert verdict.gate == "question_copies_title"
    assert "13 of its 14 words" in verdict.detail


@pytest.mark.parametrize(
    ("question", "pmid"),
    [
        # Real questions that reuse part of their title are no copies.
        (
            "What is the effect of glycaemic control on infarct size in patients with type 2 "
            "diabetes?",
            GLYCAEMIC,
        ),
        (
            "Does metformin use in women with type 2 diabetes reduce breast cancer-specific "
            "mortality?",
            METFORMIN,
        ),
    ],
)
def test_a_question_reusing_part_of_its_title_passes(
    articles: dict[str, Article], question: str, pmid: str
) -> None:
    assert ask(question, articles[pmid]) is None


def test_the_title_gate_can_be_switched_off(articles: dict[str, Article]) -> None:
    question = (
        "Is adjuvant tamoxifen persistence and five-year recurrence in hormone "
        "receptor-positive breast cancer?"
    )
    quality = replace(DEFAULTS, disabled_gates=("question_copies_title",))
    assert ask(question, articles[TAMOXIFEN], quality) is None


def test_a_question_in_the_examples_style_on_another_topic_is_no_copy(
    articles: dict[str, Article],
) -> None:
    question = "Does metformin lower the risk of death in women with breast cancer?"
    assert ask(question, articles[METFORMIN]) is None


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("Is circulating tumour DNA a marker of relapse", "question mark"),
        ("Is circulating tumour DNA detected? Does it predict relapse?", "2 question marks"),
        ("Is circulating tumour DNA\ndetected before relapse?", "several lines"),
        ("is circulating tumour DNA detected before relapse?", "capital letter"),
        ("Is ctDNA predictive?", "3 words"),
        ("Was circulating tumour DNA detected " + "before relapse " * 40 + "?", "characters"),
        ("   ", "empty"),
    ],
)
def test_not_a_single_question(articles: dict[str, Article], question: str, why: str) -> None:
    verdict = ask(question, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "question_not_single"
    assert why in verdict.detail


def test_question_form_thresholds_follow_the_settings() -> None:
    question = "Why do tumours relapse?"
    assert question_form_verdict(question, DEFAULTS) is not None
    relaxed = replace(DEFAULTS, min_question_words=4)
    assert question_form_verdict(question, relaxed) is None
    no_mark = replace(DEFAULTS, require_question_mark=False, min_question_words=1)
    assert question_form_verdict("Insulin resistance in adults.", no_mark) is None
    off = replace(DEFAULTS, disabled_gates=("question_not_single",))
    assert question_form_verdict("no", off) is None


def test_a_question_about_another_abstract_is_off_topic(articles: dict[str, Article]) -> None:
    question = "Does metformin use in women with type 2 diabetes reduce mortality?"
    verdict = ask(question, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "question_off_topic"
    assert ask(question, articles[METFORMIN]) is None


def test_off_topic_fraction_threshold(articles: dict[str, Article]) -> None:
    # Two shared words (breast, cancer) among many that are not in the abstract.
    question = "Do breast cancer survivors prefer yoga, swimming, cycling or pilates classes?"
    verdict = ask(question, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "question_off_topic"
    assert "%" in verdict.detail
    # Allowed a smaller share, it still names five things the abstract never mentions.
    lenient = replace(DEFAULTS, topic_min_shared_fraction=0.2)
    verdict = ask(question, articles[CTDNA], lenient)
    assert verdict == Verdict(
        "question_off_topic",
        "asks about survivor, prefer, yoga, swimming, cycling: more than 2 content words its "
        "title and abstract never use",
    )
    lenient = replace(lenient, topic_max_unknown_words=7)
    assert ask(question, articles[CTDNA], lenient) is None


def test_the_question_about_hospital_stay_of_a_door_to_balloon_study_is_off_topic(
    articles: dict[str, Article],
) -> None:
    # Chosen by the bundled model's scores in a default run; most of its words are the
    # abstract's, but what it asks about (length of hospital stay, by age) is not reported.
    question = (
        "Does the length of hospital stay after primary percutaneous coronary intervention "
        "(PCI) for ST-segment elevation myocardial infarction differ by age?"
    )
    verdict = ask(question, articles["99000016"])
    assert verdict is not None
    assert verdict.gate == "question_off_topic"
    assert verdict.detail.startswith("asks about length, hospital, stay, pci, segment")
    # Question vocabulary ("effect", "associated", "risk") is not counted as unknown.
    asked = "Is the effect of door-to-balloon time on one-year mortality associated with risk?"
    assert ask(asked, articles["99000016"]) is None


def test_the_swapped_question_with_a_dangling_this_is_not_standalone(
    articles: dict[str, Article],
) -> None:
    # Written by the bundled model for the troponin abstract and promoted to chosen by a swap:
    # every word is on topic, but a reader of the record cannot tell what "this approach" is.
    question = "What is the rationale for implementing this approach?"
    verdict = ask(question, articles[TROPONIN])
    assert verdict == Verdict(
        "question_not_standalone", "'this approach' points at something the question never names"
    )


@pytest.mark.parametrize(
    "question",
    [
        "Do these patients need serial troponin testing after chest pain?",
        "Were those presenting within two hours of symptom onset at higher risk?",
    ],
)
def test_every_deictic_word_is_caught(articles: dict[str, Article], question: str) -> None:
    verdict = ask(question, articles[TROPONIN])
    assert verdict is not None
    assert verdict.gate == "question_not_standalone"


def test_a_question_naming_what_it_asks_about_is_standalone(
    articles: dict[str, Article],
) -> None:
    question = (
        "Can a single high-sensitivity troponin I test rule out myocardial infarction "
        "in the emergency department?"
    )
    assert ask(question, articles[TROPONIN]) is None
    # Whole words only: "thistle" and "thesis" start like a deictic word but are not one.
    assert standalone_problem("Is thistle pollen cited in a thesis on asthma?", DEFAULTS) is None
    relaxed = replace(DEFAULTS, deictic_words=())
    assert (
        ask("What is the rationale for implementing this approach?", articles[TROPONIN], relaxed)
        is None
    )


def test_the_study_is_a_reference_to_the_source(articles: dict[str, Article]) -> None:
    verdict = ask("What did the study find about troponin I in chest pain?", articles[TROPONIN])
    assert verdict is not None
    assert verdict.gate == "question_scaffolding"
    assert "'the study'" in verdict.detail


# -- answers ------------------------------------------------------------------------------

CTDNA_QUESTION = GOOD_QUESTIONS[0][1]
GOOD_ANSWER = (
    "Yes: circulating tumour DNA was detected in 19 of 121 patients, 16 of whom relapsed, "
    "a median of 8.9 months before clinical relapse."
)


def test_a_grounded_one_sentence_answer_passes(articles: dict[str, Article]) -> None:
    assert answer(GOOD_ANSWER, CTDNA_QUESTION, articles[CTDNA]) is None


def test_a_grounded_answer_of_three_sentences_passes(articles: dict[str, Article]) -> None:
    text = (
        "Yes. Circulating tumour DNA was detected in 19 patients, e.g. 16 of them later had "
        "distant or locoregional recurrence. The median interval to clinical relapse was "
        "8.9 months."
    )
    assert len(sentences(text)) == 3
    assert answer(text, CTDNA_QUESTION, articles[CTDNA]) is None


def test_the_looping_answer_of_the_small_model(articles: dict[str, Article]) -> None:
    text = "The answer is yes. The answer is yes. The answer is yes."
    assert repeated_ngram_fraction(text, 3) == pytest.approx(0.6)
    verdict = answer(text, CTDNA_QUESTION, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "answer_loops"


def test_a_digit_run_is_a_loop_even_when_cut_by_the_token_limit(
    articles: dict[str, Article],
) -> None:
    text = "The rate was 0.0000000000000000001"
    verdict = answer(text, CTDNA_QUESTION, articles[CTDNA], truncated=True)
    assert verdict is not None
    assert verdict.gate == "answer_loops"
    assert "'0'" in verdict.detail
    assert loop_problem("The relapse rate was 0.00000001 per year.", DEFAULTS) is None


def test_an_answer_cut_mid_sentence_is_truncated(articles: dict[str, Article]) -> None:
    text = (
        "Patients with glycated haemoglobin above 8% had larger infarcts (median 19% versus "
        "13% of left"
    )
    question = GOOD_QUESTIONS[2][1]
    verdict = answer(text, question, articles[GLYCAEMIC])
    assert verdict is not None
    assert verdict.gate == "answer_truncated"
    assert "mid-sentence" in verdict.detail
    complete = text + " ventricular mass)."
    assert answer(complete, question, articles[GLYCAEMIC]) is None
    verdict = answer(complete, question, articles[GLYCAEMIC], truncated=True)
    assert verdict == Verdict("answer_truncated", "the model stopped at its token limit")
    assert answer("It was lower...", question, articles[GLYCAEMIC]) is not None


def test_an_answer_that_restates_the_question(articles: dict[str, Article]) -> None:
    question = GOOD_QUESTIONS[1][1]
    text = "Metformin use in women with type 2 diabetes reduces breast cancer-specific mortality."
    verdict = answer(text, question, articles[METFORMIN])
    assert verdict is not None
    assert verdict.gate == "answer_restates_question"
    assert answer("Yes.", question, articles[METFORMIN]) == Verdict(
        "answer_restates_question",
        "adds 0 content word(s) beyond the question (at least 2 needed)",
    )
    grounded = (
        "Yes, modestly: breast cancer-specific mortality was lower with metformin (hazard "
        "ratio 0.81, 95% CI 0.66 to 0.99), though residual confounding cannot be excluded."
    )
    assert answer(grounded, question, articles[METFORMIN]) is None


def test_an_answer_not_found_in_the_evidence_is_unsupported(
    articles: dict[str, Article],
) -> None:
    text = (
        "Yes, because circulating tumour DNA shedding correlates with mitotic index and "
        "Ki-67 staining in lobular carcinoma xenografts."
    )
    verdict = answer(text, CTDNA_QUESTION, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "answer_unsupported"
    assert "mitotic" in verdict.detail
    context = (
        "Circulating tumour DNA shedding correlates with mitotic index and Ki-67 staining in "
        "lobular carcinoma xenografts."
    )
    assert answer(text, CTDNA_QUESTION, articles[CTDNA], context=(context,)) is None


def test_an_answer_of_too_many_sentences(articles: dict[str, Article]) -> None:
    text = (
        "Yes. Circulating tumour DNA was detected in 19 patients. Sixteen relapsed. "
        "The median interval was 8.9 months. Two brain recurrences were missed."
    )
    verdict = answer(text, CTDNA_QUESTION, articles[CTDNA])
    assert verdict == Verdict("answer_too_long", "5 sentences, more than 3")
    # Allowed five sentences and paraphrase ("Sixteen relapsed." is in no sentence of the
    # abstract word for word), the same answer passes.
    roomy = replace(
        DEFAULTS,
        answer_max_sentences=5,
        answer_min_supported_fraction=0.7,
        answer_min_sentence_support=0,
    )
    assert answer(text, CTDNA_QUESTION, articles[CTDNA], quality=roomy) is None


@pytest.mark.parametrize("text", ["", "   ", "...", "\n"])
def test_empty_answers(articles: dict[str, Article], text: str) -> None:
    verdict = answer(text, CTDNA_QUESTION, articles[CTDNA])
    assert verdict is not None
    assert verdict.gate == "answer_empty"


def test_every_gate_can_be_switched_off(articles: dict[str, Article]) -> None:
    everything_off = replace(DEFAULTS, disabled_gates=GATES)
    assert ask("How to answer the abstract", articles[CTDNA], everything_off) is None
    looping = "The answer is yes. The answer is yes. The answer is yes"
    assert answer(looping, CTDNA_QUESTION, articles[CTDNA], quality=everything_off) is None


GLYCAEMIC_QUESTION = "What is the effect of glycaemic control on infarct size?"


def test_the_answer_that_turned_larger_infarcts_into_smaller_ones(
    articles: dict[str, Article],
) -> None:
    # The bundled model's answer in a default run: every word and figure is in the abstract,
    # but the sentence with 19% and 13% says poorly controlled patients had *larger* infarcts.
    text = (
        "Glycaemic control was associated with smaller infarcts (median 19% versus 13% of "
        "left ventricular mass)."
    )
    verdict = answer(text, GLYCAEMIC_QUESTION, articles[GLYCAEMIC])
    assert verdict == Verdict(
        "answer_reverses_source",
        "says 'smaller' of 13, 19 where the source sentence stating them says 'larger'",
    )
    faithful = text.replace("Glycaemic control", "Poor glycaemic control").replace(
        "smaller", "larger"
    )
    assert answer(faithful, GLYCAEMIC_QUESTION, articles[GLYCAEMIC]) is None
    off = replace(DEFAULTS, disabled_gates=("answer_reverses_source",))
    assert answer(text, GLYCAEMIC_QUESTION, articles[GLYCAEMIC], quality=off) is None


@pytest.mark.parametrize(
    ("pmid", "question", "text"),
    [
        # Both directions in one sentence, as in the source sentence.
        (
            METFORMIN,
            "Does metformin reduce breast cancer mortality in women with type 2 diabetes?",
            "Metformin use was associated with a modest reduction in breast cancer-specific "
            "mortality (hazard ratio 0.81, 95% CI 0.66 to 0.99), while insulin therapy was "
            "associated with higher all-cause mortality.",
        ),
        # The source states the figures without a direction word: the answer's reading stands.
        (
            "99000016",
            "Is a longer door-to-balloon time associated with higher one-year mortality?",
            "One-year mortality was higher when door-to-balloon time exceeded 90 minutes "
            "(9.8% versus 6.1% under 60 minutes).",
        ),
        # A direction without figures is not anchored to a source sentence.
        (
            GLYCAEMIC,
            "Is metformin use before myocardial infarction linked to infarct size?",
            "Patients receiving metformin before the event had smaller infarcts.",
        ),
        # The conclusion joined to the figures of the results sentence.
        (
            GLYCAEMIC,
            GLYCAEMIC_QUESTION,
            "Poor glycaemic control was associated with larger infarcts (median 19% versus "
            "13% of left ventricular mass).",
        ),
    ],
)
def test_answers_stating_figures_as_their_source_does_pass(
    articles: dict[str, Article], pmid: str, question: str, text: str
) -> None:
    assert answer(text, question, articles[pmid]) is None


# -- settings -----------------------------------------------------------------------------


def test_defaults_match_config_yaml() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    assert QualitySettings.from_mapping(config["quality"]) == DEFAULTS


def test_unknown_and_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="quality.min_question_char"):
        QualitySettings.from_mapping({"min_question_char": 3})
    with pytest.raises(ConfigError, match="quality.disabled_gates.*answer_wrong"):
        QualitySettings.from_mapping({"disabled_gates": ["answer_wrong"]})
    with pytest.raises(ConfigError, match="quality.example_copy_jaccard"):
        QualitySettings.from_mapping({"example_copy_jaccard": 1.5})
    with pytest.raises(ConfigError, match="quality.meta_references"):
        QualitySettings.from_mapping({"meta_references": "the abstract"})
    with pytest.raises(ConfigError, match="quality.min_question_chars"):
        QualitySettings.from_mapping({"min_question_chars": 50, "max_question_chars": 40})


# -- properties ---------------------------------------------------------------------------

any_text = st.text(max_size=300)


@settings(max_examples=150, deadline=None)
@given(question=any_text, title=any_text, abstract=any_text, example=any_text, rule=any_text)
def test_question_verdicts_are_deterministic_and_never_raise(
    question: str, title: str, abstract: str, example: str, rule: str
) -> None:
    def judge() -> Verdict | None:
        return question_verdict(
            question,
            title=title,
            abstract=abstract,
            example_questions=[example],
            instruction_texts=[rule],
            settings=DEFAULTS,
        )

    first = judge()
    assert first == judge()
    assert first is None or first.gate in GATES


@settings(max_examples=150, deadline=None)
@given(
    text=any_text,
    question=any_text,
    evidence=st.lists(any_text, max_size=3),
    truncated=st.booleans(),
)
def test_answer_verdicts_are_deterministic_and_never_raise(
    text: str, question: str, evidence: list[str], truncated: bool
) -> None:
    def judge() -> Verdict | None:
        return answer_verdict(
            text, question=question, evidence=evidence, truncated=truncated, settings=DEFAULTS
        )

    first = judge()
    assert first == judge()
    assert first is None or first.gate in GATES


def test_answer_with_invented_figures_is_unsupported() -> None:
    evidence = [
        "Among 1,240 adolescents, short sleepers had 4.2 migraine days per month against 2.6.",
    ]
    settings = QualitySettings()
    grounded = "Adolescent short sleepers had 4.2 migraine days per month, against 2.6 (n = 1240)."
    assert (
        answer_verdict(
            grounded,
            question="Is short sleep linked to migraine in adolescents?",
            evidence=evidence,
            truncated=False,
            settings=settings,
        )
        is None
    )
    # Every word is the abstract's own, but one figure is made up (as the bundled model does).
    invented = "Yes. Adolescents with short sleep had 13 migraine days per month against 2.6."
    verdict = answer_verdict(
        invented,
        question="Is short sleep linked to migraine in adolescents?",
        evidence=evidence,
        truncated=False,
        settings=settings,
    )
    assert verdict is not None and verdict.gate == "answer_unsupported"
    assert verdict.detail.endswith("context: 13")


def test_question_with_a_title_subtitle_is_scaffolding() -> None:
    abstract = "Immune checkpoint blockade combined with chemotherapy in metastatic breast cancer."
    verdict = question_verdict(
        "Is immune checkpoint blockade combined with chemotherapy in metastatic triple-negative "
        "breast cancer: single-centre experience?",
        title="Checkpoint blockade in metastatic breast cancer: single-centre experience",
        abstract=abstract,
        example_questions=[],
        instruction_texts=[],
        settings=QualitySettings(),
    )
    assert verdict is not None and verdict.gate == "question_scaffolding"


def test_a_question_asking_for_a_judgement_its_source_never_makes_is_off_topic(
    articles: dict[str, Article],
) -> None:
    source = articles[CTDNA]
    # A real question of the bundled model: the abstract compares no tests as "best".
    verdict = question_verdict(
        "What is the best test for circulating tumour DNA in breast cancer?",
        title=source.title,
        abstract=source.abstract,
        example_questions=[],
        instruction_texts=[],
        settings=QualitySettings(),
    )
    assert verdict is not None and verdict.gate == "question_off_topic"
    assert "'best'" in verdict.detail


def test_a_question_coining_an_abbreviation_is_off_topic(articles: dict[str, Article]) -> None:
    # The bundled model's chosen question in a default run: its sources never say "LVMNS",
    # and the words before it do not spell it.
    question = (
        "How do patients with low-volume sentinel node metastasis (LVMNS) who receive "
        "mastectomy are treated?"
    )
    verdict = ask(question, articles["99000004"])
    assert verdict is not None and verdict.gate == "question_off_topic"
    assert "coins the abbreviation 'LVMNS'" in verdict.detail
    # An abbreviation spelling the words before it is a usual one, even where the abstract
    # spells the words out only.
    spelled = (
        "Does a delay in primary percutaneous coronary intervention (PCI) lead to higher "
        "one-year mortality?"
    )
    assert "(PCI)" not in articles["99000016"].abstract
    assert ask(spelled, articles["99000016"]) is None


def test_a_question_asking_only_what_something_is_is_too_vague(
    articles: dict[str, Article],
) -> None:
    # A chosen question of a default run: the abstract reports the test's accuracy.
    source = articles["99000049"]
    verdict = ask("What is the plasma tau test?", source)
    assert verdict is not None and verdict.gate == "question_too_vague"
    # Relating the subject to something makes it a question about a finding.
    assert (
        ask("What is the accuracy of the plasma phosphorylated tau test in primary care?", source)
        is None
    )
    assert ask("Is a plasma phosphorylated tau test useful in primary care?", source) is None


def test_an_unquoted_yaml_word_read_as_a_boolean_is_named() -> None:
    with pytest.raises(ConfigError, match=r"quality\.relation_words.*unquoted on, off, yes or no"):
        QualitySettings.from_mapping({"relation_words": ["of", True]})


def test_a_question_naming_one_word_twice_is_garbled(articles: dict[str, Article]) -> None:
    # Chosen questions of default runs: each lost track of what it asks.
    garbled = {
        "99000030": "What is the effect of an angiotensin-converting enzyme inhibitor and a "
        "kidney outcome on renal outcomes in patients with type 2 diabetes?",
        "99000050": "What is the effect of type 2 diabetes, midlife glycaemic control and later "
        "risk of Alzheimer disease on later-stage cognitive impairment?",
    }
    for pmid, question in garbled.items():
        verdict = ask(question, articles[pmid])
        assert verdict is not None and verdict.gate == "question_repeats_word", question
    verdict = ask(garbled["99000030"], articles["99000030"])
    assert verdict is not None
    assert "names 'outcome' 2 times (at most 1), once as 'renal outcome'" in verdict.detail
    # A word that each time names what the source names is the source's own (a first try of
    # the bundled model on the lung cancer abstract).
    assert (
        ask(
            "Is staging with positron-emission tomography combined with computed tomography "
            "associated with better survival in small cell lung carcinoma?",
            articles["99000012"],
        )
        is None
    )
    # The same questions naming each thing once pass; figures ("type 2") may repeat.
    assert (
        ask(
            "Is angiotensin-converting enzyme inhibitor use associated with an increased risk of "
            "kidney failure in patients with type 2 diabetes?",
            articles["99000030"],
        )
        is None
    )
    twice_two = ask(
        "Does metformin at 2 g or 2.5 g daily change later dementia risk in type 2 diabetes?",
        articles["99000050"],
    )
    assert twice_two is None or twice_two.gate != "question_repeats_word"
    # A superlative counts as its base word: a chosen-then-swapped question of a default run.
    longest = ask(
        "How long is the longest delay in one-year mortality after primary percutaneous "
        "coronary intervention for ST-elevation myocardial infarction?",
        articles["99000016"],
    )
    assert longest is not None and longest.gate == "question_repeats_word"
    assert "names 'long' 2 times" in longest.detail
    # ... but not where the question uses the superlative alone.
    assert (
        ask(
            "Which patients experienced the longest door-to-balloon delays after primary "
            "percutaneous coronary intervention?",
            articles["99000016"],
        )
        is None
    )
    # A looser setting lets a word be named twice.
    loose = replace(DEFAULTS, question_max_word_uses=2)
    assert ask(garbled["99000030"], articles["99000030"], loose) is None


def test_every_gate_can_name_a_drop_and_is_explained() -> None:
    # A gate missing from the drop schema would make the filtered stage fail its own validation
    # the first time that gate stops every try of a question.
    from meshdistill.dataset.card import DROP_EXPLANATIONS

    drop_schema = json.loads((REPO / "schemas" / "dropped_record.schema.json").read_text())
    reasons = set(drop_schema["properties"]["reason"]["enum"])
    config_schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    quality = config_schema["properties"]["quality"]["properties"]
    switchable = set(quality["disabled_gates"]["items"]["enum"])
    for gate in GATES:
        assert gate in reasons, f"{gate} missing from dropped_record.schema.json"
        assert gate in DROP_EXPLANATIONS, f"{gate} not explained in the dataset card"
        assert gate in switchable, f"{gate} cannot be listed in quality.disabled_gates"
