"""The studio's web server: aiohttp on 127.0.0.1, pages rendered with Jinja2.

Every page works without JavaScript; one small script (``static/studio.js``)
only reloads the front and flow pages when the files were loaded again.

Flows are loaded as the bot loads them (``bot.child_loader``, a child
process, so the server never stalls on the proofs) and reloaded when a YAML
file changes; a broken edit's findings are shown while the last good
version stays in use. A try-out keeps its session in the page, signed so a
hand-edited form cannot feed the engine a session it never made; nothing
is written to the bot's database.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from aiohttp import web
from yarl import URL

from bot.advice import engine
from bot.advice.changes import KIND_NAMES, PART_NAMES, by_part
from bot.advice.engine import Session, SessionError, Step
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.studio.pages import FALLBACK_LOCALE, PageWords, link, templates
from bot.channels.studio.versions import VersionError, changes_since
from bot.channels.studio.views import explain, flow_statuses, flow_view
from bot.child_loader import load_in_child
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.findings import Finding, Severity
from bot.flows.graph import to_dot
from bot.flows.model import QuestionKind
from bot.results.pictures import PictureError, svg, svg_element
from bot.sources import resolve
from bot.store.conversations import Store

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
"""Only this machine: the studio has no login, and shows drafts."""

POLL_SECONDS = 1.0
"""How often the flow and text files are looked at for changes."""

TEXTAREA_FROM = 200
"""Text questions allowing this many characters or more get a multi-line box."""

STATS_DAYS = 30.0

_SCRIPT = (files("bot.channels.studio") / "static" / "studio.js").read_bytes()


@dataclass(slots=True)
class Loaded:
    """What the latest load found, and the last catalog that loaded."""

    catalog: Catalog | None = None
    findings: list[Finding] = field(default_factory=list)
    flow_files: list[str] = field(default_factory=list)
    loaded_at: float = 0.0
    generation: int = 0
    """Counts the loads, so a page can tell that the files were read again."""
    pictures: dict[tuple[str, str], str] = field(default_factory=dict)
    """Each flow's diagram, drawn in one language: by (flow id, locale)."""
    fallback: PageWords | None = None
    """The pages' words while no catalog has loaded: the English in the files, as they are."""


