"""The dialogue engine: sessions in, sessions and results out.

Pure functions over immutable values, with no I/O and no channel types, so
the terminal, Telegram and the tests drive the very same logic, and a
session can be stored as JSON between any two steps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bot.flows.catalog import CompiledFlow, CompiledQuestion, plain_words
from bot.flows.durations import days_in, holds
from bot.flows.model import RESULT, Level, QuestionKind
from bot.flows.typed import Vocabulary, fold

Answer = str | tuple[str, ...]
"""An option id (choice), option ids (multi) or the text typed (text)."""

SESSION_FORMAT = 1


class SessionError(ValueError):
    """A stored session cannot be read or does not fit its flow."""


@dataclass(frozen=True, slots=True)
class Session:
    """Where one person is in one flow, small enough to store on every step.

    ``history`` is the path of answered questions in order and ``answers``
    holds exactly their answers, so going back simply pops the last one.
    ``question`` is None once the result is reached. ``draft`` holds the
    picks of a multi-select question not yet confirmed. ``kept`` holds the
    answers to questions marked ``remember`` (where the work happens, say),
    carried from one session to the next so a person is asked them once.
    """

    flow_id: str
    flow_version: int
    question: str | None
    history: tuple[str, ...] = ()
    answers: Mapping[str, Answer] = field(default_factory=lambda: MappingProxyType({}))
    draft: tuple[str, ...] = ()
    kept: Mapping[str, Answer] = field(default_factory=lambda: MappingProxyType({}))
    filled: tuple[str, ...] = ()
    """Questions the last step answered from ``kept``, in order: the next question
    says so, or the count would jump from 1 to 3 with no word of why."""

    @property
    def finished(self) -> bool:
        return self.question is None

    def to_json(self) -> dict[str, Any]:
        """A JSON-shaped copy; ``from_json`` reads it back unchanged."""
        return {
            "format": SESSION_FORMAT,
            "flow": self.flow_id,
            "version": self.flow_version,
            "question": self.question,
            "history": list(self.history),
            "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in self.answers.items()},
            "draft": list(self.draft),
            "kept": {k: list(v) if isinstance(v, tuple) else v for k, v in self.kept.items()},
        } | ({"filled": list(self.filled)} if self.filled else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        """Read a stored session, refusing anything malformed."""
        try:
            if data.get("format") != SESSION_FORMAT:
                raise SessionError(f"unknown session format {data.get('format')!r}")
            answers = _answers(data["answers"])
            kept = _answers(data.get("kept", {}))
            question = data["question"]
            session = cls(
                flow_id=str(data["flow"]),
                flow_version=int(data["version"]),
                question=None if question is None else str(question),
                history=tuple(str(h) for h in data["history"]),
                answers=MappingProxyType(answers),
                draft=tuple(str(d) for d in data.get("draft", ())),
                kept=MappingProxyType(kept),
                filled=tuple(str(f) for f in data.get("filled", ())),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SessionError(f"malformed session: {exc}") from None
        if set(session.history) != set(session.answers) or len(session.history) != len(
            set(session.history)
        ):
            raise SessionError("session history and answers disagree")
        return session


def _answers(data: Any) -> dict[str, Answer]:
    """Stored answers read back: option ids as tuples, texts as strings."""
    answers: dict[str, Answer] = {}
    for key, value in dict(data).items():
        if isinstance(value, list):
            answers[str(key)] = tuple(str(v) for v in value)
        elif isinstance(value, str):
            answers[str(key)] = value
        else:
            raise SessionError(f"bad answer for {key!r}")
    return answers


def carried(data: Mapping[str, Any] | None) -> Mapping[str, Answer]:
    """The remembered answers of a stored session, to start the next one with.

    Anything unreadable carries nothing: the person is simply asked again.
    """
    if not data:
        return {}
    try:
        return Session.from_json(data).kept
    except SessionError:
        return {}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an answer was not taken: a UI text id and the values it mentions."""

    text: str
    values: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """The session after an attempt, and the problem if the answer was refused."""

    session: Session
    problem: Problem | None = None

    @property
    def accepted(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason for the recommendation and the questions whose answers it rests on."""

    text: str
    cited: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CautionHit:
    """A caution that applies, with the questions whose answers raised it."""

    id: str
    title: str
    why: str
    do: str
    cited: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Result:
    """The advice for a finished session, as text ids to render in any locale."""

    flow_id: str
    level: Level
    outcome_id: str
    headline: str | None
    """A text id naming the situation in place of the level's name, or None."""
    summary: str
    """The text id of the paragraph under the headline."""
    reasons: tuple[Reason, ...]
    cautions: tuple[CautionHit, ...]
    would_change: tuple[str, ...]
    next_steps: tuple[str, ...]
    answers: tuple[tuple[str, Answer], ...]
    """Every answer on the path, in the order given."""

    @property
    def caution_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.cautions)


