"""Reading flow and content files from disk: the loader's only I/O.

Kept apart from ``loader`` so the loader stays pure and so the size limit is
enforced before a file is read into memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, MutableMapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from bot.advice.loader import Source, load
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog, LoadReport
from bot.flows.findings import Finding, Severity
from bot.flows.yamltext import MAX_BYTES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = "glossary.yaml"
"""The key terms and their Welsh, beside the locale folders in ``content/``."""


def default_flows_dir() -> Path:
    """``ADVISOR_FLOWS_DIR``, else the project's own ``flows/``."""
    return Path(os.environ.get("ADVISOR_FLOWS_DIR") or PROJECT_ROOT / "flows")


def default_content_dir() -> Path:
    """``ADVISOR_CONTENT_DIR``, else the project's own ``content/``."""
    return Path(os.environ.get("ADVISOR_CONTENT_DIR") or PROJECT_ROOT / "content")


@dataclass(frozen=True, slots=True)
class Place:
    """Which flow files and which content folder to load.

    ``flows_root`` and ``content_root`` are the folders being loaded: a flow
    or text file, or a folder of them, that is a link resolving outside its
    root is refused, so a planted link cannot make ``flows check`` or a
    ``/reload`` reply quote a file from elsewhere on the machine. ``None``
    checks no links (a ``Place`` built by hand, from files the caller chose).
    """

    flow_files: tuple[Path, ...]
    content_dir: Path
    flows_root: Path | None = None
    content_root: Path | None = None


def resolve(path: Path | None = None) -> Place:
    """Where to load from, given what a user named.

    Nothing: the project's flows and content. A folder with ``flows/``
    inside: that copy of a project. A folder of flow files: those, with the
    ``content/`` beside it if there is one. A file: that flow alone. Links
    must stay inside what was named: the project folder, or else the flows
    folder (a file's own folder) and the content folder.
    """
    if path is None:
        flows, content = default_flows_dir(), default_content_dir()
        return Place(_yaml_files(flows), content, flows, content)
    if path.is_dir() and (path / "flows").is_dir():
        content = path / "content"
        if content.is_dir():
            return Place(_yaml_files(path / "flows"), content, path, path)
        fallback = default_content_dir()
        return Place(_yaml_files(path / "flows"), fallback, path, fallback)
    if path.is_dir():
        sibling = path.parent / "content"
        content = sibling if sibling.is_dir() else default_content_dir()
        return Place(_yaml_files(path), content, path, content)
    sibling = path.parent.parent / "content"
    content = sibling if sibling.is_dir() else default_content_dir()
    return Place((path,), content, path.parent, content)


def _yaml_files(folder: Path) -> tuple[Path, ...]:
    """The ``*.yaml`` entries of ``folder`` that are not folders.

    A pipe, socket or device is listed too, so that reading it says "not a
    file" rather than leaving it out without a word.
    """
    return tuple(sorted(p for p in folder.glob("*.yaml") if not p.is_dir()))


def read_place(place: Place, *, lenient: bool = False, plain_language: bool = False) -> LoadReport:
    """Read and load the flows and content a ``Place`` names (the switches: see ``load``)."""
    findings: list[Finding] = []
    flows = [
        s
        for p in place.flow_files
        if (s := read_source(p, findings, None, within=place.flows_root)) is not None
    ]
    content: list[Source] = []
    if place.content_dir.is_dir():
        for locale_dir in sorted(d for d in place.content_dir.iterdir() if d.is_dir()):
            if outside(locale_dir, place.content_root):
                findings.append(Finding(str(_named(locale_dir)), 1, OUTSIDE))
                continue
            for file in _yaml_files(locale_dir):
                source = read_source(file, findings, locale_dir.name, within=place.content_root)
                if source is not None:
                    content.append(source)
    if not place.flow_files:
        findings.append(
            Finding(
                str(shown(place.content_dir.parent / "flows")),
                1,
                "no flow files found",
                "add flows/<id>.yaml",
            )
        )
    glossary_file = place.content_dir / GLOSSARY
    glossary = (
        read_source(glossary_file, findings, None, within=place.content_root)
        if os.path.lexists(glossary_file) and not glossary_file.is_dir()
        else None
    )
    report = load(
        flows,
        content,
        required_texts=[u.value for u in UI],
        lenient=lenient,
        glossary=glossary,
        plain_language=plain_language,
        proofs=proof_cache(),
    )
    return LoadReport(report.catalog if not findings else None, findings + report.findings)


OUTSIDE = "a link to outside the project folder; copy the file in instead"
"""Why a link out of the folder being loaded is refused, rather than followed and quoted."""


def outside(path: Path, root: Path | None) -> bool:
    """Whether ``path``, links followed, lies outside ``root`` (never, when ``root`` is None).

    A link loop counts as outside: it leads nowhere the project holds.
    """
    if root is None:
        return False
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        return True
    return False


