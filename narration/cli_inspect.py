"""`narrate plan`, `narrate preview` and `narrate attribute`: look before you render."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from narration.cli import app, book_options, parse_chapters
from narration.errors import InputError

# Measured on the bundled Piper voice (joe, length_scale 1.0) over the sample book.
WORDS_PER_MINUTE = 160

_out = Console()


def _job(  # noqa: ANN202
    book: Path,
    chapters: str | None,
    notes: str,
    front_matter: bool,
    out: Path,
    boilerplate: bool = False,
):
    from narration.pipeline import JobSettings, prepare_job

    settings = JobSettings(
        out_root=str(out),
        chapters=parse_chapters(chapters),
        notes=notes,
        include_front_matter=front_matter,
        include_boilerplate=boilerplate,
    )
    return prepare_job(book, settings)


@contextmanager
def _planning_progress(book: Path) -> Iterator[Callable[[str], None]]:
    """A spinner with the elapsed time on stderr while a book is read and planned (a 50 MB
    text takes most of a minute); yields a function that names the next stage. Nothing on a
    stderr that is not a terminal, and it is gone from the screen once planning ends."""
    err = Console(stderr=True)
    if not err.is_terminal:
        yield lambda _stage: None
        return
    try:
        size = f" ({book.stat().st_size / 1e6:.1f} MB)"
    except OSError:
        size = ""  # read_book says what is wrong with it
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True,
    )  # fmt: skip
    with progress:
        task = progress.add_task(f"planning {book.name}{size}: reading, casting, planning")
        yield lambda stage: progress.update(task, description=f"planning {book.name}: {stage}")


@app.command("plan")
@click.argument("book", type=click.Path(path_type=Path))
@book_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (a stable interface).")
def plan_command(
    book: Path,
    chapters: str | None,
    notes: str,
    front_matter: bool,
    gutenberg_boilerplate: bool,
    out: Path,
    as_json: bool,
) -> None:
    """Show what would be narrated, without rendering any audio.

    Prints the chapter tree (title, words, estimated minutes), what is skipped and why, and
    writes the segment plan to OUT/<book>/plan.parquet.

    \b
    --json prints: {"title": str, "author": str,
                    "chapters": [{"title": str, "words": int}],
                    "skipped": [{"title": str, "reason": str}]}
    """
    from narration.pipeline import write_manifest_for

    with _planning_progress(book) as stage:
        job = _job(book, chapters, notes, front_matter, out, gutenberg_boilerplate)
        stage(f"writing {job.manifest_path.name}")
        voiced = [c for c in job.book.chapters if c.index in {p.index for p in job.plan.chapters}]
        write_manifest_for(job)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "title": job.book.title,
                    "author": job.book.author,
                    "chapters": [{"title": c.title, "words": c.words} for c in voiced],
                    "skipped": [{"title": s.title, "reason": s.reason} for s in job.book.skipped],
                    "defects": job.book.defects,
                },
                ensure_ascii=False,
            )
        )
        return
    _out.print(f"[bold]{job.book.title}[/] by {job.book.author} ({job.book.language})")
    table = Table("#", "chapter", "words", "min", "segments", box=None)
    for chapter, planned in zip(voiced, job.plan.chapters, strict=True):
        table.add_row(
            str(chapter.index),
            chapter.title,
            str(chapter.words),
            f"{chapter.words / WORDS_PER_MINUTE:.1f}",
            str(len(planned.segments)),
        )
    _out.print(table)
    words = sum(c.words for c in voiced)
    _out.print(
        f"{len(voiced)} chapters, {words} words, about {words / WORDS_PER_MINUTE / 60:.1f} h"
    )
    for skipped in job.book.skipped:
        _out.print(f"[dim]skipped: {skipped.title} ({skipped.reason})[/]")
    for defect in job.book.defects:
        _out.print(f"[yellow]warning:[/] {escape(f'{book}: {defect}')}", highlight=False)
    _out.print(f"plan written to {job.manifest_path}")


def _diff_line(source: str, spoken: str) -> tuple[Text, Text]:
    left, right = Text(), Text()
    a, b = source.split(), spoken.split()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(" ".join(a[i1:i2]) + " ")
            right.append(" ".join(b[j1:j2]) + " ")
        else:
            if i2 > i1:
                left.append(" ".join(a[i1:i2]) + " ", style="bold red")
            if j2 > j1:
                right.append(" ".join(b[j1:j2]) + " ", style="bold green")
    return left, right


@app.command("preview")
@click.argument("book", type=click.Path(path_type=Path))
@click.option("--chapter", "-n", type=int, required=True, help="Chapter number (as in `plan`).")
@click.option("--notes", type=click.Choice(["skip", "inline", "chapter-end"]), default="skip")
@click.option("--front-matter", is_flag=True)
@click.option("--gutenberg-boilerplate", is_flag=True)
@click.option("--all", "show_all", is_flag=True, help="Show unchanged sentences too.")
def preview_command(
    book: Path,
    chapter: int,
    notes: str,
    front_matter: bool,
    gutenberg_boilerplate: bool,
    show_all: bool,
) -> None:
    """Show a chapter's source text beside the text that will be spoken, changes highlighted."""
    job = _job(book, str(chapter), notes, front_matter, Path("output"), gutenberg_boilerplate)
    if not job.plan.chapters:
        raise InputError(book, f"there is no chapter {chapter} (see `narrate plan`)")
    planned = job.plan.chapters[0]
    table = Table(
        "speaker", "source", "spoken", title=f"{planned.index}. {planned.title}", show_lines=True
    )
    changed = 0
    for segment in planned.segments:
        if segment.text.split() == segment.spoken_text.split() and not show_all:
            continue
        changed += segment.text.split() != segment.spoken_text.split()
        left, right = _diff_line(segment.text, segment.spoken_text)
        table.add_row(segment.speaker, left, right)
    _out.print(table)
    _out.print(f"{changed} of {len(planned.segments)} segments are changed by normalisation")


