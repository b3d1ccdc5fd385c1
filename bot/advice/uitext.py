"""Ids of the texts the bot itself says; the wording is in ``content/<locale>/ui.yaml``.

The loader refuses a content set that lacks any of these, so a new locale
cannot go live half translated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum


class UI(StrEnum):
    """Every UI text id used by code."""

    RESULT_WHY = "ui.result.why"
    RESULT_YOU_SAID = "ui.result.you_said"
    RESULT_CAUTIONS = "ui.result.cautions"
    RESULT_WHY_IT_MATTERS = "ui.result.why_it_matters"
    RESULT_WHAT_TO_DO = "ui.result.what_to_do"
    RESULT_WOULD_CHANGE = "ui.result.would_change"
    RESULT_NEXT_STEPS = "ui.result.next_steps"
    RESULT_WHERE = "ui.result.where"
    RESULT_LADDER = "ui.result.ladder"
    RESULT_SPECTRUM = "ui.result.spectrum"
    RESULT_ANSWERS = "ui.result.answers"
    RESULT_MORE_REASONS = "ui.result.more_reasons"
    RESULT_MORE_CAUTIONS = "ui.result.more_cautions"
    RESULT_SKIPPED = "ui.result.skipped"
    RESULT_RECOMMENDATION = "ui.result.recommendation"
    QUESTION_NUMBER = "ui.question.number"
    QUESTION_PICK_MANY = "ui.question.pick_many"
    QUESTION_TYPE_TEXT = "ui.question.type_text"
    QUESTION_OPTIONAL = "ui.question.optional"
    QUESTION_KEPT = "ui.question.kept"
    HINT_CHOICE = "ui.hint.choice"
    HINT_MULTI_UNKNOWN = "ui.hint.multi_unknown"
    HINT_AMBIGUOUS = "ui.hint.ambiguous"
    HINT_DID_YOU_MEAN = "ui.hint.did_you_mean"
    HINT_MIN_CHOICES = "ui.hint.min_choices"
    HINT_EXCLUSIVE = "ui.hint.exclusive"
    HINT_TEXT_EMPTY = "ui.hint.text_empty"
    HINT_TOO_LONG = "ui.hint.too_long"
    HINT_FINISHED = "ui.hint.finished"
    HINT_AT_START = "ui.hint.at_start"
    HINT_STALE = "ui.hint.stale"
    HINT_NO_HELP = "ui.hint.no_help"
    COMMAND_BACK = "ui.command.back"
    COMMAND_RESTART = "ui.command.restart"
    COMMAND_HELP = "ui.command.help"
    COMMAND_QUIT = "ui.command.quit"
    COMMAND_SKIP = "ui.command.skip"
    COMMAND_LANGUAGE = "ui.command.language"
    COMMAND_SUMMARY = "ui.command.summary"
    COMMAND_PRIVACY = "ui.command.privacy"
    COMMAND_FORGET = "ui.command.forget"
    TERMINAL_WELCOME = "ui.terminal.welcome"
    TERMINAL_COMMANDS = "ui.terminal.commands"
    TERMINAL_PICK_FLOW = "ui.terminal.pick_flow"
    TERMINAL_BYE = "ui.terminal.bye"
    TERMINAL_UNKNOWN_FLOW = "ui.terminal.unknown_flow"
    TERMINAL_RESTARTED = "ui.terminal.restarted"
    TERMINAL_AGAIN = "ui.terminal.again"
    TERMINAL_MULTI = "ui.terminal.multi"
    TELEGRAM_WELCOME = "ui.telegram.welcome"
    BACK_TELEGRAM = "ui.back.telegram"
    BACK_TERMINAL = "ui.back.terminal"
    TELEGRAM_IN_LANGUAGE = "ui.telegram.in_language"
    TELEGRAM_MENU = "ui.telegram.menu"
    TELEGRAM_RESUME = "ui.telegram.resume"
    TELEGRAM_DONE = "ui.telegram.done"
    TELEGRAM_BACK = "ui.telegram.back"
    TELEGRAM_SKIP = "ui.telegram.skip"
    TELEGRAM_AGAIN = "ui.telegram.again"
    TELEGRAM_FINISHED = "ui.telegram.finished"
    TELEGRAM_OTHER_FLOWS = "ui.telegram.other_flows"
    TELEGRAM_CHOSEN = "ui.telegram.chosen"
    TELEGRAM_TAP_DONE = "ui.telegram.tap_done"
    TELEGRAM_STALE = "ui.telegram.stale"
    TELEGRAM_NON_TEXT = "ui.telegram.non_text"
    TELEGRAM_GROUP = "ui.telegram.group"
    TELEGRAM_HELP = "ui.telegram.help"
    TELEGRAM_PRIVACY = "ui.telegram.privacy"
    TELEGRAM_FORGET_CONFIRM = "ui.telegram.forget_confirm"
    TELEGRAM_FORGET_YES = "ui.telegram.forget_yes"
    TELEGRAM_FORGET_NO = "ui.telegram.forget_no"
    TELEGRAM_FORGOTTEN = "ui.telegram.forgotten"
    TELEGRAM_KEPT = "ui.telegram.kept"
    TELEGRAM_NOT_DELIVERED = "ui.telegram.not_delivered"
    TELEGRAM_SET_ASIDE = "ui.telegram.set_aside"
    TELEGRAM_NO_SUMMARY = "ui.telegram.no_summary"
    TELEGRAM_EXPIRED = "ui.telegram.expired"
    TELEGRAM_FLOW_CHANGED = "ui.telegram.flow_changed"
    TELEGRAM_FLOW_GONE = "ui.telegram.flow_gone"
    TELEGRAM_UNKNOWN_FLOW = "ui.telegram.unknown_flow"
    TELEGRAM_UNKNOWN_COMMAND = "ui.telegram.unknown_command"
    TELEGRAM_NO_QUESTION = "ui.telegram.no_question"
    TELEGRAM_TOO_LONG = "ui.telegram.too_long"
    ADMIN_DENIED = "ui.admin.denied"
    ADMIN_RELOADED = "ui.admin.reloaded"
    ADMIN_REFUSED = "ui.admin.refused"
    STATS_NONE = "ui.stats.none"
    STATS_HEADER = "ui.stats.header"
    STATS_FLOW = "ui.stats.flow"
    STATS_RECOMMENDATIONS = "ui.stats.recommendations"
    STATS_CAUTIONS = "ui.stats.cautions"
    STATS_STOPPED = "ui.stats.stopped"
    REPORT_BUTTON = "ui.report.button"
    REPORT_TITLE = "ui.report.title"
    REPORT_PICTURE = "ui.report.picture"
    REPORT_CAPTION = "ui.report.caption"
    REPORT_FAILED = "ui.report.failed"
    REPORT_MAKING = "ui.report.making"
    REPORT_NOT_SENT = "ui.report.not_sent"
    REPORT_SENT_ABOVE = "ui.report.sent_above"
    TELEGRAM_TO_CARD = "ui.telegram.to_card"
    TELEGRAM_WAS = "ui.telegram.was"
    TELEGRAM_RESTART_CONFIRM = "ui.telegram.restart_confirm"
    TELEGRAM_RESTART_YES = "ui.telegram.restart_yes"
    TELEGRAM_RESTART_NO = "ui.telegram.restart_no"
    TERMINAL_SAVED = "ui.terminal.saved"
    LANGUAGE_ASK = "ui.language.ask"
    LANGUAGE_NAME = "ui.language.name"
    TELEGRAM_CMD_LANGUAGE = "ui.telegram.cmd.language"
    TELEGRAM_CMD_START = "ui.telegram.cmd.start"
    TELEGRAM_CMD_HELP = "ui.telegram.cmd.help"
    TELEGRAM_CMD_BACK = "ui.telegram.cmd.back"
    TELEGRAM_CMD_RESTART = "ui.telegram.cmd.restart"
    TELEGRAM_CMD_SUMMARY = "ui.telegram.cmd.summary"
    TELEGRAM_CMD_PRIVACY = "ui.telegram.cmd.privacy"
    TELEGRAM_CMD_FORGET = "ui.telegram.cmd.forget"
    # Rules in words (bot.flows.plain.FlowWords): the same ids as plain.WORD_IDS.
    WORDS_ANSWER_TO = "ui.words.answer_to"
    WORDS_FACT = "ui.words.fact"
    WORDS_IS = "ui.words.is"
    WORDS_IS_NOT = "ui.words.is_not"
    WORDS_IS_NEITHER = "ui.words.is_neither"
    WORDS_INCLUDES = "ui.words.includes"
    WORDS_INCLUDES_NOT = "ui.words.includes_not"
    WORDS_INCLUDES_NEITHER = "ui.words.includes_neither"
    WORDS_AT_LEAST = "ui.words.at_least"
    WORDS_FEWER_THAN = "ui.words.fewer_than"
    WORDS_ANSWERED = "ui.words.answered"
    WORDS_NOT_ANSWERED = "ui.words.not_answered"
    WORDS_AND = "ui.words.and"
    WORDS_AND_VOWEL = "ui.words.and_vowel"
    WORDS_OR = "ui.words.or"
    WORDS_NOR = "ui.words.nor"
    WORDS_YES = "ui.words.yes"
    WORDS_NO = "ui.words.no"
    WORDS_ALWAYS = "ui.words.always"
    WORDS_SHOWN_WHEN = "ui.words.shown_when"
    WORDS_RULE = "ui.words.rule"
    WORDS_OTHERWISE = "ui.words.otherwise"
    WORDS_EVERY_PATH = "ui.words.every_path"
    WORDS_EVERY_PATH_WHERE = "ui.words.every_path_where"
    WORDS_ADVICE_IS = "ui.words.advice_is"
    WORDS_NEVER = "ui.words.never"
    WORDS_MUST_CAUTION = "ui.words.must_caution"
    WORDS_MUST_SHOW = "ui.words.must_show"
    WORDS_NEVER_SHOW = "ui.words.never_show"
    WORDS_GOES_TO = "ui.words.goes_to"
    WORDS_GOES_TO_WHEN = "ui.words.goes_to_when"
    WORDS_RESULT = "ui.words.result"
    # The studio's own words (bot/channels/studio).
    STUDIO_NAME = "ui.studio.name"
    STUDIO_SKIP = "ui.studio.skip"
    STUDIO_FLOWS = "ui.studio.flows"
    STUDIO_STATS = "ui.studio.stats"
    STUDIO_TRYING = "ui.studio.trying"
    STUDIO_LANGUAGE = "ui.studio.language"
    STUDIO_RESTARTED = "ui.studio.restarted"
    STUDIO_CHANGED = "ui.studio.changed"
    STUDIO_LAST_GOOD = "ui.studio.last_good"
    STUDIO_WHY = "ui.studio.why"
    STUDIO_RULE_OTHERWISE = "ui.studio.rule_otherwise"
    STUDIO_RULE_FIRST = "ui.studio.rule_first"
    STUDIO_CAUTION_BECAUSE = "ui.studio.caution_because"
    STUDIO_NO_CAUTION = "ui.studio.no_caution"


COMMAND_ALSO = "ui.command.also."
"""Ids of a further word a command is understood by, never shown (``ui.command.also.back:
nol`` keeps the old Welsh ``/nol`` working beside ``/yn_ol``). A locale needs none."""


def also_words(texts: Mapping[str, str]) -> dict[str, str]:
    """One locale's further command words, each to the command it means: ``{"nol": "back"}``."""
    return {
        text.strip(): text_id.removeprefix(COMMAND_ALSO)
        for text_id, text in texts.items()
        if text_id.startswith(COMMAND_ALSO) and text.strip()
    }


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, values: Mapping[str, object]) -> str:
    """Put values into ``{name}`` places; unknown names and other braces stay as written.

    Not ``str.format``: an admin's stray brace must not break a message.
    """
    if not values:
        return template
    return _PLACEHOLDER.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )
