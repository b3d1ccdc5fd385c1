"""The flow format: what an admin may write in ``flows/*.yaml``.

These dataclasses are the single definition of the format: the loader
validates against them (with pydantic, see ``bot.flows.validation``), the JSON
Schema for editors is generated from them, and the engine reads them. They
check shape and types only; references between parts (does this question
exist?) are checked in ``checks`` where the file's line numbers are at hand.

They are plain dataclasses, not pydantic models, so the serving process,
which only reads flows that were validated in a child process
(``bot.child_loader``), never imports pydantic: about 6 MB less per bot.
The constraints are ``Annotated`` metadata that pydantic reads when the
loader asks it to validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Interval, MinLen


class _Text:
    """A string constraint pydantic applies (and puts in the JSON Schema) when validating."""

    def __init__(self, pattern: str, max_length: int, description: str) -> None:
        self.pattern = pattern
        self.max_length = max_length
        self.description = description

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.str_schema(pattern=self.pattern, max_length=self.max_length, strict=True)

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        return {**handler(schema), "description": self.description}


class _Strict:
    """No coercion: ``1`` is not ``true`` and ``"2"`` is not ``2``."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return {**handler(source), "strict": True}


Id = Annotated[
    str,
    _Text(
        r"^[a-z][a-z0-9_]*$",
        40,
        "An id: lowercase letters, digits and _; starts with a letter.",
    ),
]
TextId = Annotated[
    str,
    _Text(
        r"^[A-Za-z][A-Za-z0-9_.-]*$",
        120,
        "A text id, looked up in content/<locale>/*.yaml.",
    ),
]
StrictBool = Annotated[bool, _Strict()]
StrictInt = Annotated[int, _Strict()]
FactValue = StrictBool | StrictInt | Annotated[str, _Strict()]

RESULT = "result"
"""The ``next``/``goto`` target that ends the questions and gives the result."""


class Level(StrEnum):
    """The three recommendations, none better than another in itself."""

    INFORM = "inform"
    CONSULT = "consult"
    CO_PRODUCE = "co_produce"


class QuestionKind(StrEnum):
    """How a question is answered."""

    CHOICE = "choice"
    MULTI = "multi"
    TEXT = "text"


class Audience(StrEnum):
    """Who a flow is written for."""

    STAFF = "staff"
    COMMUNITY = "community"


def _key(name: str) -> str:
    """A field's key in YAML: ``is_`` is written ``is`` (Python keeps ``is`` for itself)."""
    return name.rstrip("_")


part = dataclass(frozen=True, slots=True, kw_only=True)
"""Every part of a flow: immutable, and built from keys, never from positions."""


class _Part:
    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid",
        "alias_generator": _key,
        "populate_by_name": True,
        "use_attribute_docstrings": True,
    }
    __slots__ = ()


@part
class Condition(_Part):
    """A test over facts; exactly one form per condition (see the admin guide)."""

    fact: Id | None = None
    is_: FactValue | None = None
    in_: Annotated[list[FactValue], MinLen(1)] | None = None
    has: Id | None = None
    has_any: Annotated[list[Id], MinLen(1)] | None = None
    count_at_least: Annotated[int, Ge(0)] | None = None
    answered: StrictBool | None = None
    all: Annotated[list[Condition], MinLen(1)] | None = None
    any: Annotated[list[Condition], MinLen(1)] | None = None
    not_: Condition | None = None


@part
class Branch(_Part):
    """One way on from a question: ``goto`` when ``when`` holds (always, without it)."""

    when: Condition | None = None
    goto: Id


@part
class Option(_Part):
    """One answer to a choice or multi question."""

    id: Id
    label: TextId
    set: dict[Id, FactValue] = field(default_factory=dict)
    next: Id | None = None
    exclusive: StrictBool = False
    # flows check insists on exactly two numbers and on ranges of one question
    # that do not overlap, so a typed "3 months" can only ever mean one option.
    days: list[Annotated[StrictInt, Ge(0)] | None] | None = None
    """Days from (included) to under (excluded); under null means "or more"."""


