"""Turn flow and content texts into a ``Catalog``, or into findings.

Pure: it takes file names and texts, not paths, so the same code serves the
CLI, the bot's reload and the tests; reading folders is ``sources``' job.
Every problem becomes a ``Finding`` with file and line; nothing an admin
writes can make it raise anything else.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, fields

from pydantic import ValidationError

from bot.advice.counts import every_answer_counts
from bot.advice.explore import STEP_BUDGET, ProofBudgetExceeded
from bot.advice.proofs import prove
from bot.advice.render import CARD_CAUTIONS, CARD_LIMIT, CARD_REASONS, Renderer
from bot.advice.uitext import COMMAND_ALSO, UI
from bot.flows.catalog import SYNONYMS, Catalog, LoadReport, build_catalog, plain_words
from bot.flows.checks import check_flow, text_refs
from bot.flows.content import TextEntry, collect_texts
from bot.flows.findings import Finding, Severity, errors
from bot.flows.findings import lenient as soften
from bot.flows.glossary import ENGLISH, WELSH, check_glossary, read_glossary
from bot.flows.model import Flow
from bot.flows.plain import check_plain
from bot.flows.schema_errors import findings_from
from bot.flows.typed import TYPED
from bot.flows.validation import FLOW
from bot.flows.yamltext import Document, Path, YamlProblem, parse


@dataclass(frozen=True, slots=True)
class Source:
    """One file's name (as shown in findings) and text.

    ``stem`` is the name without folder and extension; a flow's id must
    match it. ``locale`` is the content folder a text file came from.
    """

    name: str
    text: str
    stem: str | None = None
    locale: str | None = None


def load(
    flow_sources: Sequence[Source],
    content_sources: Sequence[Source],
    *,
    required_texts: Iterable[str] = (),
    default_locale: str = "en",
    lenient: bool = False,
    glossary: Source | None = None,
    plain_language: bool = False,
    proofs: MutableMapping[str, list[Finding]] | None = None,
) -> LoadReport:
    """Validate and compile every flow and text; collect all findings.

    ``lenient`` turns strict errors (an unreachable question, a caution
    never raised, ...) into warnings, for an admin drafting a change; the
    bot and ``/reload`` always load strictly. ``glossary``
    (``content/glossary.yaml``) holds the Welsh texts to the project's
    terms; without it that check is skipped. ``plain_language`` also
    measures every text against the plain-language rules (``flows check``
    does; the bot and ``/reload`` do not, as wording that is long-winded is
    still correct and the detector costs seconds). ``proofs`` remembers each
    flow file's proof findings by ``proof_key``: proving is nine tenths of a
    load, and its findings depend on the flow file alone, so a flow proved
    once (by the bot's start, a /reload, ``flows check`` or a test) is not
    proved again until its file changes.
    """
    findings: list[Finding] = []
    unread: dict[str, list[str]] = {}
    synonym_lines: dict[tuple[str, str], tuple[int, ...]] = {}
    texts = _load_texts(content_sources, findings, unread, synonym_lines)
    if glossary is not None:
        _check_glossary(glossary, texts, findings)
    _check_command_words(texts, findings)
    if default_locale not in texts:
        findings.append(
            Finding(
                f"content/{default_locale}",
                1,
                f"no texts for the default locale '{default_locale}'",
                f"add content/{default_locale}/*.yaml",
            )
        )
    flows: dict[str, tuple[Flow, Source, Document]] = {}
    for source in flow_sources:
        parsed = _load_flow(source, findings, lenient)
        if parsed is None:
            continue
        flow, doc = parsed
        if flow.id in flows:
            first = flows[flow.id][1]
            findings.append(
                Finding(
                    source.name,
                    doc.line(("id",)),
                    f"duplicate flow id '{flow.id}' (also in {first.name})",
                    "each flow needs its own id",
                )
            )
            continue
        flows[flow.id] = (flow, source, doc)
        _check_texts(flow, source.name, doc, texts, findings, unread)
        _check_synonyms(flow, texts, synonym_lines, findings)
    for locale, names in sorted(unread.items()):
        findings.append(
            Finding(
                names[0],
                1,
                f"the texts in content/{locale}/ were not checked against the flows, because "
                f"{' and '.join(names)} could not be read",
                "fix the error in that file, then check again",
                Severity.WARNING,
            )
        )
    required = list(required_texts)
    _check_required(required, {k: v for k, v in texts.items() if k not in unread}, findings)
    if errors(findings):
        return LoadReport(None, findings)
    used = set(required) | {t for flow, _, _ in flows.values() for t, _ in text_refs(flow)}
    used |= {
        f"{o.label}.{SYNONYMS}"
        for flow, _, _ in flows.values()
        for q in flow.questions
        for o in q.options
    }
    used |= {t for table in texts.values() for t in table if t.startswith(TYPED)}
    used |= {t for table in texts.values() for t in table if t.startswith(COMMAND_ALSO)}
    fit = _check_fit(flows, texts)
    findings.extend(soften(fit) if lenient else fit)
    if plain_language:
        plain = check_plain(texts, _glossary_words(glossary))
        findings.extend(soften(plain) if lenient else plain)
    _check_unused(used, texts, findings)
    plain = {loc: {k: e.text for k, e in table.items()} for loc, table in texts.items()}
    catalog = build_catalog({fid: f for fid, (f, _, _) in flows.items()}, plain, default_locale)
    cards = _check_cards(catalog, flows)
    findings.extend(soften(cards) if lenient else cards)
    for flow, source, doc in flows.values():
        key = proof_key(source)
        proved = proofs.get(key) if proofs is not None else None
        if proved is None:
            proved = _prove(catalog, flow, source, doc)
            if proofs is not None:
                proofs[key] = proved
        findings.extend(soften(proved) if lenient else proved)
    if errors(findings):
        return LoadReport(None, findings)
    return LoadReport(catalog, findings)


def proof_key(source: Source) -> str:
    """What a flow's proof findings depend on: its file's name (as findings show it) and text."""
    digest = hashlib.sha256(source.name.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(source.text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _prove(catalog: Catalog, flow: Flow, source: Source, doc: Document) -> list[Finding]:
    """The proofs and "every answer counts" for one flow, strict: the caller softens."""
    try:
        proved = prove(catalog.flows[flow.id], source.name, doc)[0]
    except ProofBudgetExceeded as over:
        index = next(i for i, q in enumerate(flow.questions) if q.id == over.question_id)
        return [
            Finding(
                source.name,
                doc.line(("questions", index)),
                f"the advice cannot be proved within {STEP_BUDGET:,} answers tried: at "
                f"question '{over.question_id}' the paths multiply past checking",
                "split a long multi-select, or have rules read fewer of its facts at once",
            )
        ]
    return proved + every_answer_counts(catalog.flows[flow.id], source.name, doc)


def _load_flow(
    source: Source, findings: list[Finding], lenient: bool = False
) -> tuple[Flow, Document] | None:
    try:
        doc = parse(source.text)
    except YamlProblem as problem:
        findings.append(Finding(source.name, problem.line, problem.message, problem.hint))
        return None
    if not isinstance(doc.data, dict):
        findings.append(
            Finding(
                source.name,
                doc.line(()),
                "a flow file must be a mapping with id, version, title, questions, ...",
                "see docs/admin.md",
            )
        )
        return None
    try:
        flow = FLOW.validate_python(doc.data)
    except ValidationError as exc:
        findings.extend(findings_from(exc, source.name, doc))
        return None
    found = check_flow(flow, source.name, doc, source.stem)
    if lenient:
        found = soften(found)
    findings.extend(found)
    if errors(found):
        return None
    return flow, doc


def _load_texts(
    sources: Sequence[Source],
    findings: list[Finding],
    unread: dict[str, list[str]],
    synonym_lines: dict[tuple[str, str], tuple[int, ...]],
) -> dict[str, dict[str, TextEntry]]:
    """Every locale's texts; ``unread`` gets, per locale, the files that could not be read.

    ``synonym_lines`` gets, per (file, text id) of a synonym list, the line of each of
    its words, so a finding about one word points at that word, not at its list's key.
    """
    texts: dict[str, dict[str, TextEntry]] = {}
    for source in sources:
        locale = source.locale or "en"
        try:
            doc = parse(source.text)
        except YamlProblem as problem:
            findings.append(Finding(source.name, problem.line, problem.message, problem.hint))
            unread.setdefault(locale, []).append(source.name)
            texts.setdefault(locale, {})
            continue
        collect_texts(source.name, doc, texts.setdefault(locale, {}), findings)
        for text_id, lines in _synonym_lines(doc, doc.data, ()):
            synonym_lines.setdefault((source.name, text_id), lines)
    return texts


def _synonym_lines(
    doc: Document, data: object, path: Path
) -> Iterable[tuple[str, tuple[int, ...]]]:
    """Each synonym list's text id (keys joined with dots, as ``collect_texts`` joins them)
    and the line of each of its words. Depth is bounded by ``parse``."""
    if not isinstance(data, Mapping):
        return
    for key, value in data.items():
        here = (*path, key)
        if isinstance(value, Mapping):
            yield from _synonym_lines(doc, value, here)
        elif isinstance(value, list) and key.rsplit(".", 1)[-1] == SYNONYMS:
            yield ".".join(here), tuple(doc.line((*here, i)) for i in range(len(value)))


COMMAND_TEXTS = "ui.command."
"""Ids of the command words: typed in the terminal, and Telegram's /commands."""
COMMAND_WORD = re.compile(r"[a-z0-9_]{1,32}")
"""What Telegram accepts as a command name (https://core.telegram.org/bots/api#botcommand)."""


def _check_command_words(
    texts: Mapping[str, Mapping[str, TextEntry]], findings: list[Finding]
) -> None:
    """Each command word fits Telegram's rule and means one command in every language.

    The bot takes any language's word (and the English id) in any chat, so
    ``cymorth`` can only ever mean help. A further word (``ui.command.also.back:
    nol``) means the command its id names, which must be one.
    """
    owner = {
        text_id.removeprefix(COMMAND_TEXTS): text_id
        for table in texts.values()
        for text_id in table
        if text_id.startswith(COMMAND_TEXTS) and not text_id.startswith(COMMAND_ALSO)
    }
    for locale, table in sorted(texts.items()):
        for text_id, entry in table.items():
            if not text_id.startswith(COMMAND_TEXTS):
                continue
            word = entry.text
            means = text_id
            if text_id.startswith(COMMAND_ALSO):
                means = COMMAND_TEXTS + text_id.removeprefix(COMMAND_ALSO)
                if means not in owner.values():
                    findings.append(
                        Finding(
                            entry.file,
                            entry.line,
                            f"'{text_id}' ({locale}) names no command: there is no {means}",
                            "name a command after 'also.', as in ui.command.also.back: nol",
                        )
                    )
                    continue
            if not COMMAND_WORD.fullmatch(word):
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"command word '{word}' ({text_id}, {locale}) must be one word of "
                        "lowercase letters a-z, digits or _, as Telegram requires",
                        'drop accents, and write spaces as _: "yn_ol", not "yn ôl"',
                    )
                )
            elif owner.setdefault(word, means) != means:
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"command word '{word}' ({text_id}, {locale}) already means {owner[word]}",
                        "give each command its own word in every language",
                    )
                )


TYPED_COMMANDS = (UI.COMMAND_BACK, UI.COMMAND_RESTART, UI.COMMAND_HELP, UI.COMMAND_QUIT)
"""The words the terminal takes as a command before it reads a line as an answer, in
the chat's locale or as the English id (``bot/channels/terminal.py``): a synonym
that is one of them can never be typed as the answer."""


def _fold(words: str) -> str:
    """``plain_words`` without accents, as the terminal compares command words (nôl, nol)."""
    decomposed = unicodedata.normalize("NFKD", plain_words(words))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _check_synonyms(
    flow: Flow,
    texts: Mapping[str, Mapping[str, TextEntry]],
    synonym_lines: Mapping[tuple[str, str], tuple[int, ...]],
    findings: list[Finding],
) -> None:
    """Each word typed for a question names one option, and is not a command word.

    The matcher looks a typed answer up by ``plain_words`` in one table per
    question and locale; two options with the same entry would leave one
    silently chosen, whichever was compiled last. So a synonym equal to
    another option's label or synonym, a label equal to another's, a synonym
    the terminal reads as a command, or one that is a number (numbers pick
    the option shown with them) is an error at the synonym's own line,
    naming where the word it collides with is written.
    """
    commands = {
        _fold(word): text_id.replace(COMMAND_ALSO, COMMAND_TEXTS, 1)  # also.back: back
        for table in texts.values()
        for text_id, entry in table.items()
        if text_id.startswith(COMMAND_TEXTS) and text_id != UI.COMMAND_SKIP.value
        for word in (entry.text, text_id.rsplit(".", 1)[-1])
    }
    for locale, table in sorted(texts.items()):
        commands |= {_fold(u.value.rsplit(".", 1)[-1]): u.value for u in TYPED_COMMANDS}
        commands |= {_fold(table[u].text): u.value for u in TYPED_COMMANDS if u in table}
        for question in flow.questions:
            where = f"question '{question.id}' of flow '{flow.id}' ({locale})"
            owner: dict[str, _Owner] = {}
            heads: dict[str, list[_Owner]] = {}
            for option in question.options:
                label = table.get(option.label)
                key = plain_words(label.text) if label else ""
                if not label or not key:
                    continue
                first = owner.setdefault(
                    key, _Owner(option.id, "the label of", label.file, label.line)
                )
                command = commands.get(_fold(key))
                if command is not None:
                    findings.append(
                        Finding(
                            label.file,
                            label.line,
                            f"the label of option '{option.id}' ('{label.text}') in {where} is "
                            f"the command word of {command}: typed, it runs the command or is "
                            "asked about, never picked",
                            "reword the label, for example with a second word",
                        )
                    )
                if "," in label.text and (head := plain_words(label.text.split(",")[0])):
                    heads.setdefault(head, []).append(
                        _Owner(option.id, "the start of the label of", label.file, label.line)
                    )
                if first.option != option.id:
                    findings.append(
                        Finding(
                            label.file,
                            label.line,
                            f"the label of option '{option.id}' ('{label.text}') reads the same "
                            f"as the label of option '{first.option}' ({first.file}:{first.line}) "
                            f"in {where}: typed, it would pick one of them without asking",
                            "give the two options labels that differ in their words",
                        )
                    )
            for option in question.options:
                text_id = f"{option.label}.{SYNONYMS}"
                entry = table.get(text_id)
                if entry is None:
                    continue
                words = entry.text.split("\n")
                lines = synonym_lines.get((entry.file, text_id), ())
                for index, word in enumerate(words):
                    line = lines[index] if len(lines) == len(words) else entry.line
                    problem = _synonym_problem(word, option.id, owner, commands, heads)
                    if problem is not None:
                        message, hint, severity = problem
                        findings.append(
                            Finding(
                                entry.file,
                                line,
                                f"synonym '{word}' of option '{option.id}' in {where} {message}",
                                hint,
                                severity,
                            )
                        )
                    if typed := plain_words(word):
                        owner.setdefault(typed, _Owner(option.id, "a synonym of", entry.file, line))


