"""Rules, conditions and promises in the flow's own words (issue #26), and the error
messages an admin met that needed a developer's eye, each with the message it now gives."""

from __future__ import annotations

import re

import pytest

from bot.advice.uitext import UI
from bot.flows.content import TextEntry
from bot.flows.model import Condition
from bot.flows.plain import WORD_IDS, FlowWords, as_value, check_plain, english_words
from bot.flows.yamltext import YamlProblem, parse
from bot.sources import project_catalog

from support import fixture_catalog, load_flow_text, mini_catalog, mini_text


def words_of(locale: str = "en") -> FlowWords:
    catalog = mini_catalog()
    return FlowWords(catalog.flows["mini"].model, lambda i: catalog.text(locale, i))


def test_every_connective_is_a_text_the_loader_requires() -> None:
    assert set(WORD_IDS) <= {u.value for u in UI}


def test_a_multi_answer_that_lacks_two_options_reads_neither_nor() -> None:
    said = words_of()
    condition = Condition(
        all=[
            Condition(fact="resources", answered=True),
            Condition(not_=Condition(fact="resources", has_any=["budget", "staff"])),
        ]
    )
    assert said.shown_when(condition) == (
        "Shown when: the answer to ‘What comes with it?’ includes neither a budget nor staff time."
    )


def test_rules_read_as_sentences_with_labels_not_ids() -> None:
    said = words_of()
    outcomes = said.flow.outcomes
    assert said.rule(outcomes[0]) == "Recommend Inform when: the answer to ‘Is it open?’ is no."
    # `funded` is set by an option: the reader sees the option that sets it.
    assert said.rule(outcomes[1]) == (
        "Recommend Co-produce when: the answer to ‘What comes with it?’ includes a budget "
        "and the answer to ‘Do you stay accountable?’ is yes."
    )
    assert said.rule(outcomes[2]) == "Otherwise, recommend Consult."


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            Condition(not_=Condition(fact="open", is_="yes")),
            "the answer to ‘Is it open?’ is not yes",
        ),
        (
            Condition(not_=Condition(fact="open", in_=["yes", "no"])),
            "the answer to ‘Is it open?’ is neither yes nor no",
        ),
        (
            Condition(
                not_=Condition(
                    any=[Condition(fact="open", is_="no"), Condition(fact="resources", has="none")]
                )
            ),
            "the answer to ‘Is it open?’ is not no and the answer to ‘What comes with it?’ "
            "does not include none of these",
        ),
        (Condition(fact="about", answered=False), "‘What is it about?’ was not answered"),
        (
            Condition(fact="resources", count_at_least=2),
            "the answer to ‘What comes with it?’ includes at least 2 choices",
        ),
    ],
)
def test_negations_are_pushed_in_so_no_sentence_says_it_is_not_so(
    condition: Condition, expected: str
) -> None:
    assert words_of().condition(condition) == expected


def test_the_welsh_words_come_from_the_welsh_texts() -> None:
    catalog = fixture_catalog()
    flow = catalog.flows["plan"].model
    english = FlowWords(flow, lambda i: catalog.text("en", i))
    welsh = FlowWords(flow, lambda i: catalog.text("cy", i))
    caution = flow.cautions[0]
    assert english.shown_when(caution.when).startswith("Shown when: the answer to ‘")
    cy = welsh.shown_when(caution.when)
    assert cy.startswith("Yn cael ei ddangos pan: ")
    for english_word in ("the answer to", "Shown when", " is ", " and ", " or "):
        assert english_word not in cy


def test_labels_are_lowered_or_quoted_to_read_inside_a_sentence() -> None:
    assert as_value("A budget") == "a budget"
    assert as_value("Staff time") == "staff time"
    assert as_value("IAP2 levels") == "IAP2 levels"
    assert as_value("No, we plan to step back") == "‘No, we plan to step back’"


# --- Error messages ------------------------------------------------------------


def test_a_typo_in_an_option_id_in_a_rule_says_did_you_mean_and_the_options_line() -> None:
    text = mini_text().replace("when: {fact: open, is: no}", "when: {fact: open, is: nno}")
    found = [str(f) for f in load_flow_text(text).findings]
    rule_line = next(n for n, row in enumerate(text.splitlines(), 1) if "is: nno" in row)
    option_line = next(n for n, row in enumerate(text.splitlines(), 1) if "- id: no" in row)
    assert found == [
        f"flow.yaml:{rule_line}: fact 'open' never has the value 'nno' (did you mean 'no'? "
        f"That is option 'no' of question 'open', at line {option_line}; it can be: no, yes)"
    ]


