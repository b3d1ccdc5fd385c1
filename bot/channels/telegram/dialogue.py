"""What the bot says in a Telegram chat for each kind of update: pure decisions.

``Advisor`` turns one update and the chat's stored conversation into a
``Plan``: the conversation to store and the messages to send or edit. It
does no I/O and imports nothing from python-telegram-bot, so every reply
can be reasoned about (and tested) apart from the network; ``telegram_bot``
carries plans out. Buttons carry only short indexes (``a:<question
number>:<option index>``), well inside Telegram's 64-byte callback data.
https://core.telegram.org/bots/api#inlinekeyboardbutton
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import zlib
from dataclasses import dataclass, field, replace

from bot.advice import engine
from bot.advice.engine import Answer, Session, SessionError, Step
from bot.advice.render import Prompt, Renderer
from bot.advice.uitext import UI, also_words
from bot.channels.telegram.html import split_messages, to_html
from bot.flows.catalog import Catalog, CompiledFlow, plain_words
from bot.flows.model import QuestionKind
from bot.settings import Settings
from bot.store.conversations import Conversation
from bot.store.usage import Event, EventKind

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]]
"""Rows of (label, callback data)."""

COMMANDS = {
    "start": UI.TELEGRAM_CMD_START,
    "language": UI.TELEGRAM_CMD_LANGUAGE,
    "help": UI.TELEGRAM_CMD_HELP,
    "back": UI.TELEGRAM_CMD_BACK,
    "restart": UI.TELEGRAM_CMD_RESTART,
    "summary": UI.TELEGRAM_CMD_SUMMARY,
    "privacy": UI.TELEGRAM_CMD_PRIVACY,
    "forget": UI.TELEGRAM_CMD_FORGET,
}
COMMAND_WORDS = {
    "language": UI.COMMAND_LANGUAGE,
    "help": UI.COMMAND_HELP,
    "back": UI.COMMAND_BACK,
    "restart": UI.COMMAND_RESTART,
    "summary": UI.COMMAND_SUMMARY,
    "privacy": UI.COMMAND_PRIVACY,
    "forget": UI.COMMAND_FORGET,
}
"""Each command's name in each language comes from content (``/iaith`` is ``/language``);
``start`` keeps one name, as ``t.me/<bot>?start=`` links send it."""


def command_names(catalog: Catalog, locale: str) -> dict[str, str]:
    """Command id to the name a person types in ``locale``, e.g. ``back`` to ``yn_ol``."""
    words = {c: catalog.text(locale, ui) for c, ui in COMMAND_WORDS.items()}
    return {c: words.get(c, c) for c in COMMANDS}


@dataclass(frozen=True, slots=True)
class Send:
    """A message to send; ``track`` makes it the one whose buttons are live."""

    text: str
    buttons: Buttons | None = None
    track: bool = False


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace a sent message's text and keyboard; with no text, only the keyboard."""

    message_id: int
    text: str | None
    buttons: Buttons | None = None
    fallback: bool = False
    """Send it as a new message if the old one cannot be edited (deleted, too old):
    for an edit that carries the only copy of a question or a result."""
    track: bool = False
    """With ``fallback``: the message sent instead carries the live buttons."""


@dataclass(slots=True)
class Plan:
    """What one update does: the state to store and the Bot API calls to make after."""

    conversation: Conversation
    sends: list[Send] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    callback_text: str | None = None
    forget: bool = False
    events: list[Event] = field(default_factory=list)
    keepsake: Keepsake | None = None
    """A finished session to send as a PDF and a picture."""


@dataclass(frozen=True, slots=True)
class Keepsake:
    """A result's files to send: built once per result and locale, then re-sent."""

    flow: CompiledFlow
    session: Session
    locale: str
    key: str
    """The result's ``result_key``: the files' cache key with the locale."""
    pressed: str
    """The button's callback data, relabelled while the files are made."""