def start(flow: CompiledFlow, kept: Mapping[str, Answer] | None = None) -> Session:
    """A new session at the flow's first question.

    ``kept`` are answers remembered from earlier sessions (``carried``):
    a question marked ``remember`` is answered from them when reached, and
    shows in the answers like any other, so going back can change it.
    """
    session = Session(
        flow.id, flow.version, flow.model.start, kept=MappingProxyType(dict(kept or {}))
    )
    return _prefill(flow, session)


def current(flow: CompiledFlow, session: Session) -> CompiledQuestion | None:
    """The question the session is waiting on, or None when finished."""
    if session.question is None:
        return None
    return flow.questions[session.question]


def facts(flow: CompiledFlow, session: Session) -> dict[str, Any]:
    """The facts the answers on the session's path set."""
    found: dict[str, Any] = {}
    for question_id in session.history:
        question = flow.questions[question_id]
        value = session.answers[question_id]
        if question.model.kind is QuestionKind.TEXT:
            if value:
                found[question_id] = value
            continue
        found[question_id] = value
        chosen = value if isinstance(value, tuple) else (value,)
        for option_id in chosen:
            found.update(question.options[option_id].set)
    return found


def answer(
    flow: CompiledFlow,
    session: Session,
    raw: str,
    locale: str,
    skip_word: str,
    *,
    by_id: bool = False,
) -> Step:
    """Take a typed answer: an option's number, label or synonym, or free text.

    ``by_id`` also takes option ids, as admins write them in scenario tests;
    people are never matched by id.
    """
    question = current(flow, session)
    if question is None:
        return Step(session, Problem("ui.hint.finished"))
    kind = question.model.kind
    if kind is QuestionKind.TEXT:
        return _answer_text(flow, session, question, raw, skip_word)
    if kind is QuestionKind.CHOICE:
        found = read(question, raw, locale, by_id=by_id)
        if found.picked is not None:
            return choose(flow, session, found.picked)
        return Step(session, _unmatched(question, raw, found))
    picked_or_problem = _read_multi(question, raw, locale, by_id=by_id)
    if isinstance(picked_or_problem, Problem):
        return Step(session, picked_or_problem)
    return choose_many(flow, session, picked_or_problem)


def _read_multi(
    question: CompiledQuestion, raw: str, locale: str, *, by_id: bool
) -> tuple[str, ...] | Problem:
    """The picks a typed reply to a multi question names, or why it was not taken.

    "1,3", "1 and 3", "budget and staff" and "all" (every option that can be
    combined, so not "None of these") are read; each part must be picked on
    its own terms (``read``), and a part that is not is asked about.
    """
    whole = read(question, raw, locale, by_id=by_id)
    if whole.picked is not None:
        return (whole.picked,)
    vocab = question.vocabulary.get(locale, Vocabulary())
    if plain_words(raw) in vocab.all_words:
        return tuple(o for o in question.option_ids if not question.options[o].exclusive)
    picked: list[str] = []
    for part in _split_multi(raw):
        pieces = _split_joined(part, vocab.joins)
        start = 0
        while start < len(pieces):
            for end in range(len(pieces), start, -1):
                token = " ".join(pieces[start:end])
                found = read(question, token, locale, by_id=by_id)
                if found.picked is not None:
                    break
            else:
                token = pieces[start]
                return _unmatched(question, token, read(question, token, locale, by_id=by_id))
            if found.picked not in picked:
                picked.append(found.picked)
            start = end
            if start < len(pieces) and plain_words(pieces[start]) in vocab.joins:
                start += 1
    return tuple(picked)