@dataclass(frozen=True, slots=True)
class _Owner:
    """The option a typed word already names, and where that word is written."""

    option: str
    what: str
    file: str
    line: int


def _synonym_problem(
    word: str,
    option_id: str,
    owner: Mapping[str, _Owner],
    commands: Mapping[str, str],
    heads: Mapping[str, list[_Owner]] | None = None,
) -> tuple[str, str, Severity] | None:
    """Why typing ``word`` would not pick ``option_id`` alone: (message, hint, severity)."""
    key = plain_words(word)
    if not key:
        return (
            "has no letters or digits, so no answer can match it",
            "remove it",
            Severity.WARNING,
        )
    if key.replace(" ", "").isdecimal():
        return (
            "is a number: typed, a number picks the option shown with it",
            "remove it; people can already type the option's number",
            Severity.ERROR,
        )
    command = commands.get(_fold(key))
    if command is not None:
        return (
            f"is the command word of {command}: typed in the terminal, it runs the command "
            "instead of picking the option",
            "remove it, or make it a longer phrase",
            Severity.ERROR,
        )
    other = owner.get(key)
    if other is not None and other.option != option_id:
        return (
            f"is also {other.what} option '{other.option}' ({other.file}:{other.line}): typed, "
            "it would pick one of the two without asking",
            "remove it from one of the two options, or from both if it fits both"
            if other.what == "a synonym of"
            else f"remove it: the label already picks option '{other.option}'",
            Severity.ERROR,
        )
    starts = [h for h in (heads or {}).get(key, []) if h.option != option_id]
    if starts:
        other = starts[0]
        return (
            f"is also {other.what} option '{other.option}' ({other.file}:{other.line}): typed, "
            "it would mean that option as much as this one",
            f"remove it: typed alone, it already picks option '{other.option}' or is asked about",
            Severity.ERROR,
        )
    return None