class CatalogHolder:
    """The catalog being served; a reload swaps it whole."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog


class Advisor:
    """Turns one update and one stored conversation into a ``Plan``. No I/O."""

    def __init__(self, holder: CatalogHolder, settings: Settings) -> None:
        self.holder = holder
        self.settings = settings
        self._aliases: tuple[Catalog | None, dict[str, str]] = (None, {})

    @property
    def catalog(self) -> Catalog:
        return self.holder.catalog

    def locale_for(self, conversation: Conversation, language_code: str | None) -> str:
        """The stored choice, else the app's language if we have it, else the default."""
        if conversation.locale in self.catalog.texts:
            return conversation.locale
        return self.app_locale(language_code) or self.catalog.default_locale

    def command_id(self, name: str) -> str:
        """The command a typed name means, in any language: ``iaith`` is ``language``.

        Built once per catalog (a reload swaps the catalog, and so the names).
        """
        catalog = self.catalog
        if self._aliases[0] is not catalog:
            aliases = {c: c for c in COMMANDS}
            for locale in catalog.locales:
                aliases |= {n: c for c, n in command_names(catalog, locale).items()}
                also = also_words(catalog.texts.get(locale, {}))
                aliases |= {w: c for w, c in also.items() if c in COMMANDS}
            self._aliases = (catalog, aliases)
        return self._aliases[1].get(name, name)

    def app_locale(self, language_code: str | None) -> str | None:
        """The locale matching the Telegram app's language, if we have texts for it."""
        code = (language_code or "").split("-")[0].lower()
        return code if code in self.catalog.texts else None

    def ordered_locales(self) -> list[str]:
        """Welsh first where the bot is bilingual, as Welsh public bodies offer it."""
        locales = list(self.catalog.locales)
        return sorted(locales, key=lambda loc: (loc != "cy", locales.index(loc)))

    def forget_code(self, chat_id: int) -> str:
        """A code only this bot can make (keyed by its token), carried by the 'yes,
        forget' button it sends a chat: a press forged without it deletes nothing."""
        message = f"forget:{chat_id}".encode()
        return hmac.new(self.settings.token.encode(), message, "sha256").hexdigest()[:20]

    def language_question(self, payload: str) -> Send:
        """Which language? asked in every language, each answer a button."""
        ordered = self.ordered_locales()
        text = self.in_every_language(UI.LANGUAGE_ASK).text
        rows: Buttons = [
            [(self.catalog.text(loc, UI.LANGUAGE_NAME), f"lang:{loc}:{payload}")] for loc in ordered
        ]
        return Send(text, rows, track=True)

    def in_every_language(self, text_id: str) -> Send:
        """One text in every language, Welsh first, for someone who has not chosen yet."""
        ordered = self.ordered_locales()
        return Send("\n\n".join(escape(self.catalog.text(loc, text_id)) for loc in ordered))

    def on_language_text(self, plan: Plan, text: str, now: float) -> None:
        """Text while the language question waits: a language's name or number, or ask again.

        Nothing else is read while it waits, so a "2" meant for the picker
        never answers the question hidden behind it.
        """
        ordered = self.ordered_locales()
        names = {plain_words(self.catalog.text(loc, UI.LANGUAGE_NAME)): loc for loc in ordered}
        found = engine.match_words(names, ordered, text)
        message_id = plan.conversation.prompt_message_id
        if len(found) == 1 and message_id is not None:
            self.on_language(plan, f"lang:{found[0]}:", message_id, now)
        else:
            plan.sends.append(self.language_question(""))

    def on_language(self, plan: Plan, data: str, message_id: int | None, now: float) -> None:
        """A language chosen: record it, then carry on in it with what was asked."""
        locale, _, payload = data.partition(":")[2].partition(":")
        if message_id != plan.conversation.prompt_message_id or locale not in self.catalog.texts:
            plan.callback_text = Renderer(self.catalog, self.catalog.default_locale).t(
                UI.TELEGRAM_STALE
            )
            return
        words = Renderer(self.catalog, locale)
        # The edit below takes the buttons off: nothing is left to drop.
        plan.conversation = replace(plan.conversation, locale=locale, prompt_message_id=None)
        chosen = words.t(UI.TELEGRAM_CHOSEN, answer=words.t(UI.LANGUAGE_NAME))
        plan.edits.append(Edit(message_id, f"<b>{escape(chosen)}</b>"))
        first = plan.conversation.version == 0 or plan.conversation.session is None
        live = self.live(plan, words, now)
        if payload:
            self.on_command(plan, "start", payload, words, now)
        elif live is not None and not live[1].finished:
            plan.sends.append(self.question(*live, words))
        else:
            plan.sends.append(self.menu(words, False, greeting=first))

    # -- reading the stored state -------------------------------------------------

    def live(self, plan: Plan, words: Renderer, now: float) -> tuple[CompiledFlow, Session] | None:
        """The conversation's session fitted to today's flows; notices go into ``plan``."""
        conv = plan.conversation
        if conv.session is None:
            return None
        idle = now - conv.updated_at > self.settings.idle_hours * 3600
        try:
            stored = Session.from_json(conv.session)
        except SessionError:
            log.warning("dropping an unreadable session for a chat")
            stored = None
        flow = self.catalog.flows.get(stored.flow_id) if stored else None
        if idle or stored is None or flow is None:
            notice = (
                words.t(UI.TELEGRAM_EXPIRED, idle_hours=_hours(self.settings.idle_hours))
                if idle
                else words.t(UI.TELEGRAM_FLOW_GONE)
            )
            plan.sends.append(Send(notice))
            plan.conversation = replace(conv, session=None)
            return None
        session, changed = engine.resume(flow, stored)
        if changed:
            plan.sends.append(Send(words.t(UI.TELEGRAM_FLOW_CHANGED)))
        if session != stored:
            plan.conversation = replace(conv, session=session.to_json())
        return flow, session

    # -- building replies ---------------------------------------------------------

    def menu(self, words: Renderer, resumable: bool, greeting: bool) -> Send:
        rows: Buttons = []
        if resumable:
            rows.append([(words.t(UI.TELEGRAM_RESUME), "r")])
        for flow in self.catalog.flows.values():
            rows.append([(words.t(flow.model.title), f"f:{flow.id}")])
        text = words.t(UI.TELEGRAM_MENU)
        if greeting:
            text = f"{self.welcome(words)}\n\n{text}"
        return Send(escape(text), rows, track=True)

    def menu_choice(self, words: Renderer, text: str) -> CompiledFlow | None:
        """The flow a typed menu answer names: its number, title, id or title's first word.

        Starting a flow records no answer and /menu undoes it, so the menu
        also takes the id ("plan", as in a /start link) and the title's
        first word ("Gwirio") where that word starts no other title.
        """
        flows = list(self.catalog.flows.values())
        titles = {plain_words(words.t(flow.model.title)): flow.id for flow in flows}
        firsts = [title.split()[0] for title in titles if title]
        for title, flow_id in list(titles.items()):
            if title and firsts.count(title.split()[0]) == 1:
                titles.setdefault(title.split()[0], flow_id)
        for flow in flows:
            titles.setdefault(flow.id, flow.id)
        found = engine.match_words(titles, [flow.id for flow in flows], text)
        return self.catalog.flows[found[0]] if len(found) == 1 else None

    def prompt_html(self, words: Renderer, prompt: Prompt) -> str:
        lines = [
            f"<b>{escape(words.number(prompt))}</b>",
            escape(prompt.text),
        ]
        notes = list(prompt.notes)
        if prompt.kind is QuestionKind.MULTI:  # on a phone, the picks are tapped
            pick = words.t(UI.QUESTION_PICK_MANY)
            notes = [n for n in notes if n != pick] + [words.t(UI.TELEGRAM_TAP_DONE)]
        lines.extend(f"<i>{escape(note)}</i>" for note in notes)
        return "\n".join(lines)

    def question(
        self,
        flow: CompiledFlow,
        session: Session,
        words: Renderer,
        before: Answer | None = None,
        *,
        heading: str = "",
        hint: str = "",
    ) -> Send:
        """The session's current question with its buttons, numbered for typing.

        ``before`` is the answer it had, when /back returns to it; ``heading``
        (HTML) goes above it, as the flow's title does on the first question,
        so starting costs one message; ``hint`` says why a typed answer was not
        taken, under the question, so a miss costs one edit.
        """
        prompt = words.prompt(flow, session)
        question = flow.questions[prompt.question_id]
        number = question.number
        rows: Buttons = []
        for index, (option_id, label) in enumerate(prompt.options):
            if prompt.kind is QuestionKind.MULTI:
                mark = "☑" if option_id in prompt.picked else "☐"
                rows.append([(f"{mark} {index + 1}. {label}", f"t:{number}:{index}")])
            else:
                rows.append([(f"{index + 1}. {label}", f"a:{number}:{index}")])
        last: list[tuple[str, str]] = []
        if session.history:
            last.append((words.t(UI.TELEGRAM_BACK), f"b:{number}"))
        if prompt.kind is QuestionKind.MULTI:
            last.append((words.t(UI.TELEGRAM_DONE), f"d:{number}"))
        if prompt.kind is QuestionKind.TEXT and prompt.optional:
            last.append((words.t(UI.TELEGRAM_SKIP), f"s:{number}"))
        if last:
            rows.append(last)
        text = heading + self.prompt_html(words, prompt)
        if before is not None and before != ():
            was = words.t(UI.TELEGRAM_WAS, answer=words.answer_text(question, before))
            text += f"\n<i>{escape(was)}</i>"
        if hint:
            text += f"\n\n<b>{escape(hint)}</b>"
        return Send(text, rows, track=True)

    def answered(
        self, flow: CompiledFlow, before: Session, after: Session, words: Renderer, plan: Plan
    ) -> None:
        """Mark the question just answered on its message, without buttons."""
        conv = plan.conversation
        if conv.prompt_message_id is None or before.question is None:
            return
        if before.question not in after.answers:
            plan.edits.append(Edit(conv.prompt_message_id, None))
            return
        question = flow.questions[before.question]
        prompt = words.prompt(flow, before)
        chosen = words.t(
            UI.TELEGRAM_CHOSEN, answer=words.answer_text(question, after.answers[question.id])
        )
        text = f"{self.prompt_html(words, prompt)}\n\n<b>{escape(chosen)}</b>"
        if not before.history:  # the first question's message carries the flow's title
            text = f"{self.title_html(flow, words)}{text}"
        plan.edits.append(Edit(conv.prompt_message_id, text))

    def result(
        self, flow: CompiledFlow, session: Session, words: Renderer, key: str | None = None
    ) -> Send:
        """The result as a card with its buttons, or one detail of it (``key``)."""
        result = engine.result(flow, session)
        fingerprint = result_key(session)
        blocks = words.card(flow, result) if key is None else words.detail(flow, result, key)
        text = "\n\n".join(to_html(blocks or words.card(flow, result)))
        rows: Buttons = []
        if key is not None:
            rows.append([(words.t(UI.TELEGRAM_TO_CARD), f"v:{fingerprint}:")])
        rows.append([(words.t(UI.REPORT_BUTTON), f"pdf:{fingerprint}")])
        details = words.details(flow, result)
        rows.extend([(label, f"v:{fingerprint}:{k}")] for k, label in details)
        rows.append(self.again_row(words, fingerprint))
        return Send(split_messages([text])[0], rows)

    def again_row(self, words: Renderer, fingerprint: str) -> list[tuple[str, str]]:
        return [
            (words.t(UI.TELEGRAM_AGAIN), f"again:{fingerprint}"),
            (words.t(UI.TELEGRAM_OTHER_FLOWS), "menu"),
        ]

    def finished_notice(self, words: Renderer, session: Session) -> Send:
        """After the result, any message: how to start again, with the PDF at hand."""
        fingerprint = result_key(session)
        rows: Buttons = [
            [(words.t(UI.REPORT_BUTTON), f"pdf:{fingerprint}")],
            self.again_row(words, fingerprint),
        ]
        return Send(escape(words.t(UI.TELEGRAM_FINISHED)), rows)

    def after_step(
        self,
        flow: CompiledFlow,
        before: Session,
        step: Step,
        words: Renderer,
        plan: Plan,
        pressed: int | None = None,
    ) -> None:
        """Store the step's session and say what comes next, or why it was refused.

        ``pressed`` is the question's message when a button answered it: a
        result then takes that message's place (the person is looking at it),
        one edit instead of marking the answer and sending the card.
        """
        if step.problem is not None:
            hint = words.problem(flow, before, step.problem, UI.BACK_TELEGRAM)
            if plan.callback_text is None and not plan.sends:
                # The hint goes into the question, buttons and all: one edit,
                # not a hint and a fresh copy of the question each miss.
                again = self.question(flow, before, words, hint=hint)
                prompt = plan.conversation.prompt_message_id
                if prompt is None:
                    plan.sends.append(again)
                else:
                    plan.edits.append(Edit(prompt, again.text, again.buttons, True, True))
            return
        session = step.session
        plan.conversation = replace(plan.conversation, session=session.to_json())
        if session.finished:
            # The card's buttons work by the result's key, not as the live
            # prompt, so nothing later takes them away.
            plan.conversation = replace(
                plan.conversation, last_result=session.to_json(), prompt_message_id=None
            )
            card = self.result(flow, session, words)
            if pressed is not None:
                plan.edits.append(Edit(pressed, card.text, card.buttons, fallback=True))
                return
            self.answered(flow, before, session, words, plan)
            plan.sends.append(card)
        else:
            self.answered(flow, before, session, words, plan)
            plan.sends.append(self.question(flow, session, words))

    def start_flow(
        self, flow: CompiledFlow, words: Renderer, plan: Plan, *, greeting: bool = False
    ) -> None:
        """Start ``flow``: its title and first question in one message.

        ``greeting`` (a first contact by a link straight into a flow) adds the
        welcome and how to change language, which the menu would have said.
        """
        # Answers asked once per person (where the work happens) carry over.
        earlier = plan.conversation.session or plan.conversation.last_result
        session = engine.start(flow, engine.carried(earlier))
        plan.events.append(Event(flow.id, EventKind.STARTED))
        plan.conversation = replace(plan.conversation, session=session.to_json())
        heading = self.title_html(flow, words)
        if greeting:
            heading = f"{escape(self.welcome(words))}\n\n{heading}"
        plan.sends.append(self.question(flow, session, words, heading=heading))

    def title_html(self, flow: CompiledFlow, words: Renderer) -> str:
        return f"<b>{escape(words.t(flow.model.title))}</b>\n\n"

    def welcome(self, words: Renderer) -> str:
        """The welcome, and how to have the bot in each other language (in that language)."""
        lines = [words.t(UI.TELEGRAM_WELCOME)]
        for locale in self.ordered_locales():
            if locale != words.locale:
                command = command_names(self.catalog, locale)["language"]
                there = Renderer(self.catalog, locale)
                lines.append(there.t(UI.TELEGRAM_IN_LANGUAGE, command=command))
        return "\n".join(lines)

    def drop_keyboard(self, plan: Plan) -> None:
        if plan.conversation.prompt_message_id is not None:
            plan.edits.append(Edit(plan.conversation.prompt_message_id, None))

    # -- the update kinds ---------------------------------------------------------

    def on_command(
        self, plan: Plan, command: str, payload: str, words: Renderer, now: float
    ) -> None:
        live = self.live(plan, words, now)
        if command == "start":
            flow = self.catalog.flows.get(payload) if payload else None
            if payload and flow is None:
                plan.sends.append(Send(escape(words.t(UI.TELEGRAM_UNKNOWN_FLOW, flow=payload))))
            if flow is not None and live and live[0].id == flow.id and not live[1].finished:
                self.drop_keyboard(plan)
                plan.sends.append(self.question(flow, live[1], words))
            elif flow is not None:
                self.drop_keyboard(plan)
                conv = plan.conversation
                first = conv.session is None and conv.last_result is None
                self.start_flow(flow, words, plan, greeting=first)
            else:
                self.drop_keyboard(plan)
                resumable = live is not None and not live[1].finished
                plan.sends.append(
                    self.menu(words, resumable, greeting=plan.conversation.version == 0)
                )
        elif command == "help":
            text = words.t(UI.TELEGRAM_HELP)
            if live and not live[1].finished:
                question = engine.current(*live)
                if question and question.model.help:
                    text = f"{words.t(question.model.help)}\n\n{text}"
            names = command_names(self.catalog, words.locale)
            listed = "\n".join(f"/{names[c]} – {words.t(about)}" for c, about in COMMANDS.items())
            plan.sends.append(Send(escape(f"{text}\n{listed}")))
        elif command in ("back", "restart"):
            if live is None:
                plan.sends.append(self.menu(words, False, greeting=False))
                return
            flow, session = live
            if command == "restart":
                self.drop_keyboard(plan)
                if session.finished or not session.history:
                    self.start_flow(flow, words, plan)
                    return
                buttons = [
                    [(words.t(UI.TELEGRAM_RESTART_YES), "restart:yes")],
                    [(words.t(UI.TELEGRAM_RESTART_NO), "restart:no")],
                ]
                text = escape(words.t(UI.TELEGRAM_RESTART_CONFIRM))
                plan.sends.append(Send(text, buttons, track=True))
                return
            self.after_back(flow, session, engine.back(flow, session), words, plan)
        elif command == "language":
            self.drop_keyboard(plan)
            # No locale while the picker waits: until a language is chosen,
            # text is read as a language, never as the hidden question's answer.
            plan.conversation = replace(plan.conversation, locale=None)
            plan.sends.append(self.language_question(""))
        elif command == "summary":
            self.summary(plan, words, now)
        elif command == "privacy":
            plan.sends.append(
                Send(
                    escape(
                        words.t(
                            UI.TELEGRAM_PRIVACY,
                            idle_hours=_hours(self.settings.idle_hours),
                            retention_days=_hours(self.settings.retention_days),
                        )
                    )
                )
            )
        elif command == "forget":
            self.drop_keyboard(plan)
            code = self.forget_code(plan.conversation.chat_id)
            buttons = [
                [(words.t(UI.TELEGRAM_FORGET_YES), f"forget:yes:{code}")],
                [(words.t(UI.TELEGRAM_FORGET_NO), "forget:no")],
            ]
            plan.sends.append(Send(escape(words.t(UI.TELEGRAM_FORGET_CONFIRM)), buttons, True))
        else:
            plan.sends.append(Send(escape(words.t(UI.TELEGRAM_UNKNOWN_COMMAND))))

    def after_back(
        self,
        flow: CompiledFlow,
        before: Session,
        step: Step,
        words: Renderer,
        plan: Plan,
        pressed: int | None = None,
    ) -> None:
        """Go back a question; by the « Back button, in the message pressed.

        Typed /back sends the question anew, under the person's message,
        where they are looking.
        """
        if step.problem is not None:
            plan.sends.append(
                Send(escape(words.problem(flow, before, step.problem, UI.BACK_TELEGRAM)))
            )
            return
        plan.conversation = replace(plan.conversation, session=step.session.to_json())
        was = before.answers.get(step.session.question or "")
        again = self.question(flow, step.session, words, was)
        if pressed is None:
            self.drop_keyboard(plan)
            plan.sends.append(again)
        else:
            plan.edits.append(Edit(pressed, again.text, again.buttons, True, True))

    def last_result(self, plan: Plan) -> tuple[CompiledFlow, Session] | None:
        """The chat's last finished session, fitted to today's flows; None if there is none."""
        stored = plan.conversation.last_result
        try:
            session = Session.from_json(stored) if stored else None
        except SessionError:
            session = None
        flow = self.catalog.flows.get(session.flow_id) if session else None
        if session is None or flow is None:
            return None
        session, _ = engine.resume(flow, session)
        return (flow, session) if session.finished else None

    def summary(self, plan: Plan, words: Renderer, now: float) -> None:
        """The last result's card with its buttons; mid-flow, then the waiting question."""
        live = self.live(plan, words, now)
        last = self.last_result(plan)
        if last is None:
            plan.sends.append(Send(escape(words.t(UI.TELEGRAM_NO_SUMMARY))))
        else:
            plan.sends.append(self.result(*last, words))
        if live is not None and not live[1].finished:
            self.drop_keyboard(plan)
            plan.sends.append(self.question(*live, words))

    def on_other(self, plan: Plan, words: Renderer) -> None:
        """Photos, stickers, voice, files, locations: say what the bot reads."""
        plan.sends.append(Send(escape(words.t(UI.TELEGRAM_NON_TEXT))))

    def on_text(self, plan: Plan, text: str, words: Renderer, now: float) -> None:
        had_session = plan.conversation.session is not None
        live = self.live(plan, words, now)
        if live is None or live[1].finished:
            # The menu is up unless a session just expired or the card is the last word.
            menu_shown = plan.conversation.prompt_message_id is not None and (
                live is not None or not had_session
            )
            chosen = self.menu_choice(words, text) if menu_shown else None
            if chosen is not None:
                self.drop_keyboard(plan)
                self.start_flow(chosen, words, plan)
            elif live is not None:
                plan.sends.append(self.finished_notice(words, live[1]))
            else:
                plan.sends.append(self.menu(words, False, greeting=plan.conversation.version == 0))
            return
        flow, session = live
        question = engine.current(flow, session)
        if question and question.model.kind is not QuestionKind.TEXT and len(text) > TYPED_CHOICE:
            # A free-text question says its own limit (the engine's hint); this
            # is only a bound on what is matched against options.
            plan.sends.append(
                Send(escape(words.t(UI.TELEGRAM_TOO_LONG, length=len(text), limit=TYPED_CHOICE)))
            )
            return
        step = engine.answer(flow, session, text, words.locale, words.t(UI.COMMAND_SKIP))
        self.after_step(flow, session, step, words, plan)

    def on_press(
        self, plan: Plan, data: str, message_id: int | None, words: Renderer, now: float
    ) -> None:
        conv = plan.conversation
        if message_id is not None and data.startswith(RESULT_PRESSES):
            self.on_result_press(plan, data, message_id, words, now)
            return
        if message_id is None or message_id != conv.prompt_message_id:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        live = self.live(plan, words, now)
        if data.startswith("f:"):
            flow = self.catalog.flows.get(data[2:])
            if flow is None:
                plan.callback_text = words.t(UI.TELEGRAM_STALE)
                return
            plan.edits.append(Edit(message_id, None))
            self.start_flow(flow, words, plan)
            return
        if data.startswith("forget:yes"):
            if not hmac.compare_digest(
                data, f"forget:yes:{self.forget_code(conv.chat_id)}"
            ):  # a forged press: the bot sent no such confirmation to this chat
                plan.callback_text = words.t(UI.TELEGRAM_STALE)
                return
            plan.edits.append(Edit(message_id, None))
            plan.forget = True
            plan.sends.append(Send(escape(words.t(UI.TELEGRAM_FORGOTTEN))))
            return
        if data == "forget:no":
            plan.edits.append(Edit(message_id, None))
            plan.sends.append(Send(escape(words.t(UI.TELEGRAM_KEPT))))
            if live and not live[1].finished:
                plan.sends.append(self.question(*live, words))
            return
        if live is None:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        flow, session = live
        if data in ("restart:yes", "restart:no"):
            plan.edits.append(Edit(message_id, None))
            if data == "restart:yes":
                self.start_flow(flow, words, plan)
            elif not session.finished:
                plan.sends.append(self.question(flow, session, words))
            return
        if data == "r":
            plan.edits.append(Edit(message_id, None))
            if session.finished:
                plan.conversation = replace(plan.conversation, prompt_message_id=None)
                plan.sends.append(self.result(flow, session, words))
            else:
                plan.sends.append(self.question(flow, session, words))
            return
        self.on_answer_press(plan, data, message_id, flow, session, words)

    def on_result_press(
        self, plan: Plan, data: str, message_id: int, words: Renderer, now: float
    ) -> None:
        """A press on a result's buttons: honoured on any message while it is the last result.

        So a message typed after the advice, /language or the main menu
        never takes the PDF or the details out of reach.
        """
        kind, _, rest = data.partition(":")
        fingerprint, _, key = rest.partition(":")
        last = self.last_result(plan)
        if kind == "menu":
            live = self.live(plan, words, now)
            self.drop_keyboard(plan)
            plan.sends.append(self.menu(words, live is not None and not live[1].finished, False))
            return
        if last is None or result_key(last[1]) != fingerprint:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        flow, session = last
        if kind == "pdf":
            plan.keepsake = Keepsake(flow, session, words.locale, fingerprint, data)
            plan.callback_text = words.t(UI.REPORT_MAKING)
        elif kind == "v":
            view = self.result(flow, session, words, key or None)
            plan.edits.append(Edit(message_id, view.text, view.buttons))
        elif kind == "again":
            live = self.live(plan, words, now)
            if live is not None and not live[1].finished:
                plan.callback_text = words.t(UI.TELEGRAM_STALE)
                return
            self.drop_keyboard(plan)
            self.start_flow(flow, words, plan)

    def on_answer_press(
        self,
        plan: Plan,
        data: str,
        message_id: int,
        flow: CompiledFlow,
        session: Session,
        words: Renderer,
    ) -> None:
        question = engine.current(flow, session)
        kind, _, rest = data.partition(":")
        number_text, _, index_text = rest.partition(":")
        if question is None or number_text != str(question.number):
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        option_id = None
        if index_text.isdecimal() and int(index_text) < len(question.option_ids):
            option_id = question.option_ids[int(index_text)]
        if kind == "a" and option_id is not None:
            step = engine.choose(flow, session, option_id)
        elif kind == "t" and option_id is not None:
            step = engine.toggle(flow, session, option_id)
            if step.accepted:
                plan.conversation = replace(plan.conversation, session=step.session.to_json())
                again = self.question(flow, step.session, words)
                plan.edits.append(Edit(message_id, again.text, again.buttons))
            return
        elif kind == "d" and not index_text:
            step = engine.confirm(flow, session)
        elif kind == "s" and not index_text:
            step = engine.answer(
                flow, session, words.t(UI.COMMAND_SKIP), words.locale, words.t(UI.COMMAND_SKIP)
            )
        elif kind == "b" and not index_text:
            self.after_back(flow, session, engine.back(flow, session), words, plan, message_id)
            return
        else:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        if step.problem is not None:
            plan.callback_text = words.problem(flow, session, step.problem, UI.BACK_TELEGRAM)
            return
        self.after_step(flow, session, step, words, plan, pressed=message_id)


TYPED_CHOICE = 1000
"""Characters of a typed answer to a choice question read at most."""

RESULT_PRESSES = ("pdf:", "v:", "again:", "menu")
"""Callback data of a result's buttons, which stay live after later messages."""


def result_key(session: Session) -> str:
    """A short fingerprint of a finished session, carried by its result's buttons."""
    shown = session.to_json()
    shown.pop("filled", None)  # how the last step went, not what the result is
    data = json.dumps(shown, sort_keys=True, ensure_ascii=False)
    return f"{zlib.crc32(data.encode()):08x}"


def relabel(buttons: Buttons, data: str, label: str) -> Buttons:
    """The same keyboard with the button carrying ``data`` renamed."""
    return [[(label if d == data else text, d) for text, d in row] for row in buttons]


def escape(text: str) -> str:
    """Text made safe for Telegram HTML."""
    return html.escape(text, quote=False)


def _hours(value: float) -> str:
    return f"{value:g}"