def _split_joined(part: str, joins: frozenset[str]) -> list[str]:
    """A part's words in runs, each join word ("and", "ac") a run of its own.

    So "budget and staff" can be read as two picks, while "Information and
    data", a whole label, is still tried whole first.
    """
    runs: list[str] = []
    for word in part.split():
        if plain_words(word) in joins or not runs or plain_words(runs[-1]) in joins:
            runs.append(word)
        else:
            runs[-1] = f"{runs[-1]} {word}"
    return runs


def _unmatched(question: CompiledQuestion, raw: str, found: Reading) -> Problem:
    """Why a typed answer was not taken: it fits no option, one only doubtfully, or several."""
    token = raw.strip()
    if len(found.candidates) > 1:
        return Problem("ui.hint.ambiguous", {"token": token, "options": ",".join(found.candidates)})
    if found.candidates:
        return Problem("ui.hint.did_you_mean", {"token": token, "options": found.candidates[0]})
    if question.model.kind is QuestionKind.MULTI:
        return Problem("ui.hint.multi_unknown", {"token": token, "count": len(question.option_ids)})
    return Problem("ui.hint.choice", {"count": len(question.option_ids)})


def choose(flow: CompiledFlow, session: Session, option_id: str) -> Step:
    """Take one option of a choice question by its id (a button press)."""
    question = current(flow, session)
    if question is None:
        return Step(session, Problem("ui.hint.finished"))
    if question.model.kind is not QuestionKind.CHOICE or option_id not in question.options:
        return Step(session, Problem("ui.hint.choice", {"count": len(question.option_ids)}))
    chosen = question.options[option_id]
    return Step(_advance(flow, session, question, option_id, chosen.next))


def toggle(flow: CompiledFlow, session: Session, option_id: str) -> Step:
    """Add or remove one pick of a multi-select question before it is confirmed."""
    question = current(flow, session)
    if question is None or question.model.kind is not QuestionKind.MULTI:
        return Step(session, Problem("ui.hint.finished" if question is None else "ui.hint.stale"))
    if option_id not in question.options:
        return Step(session, Problem("ui.hint.stale"))
    if option_id in session.draft:
        draft = tuple(d for d in session.draft if d != option_id)
    elif question.options[option_id].exclusive:
        draft = (option_id,)
    else:
        draft = (
            *(d for d in session.draft if not question.options[d].exclusive),
            option_id,
        )
    ordered = tuple(o for o in question.option_ids if o in draft)
    return Step(replace(session, draft=ordered))


def confirm(flow: CompiledFlow, session: Session) -> Step:
    """Take the picks gathered with ``toggle`` as the answer."""
    return choose_many(flow, session, session.draft)


def choose_many(flow: CompiledFlow, session: Session, picked: tuple[str, ...]) -> Step:
    """Take the options of a multi-select question by id."""
    question = current(flow, session)
    if question is None:
        return Step(session, Problem("ui.hint.finished"))
    if question.model.kind is not QuestionKind.MULTI or any(
        p not in question.options for p in picked
    ):
        return Step(session, Problem("ui.hint.stale"))
    if len(picked) < question.model.min_choices:
        return Step(session, Problem("ui.hint.min_choices", {"count": question.model.min_choices}))
    exclusive = [p for p in picked if question.options[p].exclusive]
    if exclusive and len(picked) > 1:
        return Step(session, Problem("ui.hint.exclusive", {"option": exclusive[0]}))
    ordered = tuple(o for o in question.option_ids if o in picked)
    return Step(_advance(flow, session, question, ordered, None))


def back(flow: CompiledFlow, session: Session) -> Step:
    """Return to the previous question, taking its answer off the path.

    A multi-select question comes back with its picks still ticked, so
    changing one pick does not mean ticking the rest again.
    """
    if not session.history:
        return Step(session, Problem("ui.hint.at_start"))
    last = session.history[-1]
    answers = {k: v for k, v in session.answers.items() if k != last}
    previous = session.answers[last]
    # A remembered answer gone back to is being changed: kept, it would answer
    # the question again as soon as the session is resumed.
    kept = {k: v for k, v in session.kept.items() if k != last}
    return Step(
        replace(
            session,
            question=last,
            history=session.history[:-1],
            answers=MappingProxyType(answers),
            draft=previous if isinstance(previous, tuple) else (),
            kept=MappingProxyType(kept),
            filled=(),
        )
    )