def _glossary_words(source: Source | None) -> list[str]:
    """The glossary's Welsh terms, word by word: a Welsh text may use them though they
    look English. Nothing if there is no glossary or it cannot be read (that is reported)."""
    if source is None:
        return []
    try:
        glossary, _ = read_glossary(source.name, parse(source.text))
    except YamlProblem:
        return []
    return [
        w.rstrip("*") for term in glossary.terms for phrase in term.welsh for w in phrase.split()
    ]


def _check_glossary(
    source: Source, texts: Mapping[str, Mapping[str, TextEntry]], findings: list[Finding]
) -> None:
    try:
        doc = parse(source.text)
    except YamlProblem as problem:
        findings.append(Finding(source.name, problem.line, problem.message, problem.hint))
        return
    glossary, found = read_glossary(source.name, doc)
    findings.extend(found)
    findings.extend(check_glossary(glossary, texts.get(WELSH, {}), texts.get(ENGLISH, {})))


def _check_texts(
    flow: Flow,
    file: str,
    doc: Document,
    texts: Mapping[str, Mapping[str, TextEntry]],
    findings: list[Finding],
    unread: Mapping[str, list[str]],
) -> None:
    """Every text the flow uses, in every locale.

    A locale with a file that could not be read is not checked: its texts
    would all look missing, and one slip would bury the real error under a
    hundred false ones; ``load`` says once that they were not checked.
    """
    for locale in sorted(texts):
        if locale in unread:
            continue
        table = texts[locale]
        for text_id, path in text_refs(flow):
            if text_id not in table:
                findings.append(
                    Finding(
                        file,
                        doc.line(path),
                        f"text '{text_id}' is missing in content/{locale}/",
                        _nearest_text(text_id, table)
                        or f"add '{text_id}: ...' to a file in content/{locale}/",
                    )
                )


