"""The `narrate` command.

    narrate BOOK                 narrate a book (EPUB, .txt, .md) into output/<book>/<book>.m4b
    narrate BOOK --chapters 1-3  only some chapters
    narrate engines              list installed engines and their voices

Re-running a command is cheap: finished segments are never rendered again, and a book whose
output is current is reported "up to date" without starting anything.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from narration.errors import NarrationError, OutOfSpace, is_out_of_space
from narration.heap import bound_heap
from narration.outputs import BOOK, default_formats, format_names, steps

console = Console(stderr=True)


def parse_chapters(spec: str | None) -> list[int] | None:
    """'1-3,5' -> [1, 2, 3, 5]; None -> None (all chapters)."""
    if not spec:
        return None
    chosen: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part:
                first, last = (int(x) for x in part.split("-", 1))
                if first > last:
                    raise ValueError
                chosen.update(range(first, last + 1))
            else:
                chosen.add(int(part))
        except ValueError:
            raise click.BadParameter(f"{spec!r}: use numbers and ranges like 1-3,5") from None
    if min(chosen) < 1:
        raise click.BadParameter(f"{spec!r}: chapters are numbered from 1")
    return sorted(chosen)


class _DefaultToRender(click.Group):
    """`narrate BOOK ...` means `narrate render BOOK ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["render", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultToRender, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="narration")
def app() -> None:
    """Turn a book (EPUB, .txt or .md) into a chaptered, loudness-mastered audiobook.

    \b
    Examples:
      narrate books/the-lighthouse-keeper.epub
      narrate book.epub --chapters 1-3 --out /srv/audiobooks
      narrate book.epub --format m4b --format mp3 --format chapters

    `narrate BOOK` is short for `narrate render BOOK`. Output goes to OUT/<book>/: the .m4b,
    plan.parquet (every segment's text, speaker, voice and duration) and a .cache folder of
    rendered segments, so a killed job resumes where it stopped.
    """
    bound_heap()  # before the run's threads make malloc arenas of their own (narration.heap)


def _option_value(text: str) -> Any:
    """An --engine-option value: a TOML scalar (3, 0.5, true, "x"), else the text itself."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _engine_options(opts: dict[str, Any], narration: str, dialogue: str) -> dict[str, Any]:
    """Each routed engine's options: the config file's [engines.<name>], then the command
    line's --engine-option NAME.KEY=VALUE, then --voice for the narration engine."""
    from narration import config

    options: dict[str, dict[str, Any]] = {}
    for spec in opts["engine_option"]:
        target, equals, value = spec.partition("=")
        name, dot, key = target.rpartition(".")
        if not (dot and equals and name and key):
            raise click.BadParameter(f"{spec!r}: use ENGINE.KEY=VALUE", param_hint="-O")
        options.setdefault(name, {})[key] = _option_value(value)
    merged = {}
    for name in dict.fromkeys([narration, dialogue, *options]):
        merged[name] = {**config.engine_options(name), **options.get(name, {})}
    if opts["narrator_prompt"] or opts["narrator_prompt_text"]:
        if not (opts["narrator_prompt"] and opts["narrator_prompt_text"]):
            raise click.BadParameter(
                "give the clip and its exact transcript together",
                param_hint="--narrator-prompt/--narrator-prompt-text",
            )
        merged.setdefault(narration, {}).update(
            prompt_wav=str(Path(opts["narrator_prompt"]).resolve()),
            prompt_text=opts["narrator_prompt_text"],
        )
    if opts["voice"]:
        if not opts["voice"].endswith(".onnx"):
            raise click.BadParameter(
                f"{opts['voice']!r}: give the path of a Piper voice model (.onnx)",
                param_hint="--voice",
            )
        merged.setdefault(narration, {})["model_path"] = str(Path(opts["voice"]).resolve())
    return merged


def _settings_from_options(opts: dict[str, Any]) -> dict[str, Any]:
    from narration import config

    narration = opts["narration_engine"] or opts["engine"] or config.role_engine("narration")
    dialogue = opts["dialogue_engine"] or opts["engine"] or config.role_engine("dialogue")
    master: dict[str, Any] = {
        "target_lufs": opts["target_lufs"],
        "peak_dbtp": opts["peak_dbtp"],
        "passage_chars": opts["passage_chars"],
    }
    return {
        "out_root": str(opts["out"]),
        "narration_engine": narration,
        "dialogue_engine": dialogue,
        "engine_options": _engine_options(opts, narration, dialogue),
        "processes": opts["processes"],
        "chapters": parse_chapters(opts["chapters"]),
        "notes": opts["notes"],
        "include_front_matter": opts["front_matter"],
        "include_boilerplate": opts["gutenberg_boilerplate"],
        "cast": opts["cast"],
        "lexicon_paths": [str(p) for p in opts["lexicon"]],
        "formats": list(dict.fromkeys(opts["formats"])) or default_formats(BOOK),
        "bitrate": opts["bitrate"],
        "aac_coder": opts["aac_coder"],
        "master": master,
    }


def _quiet_prefect(verbose: bool) -> None:
    """Prefect logs every task at INFO; the progress bar says it better for a person. Its
    telemetry can never reach its server from an offline machine, so it is off."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:
        # Errors too: a failed chapter is reported once, by us, in a line a person can act on,
        # never as Prefect's tracebacks of the task and the flow (-v shows them).
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


class OutRoot(click.ParamType):
    """A folder (kept as given) or an fsspec URL such as s3://bucket/books (kept whole: as a
    Path, "s3://b" would become "s3:/b")."""

    name = "OUT"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value)
        if "://" in text:
            scheme = text.split("://", 1)[0]
            import fsspec

            if scheme not in fsspec.available_protocols():
                self.fail(f"{text!r}: unknown storage scheme {scheme!r}", param, ctx)
        return text


def out_option(help: str) -> Any:
    """`--out/-o`, the output root, as every command that writes or reads books takes it."""
    return click.option(
        "--out", "-o", type=OutRoot(), default="output", show_default=True, help=help
    )


_book_options = [
    click.option(
        "--chapters",
        "-c",
        metavar="RANGES",
        help="Chapters to use, numbered as `narrate plan` lists them: 1-3,7.",
    ),
    click.option(
        "--notes",
        type=click.Choice(["skip", "inline", "chapter-end"]),
        default="skip",
        show_default=True,
        help="What to do with footnotes and endnotes.",
    ),
    click.option("--front-matter", is_flag=True, help="Also read title page, copyright, etc."),
    click.option(
        "--gutenberg-boilerplate",
        is_flag=True,
        help="Also read Project Gutenberg's header, licence and transcriber's notes.",
    ),
    out_option(
        "Output root, a folder or an fsspec URL (s3://bucket/books); a book's files go to "
        "OUT/<book name>/."
    ),
]


def book_options(func: Any) -> Any:
    """The options every command that reads a book shares (render, plan, preview)."""
    for option in reversed(_book_options):
        func = option(func)
    return func


@app.command("render")
@click.argument("book", type=click.Path(path_type=Path))
@book_options
@click.option("--voice", metavar="VOICE", help="Narrator voice: a Piper .onnx model path.")
@click.option(
    "--engine",
    metavar="NAME",
    help="Engine for everything (see `narrate engines`) [default: auto, per role].",
)
@click.option(
    "--narration-engine",
    metavar="NAME",
    help="Engine for narration [default: the config file's, else auto: the best usable one].",
)
@click.option(
    "--dialogue-engine",
    metavar="NAME",
    help="Engine for quoted speech [default: the config file's, else auto].",
)
@click.option(
    "--narrator-prompt",
    type=click.Path(exists=True, dir_okay=False),
    help="A clip of the voice to clone for narration (engines that clone: cosyvoice3).",
)
@click.option(
    "--narrator-prompt-text",
    metavar="TEXT",
    help="The exact transcript of --narrator-prompt.",
)
@click.option(
    "--engine-option",
    "-O",
    "engine_option",
    multiple=True,
    metavar="ENGINE.KEY=VALUE",
    help="An engine option, e.g. -O chattts.device=cpu (repeatable; wins over the config).",
)
@click.option(
    "--processes",
    "-j",
    type=click.IntRange(1, 64),
    help="Worker processes for CPU engines [default: the engine's choice, one per core].",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(format_names(BOOK)),
    help="Output formats (repeatable) [default: m4b]: "
    + "; ".join(f"{s.name} = {s.help}" for s in steps() if BOOK in s.kinds)
    + ".",
)
@click.option("--bitrate", default="64k", show_default=True, help="Audio bitrate for encoding.")
@click.option(
    "--aac-coder",
    type=click.Choice(["fast", "twoloop"]),
    default="fast",
    show_default=True,
    help="ffmpeg's AAC coder: fast, or twoloop (3x the encoding CPU).",
)
@click.option(
    "--cast/--no-cast",
    default=True,
    show_default=True,
    help="Give each character their own voice (cast.toml); --no-cast: narrator only.",
)
@click.option(
    "--lexicon",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pronunciation lexicon (TOML), repeatable; later files win.",
)
@click.option(
    "--target-lufs",
    type=float,
    default=-19.0,
    show_default=True,
    help="Integrated loudness of each chapter (audiobook standard: -18 to -20).",
)
@click.option(
    "--passage-chars",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Level the loudness per passage of about this much text (~2 min of speech, cut at "
    "paragraph ends), so only the last passage is left to master when rendering ends; "
    "0: per chapter.",
)
@click.option(
    "--peak-dbtp",
    type=float,
    default=-3.0,
    show_default=True,
    help="True-peak ceiling, enforced by a limiter.",
)
@click.option("--verbose", "-v", is_flag=True, help="Show Prefect's logs.")
def render(book: Path, verbose: bool, **opts: Any) -> None:
    """Narrate BOOK into OUT/<book>/<book>.m4b with chapters, tags and cover.

    Each sentence is rendered once and kept in a content-addressed store: re-running after a
    crash, or after editing a few sentences, renders only what is missing or changed.
    """
    _quiet_prefect(verbose)
    job_settings, routing_note = _resolved_settings(_settings_from_options(opts))
    narrate_job(book, job_settings, routing_note)


def narrate_job(book: Path, job_settings: Any, routing_note: str = "") -> None:
    """Plan, check and render one job (a book, or a podcast script by its settings' kind),
    then say what was built."""
    started = time.monotonic()
    # No collections until the flow starts (see _render_locked): the imports, the reading and
    # the planning make ~350,000 objects that live to the end, and collecting while they were
    # made freed almost nothing (0.26 s of CPU per job, measured).
    gc.disable()
    settings = job_settings.to_dict()
    first_run = _first_run(book, job_settings)
    renderer = _start_workers_early(book, job_settings) if first_run else None
    # Prefect's API server takes ~4 s to start: from the first moment, beside everything else.
    server = _start_server() if first_run and not os.environ.get("PREFECT_API_URL") else None
    try:
        from narration import pipeline  # scipy, ebooklib...: imported while the workers load

        job = pipeline.prepare_job(book, job_settings)
        _check_chapter_range(job, settings["chapters"])
        outputs = ", ".join(job.location(p) for p in job.output_paths())
        if pipeline.is_up_to_date(job):
            console.print(f"[green]{job.book.title}: up to date[/] ({outputs})")
            return
        if routing_note:
            console.print(
                f"[yellow]note:[/] {escape(routing_note)}", highlight=False, soft_wrap=True
            )
        _warn_about_space(job)
        for defect in job.book.defects:  # read past; listed again in build.json's report
            console.print(f"[yellow]warning:[/] {escape(f'{book}: {defect}')}", highlight=False)
        for engine in job.used_engines():
            if engine.licence_notice:
                console.print(f"[yellow]note:[/] {escape(engine.licence_notice)}", highlight=False)
        summary = _run_flow(job, book, settings, server, renderer)
    finally:
        gc.enable()
        if server is not None:
            server.stop()
        if renderer is not None:
            renderer.close()
    wall_s = time.monotonic() - started
    audio_s = summary["audio_s"]
    console.print(
        f"[green]done:[/] {audio_s / 60:.1f} min of audio in {wall_s:.1f} s "
        f"({audio_s / max(wall_s, 1e-9):.1f}x real time){_levels(summary)} -> "
        f"{', '.join(summary['outputs'])}"
    )


def _warn_about_space(job: Any) -> None:
    from narration.pipeline import space_needed_bytes

    if job.mirror is not None:
        return  # the outputs live at a URL; the mirror's disk holds only what is rendered here
    need = space_needed_bytes(job)
    folder = job.out_dir
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if free < need:
        console.print(
            f"[yellow]warning:[/] {escape(str(job.out_dir))}: this job needs about "
            f"{need / 1e6:.0f} MB more (segments, chapters, outputs) and the disk has "
            f"{free / 1e6:.0f} MB free",
            highlight=False,
        )


def _levels(summary: dict[str, Any]) -> str:
    """The M4B's loudness and true peak as measured on its decoded audio, when they were."""
    if "m4b_integrated_lufs" not in summary:
        return ""
    at_most = "<= " if summary["m4b_true_peak_is_bound"] else ""
    return (
        f", {summary['m4b_integrated_lufs']:.1f} LUFS, "
        f"true peak {at_most}{summary['m4b_true_peak_dbtp']:.1f} dBTP"
    )


def _first_run(book: Path, settings: Any) -> bool:
    """No build.json yet: the book is surely not up to date, so the job's processes can start
    before it is read. Otherwise it likely is, and the check must stay instant."""
    from narration.job_settings import output_dir

    return book.is_file() and not (output_dir(settings, book) / "build.json").exists()


def _start_server() -> Any:
    """A temporary Prefect server for this job (flows/server.py); None if it cannot start (the
    flow then falls back to Prefect's own)."""
    from flows.server import TemporaryServer

    try:
        return TemporaryServer()
    except (OSError, RuntimeError):
        return None


def _check_prompt_engine(settings: Any) -> None:
    """--narrator-prompt needs a narration engine that clones voices (checked once routed)."""
    from narration.engines.registry import engine_class
    from narration.engines.routing import AUTO

    name = settings.narration_engine
    prompted = "prompt_wav" in settings.engine_options.get(name, {})
    if prompted and name != AUTO and not engine_class(name).clones_voices:
        raise click.BadParameter(
            f"the narration engine {name!r} does not clone voices", param_hint="--narrator-prompt"
        )


def _resolved_settings(settings: dict[str, Any]) -> tuple[Any, str]:
    """JobSettings with "auto" roles routed, and the one line to say when an installed engine
    was passed over ("" when none was): which engines speak, and why the other did not."""
    from narration.engines.routing import AUTO, resolve_routing
    from narration.job_settings import JobSettings

    job_settings = JobSettings(**settings)
    _check_prompt_engine(job_settings)
    if AUTO not in (job_settings.narration_engine, job_settings.dialogue_engine):
        return job_settings, ""
    routing = resolve_routing(
        job_settings.narration_engine, job_settings.dialogue_engine, job_settings.engine_options
    )
    for_auto = job_settings.engine_options.pop(AUTO, {})
    for name in dict.fromkeys([routing.narration, routing.dialogue]):
        options = job_settings.engine_options.setdefault(name, {})
        if name == routing.narration and job_settings.narration_engine == AUTO:
            options.update({**for_auto, **options})  # the narrator's prompt goes with it
    resolved = replace(
        job_settings, narration_engine=routing.narration, dialogue_engine=routing.dialogue
    )
    note = ""
    if routing.passed_over:
        note = (
            f"narration by {routing.narration}, dialogue by {routing.dialogue}; not using "
            f"{'; '.join(routing.passed_over)}"
        )
    _check_prompt_engine(resolved)
    return resolved, note


def _start_workers_early(book: Path, settings: Any) -> Any:
    """Spawn the engine workers before reading the book, so their model loads overlap the
    planning (about 1.5 s each on 2 cores)."""
    from narration import job_settings

    try:
        renderer = job_settings.open_renderer(settings, book)
        renderer.warm()
    except NarrationError:
        return None  # an engine that cannot start says so again, properly, when planned
    return renderer


def _run_flow(
    job: Any, book: Path, settings: dict[str, Any], server: Any, renderer: Any
) -> dict[str, Any]:
    """Start the workers on the missing segments, then run the Prefect flow over the job.

    The workers render while Prefect starts up, and the flow's tasks pick up the same
    in-flight work. `server`: a temporary Prefect server already starting, or None.
    """
    from narration.joblock import job_lock

    console.print(
        f"[bold]{job.book.title}[/] by {job.book.author}: {len(job.plan.chapters)} chapters, "
        f"{len(job.plan.segments)} segments"
    )
    with job_lock(job.out_dir):  # before anything is swept or written: one job per book
        return _render_locked(job, book, settings, server, renderer)


def _render_locked(
    job: Any, book: Path, settings: dict[str, Any], server: Any, renderer: Any
) -> dict[str, Any]:
    from flows.server import api_url_configured
    from narration import pipeline, progress
    from narration.cli_progress import RichReporter
    from narration.job_settings import open_renderer
    from narration.jobfile import save_job

    pipeline.remove_partial_files(job)
    own_renderer = None
    if renderer is None:
        renderer = own_renderer = open_renderer(job.settings, job.book_path)
    own_server = None
    with RichReporter(console) as reporter:
        progress.set_reporter(reporter)
        try:
            reporter.job_started(len(job.plan.chapters), *pipeline.render_progress(job))
            renderer.on_segment = lambda _key, seconds: reporter.segment_rendered(seconds)
            pipeline.prefetch(job, renderer)
            if server is None and not api_url_configured():  # a re-run: none started early
                server = own_server = _start_server()
            # Prefect: a second's import, while the workers work
            from flows.narrate import narrate_book, rendering_with
            from flows.server import flow_api

            # What exists now (imported modules, the plan) lives until the end: moving it out
            # of the collector's sight makes each full collection during the render cheap
            # (three of them cost 0.85 s of CPU on a 77-minute job). The few cycles of garbage
            # made with collection off go along; unfreeze() below hands them back.
            gc.freeze()
            gc.enable()
            with flow_api(server):
                if server is not None and server.ready is False:
                    console.print(
                        "[yellow]note:[/] the temporary Prefect server did not start "
                        f"({server.log_tail()}); Prefect starts its own"
                    )
                with rendering_with(renderer):
                    # The flow gets the job as planned here (its file), never plans it again.
                    return narrate_book(str(book), settings, job_file=save_job(job))
        finally:
            gc.unfreeze()  # collectable again, for callers that go on (tests, notebooks)
            progress.set_reporter(None)
            if own_renderer is not None:
                own_renderer.close()
            if own_server is not None:
                own_server.stop()


def _check_chapter_range(job: Any, chapters: list[int] | None) -> None:
    if chapters and max(chapters) > len(job.book.chapters):
        raise NarrationError(
            f"{job.book_path}: --chapters asks for chapter {max(chapters)}, "
            f"but the book has {len(job.book.chapters)}"
        )


def _register_subcommands() -> None:
    import narration.cli_engines  # noqa: F401  (registers engines, engines install/fetch)
    import narration.cli_inspect  # noqa: F401  (registers plan, preview, attribute)
    import narration.cli_jobs  # noqa: F401  (registers status, deploy, serve)
    import narration.cli_podcast  # noqa: F401  (registers podcast)


def _skip_exit_collection() -> None:
    """Spare the interpreter's final garbage collection: after a render, Prefect and the plan
    leave some 400,000 objects, and walking them at exit kept the user waiting a second after
    the summary was printed. Objects still die by reference counting; nothing is left unsaved
    (every output is already renamed into place, and atexit handlers still run)."""
    gc.freeze()


def _say_error(exc: BaseException) -> None:
    """One line; the message is text, never markup (a "[engines.x]" in it must show)."""
    console.print(f"[red]narrate: error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: one-line errors for anything the user can fix, no tracebacks."""
    _register_subcommands()
    try:
        app(standalone_mode=False)
        _skip_exit_collection()
    except (click.exceptions.Abort, KeyboardInterrupt):
        console.print("[red]interrupted[/]: finished segments are kept; run again to resume")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NarrationError as exc:
        _say_error(exc)
        sys.exit(1)
    except OSError as exc:
        if is_out_of_space(exc) and exc.filename:
            exc = OutOfSpace(Path(exc.filename).parent)
        _say_error(exc)
        sys.exit(1)
    except Exception as exc:  # a bug of ours: still one line, the traceback on request
        if os.environ.get("NARRATE_DEBUG"):
            raise
        console.print(
            f"[red]narrate: internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(set NARRATE_DEBUG=1 to see the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(70)