@part
class Question(_Part):
    """One question of a flow."""

    id: Id
    text: TextId
    help: TextId | None = None
    kind: QuestionKind = QuestionKind.CHOICE
    options: list[Option] = field(default_factory=list)
    next: Id | list[Branch] | None = None
    max_length: Annotated[int, Interval(ge=1, le=3000)] = 500
    optional: StrictBool = False
    min_choices: Annotated[int, Ge(0)] = 1
    record_only: StrictBool = False
    """Kept for the record only: exempt from the "every answer counts" check."""
    remember: StrictBool = False
    """Asked once per person: channels keep the answer and fill it in next time."""


@part
class ConditionalText(_Part):
    """A text shown only when its condition holds."""

    text: TextId
    when: Condition


@part
class Recommendation(_Part):
    """What a level says, whichever outcome rule chose it."""

    label: TextId
    summary: TextId
    ladder: TextId
    spectrum: TextId
    next_steps: list[TextId | ConditionalText] = field(default_factory=list)


@part
class Outcome(_Part):
    """An outcome rule: the first whose ``when`` holds gives the recommendation."""

    id: Id
    when: Condition | None = None
    recommend: Level
    headline: TextId | None = None
    """Replaces the level's name on the result's first line (the level still places it)."""
    summary: TextId | None = None
    """Replaces the level's summary paragraph."""
    standard_steps: StrictBool = True
    """Whether the level's own next steps come before this rule's."""
    ladder: TextId | None = None
    """Replaces the level's place on Arnstein's ladder (a handover is no consultation)."""
    spectrum: TextId | None = None
    """Replaces the level's place on the IAP2 spectrum, and its promise."""
    reasons: list[TextId | ConditionalText] = field(default_factory=list)
    would_change: list[TextId | ConditionalText] = field(default_factory=list)
    next_steps: list[TextId | ConditionalText] = field(default_factory=list)


@part
class Caution(_Part):
    """A risk shown with the result whenever its ``when`` holds."""

    id: Id
    when: Condition
    title: TextId
    why: TextId
    do: TextId


@part
class Guarantee(_Part):
    """A promise about the advice that ``flows check`` proves over every path.

    On every path where ``when`` holds and the recommendation is one of
    ``if_recommend`` (both optional), the advice must not be one of
    ``never_recommend``, must raise each of ``must_caution``, must show
    each text of ``must_include`` (as a reason, next step or what would
    change it) and must show none of ``never_include``.
    """

    id: Id
    description: str | None = None
    """A note for admins; never shown to users."""
    when: Condition | None = None
    if_recommend: Annotated[list[Level], MinLen(1)] | None = None
    never_recommend: list[Level] = field(default_factory=list)
    must_caution: list[Id] = field(default_factory=list)
    must_include: list[TextId] = field(default_factory=list)
    never_include: list[TextId] = field(default_factory=list)
    """Texts that must not show on those paths (reason, next step, change, summary)."""


@part
class Headings(_Part):
    """Text ids that replace the result's standard headings for one flow.

    A community reading wants "Questions to ask them" where staff advice
    says "Next steps"; the structure of the result stays the same.
    """

    why: TextId | None = None
    cautions: TextId | None = None
    would_change: TextId | None = None
    next_steps: TextId | None = None
    where: TextId | None = None
    answers: TextId | None = None


@part
class Flow(_Part):
    """A dialogue flow: questions, then the advice their answers lead to."""

    id: Id
    version: Annotated[StrictInt, Ge(1)]
    title: TextId
    description: TextId | None = None
    audience: Audience
    start: Id
    result_heading: TextId = "ui.result.recommendation"
    headings: Headings = field(default_factory=Headings)
    questions: Annotated[list[Question], MinLen(1)]
    recommendations: Annotated[dict[Level, Recommendation], MinLen(1)]
    outcomes: Annotated[list[Outcome], MinLen(1)]
    cautions: list[Caution] = field(default_factory=list)
    guarantees: list[Guarantee] = field(default_factory=list)