def result(flow: CompiledFlow, session: Session) -> Result:
    """The advice the session's answers lead to.

    The last outcome rule has no condition (the loader insists), so the
    loop always finds one.
    """
    known = facts(flow, session)
    outcome = next(o for o in flow.outcomes if o.applies(known))
    reasons = tuple(
        Reason(r.text, _cited(flow, session, r.cites)) for r in outcome.reasons if r.applies(known)
    )
    cautions = tuple(
        CautionHit(
            c.model.id,
            c.model.title,
            c.model.why,
            c.model.do,
            _cited(flow, session, c.cites),
        )
        for c in flow.cautions
        if c.applies(known)
    )
    level = outcome.model.recommend
    recommendation = flow.model.recommendations[level]
    own_steps = flow.level_steps[level.value] if outcome.model.standard_steps else ()
    return Result(
        flow_id=flow.id,
        level=level,
        outcome_id=outcome.model.id,
        headline=outcome.model.headline,
        summary=outcome.model.summary or recommendation.summary,
        reasons=reasons,
        cautions=cautions,
        would_change=tuple(t.text for t in outcome.would_change if t.applies(known)),
        next_steps=tuple(t.text for t in (*own_steps, *outcome.next_steps) if t.applies(known)),
        answers=tuple((q, session.answers[q]) for q in session.history),
    )


def _advance(
    flow: CompiledFlow,
    session: Session,
    question: CompiledQuestion,
    value: Answer,
    option_next: str | None,
) -> Session:
    answers = dict(session.answers)
    answers[question.id] = value
    kept = session.kept
    if question.model.remember:
        kept = MappingProxyType({**kept, question.id: value})
    moved = replace(
        session,
        history=(*session.history, question.id),
        answers=MappingProxyType(answers),
        draft=(),
        kept=kept,
        filled=(),
    )
    target = option_next
    if target is None:
        known = facts(flow, moved)
        target = next((goto for applies, goto in question.branches if applies(known)), RESULT)
    return _prefill(flow, replace(moved, question=None if target == RESULT else target))


def _prefill(flow: CompiledFlow, session: Session) -> Session:
    """Answer the current question from ``kept`` if it is one to remember and still fits."""
    question = current(flow, session)
    if question is None or not question.model.remember or question.id not in session.kept:
        return session
    value = session.kept[question.id]
    if isinstance(value, tuple):
        step = choose_many(flow, session, value)
    elif question.model.kind is QuestionKind.CHOICE:
        step = choose(flow, session, value)
    else:
        return session
    if not step.accepted:
        return session
    return replace(step.session, filled=(question.id, *step.session.filled))


def resume(flow: CompiledFlow, session: Session) -> tuple[Session, bool]:
    """The session carried onto ``flow`` (perhaps a new version), and whether it changed.

    The stored answers are replayed from the start in their old order: each
    is kept while its question is still on the path and the answer still
    fits. A session that fits the flow comes back unchanged; one that no
    longer does restarts at the first question whose answer no longer fits,
    with every earlier answer kept.
    """
    replayed = start(flow, session.kept)
    for question_id in session.history:
        if replayed.answers.get(question_id) == session.answers[question_id]:
            continue  # answered from what was remembered, as before
        question = current(flow, replayed)
        if question is None or question.id != question_id:
            break
        step = _replay(flow, replayed, question, session.answers[question_id])
        if step is None:
            break
        replayed = step
    if replayed.question is not None and replayed.question == session.question:
        replayed = replace(replayed, draft=_still_options(flow, replayed, session.draft))
    changed = (replayed.question, replayed.history, dict(replayed.answers)) != (
        session.question,
        session.history,
        dict(session.answers),
    )
    # The replay fills in remembered answers afresh; whether the last step did is
    # the stored session's to say (an answer typed just now is no "last time").
    return replace(replayed, filled=() if changed else session.filled), changed


def _replay(
    flow: CompiledFlow, session: Session, question: CompiledQuestion, value: Answer
) -> Session | None:
    kind = question.model.kind
    if kind is QuestionKind.TEXT and isinstance(value, str):
        if len(value) > question.model.max_length or (not value and not question.model.optional):
            return None
        return _advance(flow, session, question, value, None)
    if kind is QuestionKind.CHOICE and isinstance(value, str):
        step = choose(flow, session, value)
    elif kind is QuestionKind.MULTI and isinstance(value, tuple):
        step = choose_many(flow, session, value)
    else:
        return None
    return step.session if step.accepted else None


