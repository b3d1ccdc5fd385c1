"""The flow format: what an admin may write in ``flows/*.yaml``.

These pydantic models are the single definition of the format: the loader
validates against them, the JSON Schema for editors is generated from them,
and the engine reads them. They check shape and types only; references
between parts (does this question exist?) are checked in ``checks`` where
the file's line numbers are at hand.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Id = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=40,
        description="An id: lowercase letters, digits and _; starts with a letter.",
    ),
]
TextId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$",
        max_length=120,
        description="A text id, looked up in content/<locale>/*.yaml.",
    ),
]
FactValue = StrictBool | StrictInt | StrictStr

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


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Part):
    """A test over facts; exactly one form per condition (see the admin guide)."""

    fact: Id | None = None
    is_: FactValue | None = Field(None, alias="is")
    in_: list[FactValue] | None = Field(None, alias="in", min_length=1)
    has: Id | None = None
    has_any: list[Id] | None = Field(None, min_length=1)
    count_at_least: Annotated[int, Field(ge=0)] | None = None
    answered: StrictBool | None = None
    all: list[Condition] | None = Field(None, min_length=1)
    any: list[Condition] | None = Field(None, min_length=1)
    not_: Condition | None = Field(None, alias="not")


class Branch(_Part):
    """One way on from a question: ``goto`` when ``when`` holds (always, without it)."""

    when: Condition | None = None
    goto: Id


class Option(_Part):
    """One answer to a choice or multi question."""

    id: Id
    label: TextId
    set: dict[Id, FactValue] = Field(default_factory=dict)
    next: Id | None = None
    exclusive: StrictBool = False


class Question(_Part):
    """One question of a flow."""

    id: Id
    text: TextId
    help: TextId | None = None
    kind: QuestionKind = QuestionKind.CHOICE
    options: list[Option] = Field(default_factory=list)
    next: Id | list[Branch] | None = None
    max_length: Annotated[int, Field(ge=1, le=3000)] = 500
    optional: StrictBool = False
    min_choices: Annotated[int, Field(ge=0)] = 1


class Recommendation(_Part):
    """What a level says, whichever outcome rule chose it."""

    label: TextId
    summary: TextId
    ladder: TextId
    spectrum: TextId
    next_steps: list[TextId] = Field(default_factory=list)


class ConditionalText(_Part):
    """A text shown only when its condition holds."""

    text: TextId
    when: Condition


class Outcome(_Part):
    """An outcome rule: the first whose ``when`` holds gives the recommendation."""

    id: Id
    when: Condition | None = None
    recommend: Level
    reasons: list[TextId | ConditionalText] = Field(default_factory=list)
    would_change: list[TextId] = Field(default_factory=list)
    next_steps: list[TextId] = Field(default_factory=list)


class Caution(_Part):
    """A risk shown with the result whenever its ``when`` holds."""

    id: Id
    when: Condition
    title: TextId
    why: TextId
    do: TextId


class Guarantee(_Part):
    """A promise about the advice that ``flows check`` proves over every path.

    On every path where ``when`` holds and the recommendation is one of
    ``if_recommend`` (both optional), the advice must not be one of
    ``never_recommend``, must raise each of ``must_caution`` and must show
    each text of ``must_include`` (as a reason, next step or what would
    change it).
    """

    id: Id
    description: str | None = Field(None, description="A note for admins; never shown to users.")
    when: Condition | None = None
    if_recommend: list[Level] | None = Field(None, min_length=1)
    never_recommend: list[Level] = Field(default_factory=list)
    must_caution: list[Id] = Field(default_factory=list)
    must_include: list[TextId] = Field(default_factory=list)


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


class Flow(_Part):
    """A dialogue flow: questions, then the advice their answers lead to."""

    id: Id
    version: Annotated[StrictInt, Field(ge=1)]
    title: TextId
    description: TextId | None = None
    audience: Audience
    start: Id
    result_heading: TextId = "ui.result.recommendation"
    headings: Headings = Field(default_factory=Headings)
    questions: list[Question] = Field(min_length=1)
    recommendations: dict[Level, Recommendation] = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)
    cautions: list[Caution] = Field(default_factory=list)
    guarantees: list[Guarantee] = Field(default_factory=list)
