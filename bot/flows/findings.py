"""Problems found in flow and content files, reported as ``file:line: message``.

Checks collect every finding instead of raising at the first, so an admin
fixing a file sees all that is wrong in one run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Severity(StrEnum):
    """How much a finding matters: errors stop a flow from loading."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place in one file."""

    file: str
    line: int
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR
    strict: bool = False
    """An error only because checks are strict: ``--lenient`` makes it a warning.

    Unreachable questions, cautions and reasons that never show, and
    guarantees that hold on no path leave a flow that works but does not do
    what its author meant; while drafting, an admin may want them loaded.
    """

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.message}"
        if self.severity is Severity.WARNING:
            text = f"{self.file}:{self.line}: warning: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class AdvisorError(Exception):
    """Root of the errors this package raises on purpose."""


class FlowError(AdvisorError):
    """Flows or texts could not be loaded; carries every finding."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("\n".join(str(f) for f in findings))


def lenient(findings: list[Finding]) -> list[Finding]:
    """The findings with every strict error made a warning (``--lenient``)."""
    return [
        replace(f, severity=Severity.WARNING) if f.strict and f.severity is Severity.ERROR else f
        for f in findings
    ]


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings that stop loading."""
    return [f for f in findings if f.severity is Severity.ERROR]