def _nearest_text(text_id: str, table: Mapping[str, TextEntry]) -> str:
    """ "did you mean" the existing id a misspelt one was meant to be, with where it is."""
    import difflib

    close = difflib.get_close_matches(text_id, list(table), n=1, cutoff=0.85)
    if not close:
        return ""
    entry = table[close[0]]
    return (
        f"did you mean '{close[0]}' ({entry.file}:{entry.line})? If it is a new text, "
        f"add '{text_id}: ...' to a file beside it"
    )


BUTTON_LIMIT = 32
"""Characters of a button label a small phone shows in full: a longer one is cut off."""
BUTTON_TEXTS = frozenset(
    {
        UI.TELEGRAM_RESUME,
        UI.TELEGRAM_DONE,
        UI.TELEGRAM_BACK,
        UI.TELEGRAM_SKIP,
        UI.TELEGRAM_AGAIN,
        UI.TELEGRAM_OTHER_FLOWS,
        UI.TELEGRAM_TO_CARD,
        UI.TELEGRAM_FORGET_YES,
        UI.TELEGRAM_FORGET_NO,
        UI.TELEGRAM_RESTART_YES,
        UI.TELEGRAM_RESTART_NO,
        UI.REPORT_BUTTON,
        UI.REPORT_MAKING,
        UI.RESULT_WHY,
        UI.RESULT_WOULD_CHANGE,
        UI.RESULT_NEXT_STEPS,
        UI.RESULT_WHERE,
        UI.RESULT_ANSWERS,
        UI.LANGUAGE_NAME,
    }
)
"""The bot's own texts that are shown on buttons."""
MESSAGE_LIMIT = 4096
"""Characters in one Telegram message."""