def _named(path: Path) -> Path:
    """A path as the admin would type it, by its own name even if it is a link.

    ``shown`` resolves links, so a link out of the project would be named by
    its target; that tells nothing about where the link is.
    """
    return shown(path.parent) / path.name


def read_source(
    path: Path, findings: list[Finding], locale: str | None, *, within: Path | None = None
) -> Source | None:
    """A flow, text or scenario file as a ``Source``; None, with a finding, if unreadable.

    With ``within``, a file that resolves outside that folder (a link, or a
    file in a linked folder) is refused before it is opened, so nothing of
    its target can reach a finding.
    """
    if outside(path, within):
        findings.append(Finding(str(_named(path)), 1, OUTSIDE))
        return None
    name = str(_named(path))
    data = b""
    try:
        data = read_capped(path)
        if data is None:
            findings.append(
                Finding(name, 1, f"file is larger than {MAX_BYTES // 1024} KiB", "split it up")
            )
            return None
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        findings.append(
            Finding(name, line, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8")
        )
        return None
    except NotAFile:
        findings.append(Finding(name, 1, "not a file", "name a .yaml file or a folder of them"))
        return None
    except OSError as exc:
        findings.append(Finding(name, 1, f"cannot read file: {exc.strerror}"))
        return None
    return Source(name, text, stem=path.stem, locale=locale)


class NotAFile(OSError):
    """A path that is a device, a pipe or the like: reading it might never end."""


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""Non-blocking, so opening a named pipe returns at once (no writer needed) and ``fstat``
can refuse it; without it, ``open`` waits for a writer that may never come."""


def read_capped(path: Path) -> bytes | None:
    """A regular file's bytes, or None if it holds more than ``MAX_BYTES``.

    Reads at most one byte past the limit, whatever the file claims to be, so
    ``/dev/zero`` or a file growing as it is read cannot hold the check forever.
    A pipe, socket or device is ``NotAFile`` before it is opened (``stat``), and
    again after (``fstat`` of what was opened, in case the path changed between).
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise NotAFile(str(path))
    with os.fdopen(os.open(path, _OPEN_FLAGS), "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise NotAFile(str(path))
        data = file.read(MAX_BYTES + 1)
    return None if len(data) > MAX_BYTES else data


def shown(path: Path) -> Path:
    """A path as the admin would type it: relative to the current folder if inside it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


@cache
def project_catalog() -> Catalog:
    """The project's own flows and texts, loaded once per process (tests and the bench)."""
    return read_place(resolve(None)).unwrap()


CORE = (PROJECT_ROOT / "bot" / "flows", PROJECT_ROOT / "bot" / "advice")
"""The code a proof's findings come from: a change to any of it proves every flow afresh."""


def cache_dir() -> Path | None:
    """``ADVISOR_CACHE_DIR`` (``off`` for none), else the user's cache folder."""
    chosen = os.environ.get("ADVISOR_CACHE_DIR")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "engagement-advisor"


@cache
def _core_version() -> str:
    digest = hashlib.sha256()
    for folder in CORE:
        for module in sorted(folder.glob("*.py")):
            digest.update(module.name.encode())
            digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def proof_cache() -> ProofCache | None:
    """The proof findings remembered on disk for this version of the core, if there is a place."""
    folder = cache_dir()
    return None if folder is None else ProofCache(folder / "proofs" / _core_version())


class ProofCache(MutableMapping[str, list[Finding]]):
    """Proof findings by ``proof_key``, one small JSON file each.

    A convenience, never a source of truth: a file that cannot be read or
    written is a miss, and the flow is proved as if nothing were stored.
    Files are written whole and renamed into place, so processes loading
    side by side (replicas, test workers) never read half a file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __getitem__(self, key: str) -> list[Finding]:
        try:
            rows = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            return [
                Finding(
                    str(row["file"]),
                    int(row["line"]),
                    str(row["message"]),
                    str(row["hint"]),
                    Severity(row["severity"]),
                    bool(row["strict"]),
                )
                for row in rows
            ]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise KeyError(key) from exc

    def __setitem__(self, key: str, value: list[Finding]) -> None:
        text = json.dumps([asdict(f) for f in value], ensure_ascii=False)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=self.folder, suffix=".tmp", delete=False
            ) as file:
                file.write(text)
            Path(file.name).replace(self.folder / f"{key}.json")
        except OSError:
            pass  # a read-only home or a full disk: the next load proves again

    def __delitem__(self, key: str) -> None:
        (self.folder / f"{key}.json").unlink(missing_ok=True)

    def __iter__(self) -> Iterator[str]:
        return (p.stem for p in self.folder.glob("*.json"))

    def __len__(self) -> int:
        return sum(1 for _ in self)
