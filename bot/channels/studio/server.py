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

import jinja2
from aiohttp import web
from yarl import URL

from bot.advice import engine
from bot.advice.changes import PART_NAMES, by_part
from bot.advice.engine import Session, SessionError, Step
from bot.advice.render import Renderer
from bot.advice.uitext import UI
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

_ENGLISH = {
    UI.STUDIO_NAME: "Engagement Advisor studio",
    UI.STUDIO_SKIP: "Skip to content",
    UI.STUDIO_FLOWS: "Flows",
    UI.STUDIO_STATS: "Usage figures",
}
"""The menu's words before any texts have loaded (the first load failed): nothing else to say."""

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
    pictures: dict[str, str] = field(default_factory=dict)


class Studio:
    """The flows as last loaded, kept current by a watcher, and the pages over them."""

    def __init__(self, store: Store | None = None, poll: float = POLL_SECONDS) -> None:
        self.store = store
        self.poll = poll
        self.loaded = Loaded()
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._key = secrets.token_bytes(32)
        self._pictures_lock = asyncio.Lock()
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("bot.channels.studio", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )

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

    def page(self, template: str, status: int = 200, **values: Any) -> web.Response:
        catalog = self.loaded.catalog
        values.setdefault("lang", "en")
        values.setdefault("follow", False)
        values.setdefault("generation", self.loaded.generation)
        values.setdefault("locales", catalog.locales if catalog is not None else ())
        values.setdefault("chrome", self.chrome(values["lang"]))
        values.setdefault(
            "language_names",
            {loc: catalog.text(loc, UI.LANGUAGE_NAME) for loc in catalog.locales}
            if catalog is not None
            else {},
        )
        html = self.templates.get_template(template).render(**values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def chrome(self, locale: str) -> dict[str, str]:
        """The studio's own words around every page (name, skip link, menu) in ``locale``."""
        catalog = self.loaded.catalog

        def say(text_id: UI) -> str:
            return catalog.text(locale, text_id) if catalog is not None else _ENGLISH[text_id]

        return {
            "name": say(UI.STUDIO_NAME),
            "skip": say(UI.STUDIO_SKIP),
            "flows": say(UI.STUDIO_FLOWS),
            "stats": say(UI.STUDIO_STATS),
        }

    def broken(self) -> bool:
        """Whether the files as they are now have errors, so the last good version is served."""
        return any(f.severity is Severity.ERROR for f in self.loaded.findings)

    def missing(self, what: str) -> web.Response:
        return self.page("message.html", status=404, title="Not found", message=what)

    async def index(self, request: web.Request) -> web.Response:
        statuses, other = flow_statuses(
            self.loaded.catalog, self.loaded.flow_files, self.loaded.findings
        )
        return self.page(
            "index.html",
            follow=True,
            title="Flows",
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
        if flow is None or self.loaded.catalog is None:
            return self.missing(f"No flow '{flow_id}' is loaded.")
        picture, problem = await self.picture(flow)
        view = flow_view(self.loaded.catalog, flow, self.loaded.findings)
        return self.page(
            "flow.html",
            follow=True,
            title=view.title.by_locale[0],
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
            return self.missing(f"No flow '{flow_id}' is loaded.")
        ref = request.query.get("ref", "").strip() or "HEAD"
        try:
            found = await changes_since(catalog, flow_id, ref)
        except VersionError as exc:
            return self.page(
                "changes.html",
                title=f"{flow_id}: changes",
                flow_id=flow_id,
                base=ref[:100],
                commit="",
                problem=str(exc),
            )
        return self.page(
            "changes.html",
            title=f"{flow_id}: changes since {ref}",
            flow_id=flow_id,
            base=ref,
            commit=found.commit,
            problem="",
            changes=found,
            parts=by_part(found),
            part_names=PART_NAMES,
        )

    async def picture(self, flow: CompiledFlow) -> tuple[str, str]:
        """The flow's SVG (drawn once per loaded version), or why it could not be drawn."""
        catalog = self.loaded.catalog
        assert catalog is not None
        async with self._pictures_lock:
            pictures = self.loaded.pictures
            if flow.id not in pictures:
                dot = to_dot(flow.model, catalog.texts.get(catalog.default_locale))
                try:
                    pictures[flow.id] = _inline(await asyncio.to_thread(svg, dot), flow.id)
                except PictureError as exc:
                    return "", str(exc)
            return pictures[flow.id], ""

    async def try_flow(self, request: web.Request) -> web.Response:
        flow_id = request.match_info["flow"]
        flow = self.flow_or_none(flow_id)
        catalog = self.loaded.catalog
        if flow is None or catalog is None:
            return self.missing(f"No flow '{flow_id}' is loaded.")
        locale = request.query.get("lang", catalog.default_locale)
        if locale not in catalog.texts:
            locale = catalog.default_locale
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
            "try.html",
            title=words.t(flow.model.title),
            flow=flow,
            lang=locale,
            locale=locale,
            last_good=words.t(UI.STUDIO_LAST_GOOD) if self.broken() else "",
            said={
                "trying": words.t(UI.STUDIO_TRYING, version=flow.version),
                "language": words.t(UI.STUDIO_LANGUAGE),
                "why": words.t(UI.STUDIO_WHY),
                "no_caution": words.t(UI.STUDIO_NO_CAUTION),
            },
            state=self.seal(session),
            notice=notice,
            problem=problem,
            **_question_or_result(flow, session, words),
        )

    async def stats(self, request: web.Request) -> web.Response:
        if self.store is None:
            return self.page(
                "message.html",
                title="Usage figures",
                message="Start the studio with --db PATH_OR_URL to see the bot's usage figures.",
            )
        try:
            days = max(1.0, min(366.0, float(request.query.get("days", STATS_DAYS))))
        except ValueError:
            days = STATS_DAYS
        from bot.channels.studio.figures import read_figures

        figures = await read_figures(self.store, days, self.loaded.catalog)
        return self.page("stats.html", title="Usage figures", days=days, figures=figures)

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
