"""How a studio page is made: the templates, and the studio's own words in the page's language.

The studio's headings, labels and messages are texts (``ui.studio.*`` in
``content/<locale>/ui.yaml``) like everything else the bot says, so a Welsh
reviewer signs off a Welsh page. Templates ask for them by id
(``t(ui.STUDIO_RULES)``); a text is escaped before values are put in, so a
value already made safe (a ``<code>`` span, a language name marked with its
``lang``) keeps its markup and an admin's text cannot add any.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup, escape

from bot.advice.uitext import UI, fill
from bot.flows.catalog import Catalog
from bot.flows.content import TextEntry, collect_texts
from bot.flows.yamltext import YamlProblem, parse

FALLBACK_LOCALE = "en"
"""Whose words the pages use when no catalog has loaded since the studio started."""


@functools.cache
def templates() -> jinja2.Environment:
    """The studio's templates: escaped, strict about unknown names, the text ids at hand.

    One environment per process, for the server and every page of an export
    alike: Jinja compiles a template once per environment."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.channels.studio", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.globals["ui"] = UI
    environment.filters["tag"] = tag
    environment.filters["finding"] = lambda text: tag(text, "span", "finding")
    environment.filters["language"] = language
    return environment


def tag(text: object, name: str, css: str = "") -> Markup:
    """``text`` escaped inside one element: a value a text puts in ``<code>`` or ``<strong>``."""
    attributes = Markup(' class="{}"').format(css) if css else ""
    return Markup("<{0}{1}>{2}</{0}>").format(Markup(name), attributes, text)


def language(name: str, locale: str) -> Markup:
    """A language's name marked as written in that language, for screen readers."""
    return Markup('<span lang="{}">{}</span>').format(locale, name)


class PageWords:
    """The studio's own words in one locale, as a template calls them: ``t(id, name=value)``."""

    def __init__(self, lookup: Callable[[str], str], locale: str) -> None:
        self._lookup = lookup
        self.locale = locale

    @classmethod
    def of(cls, catalog: Catalog | None, locale: str, content_dir: Path | None = None) -> PageWords:
        """``locale``'s words; before any catalog has loaded, the English in the files."""
        if catalog is not None:
            return cls(functools.partial(catalog.text, locale), locale)
        texts = fallback_texts(content_dir) if content_dir is not None else {}
        return cls(lambda text_id: texts.get(text_id, text_id), FALLBACK_LOCALE)

    def __call__(self, text_id: str, **values: Any) -> Markup:
        safe = {name: escape(value) for name, value in values.items()}
        return Markup(fill(str(escape(self._lookup(text_id))), safe))

    def plain(self, text_id: str, **values: Any) -> str:
        """The text with its values, unescaped: for a page title or a value of another text."""
        return fill(self._lookup(text_id), values)


def fallback_texts(content_dir: Path) -> Mapping[str, str]:
    """The English texts read as they are, for pages shown while no catalog has loaded.

    The first load can fail on any file; this reads only ``ui.yaml`` and
    forgives what it can, so the front page can still say what is wrong.
    An id with no text is shown as itself.
    """
    path = content_dir / FALLBACK_LOCALE / "ui.yaml"
    into: dict[str, TextEntry] = {}
    try:
        collect_texts(str(path), parse(path.read_text(encoding="utf-8")), into, [])
    except (OSError, UnicodeDecodeError, YamlProblem):
        return {}
    return {text_id: entry.text for text_id, entry in into.items()}


def link(path: str, lang: str, default: str, **query: str) -> str:
    """``path`` with its query, keeping the page's language unless it is the default."""
    if lang != default:
        query = {**query, "lang": lang}
    return f"{path}?{urlencode(query)}" if query else path
