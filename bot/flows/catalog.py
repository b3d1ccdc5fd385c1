"""Flows and texts made ready to serve: indexes and predicates built once.

A ``Catalog`` is what the loader returns and every channel serves from. It
is immutable, so a reload builds a new one and swaps it in whole; nothing a
conversation needs is computed per update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.flows.conditions import Predicate, compile_condition, facts_read
from bot.flows.findings import Finding, FlowError, errors
from bot.flows.model import RESULT, Caution, ConditionalText, Flow, Option, Outcome, Question
from bot.flows.typed import Vocabulary, vocabulary

SYNONYMS = "synonyms"
"""The key, under an option's label id, of other words a person may type for it."""
_APOSTROPHES = str.maketrans("", "", "'’`")


def plain_words(text: str) -> str:
    """Text as words to compare typed answers by: case-folded, no punctuation, single spaces.

    So "It’s already made", "its already made" and "ITS ALREADY MADE!" read the same.
    """
    folded = text.casefold().translate(_APOSTROPHES)
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


@dataclass(frozen=True, slots=True)
class CompiledReason:
    """A reason text, when it applies, and the facts it cites."""

    text: str
    applies: Predicate
    cites: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledOutcome:
    """An outcome rule with its condition and its conditional texts compiled."""

    model: Outcome
    applies: Predicate
    reasons: tuple[CompiledReason, ...]
    would_change: tuple[CompiledReason, ...]
    next_steps: tuple[CompiledReason, ...]


