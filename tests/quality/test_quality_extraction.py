"""Answers extracted from the source (answerer.method: extract), on abstracts shaped like the
sample's, and the questions the bundled model asked of them."""

from __future__ import annotations

from meshdistill.quality import QualitySettings, answer_verdict
from meshdistill.quality.extraction import extract_answer

SETTINGS = QualitySettings()

ACE_TITLE = "Angiotensin-converting enzyme inhibitors and kidney outcomes in type 2 diabetes"
ACE = (
    "BACKGROUND: Angiotensin-converting enzyme inhibitors lower albuminuria, but whether they "
    "prevent kidney failure in type 2 diabetes remains unclear.\n"
    "METHODS: We studied 7,312 patients with type 2 diabetes who began antihypertensive "
    "treatment, comparing initiation with an angiotensin-converting enzyme inhibitor against "
    "other first-line agents.\n"
    "RESULTS: Over four years, kidney failure or renal death occurred in 4.1% of new users of an "
    "angiotensin-converting enzyme inhibitor and 5.6% of new users of other agents. "
    "Hyperkalaemia leading to discontinuation was uncommon.\n"
    "CONCLUSIONS: Starting treatment with an angiotensin-converting enzyme inhibitor was "
    "associated with fewer kidney outcomes in type 2 diabetes."
)

DEMENTIA_TITLE = "Type 2 diabetes, midlife glycaemic control and later risk of Alzheimer disease"
DEMENTIA = (
    "Diabetes has been linked to dementia, but whether glycaemic control in midlife influences "
    "Alzheimer disease is unknown. We followed 6,742 participants for 19 years. Each 1% higher "
    "glycated haemoglobin was associated with a 14% higher risk of dementia. Metformin users had "
    "a dementia risk similar to that of participants treated with diet alone. Poor glycaemic "
    "control in midlife predicts later dementia."
)


def test_the_sentence_holding_the_question_words_is_the_answer() -> None:
    question = (
        "Is angiotensin-converting enzyme inhibitor use associated with an increased risk of "
        "kidney failure in patients with type 2 diabetes?"
    )
    extract = extract_answer(question, ACE_TITLE, ACE, SETTINGS)
    # "failure", which the title lacks, outweighs the conclusion's title words.
    assert extract.text is not None and extract.text.startswith("Over four years, kidney failure")
    assert {"kidney", "failure", "inhibitor"} <= set(extract.matched_words)


def test_a_rare_question_word_outweighs_one_said_throughout() -> None:
    # "dementia" is in every sentence but one; "metformin" in one: that sentence answers.
    extract = extract_answer(
        "What is the effect of metformin on later dementia risk?",
        DEMENTIA_TITLE,
        DEMENTIA,
        SETTINGS,
    )
    assert extract.text == (
        "Metformin users had a dementia risk similar to that of participants treated with diet "
        "alone."
    )


def test_methods_and_background_sentences_are_never_the_answer() -> None:
    # The background and methods sentences share more words with this question than any finding.
    question = (
        "Do angiotensin-converting enzyme inhibitors prevent kidney failure in type 2 diabetes?"
    )
    extract = extract_answer(question, ACE_TITLE, ACE, SETTINGS)
    assert extract.text is not None
    assert "remains unclear" not in extract.text and "We studied" not in extract.text
    only_background = (
        "BACKGROUND: Whether statins prevent hearing loss remains unclear.\n"
        "METHODS: We followed 2,310 adults with statin prescriptions for five years."
    )
    missing = extract_answer(
        "Do statins prevent hearing loss?", "Statins and hearing", only_background, SETTINGS
    )
    assert missing.text is None and "no finding" in missing.problem


def test_a_question_sharing_no_word_with_any_finding_gets_no_answer() -> None:
    extract = extract_answer(
        "Does the length of hospital stay differ by age?", ACE_TITLE, ACE, SETTINGS
    )
    assert extract.text is None
    assert "shares at least 1 content word(s)" in extract.problem


def test_a_tie_goes_to_the_later_sentence() -> None:
    source = (
        "Fractures fell with vitamin D in trial one. Fractures fell with vitamin D in trial two."
    )
    extract = extract_answer(
        "Does vitamin D reduce fractures?", "Vitamin D trials", source, SETTINGS
    )
    assert extract.text == "Fractures fell with vitamin D in trial two."


SENTINEL = (
    "METHODS: We analysed 642 women who underwent total mastectomy with sentinel node biopsy.\n"
    "RESULTS: Completion dissection was performed in 389 women and found additional positive "
    "nodes in 29%. Regional recurrence occurred in 1.8% of the dissection group and 2.4% of the "
    "no-dissection group.\n"
    "CONCLUSIONS: For patients with low-volume sentinel node metastasis treated by mastectomy, "
    "omission of completion surgery was not associated with worse regional control."
)


def test_a_question_asking_how_many_is_answered_with_a_figure_or_not_at_all() -> None:
    title = "Sentinel node metastasis burden and completion axillary surgery after mastectomy"
    # The bundled model's question: the count it asks for is only in the methods, and the
    # conclusion, which holds its words, states no figure.
    asked = "How many patients are affected by sentinel node metastasis after mastectomy?"
    missing = extract_answer(asked, title, SENTINEL, SETTINGS)
    assert missing.text is None and missing.gate == "answer_lacks_figure"
    assert "stating a figure" in missing.problem
    recurrence = "How often did regional recurrence occur without completion dissection?"
    found = extract_answer(recurrence, title, SENTINEL, SETTINGS)
    assert found.text is not None and found.text.startswith("Regional recurrence occurred in 1.8%")


def test_answer_lacks_figure_gate() -> None:
    question = "What proportion of patients had regional recurrence after mastectomy?"
    evidence = [SENTINEL]
    verdict = answer_verdict(
        "Regional recurrence was uncommon in both groups of women.",
        question=question,
        evidence=evidence,
        truncated=False,
        settings=SETTINGS,
    )
    assert verdict is not None and verdict.gate == "answer_lacks_figure"
    assert "'what proportion …'" in verdict.detail
    stated = "Regional recurrence occurred in 1.8% of the dissection group after mastectomy."
    assert (
        answer_verdict(
            stated, question=question, evidence=evidence, truncated=False, settings=SETTINGS
        )
        is None
    )
    # Other questions need no figure.
    assert (
        answer_verdict(
            "For patients with low-volume sentinel node metastasis treated by mastectomy, "
            "omission of completion surgery was not associated with worse regional control.",
            question="Does omitting completion surgery worsen regional control after mastectomy?",
            evidence=evidence,
            truncated=False,
            settings=SETTINGS,
        )
        is None
    )


def test_a_sentence_sharing_only_the_title_words_is_no_answer() -> None:
    # "patients" and "affected" are what this question adds to its title's topic; the figure
    # sentence holding "nodes" shares the topic only.
    title = "Sentinel node metastasis burden and completion axillary surgery after mastectomy"
    asked = "How many patients are affected by sentinel node metastasis after mastectomy?"
    assert extract_answer(asked, title, SENTINEL, SETTINGS).text is None
    # With the title word alone, nothing else asked, the same sentence answers.
    topic_only = "How many sentinel nodes were positive after completion dissection?"
    found = extract_answer(topic_only, title, SENTINEL, SETTINGS)
    assert found.text is not None and found.text.startswith("Completion dissection was performed")