def test_a_missing_colon_says_so_not_gt_dash() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse('plan.q.a: "First"\nplan.q.b "Second"\nplan.q.c: Third\n')
    assert caught.value.line == 2
    assert caught.value.message.startswith("a colon is missing after 'plan.q.b'")
    assert ">-" not in caught.value.message
    with pytest.raises(YamlProblem) as caught:
        parse("id: mini\nquestions:\n  - id: open\n    text mini.q.open\n    kind: choice\n")
    assert "a colon is missing after 'text'" in caught.value.message
    # A text carried on without >- is still told how to carry it on.
    with pytest.raises(YamlProblem) as caught:
        parse("plan.a: Hello there\ncarried on here\nplan.c: x\n")
    assert ">-" in caught.value.message


def test_a_misspelt_text_id_gets_did_you_mean_the_nearest_id() -> None:
    text = mini_text().replace("why: mini.k.why", "why: mini.k.wyh")
    found = [str(f) for f in load_flow_text(text).findings]
    assert len(found) == 1
    assert "text 'mini.k.wyh' is missing in content/en/ (did you mean 'mini.k.why' (" in found[0]
    assert "add 'mini.k.wyh: ...' to a file in" not in found[0]


def test_messages_name_questions_and_options_never_list_indexes() -> None:
    text = mini_text().replace(
        "      - id: staff\n        label: mini.o.staff", "      - id: staff\n        label: 12"
    )
    found = [str(f) for f in load_flow_text(text).findings]
    assert len(found) == 1
    assert "question 'resources', option 2 ('staff'), label: expected text or an id" in found[0]
    assert "[" not in found[0]


def test_half_english_welsh_is_an_error_at_its_line() -> None:
    texts = {
        "en": {"x.t": TextEntry("People rely on this service every day.", "content/en/x.yaml", 3)},
        "cy": {
            "x.t": TextEntry(
                "Mae pobl yn relyio ar y service hwn every day.", "content/cy/x.yaml", 7
            )
        },
    }
    found = [f for f in check_plain(texts) if "English words" in f.message]
    assert [str(f) for f in found] == [
        "content/cy/x.yaml:7: Welsh text 'x.t' has English words in it: 'service', 'every', "
        "'day' (translate them, or ask a Welsh speaker to; a term the glossary allows is not "
        "counted)"
    ]
    assert found[0].strict
    # Glossary terms that look English do not count: one English word left is no finding.
    allowed = check_plain(texts, allowed=["service", "every"])
    assert not [f for f in allowed if "English words" in f.message]


def test_welsh_that_borrows_a_word_or_names_a_place_passes() -> None:
    assert english_words("Edrychwch ar y dudalen we neu'r poster am y grant.") == []
    assert english_words("Mae Cyngor Every yn y sir.") == []


def test_the_add_a_question_recipe_says_what_admins_had_to_ask_a_developer() -> None:
    """Each option must give different advice (and the fix), Welsh yes/no needs synonyms,
    and how long `make test` takes."""
    from bot.sources import PROJECT_ROOT

    guide = (PROJECT_ROOT / "docs" / "admin.md").read_text(encoding="utf-8")
    recipe = guide.split("### Add a question", 1)[1].split("\n### ", 1)[0]
    flat = " ".join(recipe.split())
    assert "each of its options" in flat
    assert "changes nothing in the advice" in flat
    assert "record_only: true" in flat  # one of the fixes
    assert "merging the option" in flat
    assert "Welsh yes/no answers need synonyms" in flat
    assert "content/cy/synonyms.yaml" in flat
    assert re.search(r"`make test`\. It takes about \d+ minutes on a 2-core", flat)


@pytest.mark.parametrize(
    ("locale", "never"), [("en", "never show ‘"), ("cy", "peidio byth â dangos ‘")]
)
def test_a_promise_never_to_show_a_text_says_so(locale: str, never: str) -> None:
    """The plan flow's 'an inform result never asks people' reads as words, not ids."""
    catalog = project_catalog()
    flow = catalog.flows["plan"].model
    guarantee = next(g for g in flow.guarantees if g.id == "inform_does_not_ask")
    said = FlowWords(flow, lambda i: catalog.text(locale, i))
    sentence = said.promise(guarantee, {})
    step = catalog.text(locale, guarantee.never_include[0])
    assert f"{never}{step}’" in sentence
    assert "plan.step" not in sentence