def _still_options(flow: CompiledFlow, session: Session, draft: tuple[str, ...]) -> tuple[str, ...]:
    question = flow.questions[session.question or ""]
    return tuple(d for d in draft if d in question.options)


def _cited(flow: CompiledFlow, session: Session, fact_names: tuple[str, ...]) -> tuple[str, ...]:
    """The answered questions, in path order, that set any of ``fact_names``."""
    wanted = set(fact_names)
    cited = []
    for question_id in session.history:
        question = flow.questions[question_id]
        if question_id in wanted:
            cited.append(question_id)
            continue
        value = session.answers[question_id]
        chosen = value if isinstance(value, tuple) else (value,)
        if any(
            name in wanted
            for option_id in chosen
            if option_id in question.options
            for name in question.options[option_id].set
        ):
            cited.append(question_id)
    return tuple(cited)


def _answer_text(
    flow: CompiledFlow, session: Session, question: CompiledQuestion, raw: str, skip_word: str
) -> Step:
    text = raw.strip()
    limit = question.model.max_length
    if question.model.optional and text.casefold() == skip_word.casefold():
        return Step(_advance(flow, session, question, "", None))
    if not text:
        return Step(session, Problem("ui.hint.text_empty"))
    if len(text) > limit:
        return Step(session, Problem("ui.hint.too_long", {"length": len(text), "limit": limit}))
    return Step(_advance(flow, session, question, text, None))


def match(
    question: CompiledQuestion, token: str, locale: str, *, by_id: bool = False
) -> tuple[str, ...]:
    """The options a typed answer names: one (picked), several (ambiguous) or none.

    One option is returned only when ``read`` picks it; a reply it would ask
    about with a single candidate returns none, so no caller can take it.
    """
    return read(question, token, locale, by_id=by_id).options


@dataclass(frozen=True, slots=True)
class Reading:
    """What a typed reply names: the option it picks, or the options to ask about.

    ``picked`` None with ``candidates`` means "did you mean one of these?";
    with none, the reply was not understood.
    """

    picked: str | None = None
    candidates: tuple[str, ...] = ()

    @property
    def options(self) -> tuple[str, ...]:
        """One option if picked, several if ambiguous, else none (a lone candidate is not
        returned: callers take one option as picked)."""
        if self.picked is not None:
            return (self.picked,)
        return self.candidates if len(self.candidates) > 1 else ()


NOTHING = Reading()


def read(question: CompiledQuestion, token: str, locale: str, *, by_id: bool = False) -> Reading:
    """Read a typed reply to a choice or multi question, never guessing.

    Option ids are taken only with ``by_id`` (admins' scenario tests): "no"
    must not pick the option whose id happens to be ``no`` over one whose
    label says "No". See ``read_words`` for how words are read.
    """
    if by_id and token.strip() in question.options:
        return Reading(token.strip())
    return read_words(
        question.labels.get(locale, {}),
        question.option_ids,
        token,
        question.vocabulary.get(locale, Vocabulary()),
        question.heads.get(locale, {}),
        {o: question.options[o].days for o in question.option_ids if question.options[o].days},
    )


def match_words(phrases: Mapping[str, str], numbered: Sequence[str], token: str) -> tuple[str, ...]:
    """What a typed answer names: ``numbered[n - 1]`` for a number n, else by ``phrases``.

    ``phrases`` maps ``plain_words`` of each label (and synonym) to what it
    names (a menu's flow titles, the languages' names). One item means it is
    picked; several, that the reply fits each.
    """
    return read_words(phrases, numbered, token).options