@app.command("attribute")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON lines: start, end, text, speaker, aliases, confidence (a stable interface).",
)
@click.option(
    "--review",
    is_flag=True,
    help="Only the low-confidence attributions, with their context, for a person to check.",
)
@click.option(
    "--below",
    type=float,
    default=0.7,
    show_default=True,
    help="With --review: list attributions whose confidence is under this.",
)
def attribute_command(file: Path, as_json: bool, review: bool, below: float) -> None:
    """Find every quotation in a UTF-8 text file and say who speaks it.

    Offsets are 0-based, end-exclusive character offsets of the quotation's content (without
    quote marks; a quotation interrupted by a speech tag spans from its first piece to its last).
    """
    from narration.cast.attribute import attribute, attribution_json_lines

    try:
        text = file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(file, "no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if as_json:
        for line in attribution_json_lines(text):
            click.echo(line)
        return
    if review:
        doubtful = [q for q in attribute(text) if q.confidence < below]
        for quote in doubtful:
            before = " ".join(text[max(0, quote.start - 120) : quote.start].split())
            after = " ".join(text[quote.end : quote.end + 80].split())
            _out.print(
                f"[bold]{quote.speaker}[/] ({quote.confidence:.2f}, {quote.method}) "
                f"at {quote.start}:",
                highlight=False,
            )
            _out.print(
                f"  ...{before} >>{' '.join(quote.text.split())}<< {after}...",
                highlight=False,
                markup=False,
            )
        _out.print(f"{len(doubtful)} attributions below confidence {below}")
        return
    table = Table("speaker", "conf", "quotation", box=None)
    for quote in attribute(text):
        table.add_row(quote.speaker, f"{quote.confidence:.2f}", quote.text[:80])
    _out.print(table)
