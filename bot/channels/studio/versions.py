"""Another version of the flows, read from git, and the changes since it: the studio's I/O edge.

The changes view compares the flows being edited with the version in git
``HEAD`` (or a tag or commit the admin names). Reading git is I/O, so it is
done here, by ``git`` run as a child process through asyncio (the event loop
never waits on it); loading the old files and comparing are pure
(``bot.advice.loader``, ``bot.advice.changes``) and run in a thread, as the
loader is CPU work. The old version is loaded without its proofs: only its
structure and its advice on the scenarios are compared, and proving costs
seconds.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.advice.changes import FlowChanges, compare_flows
from bot.advice.loader import Source, load
from bot.advice.render import Renderer
from bot.advice.scenarios import Scenario, parse_scenarios
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog
from bot.flows.findings import Finding, Severity
from bot.sources import GLOSSARY, Place, read_source, resolve

GIT_SECONDS = 20.0
"""Longest a git command may take: a local repository answers in milliseconds."""

REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/~^@{}-]{0,99}")
"""A ref an admin may name (``HEAD``, ``v1.2``, ``HEAD~1``, a commit): never an option."""


class VersionError(Exception):
    """The other version could not be read: the id of the words saying why, and their values.

    The words are the studio's texts, so the page says it in its own language;
    what git itself printed is passed on as git said it.
    """

    def __init__(self, text_id: UI, **values: object) -> None:
        super().__init__(text_id, values)
        self.text_id = text_id
        self.values = values


class _Proved(dict[str, list[Finding]]):
    """A proof cache that finds every flow already proved: the old version is not proved."""

    def get(self, key: str, default: object = None) -> list[Finding]:
        return []


async def _git(cwd: Path, *args: str) -> bytes:
    """Run ``git args`` in ``cwd``; its output, or ``VersionError`` with git's complaint."""
    try:
        child = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise VersionError(UI.STUDIO_GIT_MISSING, reason=exc.strerror) from None
    try:
        out, err = await asyncio.wait_for(child.communicate(), GIT_SECONDS)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise VersionError(UI.STUDIO_GIT_SLOW, seconds=f"{GIT_SECONDS:g}") from None
    if child.returncode != 0:
        said = err.decode("utf-8", "replace").strip().splitlines()
        if said:
            raise VersionError(UI.STUDIO_GIT_SAID, message=said[0])
        raise VersionError(UI.STUDIO_GIT_FAILED, command=args[0])
    return out


@dataclass(frozen=True, slots=True)
class OldVersion:
    """The flows as they were at one commit, loaded; or why they could not be."""

    ref: str
    commit: str
    catalog: Catalog | None
    findings: tuple[Finding, ...]


async def read_version(ref: str, place: Place | None = None) -> OldVersion:
    """The flows and texts of ``place`` as committed at ``ref``, loaded leniently."""
    if not REF.fullmatch(ref):
        raise VersionError(UI.STUDIO_NOT_REF, ref=ref[:40])
    place = place or resolve(None)
    folder = place.content_dir if place.content_dir.is_dir() else Path.cwd()
    top = Path((await _git(folder, "rev-parse", "--show-toplevel")).decode().strip())
    commit = (await _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")).decode()
    commit = commit.strip()
    flows_dir = _inside(top, place.flow_files[0].parent if place.flow_files else None)
    content_dir = _inside(top, place.content_dir)
    wanted = [str(d) for d in (flows_dir, content_dir) if d is not None]
    if not wanted:
        raise VersionError(UI.STUDIO_NOT_REPO)
    listing = await _git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", *wanted)
    flows: list[Source] = []
    content: list[Source] = []
    glossary: Source | None = None
    for name in filter(None, listing.decode("utf-8", "replace").split("\0")):
        path = PurePosixPath(name)
        if path.suffix != ".yaml":
            continue
        text = (await _git(top, "show", f"{commit}:{name}")).decode("utf-8", "replace")
        shown = f"{ref}:{name}"
        if flows_dir is not None and path.parent == flows_dir:
            flows.append(Source(shown, text, stem=path.stem))
        elif content_dir is not None and path.parent.parent == content_dir:
            content.append(Source(shown, text, stem=path.stem, locale=path.parent.name))
        elif content_dir is not None and path == content_dir / GLOSSARY:
            glossary = Source(shown, text)
    report = await asyncio.to_thread(
        load, flows, content, lenient=True, glossary=glossary, proofs=_Proved()
    )
    return OldVersion(ref, commit, report.catalog, tuple(report.findings))


def _inside(top: Path, folder: Path | None) -> PurePosixPath | None:
    if folder is None:
        return None
    try:
        return PurePosixPath(folder.resolve().relative_to(top.resolve()).as_posix())
    except ValueError:
        return None


def read_scenarios(place: Place | None = None) -> list[Scenario]:
    """The scenario files beside the flows (``flows/tests/*.yaml``), as they are on disk.

    Blocking: call it in a thread. A file that cannot be read is left out;
    ``flows test`` reports it.
    """
    place = place or resolve(None)
    if not place.flow_files:
        return []
    scenarios: list[Scenario] = []
    for file in sorted((place.flow_files[0].parent / "tests").glob("*.yaml")):
        source = read_source(file, [], None)
        if source is not None:
            scenarios.extend(parse_scenarios(source.name, source.text)[0])
    return scenarios


async def changes_since(
    catalog: Catalog, flow_id: str, ref: str = "HEAD", locale: str | None = None
) -> FlowChanges:
    """``flow_id`` as loaded now against its version at ``ref``, with the scenarios it changes.

    Quoted in ``locale``'s words (the default locale's if None).
    """
    old = await read_version(ref)
    said = locale or catalog.default_locale
    say = Renderer(catalog, said).t
    note = ""
    if old.catalog is None:
        first = next((f for f in old.findings if f.severity is Severity.ERROR), None)
        note = (
            say(UI.STUDIO_NOTE_UNLOADABLE_BECAUSE, ref=ref, finding=first)
            if first
            else say(UI.STUDIO_NOTE_UNLOADABLE, ref=ref)
        )
    elif flow_id not in old.catalog.flows:
        note = say(UI.STUDIO_NOTE_MISSING, flow=flow_id, ref=ref)
    scenarios = await asyncio.to_thread(read_scenarios)
    return await asyncio.to_thread(
        compare_flows, old.catalog, catalog, flow_id, scenarios, ref, note, old.commit, said
    )