def _check_fit(
    flows: Mapping[str, tuple[Flow, Source, Document]],
    texts: Mapping[str, Mapping[str, TextEntry]],
) -> list[Finding]:
    """Telegram's limits: labels that fit a button, questions that fit a message.

    A label cut off on a phone is strict, like a card too long: the flow runs,
    but people cannot read what they tap."""
    findings: list[Finding] = []
    for flow, _, _ in flows.values():
        labels = {o.label for q in flow.questions for o in q.options} | BUTTON_TEXTS
        # Every heading but the cautions' also labels a detail button under the card.
        headings = (
            getattr(flow.headings, f.name) for f in fields(flow.headings) if f.name != "cautions"
        )
        labels |= {t for t in (flow.title, *headings) if t}
        for locale, table in sorted(texts.items()):
            for text_id, entry in table.items():
                if text_id in labels and len(entry.text) > BUTTON_LIMIT:
                    findings.append(
                        Finding(
                            entry.file,
                            entry.line,
                            f"button label '{text_id}' ({locale}) is {len(entry.text)} "
                            f"characters; phones cut labels off after about {BUTTON_LIMIT}",
                            "shorten it, and put detail in the question or its help",
                            strict=True,
                        )
                    )
                elif len(entry.text) > MESSAGE_LIMIT:
                    findings.append(
                        Finding(
                            entry.file,
                            entry.line,
                            f"text '{text_id}' is {len(entry.text)} characters; one Telegram "
                            f"message holds {MESSAGE_LIMIT}",
                            "split it into shorter texts",
                        )
                    )
    return findings


def _check_cards(
    catalog: Catalog, flows: Mapping[str, tuple[Flow, Source, Document]]
) -> list[Finding]:
    """Every result card fits a phone: too long, and the headline scrolls away from
    the buttons. Strict, as a guarantee is: the flow would run, but not as meant."""
    found = []
    for fid, (flow, source, doc) in flows.items():
        compiled = catalog.flows[fid]
        for locale in catalog.locales:
            words = Renderer(catalog, locale)
            for index, outcome in enumerate(flow.outcomes):
                bound = words.card_bound(compiled, index)
                if bound > CARD_LIMIT:
                    found.append(
                        Finding(
                            source.name,
                            doc.line(("outcomes", index)),
                            f"outcome '{outcome.id}' can show a result card of {bound:,} "
                            f"characters in {locale}; a phone shows about {CARD_LIMIT:,} "
                            "above the buttons",
                            f"shorten its summary or its longest reasons, or the longest "
                            f"caution titles (the card shows {CARD_REASONS} reasons and "
                            f"{CARD_CAUTIONS} caution titles at most)",
                            strict=True,
                        )
                    )
    return found


def _check_unused(
    used: set[str], texts: Mapping[str, Mapping[str, TextEntry]], findings: list[Finding]
) -> None:
    for locale in sorted(texts):
        for text_id, entry in texts[locale].items():
            if text_id not in used:
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"text '{text_id}' is not used by any flow or by the bot",
                        "remove it, or use its id in a flow",
                        Severity.WARNING,
                    )
                )


def _check_required(
    required: Iterable[str],
    texts: Mapping[str, Mapping[str, TextEntry]],
    findings: list[Finding],
) -> None:
    for locale in sorted(texts):
        for text_id in required:
            if text_id not in texts[locale]:
                findings.append(
                    Finding(
                        f"content/{locale}",
                        1,
                        f"the bot's own text '{text_id}' is missing in content/{locale}/",
                        "copy it from content/en/ui.yaml and translate it",
                        Severity.ERROR,
                    )
                )