class Studio:
    """The flows as last loaded, kept current by a watcher, and the pages over them."""

    def __init__(self, store: Store | None = None, poll: float = POLL_SECONDS) -> None:
        self.store = store
        self.poll = poll
        self.loaded = Loaded()
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._key = secrets.token_bytes(32)
        self._pictures_lock = asyncio.Lock()
        self.templates = templates()

    # --- Loading and watching ------------------------------------------------

    async def reload_if_changed(self) -> bool:
        """Load again when a flow or text file was added, removed or changed."""
        signature, stems = await asyncio.to_thread(_files)
        if signature == self._signature:
            return False
        report = await load_in_child()
        self._signature = signature  # only now: a load that raised is tried again next tick
        self.loaded.findings = report.findings
        self.loaded.flow_files = stems
        self.loaded.loaded_at = time.time()
        self.loaded.generation += 1
        if report.catalog is not None:
            self.loaded.catalog = report.catalog
            self.loaded.pictures = {}
        elif self.loaded.catalog is None:
            self.loaded.fallback = await asyncio.to_thread(
                PageWords.of, None, FALLBACK_LOCALE, resolve(None).content_dir
            )
        log.info("flows loaded: %d finding(s)", len(report.findings))
        return True

    async def watch(self) -> None:
        """Reload on every change until cancelled."""
        while True:
            await asyncio.sleep(self.poll)
            try:
                await self.reload_if_changed()
            except OSError as exc:  # a file vanished between the listing and the read
                log.warning("could not look at the flow files: %s", exc)

    # --- Pages -----------------------------------------------------------------

    def language(self, request: web.Request) -> str:
        """The page's language: ``?lang=`` when the flows have it, else the default locale."""
        catalog = self.loaded.catalog
        if catalog is None:
            return FALLBACK_LOCALE
        asked = request.query.get("lang", "")
        return asked if asked in catalog.texts else catalog.default_locale

    def words(self, locale: str) -> PageWords:
        """The studio's own words in ``locale``."""
        if self.loaded.catalog is None and self.loaded.fallback is not None:
            return self.loaded.fallback
        return PageWords.of(self.loaded.catalog, locale)

    def page(
        self, request: web.Request, template: str, status: int = 200, **values: Any
    ) -> web.Response:
        """A page in the language the request asked for, with the menu and the language links."""
        catalog = self.loaded.catalog
        lang = values.setdefault("lang", self.language(request))
        default = catalog.default_locale if catalog is not None else FALLBACK_LOCALE
        locales = catalog.locales if catalog is not None else ()
        names = {loc: catalog.text(loc, UI.LANGUAGE_NAME) for loc in locales} if catalog else {}
        query = {k: v for k, v in request.query.items() if k != "lang"}

        def here(path: str, **extra: str) -> str:
            return link(path, lang, default, **extra)

        values.setdefault("follow", False)
        values.setdefault("switch", len(locales) > 1)
        values.setdefault("generation", self.loaded.generation)
        values.setdefault("locales", locales)
        values.setdefault("language_names", names)
        values.setdefault("t", self.words(lang))
        values.setdefault("here", here)
        values.setdefault("default_lang", default)
        values.setdefault(
            "languages",
            [(loc, names[loc], link(request.path, loc, default, **query)) for loc in locales],
        )
        html = self.templates.get_template(template).render(**values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def broken(self) -> bool:
        """Whether the files as they are now have errors, so the last good version is served."""
        return any(f.severity is Severity.ERROR for f in self.loaded.findings)

    def missing(self, request: web.Request, flow_id: str) -> web.Response:
        words = self.words(self.language(request))
        return self.page(
            request,
            "message.html",
            status=404,
            title=words.plain(UI.STUDIO_NOT_FOUND),
            message=words.plain(UI.STUDIO_NO_FLOW, flow=flow_id),
        )

    async def index(self, request: web.Request) -> web.Response:
        lang = self.language(request)
        statuses, other = flow_statuses(
            self.loaded.catalog, self.loaded.flow_files, self.loaded.findings, lang
        )
        return self.page(
            request,
            "index.html",
            follow=True,
            title=self.words(lang).plain(UI.STUDIO_FLOWS),
            flows=statuses,
            other=other,
            loaded_at=time.strftime("%H:%M:%S", time.localtime(self.loaded.loaded_at)),
        )

    def flow_or_none(self, flow_id: str) -> CompiledFlow | None:
        catalog = self.loaded.catalog
        return catalog.flows.get(flow_id) if catalog is not None else None

    async def flow(self, request: web.Request) -> web.Response:
        flow_id = request.match_info["flow"]
        flow = self.flow_or_none(flow_id)
        catalog = self.loaded.catalog
        if flow is None or catalog is None:
            return self.missing(request, flow_id)
        lang = self.language(request)
        picture, problem = await self.picture(flow, lang)
        view = flow_view(catalog, flow, self.loaded.findings, lang)
        return self.page(
            request,
            "flow.html",
            follow=True,
            title=catalog.text(lang, flow.model.title),
            view=view,
            picture=picture,
            picture_problem=problem,
            findings=[f for f in self.loaded.findings if Path(f.file).stem == flow_id],
        )

    async def changes(self, request: web.Request) -> web.Response:
        """This flow against the version in git (``?ref=``, default HEAD), in words."""
        flow_id = request.match_info["flow"]
        catalog = self.loaded.catalog
        if self.flow_or_none(flow_id) is None or catalog is None:
            return self.missing(request, flow_id)
        lang = self.language(request)
        words = self.words(lang)
        ref = request.query.get("ref", "").strip() or "HEAD"
        values: dict[str, Any] = {"flow_id": flow_id, "base": ref[:100], "commit": ""}
        try:
            found = await changes_since(catalog, flow_id, ref, lang)
        except VersionError as exc:
            values["problem"] = words.plain(exc.text_id, **exc.values)
        else:
            values |= {
                "commit": found.commit,
                "problem": "",
                "changes": found,
                "parts": by_part(found),
                "part_names": PART_NAMES,
                "kind_names": KIND_NAMES,
            }
        return self.page(
            request,
            "changes.html",
            title=words.plain(UI.STUDIO_CHANGES_TITLE, flow=flow_id, base=values["base"]),
            **values,
        )

    async def picture(self, flow: CompiledFlow, locale: str) -> tuple[str, str]:
        """The flow's SVG in ``locale`` (drawn once per loaded version), or why it could not be."""
        catalog = self.loaded.catalog
        assert catalog is not None
        async with self._pictures_lock:
            pictures = self.loaded.pictures
            if (flow.id, locale) not in pictures:
                dot = to_dot(flow.model, catalog.texts.get(locale))
                try:
                    drawn = await asyncio.to_thread(svg, dot)
                except PictureError as exc:
                    return "", str(exc)
                pictures[flow.id, locale] = _inline(drawn, flow.id)
            return pictures[flow.id, locale], ""

    async def try_flow(self, request: web.Request) -> web.Response:
        flow_id = request.match_info["flow"]
        flow = self.flow_or_none(flow_id)
        catalog = self.loaded.catalog
        if flow is None or catalog is None:
            return self.missing(request, flow_id)
        locale = self.language(request)
        words = Renderer(catalog, locale)
        notice = ""
        session = engine.start(flow)
        problem = ""
        if request.method == "POST":
            form = await request.post()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            restored = self.restore(fields.get("state", ""))
            if restored is None or restored.flow_id != flow.id:
                notice = words.t(UI.STUDIO_RESTARTED)
            else:
                session = restored
                if session.flow_version != flow.version:
                    session, _ = engine.resume(flow, session)
                    notice = words.t(UI.STUDIO_CHANGED, version=flow.version)
                step = _act(flow, session, fields, locale, words)
                session = step.session
                if step.problem is not None:
                    problem = words.problem(flow, session, step.problem)
        return self.page(
            request,
            "try.html",
            title=words.t(flow.model.title),
            flow=flow,
            lang=locale,
            switch=False,  # the page has its own, beside what is being tried
            last_good=words.t(UI.STUDIO_LAST_GOOD) if self.broken() else "",
            state=self.seal(session),
            notice=notice,
            problem=problem,
            **_question_or_result(flow, session, words),
        )

    async def stats(self, request: web.Request) -> web.Response:
        words = self.words(self.language(request))
        title = words.plain(UI.STUDIO_STATS)
        if self.store is None:
            return self.page(
                request,
                "message.html",
                title=title,
                message=words.plain(UI.STUDIO_NO_STORE, option="--db PATH_OR_URL"),
            )
        try:
            days = max(1.0, min(366.0, float(request.query.get("days", STATS_DAYS))))
        except ValueError:
            days = STATS_DAYS
        from bot.channels.studio.figures import read_figures

        figures = await read_figures(self.store, days, self.loaded.catalog, words.locale)
        return self.page(request, "stats.html", title=title, days=days, figures=figures)

    async def generation(self, request: web.Request) -> web.Response:
        """Which load the studio is on; studio.js reloads a page when it changes."""
        return web.Response(text=str(self.loaded.generation))

    async def script(self, request: web.Request) -> web.Response:
        return web.Response(body=_SCRIPT, content_type="text/javascript", charset="utf-8")

    # --- The try-out's state, kept in the page -------------------------------

    def seal(self, session: Session) -> str:
        """The session as a form value: JSON, base64, and an HMAC over it."""
        body = base64.urlsafe_b64encode(
            json.dumps(session.to_json(), separators=(",", ":")).encode("utf-8")
        ).decode("ascii")
        return f"{body}.{self._sign(body)}"

    def restore(self, sealed: str) -> Session | None:
        """The session a form carried, or None if it was not sealed here or is malformed."""
        body, _, signature = sealed.rpartition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
            return Session.from_json(data)
        except (binascii.Error, ValueError, SessionError, UnicodeDecodeError):
            return None

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).hexdigest()

    # --- The application -------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/", self.index)
        app.router.add_get("/flows/{flow}", self.flow)
        app.router.add_get("/changes/{flow}", self.changes)
        app.router.add_get("/try/{flow}", self.try_flow)
        app.router.add_post("/try/{flow}", self.try_flow)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/loaded", self.generation)
        app.router.add_get("/studio.js", self.script)
        app.middlewares.append(_local_only)
        app.middlewares.append(_headers)
        return app


LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
"""The names a page of the studio may be asked for: listening on loopback is not enough,
because a page elsewhere can point its own domain at 127.0.0.1 (DNS rebinding)."""


@web.middleware
async def _local_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """Serve only requests addressed to loopback by name, and posts from the studio's own pages.

    Drafts and usage figures must not be readable by another site the admin has
    open: a rebinding page sends its own ``Host``, and a cross-site form sends
    its own ``Origin``.
    """
    host = request.host or ""
    try:
        name = URL(f"http://{host}").host
    except ValueError:
        name = None
    if name not in LOCAL_NAMES:
        raise web.HTTPMisdirectedRequest(text="The studio answers only to 127.0.0.1 or localhost.")
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin is not None and origin != f"http://{host}":
        raise web.HTTPForbidden(text="A try-out page can be posted only from the studio itself.")
    return await handler(request)


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    """No framing by other pages and no outside scripts: the studio shows drafts."""
    response: web.StreamResponse = await handler(request)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
        "img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _act(
    flow: CompiledFlow, session: Session, fields: Mapping[str, str], locale: str, words: Renderer
) -> Step:
    """Apply what the pressed button asked for: the same engine calls as Telegram's buttons."""
    action = fields.get("action", "")
    if action == "restart":
        return Step(engine.start(flow))
    if action == "back":
        return engine.back(flow, session)
    if action == "confirm":
        return engine.confirm(flow, session)
    if action == "skip":
        skip = words.t(UI.COMMAND_SKIP)
        return engine.answer(flow, session, skip, locale, skip)
    question = engine.current(flow, session)
    if "option" in fields and question is not None:
        if question.model.kind is QuestionKind.MULTI:
            return engine.toggle(flow, session, fields["option"])
        return engine.choose(flow, session, fields["option"])
    if "answer" in fields:
        return engine.answer(flow, session, fields["answer"], locale, words.t(UI.COMMAND_SKIP))
    return Step(session)


