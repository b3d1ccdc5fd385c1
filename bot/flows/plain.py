"""Plain language for a phone: the wording rules ``flows check`` measures, with the numbers.

People read the advice on a phone, often under pressure, in English or
Welsh. The bar (README, "English and Welsh"): sentences of at most 30 words
and texts of at most 700 characters, in both languages (button labels are
held to what a phone shows whenever a flow loads, with Telegram's limits);
each English text of twelve words or more scores at least 30 on the Flesch
reading ease scale and each file's English texts average at least 65
("plain English"). No reading-ease formula is validated for Welsh,
so Welsh is held to the lengths, and to being Welsh: a Welsh text that is
its English unchanged, or that a language detector reads as English, was
pasted in untranslated.

Each finding is a strict error (``--lenient`` makes it a warning) at the
text's ``file:line``, with the measured number and the limit, so an admin
sees how far off a text is. Pure: texts in, findings out.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from bot.flows.conditions import form
from bot.flows.content import TextEntry
from bot.flows.findings import Finding
from bot.flows.model import (
    RESULT,
    Condition,
    Flow,
    Guarantee,
    Level,
    Outcome,
    Question,
    QuestionKind,
)

if TYPE_CHECKING:
    from lingua import LanguageDetector

SENTENCE_WORDS = 30
TEXT_CHARS = 700
EASE_TEXT = 30
"""The lowest Flesch reading ease for one English text of ``EASE_MIN_WORDS`` words or more."""
EASE_FILE = 65
"""The lowest average Flesch reading ease of a file's English texts."""
EASE_MIN_WORDS = 12
"""Shorter texts are not scored: the formula means little on a few words."""
ENGLISH_LIKELY = 0.8
"""How sure the detector must be that a Welsh text is English before saying so."""
DETECT_MIN_WORDS = 4
"""Shorter texts are not detected ('2 i 6 mis' looks English to any detector)."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def check_plain(
    texts: Mapping[str, Mapping[str, TextEntry]], allowed: Iterable[str] = ()
) -> list[Finding]:
    """Every text held to the plain-language rules.

    ``allowed`` are words a Welsh text may use though they look English (the
    glossary's Welsh terms).
    """
    findings: list[Finding] = []
    for locale, table in sorted(texts.items()):
        for text_id, entry in table.items():
            findings.extend(_lengths(locale, text_id, entry))
    findings.extend(_reading_ease(texts.get("en", {})))
    english = _welsh(texts.get("cy", {}), texts.get("en", {}))
    findings.extend(english)
    allow = frozenset(w.casefold() for w in allowed)
    told = {(f.file, f.line) for f in english}  # all English already: said once is enough
    welsh = {k: e for k, e in texts.get("cy", {}).items() if (e.file, e.line) not in told}
    findings.extend(_half_english(welsh, texts.get("en", {}), allow))
    return findings


def _strict(entry: TextEntry, message: str, hint: str) -> Finding:
    return Finding(entry.file, entry.line, message, hint, strict=True)


def _lengths(locale: str, text_id: str, entry: TextEntry) -> list[Finding]:
    found: list[Finding] = []
    text = entry.text
    if len(text) > TEXT_CHARS:
        found.append(
            _strict(
                entry,
                f"text '{text_id}' ({locale}) is {len(text)} characters; "
                f"keep texts to {TEXT_CHARS}",
                "split it, or move detail into a help text",
            )
        )
    for sentence in _SENTENCE_END.split(text):
        words = len(sentence.split())
        if words > SENTENCE_WORDS:
            start = " ".join(sentence.split()[:6])
            found.append(
                _strict(
                    entry,
                    f"text '{text_id}' ({locale}) has a sentence of {words} words "
                    f"('{start} …'); keep sentences to {SENTENCE_WORDS}",
                    "split it into two sentences",
                )
            )
    return found


def reading_ease(text: str) -> float:
    """The Flesch reading ease of an English text: higher is easier; 60 to 70 is plain."""
    import textstat

    return float(textstat.flesch_reading_ease(text))


def _reading_ease(english: Mapping[str, TextEntry]) -> list[Finding]:
    found: list[Finding] = []
    by_file: dict[str, list[float]] = {}
    for text_id, entry in english.items():
        if len(entry.text.split()) < EASE_MIN_WORDS:
            continue
        score = reading_ease(entry.text)
        by_file.setdefault(entry.file, []).append(score)
        if score < EASE_TEXT:
            found.append(
                _strict(
                    entry,
                    f"text '{text_id}' scores {score:.0f} for reading ease; "
                    f"aim for {EASE_TEXT} or more",
                    "use shorter words and shorter sentences",
                )
            )
    for file, scores in sorted(by_file.items()):
        average = statistics.mean(scores)
        if average < EASE_FILE:
            found.append(
                Finding(
                    file,
                    1,
                    f"the English texts in this file average {average:.0f} for reading ease; "
                    f"aim for {EASE_FILE} or more (plain English)",
                    "rewrite the lowest-scoring texts in shorter words and sentences",
                    strict=True,
                )
            )
    return found


@cache
def _detector() -> LanguageDetector:
    """A detector that knows only English and Welsh: the one question asked of it."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.WELSH).build()


def english_likelihood(text: str) -> float:
    """How likely (0 to 1) the detector thinks ``text`` is English rather than Welsh."""
    from lingua import Language

    return float(_detector().compute_language_confidence(text, Language.ENGLISH))


_COMMON = """
    the and of for with this that these those there their them they you your our
    will would should could have had not but if when what who why how which from
    into about because before after every each day days service services people rely
    relies need needs time work working use used make made decide decision want
    know ask asked tell told please here where more most some many much only also just
    still very yes then than been being are was were did done get got give given
    take change changes answer question questions open closed already yet next step
    steps says said other others same both new good way out again now today week weeks
    month months year years everyone someone anyone nothing something everything running
    support share power views money community council group think thing things should
"""
COMMON_ENGLISH = frozenset(_COMMON.split())
"""English words common enough that one in a Welsh text was left untranslated.

Words that are Welsh too, or a mutated Welsh word (a, i, am, at, is, can, dim,
hen, man, hi, ti, pan, pen, sir, well, all, does, help, we, has, staff, data),
are not listed."""
HALF_ENGLISH = 2
"""English words (distinct) in one Welsh text that make it half-translated."""


def english_words(welsh: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The common English words in a Welsh text, each once, in order.

    Names (a capital inside a sentence) and ``allowed`` words (the glossary's
    Welsh terms, which may look English) do not count. Only common words are
    looked for: Welsh borrows nouns ("grant", "poster", "data"), not "the",
    "every" or "day".
    """
    found: list[str] = []
    for sentence in _SENTENCE_END.split(_PLACEHOLDER.sub(" ", welsh)):
        for index, word in enumerate(_WORD.findall(sentence)):
            key = word.casefold()
            if index and word[0].isupper():
                continue  # a name
            if key in COMMON_ENGLISH and key not in allowed and key not in found:
                found.append(key)
    return found


def _half_english(
    welsh: Mapping[str, TextEntry], english: Mapping[str, TextEntry], allowed: frozenset[str]
) -> list[Finding]:
    found: list[Finding] = []
    for text_id, entry in welsh.items():
        other = english.get(text_id)
        if other is not None and other.text == entry.text:
            continue  # "the same as its English" says it better
        words = english_words(entry.text, allowed)
        if len(words) >= HALF_ENGLISH:
            found.append(
                _strict(
                    entry,
                    f"Welsh text '{text_id}' has English words in it: "
                    + ", ".join(f"'{w}'" for w in words),
                    "translate them, or ask a Welsh speaker to; a term the glossary allows "
                    "is not counted",
                )
            )
    return found


def _welsh(welsh: Mapping[str, TextEntry], english: Mapping[str, TextEntry]) -> list[Finding]:
    found: list[Finding] = []
    for text_id, entry in welsh.items():
        words = _WORD.findall(_PLACEHOLDER.sub(" ", entry.text))
        if len(words) < 2:
            continue
        same = text_id in english and english[text_id].text == entry.text
        if not same and len(words) < DETECT_MIN_WORDS:
            continue
        likely = english_likelihood(entry.text)
        if same and likely >= 0.5:
            found.append(
                _strict(
                    entry,
                    f"Welsh text '{text_id}' is the same as its English",
                    "translate it, or ask a Welsh speaker to",
                )
            )
        elif likely >= ENGLISH_LIKELY:
            found.append(
                _strict(
                    entry,
                    f"Welsh text '{text_id}' reads as English ({likely:.0%} likely)",
                    "translate it, or check it was pasted into the right file",
                )
            )
    return found


# --- Rules, conditions and promises in the flow's own words -----------------
#
# A manager signing a flow off reads "the answer to 'What comes with it?'
# includes neither a budget nor staff time", not "resources answered and not
# (resources has any of (budget, staff))". The questions and options are
# quoted from the flow's texts; the words that join them ("the answer to",
# "includes", "neither … nor", "and", "or", "is not") are texts too
# (``ui.words.*`` in content/<locale>/ui.yaml), so Welsh reads as Welsh and a
# Welsh speaker can change the word order without touching Python.

WORDS = "ui.words."
"""The prefix of the connective texts; each id below is also in ``bot.advice.uitext.UI``."""
W_ANSWER_TO = WORDS + "answer_to"
W_FACT = WORDS + "fact"
W_IS = WORDS + "is"
W_IS_NOT = WORDS + "is_not"
W_IS_NEITHER = WORDS + "is_neither"
W_INCLUDES = WORDS + "includes"
W_INCLUDES_NOT = WORDS + "includes_not"
W_INCLUDES_NEITHER = WORDS + "includes_neither"
W_AT_LEAST = WORDS + "at_least"
W_FEWER_THAN = WORDS + "fewer_than"
W_ANSWERED = WORDS + "answered"
W_NOT_ANSWERED = WORDS + "not_answered"
W_AND = WORDS + "and"
W_AND_VOWEL = WORDS + "and_vowel"
W_OR = WORDS + "or"
W_NOR = WORDS + "nor"
W_YES = WORDS + "yes"
W_NO = WORDS + "no"
W_SHOWN_WHEN = WORDS + "shown_when"
W_RULE = WORDS + "rule"
W_OTHERWISE = WORDS + "otherwise"
W_ALWAYS = WORDS + "always"
W_EVERY_PATH = WORDS + "every_path"
W_EVERY_PATH_WHERE = WORDS + "every_path_where"
W_ADVICE_IS = WORDS + "advice_is"
W_NEVER = WORDS + "never"
W_MUST_CAUTION = WORDS + "must_caution"
W_MUST_SHOW = WORDS + "must_show"
W_NEVER_SHOW = WORDS + "never_show"
W_GOES_TO = WORDS + "goes_to"
W_GOES_TO_WHEN = WORDS + "goes_to_when"
W_RESULT = WORDS + "result"

WORD_IDS: tuple[str, ...] = tuple(
    value for name, value in sorted(globals().items()) if name.startswith("W_")
)
"""Every connective text id: the loader requires each in every locale (through ``UI``)."""

_VOWELS = frozenset("aeiouwyâêîôûŵŷáéíóú")


def _without_implied_answers(members: list[Condition]) -> list[Condition]:
    """The parts of an ``all`` less each ``answered: true`` a sibling already implies.

    "'What comes with it?' was answered and the answer to it includes
    neither a budget nor staff time" says the first half twice: an answer
    that includes or lacks something was given.
    """
    tested = {m.fact for m in members if form(m) not in ("answered", "all", "any", "not")}
    tested |= {
        m.not_.fact
        for m in members
        if m.not_ is not None and form(m.not_) in ("has", "has_any", "count_at_least")
    }
    kept = [m for m in members if not (form(m) == "answered" and m.answered and m.fact in tested)]
    return kept or members


Say = Callable[[str], str]
"""One locale's text for a text id (``lambda i: catalog.text("cy", i)``)."""


def _fill(template: str, **values: str) -> str:
    """``{name}`` places filled; other braces left as written, as ``uitext.fill`` does."""
    return _PLACE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


_PLACE = re.compile(r"\{([a-z_]+)\}")


def asked(text: str) -> str:
    """A question's text up to its question mark: the instructions after it are for answering."""
    mark = text.find("?")
    return text[: mark + 1] if 0 < mark < len(text) - 1 else text


def as_value(label: str) -> str:
    """An option's label as it reads inside a sentence: "A budget" becomes "a budget".

    Only a capital that starts an ordinary word is lowered ("IAP2" and "I"
    keep theirs). A label that is a phrase of its own ("No, we plan to step
    back") is quoted instead, so its comma and its "or" cannot be read as
    joining it to the next label.
    """
    if any(mark in label for mark in ",;:.?!()") or len(label.split()) > 4:
        return f"‘{label}’"
    first = label.split(" ", 1)[0]
    ordinary = first[1:].islower() if len(first) > 1 else first != "I"
    if first[:1].isupper() and ordinary:
        return label[0].lower() + label[1:]
    return label


@dataclass(frozen=True, slots=True)
class _Subject:
    """What a fact test talks about: its words, and the words for each value it can take."""

    words: str
    values: Mapping[object, str]
    question: str
    """The question's own words, for "was answered"; the fact's words otherwise."""


class FlowWords:
    """One flow's conditions, rules and promises in one locale's words. Pure: texts in, text out."""

    def __init__(self, flow: Flow, say: Say) -> None:
        self.flow = flow
        self.say = say
        self._questions = {q.id: q for q in flow.questions}

    # The parts -------------------------------------------------------------

    def subject(self, fact: str) -> _Subject:
        question = self._questions.get(fact)
        if question is not None:
            text = asked(self.say(question.text))
            values = {o.id: as_value(self.say(o.label)) for o in question.options}
            return _Subject(_fill(self.say(W_ANSWER_TO), question=text), values, text)
        name = _fill(self.say(W_FACT), fact=fact)
        return _Subject(name, {}, name)

    def value(self, subject: _Subject, value: object) -> str:
        if value in subject.values and not isinstance(value, bool):
            return subject.values[value]
        if isinstance(value, bool):
            return self.say(W_YES if value else W_NO)
        return str(value)

    def join(self, parts: Sequence[str], joiner: str) -> str:
        """``a``, ``a and b``, ``a, b and c``: the last two joined by the connective.

        Before a vowel "and" may take another form (Welsh "ac" for "a"):
        ``ui.words.and_vowel``.
        """
        if len(parts) <= 1:
            return "".join(parts)
        word = self.say(joiner)
        if joiner == W_AND and parts[-1][:1].lower() in _VOWELS:
            word = self.say(W_AND_VOWEL)
        return f"{', '.join(parts[:-1])} {word} {parts[-1]}"

    # Conditions -----------------------------------------------------------

    def condition(self, condition: Condition | None) -> str:
        """A condition as a phrase in this locale; no condition always holds."""
        if condition is None:
            return self.say(W_ALWAYS)
        return self._phrase(condition, negated=False, nested=False)

    def _phrase(self, condition: Condition, *, negated: bool, nested: bool) -> str:
        kind = form(condition)
        if kind == "not":
            inner = condition.not_
            return self._phrase(inner, negated=not negated, nested=nested) if inner else "?"
        if kind in ("all", "any"):
            members = list((condition.all if kind == "all" else condition.any) or ())
            if kind == "all" and not negated:
                members = _without_implied_answers(members)
            parts = [self._phrase(p, negated=negated, nested=True) for p in members]
            # Not (A and B) is (not A) or (not B): the negation is pushed inward, so
            # no sentence says "it is not so that ...".
            joiner = W_AND if (kind == "all") != negated else W_OR
            text = self.join(parts, joiner)
            return f"({text})" if nested and len(parts) > 1 else text
        return self._test(condition, kind, negated)

    def _test(self, condition: Condition, kind: str, negated: bool) -> str:
        fact = condition.fact or "?"
        if fact not in self._questions and kind in ("is", "in"):
            answers = self._setters(fact, [condition.is_] if kind == "is" else condition.in_ or [])
            if answers is not None:
                return self._phrase(answers, negated=negated, nested=True)
        subject = self.subject(fact)
        said = subject.words
        if kind == "is":
            value = self.value(subject, condition.is_)
            return _fill(self.say(W_IS_NOT if negated else W_IS), subject=said, value=value)
        if kind == "in":
            values = [self.value(subject, v) for v in condition.in_ or ()]
            if negated:
                return _fill(self.say(W_IS_NEITHER), subject=said, values=self.join(values, W_NOR))
            return _fill(self.say(W_IS), subject=said, value=self.join(values, W_OR))
        if kind in ("has", "has_any"):
            items = [condition.has] if kind == "has" else list(condition.has_any or ())
            values = [self.value(subject, v) for v in items]
            if not negated:
                return _fill(self.say(W_INCLUDES), subject=said, value=self.join(values, W_OR))
            if len(values) == 1:
                return _fill(self.say(W_INCLUDES_NOT), subject=said, value=values[0])
            return _fill(
                self.say(W_INCLUDES_NEITHER), subject=said, values=self.join(values, W_NOR)
            )
        if kind == "count_at_least":
            count = str(condition.count_at_least or 0)
            return _fill(
                self.say(W_FEWER_THAN if negated else W_AT_LEAST), subject=said, count=count
            )
        if kind == "answered":
            given = bool(condition.answered) != negated
            return _fill(
                self.say(W_ANSWERED if given else W_NOT_ANSWERED), question=subject.question
            )
        return "?"  # not exactly one form: `flows check` reports it

    def _setters(self, fact: str, wanted: Sequence[object]) -> Condition | None:
        """A test of a fact an option sets (``set: {funded: true}``) as the answers that set it.

        "funded is true" means nothing to a reader; "the answer to 'What comes
        with it?' includes a budget" is what they chose.
        """
        parts: list[Condition] = []
        for question in self.flow.questions:
            chosen = [
                o.id
                for o in question.options
                if fact in o.set
                and any(type(o.set[fact]) is type(w) and o.set[fact] == w for w in wanted)
            ]
            if not chosen:
                continue
            if question.kind is QuestionKind.MULTI:
                parts.append(Condition(fact=question.id, has_any=chosen))
            else:
                parts.append(Condition(fact=question.id, in_=chosen))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Condition(any=parts)

    # Whole sentences ---------------------------------------------------------

    def level(self, level: Level | str) -> str:
        recommendation = self.flow.recommendations.get(Level(level))
        return self.say(recommendation.label) if recommendation else str(level)

    def rule(self, outcome: Outcome) -> str:
        """``Recommend Inform when: the answer to 'Is it open?' is no.``"""
        level = self.level(outcome.recommend)
        if outcome.when is None:
            return _fill(self.say(W_OTHERWISE), level=level)
        return _fill(self.say(W_RULE), level=level, condition=self.condition(outcome.when))

    def shown_when(self, condition: Condition | None) -> str:
        """``Shown when: ...`` for a caution, a reason or a step."""
        return _fill(self.say(W_SHOWN_WHEN), condition=self.condition(condition))

    def way_on(self, question: Question) -> str:
        """Where a question leads, in words: each branch with its condition."""
        if isinstance(question.next, list):
            return "; ".join(
                _fill(
                    self.say(W_GOES_TO_WHEN if b.when else W_GOES_TO),
                    target=self.target(b.goto),
                    condition=self.condition(b.when),
                )
                for b in question.next
            )
        if question.next:
            return _fill(self.say(W_GOES_TO), target=self.target(question.next))
        return ""

    def target(self, target: str) -> str:
        if target == RESULT:
            return self.say(W_RESULT)
        question = self._questions.get(target)
        return f"‘{asked(self.say(question.text))}’" if question else target

    def promise(self, guarantee: Guarantee, caution_titles: Mapping[str, str]) -> str:
        """A guarantee as one sentence: where it holds, then what it promises."""
        scope: list[str] = []
        if guarantee.when is not None:
            scope.append(self.condition(guarantee.when))
        if guarantee.if_recommend:
            levels = self.join([self.level(lv) for lv in guarantee.if_recommend], W_OR)
            scope.append(_fill(self.say(W_ADVICE_IS), levels=levels))
        head = (
            _fill(self.say(W_EVERY_PATH_WHERE), condition=self.join(scope, W_AND))
            if scope
            else self.say(W_EVERY_PATH)
        )
        promises: list[str] = []
        if guarantee.never_recommend:
            levels = self.join([self.level(lv) for lv in guarantee.never_recommend], W_NOR)
            promises.append(_fill(self.say(W_NEVER), levels=levels))
        promises.extend(
            _fill(self.say(W_MUST_CAUTION), caution=caution_titles.get(c, c))
            for c in guarantee.must_caution
        )
        promises.extend(
            _fill(self.say(W_MUST_SHOW), text=self.say(t)) for t in guarantee.must_include
        )
        promises.extend(
            _fill(self.say(W_NEVER_SHOW), text=self.say(t)) for t in guarantee.never_include
        )
        return f"{head}: {'; '.join(promises)}."