@dataclass(frozen=True, slots=True)
class CompiledCaution:
    """A caution with its condition compiled and the facts it cites."""

    model: Caution
    applies: Predicate
    cites: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledQuestion:
    """A question with its options indexed and its ways on compiled."""

    model: Question
    number: int
    options: Mapping[str, Option]
    option_ids: tuple[str, ...]
    branches: tuple[tuple[Predicate, str], ...]
    ahead: int
    """Questions on the longest path from here to the result, this one included."""
    labels: Mapping[str, Mapping[str, str]]
    """Per locale, each option's label and synonyms (as ``plain_words``) mapped to its id."""
    heads: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per locale, each option's label up to its first comma, as ``plain_words`` ("yes" of
    "Yes, mostly"; "" for a label without one): a reply of just those words names the option."""
    vocabulary: Mapping[str, Vocabulary] = field(default_factory=dict)
    """Per locale, the typed words that never pick an option alone, and duration words."""

    @property
    def id(self) -> str:
        return self.model.id


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    """A flow ready for the engine."""

    model: Flow
    questions: Mapping[str, CompiledQuestion]
    outcomes: tuple[CompiledOutcome, ...]
    cautions: tuple[CompiledCaution, ...]
    fact_sources: Mapping[str, tuple[str, ...]]
    """For each fact, the questions whose answers can set it."""
    level_steps: Mapping[str, tuple[CompiledReason, ...]]
    """For each level, its own next steps with their conditions compiled."""

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def version(self) -> int:
        return self.model.version


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything a channel serves: flows by id and texts by locale."""

    flows: Mapping[str, CompiledFlow]
    texts: Mapping[str, Mapping[str, str]]
    default_locale: str = "en"

    @property
    def locales(self) -> tuple[str, ...]:
        """Locales with texts, the default first."""
        others = sorted(loc for loc in self.texts if loc != self.default_locale)
        return (self.default_locale, *others)

    def missing_language(self, locale: str) -> str | None:
        """Why ``locale`` cannot be served, or None if it can: one wording for every
        command that takes a language (``chat --lang``, ``studio --export --lang``)."""
        if locale in self.texts:
            return None
        return f"there are no texts in '{locale}' (there are: {', '.join(self.locales)})"

    def text(self, locale: str, text_id: str) -> str:
        """The text for an id; the default locale's, then the id itself, if missing.

        Loading refuses flows with missing texts, so the fallbacks only
        matter for a UI id used before its text was added.
        """
        texts = self.texts.get(locale) or self.texts.get(self.default_locale, {})
        found = texts.get(text_id)
        if found is None:
            found = self.texts.get(self.default_locale, {}).get(text_id, text_id)
        return found


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What loading found, and the catalog when nothing stopped it."""

    catalog: Catalog | None
    findings: list[Finding]

    def unwrap(self) -> Catalog:
        """The catalog, or ``FlowError`` with every finding."""
        if self.catalog is None:
            raise FlowError(errors(self.findings))
        return self.catalog


def build_catalog(
    flows: Mapping[str, Flow], texts: Mapping[str, Mapping[str, str]], default_locale: str
) -> Catalog:
    """A catalog of flows that have passed ``checks``, with the texts they use."""
    compiled = {fid: compile_flow(flow, texts) for fid, flow in flows.items()}
    return Catalog(flows=compiled, texts=texts, default_locale=default_locale)


def _ahead(ways: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """For each question, about how many questions a person will still be asked from it.

    The mean over the questions it may lead to, not the longest: with the
    longest, the first question of the plan flow said "of about 15" and one
    answer later "of about 6", when a typical path asks about ten. A way
    straight to the result is left out of the mean, so a question that may
    lead on never says it is the last one.

    Iterative, deepest first: a chain of hundreds of questions must not
    exhaust Python's recursion limit. Checks refuse loops before compiling.
    """
    ahead: dict[str, int] = {}
    for root in ways:
        stack = [(root, False)]
        while stack:
            question_id, ready = stack.pop()
            if question_id in ahead:
                continue
            nexts = [t for t in ways.get(question_id, ()) if t in ways]
            if ready:
                after = [ahead.get(t, 0) for t in set(nexts)]
                ahead[question_id] = 1 + (round(sum(after) / len(after)) if after else 0)
                continue
            stack.append((question_id, True))
            stack.extend((t, False) for t in nexts if t not in ahead)
    return ahead


def compile_flow(flow: Flow, texts: Mapping[str, Mapping[str, str]]) -> CompiledFlow:
    """Build a flow's indexes; the flow must already have passed ``checks``."""
    order = [q.id for q in flow.questions]
    questions: dict[str, CompiledQuestion] = {}
    ways: dict[str, tuple[str, ...]] = {}
    for number, question in enumerate(flow.questions, start=1):
        fallback = order[number] if number < len(order) else RESULT
        gotos = (
            [b.goto for b in question.next]
            if isinstance(question.next, list)
            else [question.next or fallback]
        )
        ways[question.id] = (*gotos, *(o.next for o in question.options if o.next))
    ahead = _ahead(ways)
    words = vocabulary(texts)
    for number, question in enumerate(flow.questions, start=1):
        fallback = order[number] if number < len(order) else RESULT
        if isinstance(question.next, list):
            branches = tuple((compile_condition(b.when), b.goto) for b in question.next)
        else:
            branches = ((compile_condition(None), question.next or fallback),)
        labels = {
            locale: {
                plain_words(phrase): o.id
                for o in question.options
                for phrase in (
                    table.get(o.label, o.label),
                    *table.get(f"{o.label}.{SYNONYMS}", "").split("\n"),
                )
                if plain_words(phrase)
            }
            for locale, table in texts.items()
        }
        questions[question.id] = CompiledQuestion(
            model=question,
            number=number,
            ahead=ahead[question.id],
            options={o.id: o for o in question.options},
            option_ids=tuple(o.id for o in question.options),
            branches=branches,
            labels=labels,
            heads={
                locale: {
                    o.id: plain_words(table.get(o.label, o.label).split(",")[0])
                    if "," in table.get(o.label, o.label)
                    else ""
                    for o in question.options
                }
                for locale, table in texts.items()
            },
            vocabulary=words,
        )
    sources: dict[str, list[str]] = {}
    for question in flow.questions:
        sources.setdefault(question.id, []).append(question.id)
        for option in question.options:
            for name in option.set:
                if question.id not in sources.setdefault(name, []):
                    sources[name].append(question.id)
    outcomes = []
    for outcome in flow.outcomes:
        cites = tuple(dict.fromkeys(facts_read(outcome.when)))
        outcomes.append(
            CompiledOutcome(
                outcome,
                compile_condition(outcome.when),
                compile_texts(outcome.reasons, cites),
                compile_texts(outcome.would_change, ()),
                compile_texts(outcome.next_steps, ()),
            )
        )
    cautions = tuple(
        CompiledCaution(c, compile_condition(c.when), tuple(dict.fromkeys(facts_read(c.when))))
        for c in flow.cautions
    )
    return CompiledFlow(
        model=flow,
        questions=questions,
        outcomes=tuple(outcomes),
        cautions=cautions,
        fact_sources={k: tuple(v) for k, v in sources.items()},
        level_steps={
            level.value: compile_texts(rec.next_steps, ())
            for level, rec in flow.recommendations.items()
        },
    )


def compile_texts(
    items: Sequence[str | ConditionalText], cites: tuple[str, ...]
) -> tuple[CompiledReason, ...]:
    """Texts of a result part, each with when it applies and what it cites.

    A plain text always applies and cites ``cites`` (a rule's reasons cite
    the facts the rule reads); a conditional one cites what its condition reads.
    """
    compiled = []
    for item in items:
        if isinstance(item, ConditionalText):
            compiled.append(
                CompiledReason(
                    item.text,
                    compile_condition(item.when),
                    tuple(dict.fromkeys(facts_read(item.when))),
                )
            )
        else:
            compiled.append(CompiledReason(item, compile_condition(None), cites))
    return tuple(compiled)
