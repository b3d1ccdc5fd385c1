"""Questions and results as channel-neutral blocks of text in one locale.

Channels only lay these blocks out (plain text in the terminal, HTML in
Telegram), so every channel says the same words in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.advice.engine import Answer, CautionHit, Problem, Reason, Result, Session
from bot.advice.uitext import UI, fill
from bot.flows.catalog import Catalog, CompiledFlow, CompiledQuestion
from bot.flows.model import QuestionKind

CARD_LIMIT = 1200
"""Characters a result card may take: about two phone screens, so the headline
and the buttons under the card are never far apart."""
CARD_REASONS = 3
"""Reasons shown on a card; the rest are one tap away, under "Why"."""
CARD_CAUTIONS = 5
"""Caution titles shown on a card; every caution keeps its own button."""


class Detail(StrEnum):
    """The parts of a result shown apart from its card (cautions are ``c0``, ``c1``...)."""

    WHY = "r"
    WOULD_CHANGE = "w"
    NEXT_STEPS = "n"
    WHERE = "p"
    ANSWERS = "a"


class BlockKind(StrEnum):
    """How a block is laid out."""

    TITLE = "title"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    BULLETS = "bullets"


@dataclass(frozen=True, slots=True)
class Block:
    """A run of text; ``user_text`` marks text a person typed, to be escaped or quoted."""

    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()
    user_text: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    """A question ready to show: its words, its options and the picks so far."""

    question_id: str
    kind: QuestionKind
    number: int
    total: int
    """About how many questions the path holds: those answered and the most still ahead."""
    text: str
    help: str | None
    options: tuple[tuple[str, str], ...]
    """Option ids and labels, in order."""
    picked: tuple[str, ...] = ()
    max_length: int = 0
    optional: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Renderer:
    """Words for one locale of one catalog."""

    catalog: Catalog
    locale: str

    def t(self, text_id: str, **values: object) -> str:
        """The text for an id with its ``{placeholders}`` filled."""
        return fill(self.catalog.text(self.locale, text_id), values)

    def problem(
        self, flow: CompiledFlow, session: Session, problem: Problem, back: str = UI.BACK_TERMINAL
    ) -> str:
        """A refused answer's hint, option ids in it shown as their labels.

        ``back`` is the text saying how to go back where the hint is shown
        (``UI.BACK_TELEGRAM`` or ``UI.BACK_TERMINAL``), filled with the back
        command in this language.
        """
        values = dict(problem.values)
        values["back"] = self.t(back, command=self.t(UI.COMMAND_BACK))
        question = flow.questions.get(session.question or "")
        option = values.get("option")
        if question is not None and isinstance(option, str) and option in question.options:
            values["option"] = self.t(question.options[option].label)
        options = values.get("options")
        if question is not None and isinstance(options, str):
            values["options"] = "; ".join(
                f"{question.option_ids.index(o) + 1}. {self.t(question.options[o].label)}"
                for o in options.split(",")
                if o in question.options
            )
        return self.t(problem.text, **values)

    def prompt(self, flow: CompiledFlow, session: Session) -> Prompt:
        """The session's current question; the session must not be finished."""
        question = flow.questions[session.question or ""]
        model = question.model
        notes = [
            self.t(UI.QUESTION_KEPT, said=self.said(flow, q, session.answers[q]))
            for q in session.filled
            if q in session.answers
        ]
        if model.kind is QuestionKind.MULTI:
            notes.append(self.t(UI.QUESTION_PICK_MANY))
        elif model.kind is QuestionKind.TEXT:
            notes.append(self.t(UI.QUESTION_TYPE_TEXT, limit=model.max_length))
            if model.optional:
                notes.append(self.t(UI.QUESTION_OPTIONAL, skip=self.t(UI.COMMAND_SKIP)))
        return Prompt(
            question_id=question.id,
            kind=model.kind,
            number=len(session.history) + 1,
            total=len(session.history) + question.ahead,
            text=self.t(model.text),
            help=self.t(model.help) if model.help else None,
            options=tuple((o.id, self.t(o.label)) for o in model.options),
            picked=session.draft,
            max_length=model.max_length,
            optional=model.optional,
            notes=tuple(notes),
        )

    def number(self, prompt: Prompt) -> str:
        """``Question 3 of about 9``: the count grows or shrinks as the answers choose the path."""
        return self.t(UI.QUESTION_NUMBER, number=prompt.number, total=prompt.total)

    def answer_text(self, question: CompiledQuestion, value: Answer) -> str:
        """An answer as the person saw it: labels for options, the text for text."""
        if question.model.kind is QuestionKind.TEXT:
            return value if isinstance(value, str) and value else self.t(UI.RESULT_SKIPPED)
        chosen = value if isinstance(value, tuple) else (value,)
        return ", ".join(self.t(question.options[o].label) for o in chosen)

    def said(self, flow: CompiledFlow, question_id: str, value: Answer) -> str:
        """One answer with its question: ``Is the decision still open? → Open in part``.

        Only the question itself is repeated, up to its question mark: the
        instructions after it ("Pick everything that is promised.") were
        for answering, not for reading back.
        """
        question = flow.questions[question_id]
        asked = self.t(question.model.text)
        mark = asked.find("?")
        if 0 < mark < len(asked) - 1:
            asked = asked[: mark + 1]
        return f"{asked} → {self.answer_text(question, value)}"

    def heading(self, flow: CompiledFlow, name: str, default: str) -> str:
        """A result heading: the flow's own wording if it has one, else the standard one."""
        return self.t(getattr(flow.model.headings, name) or default)

    def headline(self, flow: CompiledFlow, result: Result) -> str:
        """The result's first line, e.g. ``Recommendation: Consult``."""
        name = result.headline or flow.model.recommendations[result.level].label
        return f"{self.t(flow.model.result_heading)}: {self.t(name)}"

    def card(self, flow: CompiledFlow, result: Result) -> list[Block]:
        """The result short enough for a phone: headline, summary, reasons, cautions.

        The first ``CARD_REASONS`` reasons (the flow lists the weightiest
        first) and ``CARD_CAUTIONS`` caution titles are shown, each part saying
        how many more wait under its buttons; ``detail`` gives every reason and
        each caution in full, one part at a time. ``card_bound`` holds every
        card a flow can show to ``CARD_LIMIT``.
        """
        blocks = [
            Block(BlockKind.TITLE, self.headline(flow, result)),
            Block(BlockKind.PARAGRAPH, self.t(result.summary)),
        ]
        if result.reasons:
            why = self.heading(flow, "why", UI.RESULT_WHY)
            blocks.append(Block(BlockKind.HEADING, why))
            shown = result.reasons[:CARD_REASONS]
            blocks.append(Block(BlockKind.BULLETS, items=tuple(self.t(r.text) for r in shown)))
            more = len(result.reasons) - len(shown)
            if more:
                blocks.append(
                    Block(
                        BlockKind.PARAGRAPH, self.t(UI.RESULT_MORE_REASONS, count=more, button=why)
                    )
                )
        if result.cautions:
            blocks.append(
                Block(BlockKind.HEADING, self.heading(flow, "cautions", UI.RESULT_CAUTIONS))
            )
            shown_cautions = result.cautions[:CARD_CAUTIONS]
            titles = [f"⚠ {n}. {self.t(c.title)}" for n, c in enumerate(shown_cautions, start=1)]
            more = len(result.cautions) - len(shown_cautions)
            if more:
                titles.append(self.t(UI.RESULT_MORE_CAUTIONS, count=more))
            blocks.append(Block(BlockKind.PARAGRAPH, "\n".join(titles)))
        return blocks

    def card_bound(self, flow: CompiledFlow, outcome_index: int) -> int:
        """The most characters a card of this outcome rule can take, in this locale.

        Checked when a flow loads, so an admin's longer wording is caught at its
        file:line rather than on a phone. Exploring every path would be exact but
        takes minutes (the shipped flows have over a million endings); this
        bound takes the rule's longest reasons and the flow's longest caution
        titles, shown by ``card`` itself, so it is never below a real card.
        """
        model = flow.model
        outcome = model.outcomes[outcome_index]
        by_length = sorted(
            (item if isinstance(item, str) else item.text for item in outcome.reasons),
            key=lambda text_id: -len(self.t(text_id)),
        )
        cautions = sorted(model.cautions, key=lambda c: -len(self.t(c.title)))
        widest = Result(
            flow_id=flow.id,
            level=outcome.recommend,
            outcome_id=outcome.id,
            headline=outcome.headline,
            summary=outcome.summary or model.recommendations[outcome.recommend].summary,
            reasons=tuple(Reason(text_id, ()) for text_id in by_length),
            cautions=tuple(CautionHit(c.id, c.title, c.why, c.do, ()) for c in cautions),
            would_change=(),
            next_steps=(),
            answers=(),
        )
        return len(plain(self.card(flow, widest)))

    def details(self, flow: CompiledFlow, result: Result) -> list[tuple[str, str]]:
        """The parts of the advice the card leaves out, as (key, button label) in order."""
        found = [
            (f"c{n}", _button_label("⚠ " + self.t(caution.title)))
            for n, caution in enumerate(result.cautions)
        ]
        if len(result.reasons) > CARD_REASONS:
            found.insert(0, (Detail.WHY, self.heading(flow, "why", UI.RESULT_WHY)))
        if result.would_change:
            found.append(
                (Detail.WOULD_CHANGE, self.heading(flow, "would_change", UI.RESULT_WOULD_CHANGE))
            )
        if result.next_steps:
            found.append(
                (Detail.NEXT_STEPS, self.heading(flow, "next_steps", UI.RESULT_NEXT_STEPS))
            )
        found.append((Detail.WHERE, self.heading(flow, "where", UI.RESULT_WHERE)))
        if result.answers:
            found.append((Detail.ANSWERS, self.heading(flow, "answers", UI.RESULT_ANSWERS)))
        return found

    def detail(self, flow: CompiledFlow, result: Result, key: str) -> list[Block] | None:
        """One part of the advice named by a ``details`` key; None for a key it lacks."""
        if key.startswith("c") and key[1:].isdecimal():
            index = int(key[1:])
            if index >= len(result.cautions):
                return None
            return self._caution(result.cautions[index])
        recommendation = flow.model.recommendations[result.level]
        if key == Detail.WHY and result.reasons:
            return [
                Block(BlockKind.HEADING, self.heading(flow, "why", UI.RESULT_WHY)),
                Block(BlockKind.BULLETS, items=tuple(self.t(r.text) for r in result.reasons)),
            ]
        if key == Detail.WOULD_CHANGE and result.would_change:
            return [
                Block(
                    BlockKind.HEADING, self.heading(flow, "would_change", UI.RESULT_WOULD_CHANGE)
                ),
                Block(BlockKind.BULLETS, items=tuple(self.t(t) for t in result.would_change)),
            ]
        if key == Detail.NEXT_STEPS and result.next_steps:
            return [
                Block(BlockKind.HEADING, self.heading(flow, "next_steps", UI.RESULT_NEXT_STEPS)),
                Block(BlockKind.BULLETS, items=tuple(self.t(t) for t in result.next_steps)),
            ]
        if key == Detail.WHERE:
            rule = next((o for o in flow.model.outcomes if o.id == result.outcome_id), None)
            ladder = (rule.ladder if rule else None) or recommendation.ladder
            spectrum = (rule.spectrum if rule else None) or recommendation.spectrum
            return [
                Block(BlockKind.HEADING, self.heading(flow, "where", UI.RESULT_WHERE)),
                Block(
                    BlockKind.PARAGRAPH,
                    f"{self.t(UI.RESULT_LADDER)} {self.t(ladder)}\n"
                    f"{self.t(UI.RESULT_SPECTRUM)} {self.t(spectrum)}",
                ),
            ]
        if key == Detail.ANSWERS and result.answers:
            return [
                Block(BlockKind.HEADING, self.heading(flow, "answers", UI.RESULT_ANSWERS)),
                Block(
                    BlockKind.BULLETS,
                    items=tuple(self.said(flow, q, value) for q, value in result.answers),
                    user_text=True,
                ),
            ]
        return None

    def _caution(self, caution: CautionHit) -> list[Block]:
        return [
            Block(BlockKind.HEADING, "⚠ " + self.t(caution.title)),
            Block(
                BlockKind.PARAGRAPH,
                f"{self.t(UI.RESULT_WHY_IT_MATTERS)} {self.t(caution.why)}\n"
                f"{self.t(UI.RESULT_WHAT_TO_DO)} {self.t(caution.do)}",
            ),
        ]

    def result(self, flow: CompiledFlow, result: Result) -> list[Block]:
        """The whole advice, headline first: for the terminal and the PDF."""
        answers = dict(result.answers)
        blocks = [
            Block(BlockKind.TITLE, self.headline(flow, result)),
            Block(BlockKind.PARAGRAPH, self.t(result.summary)),
        ]
        if result.reasons:
            blocks.append(Block(BlockKind.HEADING, self.heading(flow, "why", UI.RESULT_WHY)))
            items = []
            quoted: set[str] = set()
            for reason in result.reasons:
                # Each answer is quoted once, under the first reason that rests on it.
                fresh = [q for q in reason.cited if q not in quoted]
                quoted.update(fresh)
                said = "; ".join(self.said(flow, q, answers[q]) for q in fresh)
                text = self.t(reason.text)
                if said:
                    text += "\n" + self.t(UI.RESULT_YOU_SAID, answers=said)
                items.append(text)
            blocks.append(Block(BlockKind.BULLETS, items=tuple(items), user_text=True))
        if result.cautions:
            blocks.append(
                Block(BlockKind.HEADING, self.heading(flow, "cautions", UI.RESULT_CAUTIONS))
            )
            for caution in result.cautions:
                blocks.extend(self._caution(caution))
        for key in (Detail.WOULD_CHANGE, Detail.NEXT_STEPS, Detail.WHERE):
            blocks.extend(self.detail(flow, result, key) or [])
        cited = _cited(result)
        rest = [(q, value) for q, value in result.answers if q not in cited]
        if rest:
            blocks.append(Block(BlockKind.HEADING, self.answers_heading(flow, result)))
            blocks.append(
                Block(
                    BlockKind.BULLETS,
                    items=tuple(self.said(flow, q, value) for q, value in rest),
                    user_text=True,
                )
            )
        return blocks

    def answers_heading(self, flow: CompiledFlow, result: Result) -> str:
        """The heading of ``result``'s list of answers: "Your other answers" when the
        reasons quote some (the list leaves those out, so nothing is said twice)."""
        if _cited(result):
            return self.t(UI.RESULT_OTHER_ANSWERS)
        return self.heading(flow, "answers", UI.RESULT_ANSWERS)


def _cited(result: Result) -> set[str]:
    """The questions whose answers the reasons quote ("You said: ...")."""
    return {q for reason in result.reasons for q in reason.cited}


BUTTON_LABEL = 32
"""Characters of a button label a small phone shows on one line, at most."""


def _button_label(text: str) -> str:
    """A label that fits a phone's button: longer ones are cut at a word, with "…"."""
    if len(text) <= BUTTON_LABEL:
        return text
    return text[: BUTTON_LABEL - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def plain(blocks: list[Block]) -> str:
    """Blocks as plain text for a terminal or a file, paragraphs apart."""
    out = []
    for block in blocks:
        if block.kind is BlockKind.BULLETS:
            out.append("\n".join("- " + item.replace("\n", "\n  ") for item in block.items))
        else:
            out.append(block.text)
    return "\n\n".join(out)