def read_words(
    phrases: Mapping[str, str],
    numbered: Sequence[str],
    token: str,
    vocab: Vocabulary = Vocabulary(),  # noqa: B008 - immutable
    heads: Mapping[str, str] | None = None,
    days: Mapping[str, Sequence[int | None]] | None = None,
) -> Reading:
    """Read a typed reply against ``phrases`` (``plain_words`` of labels and synonyms).

    A missed answer costs a person one edit of the question; a wrong one
    can change their advice without them noticing. So only these pick:

    - the number shown with an option ("2", "2.");
    - an option's whole label or one of its synonyms;
    - a typed duration ("3 months") that one option's ``days`` holds;
    - the words of a label before its comma ("Yes" of "Yes, mostly") when
      no other option's label starts the same or holds those words;
    - two or more words (not counting fillers) lifted in order from the
      labels or synonyms of one option only, negations and all, and at least
      half of that phrase ("not that I know of" of "No, or not that I know
      of"; never "never heard" of "Yes, but they never heard back");
    - words found in the labels or synonyms of one option only, that are
      not all fillers, cover at least half of that phrase's words, and
      leave out none of its negations ("sure" never picks "Not sure").

    Anything holding a command word (back, help, nol...) or a negation
    (not, never, ddim...) that is not a whole label or synonym is asked
    about, as is a duration at a question whose options have no ``days``.
    """
    shown = token.strip().rstrip(".")  # "2" or "2." as the buttons show it
    if shown.isdecimal():
        number = int(shown)
        return Reading(numbered[number - 1]) if 1 <= number <= len(numbered) else NOTHING
    words = plain_words(token)
    if not words or words.replace(" ", "").isdecimal():
        return NOTHING
    exact = phrases.get(words)
    if exact is not None:
        return Reading(exact)
    typed = words.split()
    content = [w for w in typed if w not in vocab.fillers]
    # Fillers the label lacks do not stop a match: "we will stay involved" is "We stay
    # involved". The words that carry meaning must all be there.
    needed = set(content) or set(typed)
    holding = tuple(
        dict.fromkeys(value for phrase, value in phrases.items() if needed <= set(phrase.split()))
    )
    length = days_in(words, vocab.numbers, vocab.units, vocab.fillers, vocab.alone)
    if length is not None:
        fits = [o for o, span in (days or {}).items() if holds(span, length)]
        return Reading(fits[0]) if len(fits) == 1 else NOTHING
    if any(fold(w) in vocab.commands for w in typed):
        return Reading(candidates=holding)
    headed = tuple(o for o, head in (heads or {}).items() if head and head == words)
    if headed:
        meant = {  # "oes" is in "Nac oes" too, but turned round there: it cannot mean it
            value
            for phrase, value in phrases.items()
            if set(typed) <= set(phrase.split()) and not _turned(phrase, typed, vocab)
        }
        if len(headed) == 1 and meant <= set(headed):
            return Reading(headed[0])
        return Reading(candidates=tuple(dict.fromkeys((*headed, *holding))))
    runs = [(p.split(), value) for p, value in phrases.items() if _runs_in(typed, p.split())]
    quoting = {value for _, value in runs}
    covers = any(
        2 * len(content) >= len([w for w in said if w not in vocab.fillers]) for said, _ in runs
    )
    if len(quoting) == 1 and len(content) >= 2 and covers:
        # Words lifted in order from one option's label or synonym, found in no
        # other's: "not that I know of" is that option, negation and all.
        return Reading(quoting.pop())
    if any(w in vocab.negations for w in typed):
        return Reading(candidates=holding)
    if len(holding) != 1 or not content:
        return Reading(candidates=holding)
    option = holding[0]
    for phrase, value in phrases.items():
        said = phrase.split()
        if value != option or not needed <= set(said):
            continue
        turned = _turned(phrase, typed, vocab)
        meaning = [w for w in said if w not in vocab.fillers]
        if not turned and 2 * len(content) >= len(meaning):
            return Reading(option)
    return Reading(candidates=holding)


def _runs_in(typed: Sequence[str], said: Sequence[str]) -> bool:
    """Whether ``typed`` is a run of ``said``'s words, in order and side by side."""
    size = len(typed)
    return any(list(said[i : i + size]) == list(typed) for i in range(len(said) - size + 1))


def _turned(phrase: str, typed: Sequence[str], vocab: Vocabulary) -> bool:
    """Whether ``phrase`` holds a negation the reply left out ("sure" in "Not sure")."""
    return any(w in vocab.negations and w not in typed for w in phrase.split())


_SEPARATORS = re.compile(r"[,;]")


def _split_multi(raw: str) -> list[str]:
    """``1,3``, ``1 3`` and ``Budget, staff time`` all name several options."""
    parts = [p.strip() for p in _SEPARATORS.split(raw) if p.strip()]
    if len(parts) == 1 and all(t.isdecimal() for t in parts[0].split()):
        return parts[0].split()
    return parts