def _question_or_result(flow: CompiledFlow, session: Session, words: Renderer) -> dict[str, Any]:
    """The values the try page needs for where the session stands."""
    buttons = {
        "back": words.t(UI.TELEGRAM_BACK),
        "restart": words.t(UI.TELEGRAM_AGAIN),
        "done": words.t(UI.TELEGRAM_DONE),
        "skip": words.t(UI.TELEGRAM_SKIP),
    }
    if session.finished:
        result = engine.result(flow, session)
        return {
            "buttons": buttons,
            "prompt": None,
            "heading": "",
            "blocks": words.result(flow, result),
            "explanation": explain(words, flow, result),
            "multiline": False,
        }
    prompt = words.prompt(flow, session)
    return {
        "buttons": buttons,
        "prompt": prompt,
        "heading": f"{words.number(prompt)}: {prompt.text}",
        "blocks": [],
        "explanation": None,
        "multiline": prompt.max_length >= TEXTAREA_FROM,
    }


def _inline(picture: str, flow_id: str) -> str:
    """Graphviz's SVG made ready to sit in a page: no XML prologue, named for screen readers."""
    return svg_element(picture).replace(
        "<svg", f'<svg role="img" aria-labelledby="diagram-caption" id="diagram-{flow_id}"', 1
    )


def _files() -> tuple[tuple[tuple[str, int, int], ...], list[str]]:
    """Every flow and text file with its modification time and size; and the flow ids on disk."""
    place = resolve(None)
    files = list(place.flow_files)
    if place.content_dir.is_dir():  # the texts, and files beside them such as the glossary
        files += sorted(place.content_dir.glob("*.yaml"))
        files += sorted(place.content_dir.glob("*/*.yaml"))
    signature = []
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            info = path.stat()
            signature.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(signature), [p.stem for p in place.flow_files]


async def serve(port: int, store: Store | None = None) -> None:
    """Load the flows, then serve the studio until cancelled; ``store`` feeds /stats."""
    studio = Studio(store)
    await studio.reload_if_changed()
    runner = web.AppRunner(studio.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    watcher = asyncio.create_task(studio.watch())
    print(f"Studio: http://{HOST}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await runner.cleanup()
