"""A job's settings and where its files go: light to import (no scipy, ebooklib or Prefect),
so the CLI can start the engine workers before it imports the rest of the pipeline."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from narration.audio.master import MasterSettings
    from narration.render.router import Renderer
    from narration.storage import Mirror

from narration.outputs import BOOK, PODCAST, default_formats, format_names

FORMATS = format_names()  # every output step's name (narration.outputs), for any kind of job
__all__ = ["BOOK", "FORMATS", "PODCAST", "JobSettings"]


@dataclass
class JobSettings:
    """Everything a user can choose for one book. Plain values: it travels as flow parameters.

    `narration_engine` and `dialogue_engine` are engine names, resolved from "auto" by
    narration.engines.routing before a job is planned; `engine_options` maps an engine name
    to its options."""

    out_root: str = "output"
    narration_engine: str = "piper"
    dialogue_engine: str = "piper"
    engine_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: int | None = None  # for CPU-pool engines; None: the engine's recommendation
    chapters: list[int] | None = None  # 1-based; None = all
    notes: str = "skip"
    include_front_matter: bool = False
    include_boilerplate: bool = False  # Project Gutenberg's header, licence, notes
    lexicon_paths: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=lambda: default_formats(BOOK))
    bitrate: str = "64k"
    aac_coder: str = "fast"  # ffmpeg's AAC coder: fast, or twoloop (3x slower)
    seed: int = 0
    cast: bool = True  # attribute quotations and give characters their own voices
    master: dict[str, Any] = field(default_factory=dict)  # MasterSettings overrides
    retries: int = 2  # a chapter whose engine or I/O failed is tried again this many times
    retry_delay_s: float = 2.0  # before the first retry; doubled for each next (with jitter)
    kind: str = BOOK  # or PODCAST: the input is a script (narration.podcast), not a book
    templates: str | None = None  # a folder whose podcast templates override ours
    base_url: str = ""  # where a podcast's files are served (the feed's enclosure URLs)
    intro: bool = True  # a podcast's host intro and outro lines
    intro_music: str | None = None  # a podcast's music files (else its front matter's)
    outro_music: str | None = None

    def master_settings(self) -> MasterSettings:
        from narration.audio.master import MasterSettings

        return MasterSettings(**self.master)

    def engines(self) -> dict[str, dict[str, Any]]:
        """Every engine the job routes to, with its options (narration's first)."""
        names = dict.fromkeys([self.narration_engine, self.dialogue_engine])
        return {name: dict(self.engine_options.get(name, {})) for name in names}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def output_dir(settings: JobSettings, book_path: str | Path) -> Path:
    """Where a book's files are written: OUT/<book>, or, when OUT is a URL, the local mirror
    of URL/<book> (see narration.storage)."""
    from narration.storage import is_url, mirror_root

    root = mirror_root(settings.out_root) if is_url(settings.out_root) else Path(settings.out_root)
    return root / book_slug(Path(book_path))


def output_mirror(settings: JobSettings, book_path: str | Path) -> Mirror | None:
    """The mirror of the book's folder at the output URL; None when OUT is a local path."""
    from narration.storage import Mirror, is_url

    if not is_url(settings.out_root):
        return None
    url = f"{settings.out_root.rstrip('/')}/{book_slug(Path(book_path))}"
    return Mirror(url, output_dir(settings, book_path))


def book_slug(book_path: Path) -> str:
    """The book's folder and file name: its file name's stem, made safe. It never starts with
    '-' (other tools would read it as an option) or '.' (a hidden file)."""
    return re.sub(r"[^\w.-]+", "_", book_path.stem).lstrip("-._").rstrip("._") or "book"


def store_root(settings: JobSettings, book_path: str | Path) -> Path:
    """The segment store of a book's job: OUT/<book>/.cache/segments (locally)."""
    return output_dir(settings, book_path) / ".cache" / "segments"


def resolve_settings(settings: JobSettings) -> JobSettings:
    """`settings` with each role's "auto" replaced by the engine routed to (see routing)."""
    from narration.engines.routing import AUTO, resolve_routing

    if AUTO not in (settings.narration_engine, settings.dialogue_engine):
        return settings
    routing = resolve_routing(
        settings.narration_engine, settings.dialogue_engine, settings.engine_options
    )
    return replace(settings, narration_engine=routing.narration, dialogue_engine=routing.dialogue)


def open_renderer(settings: JobSettings, book_path: str | Path) -> Renderer:
    """The render layer for this book's job, before the book is read (so the CLI can start
    the workers and their model loads while it is still planning)."""
    from narration.render.router import Renderer

    return Renderer(
        str(store_root(settings, book_path)),
        settings.engines(),
        processes=settings.processes,
        mirror=output_mirror(settings, book_path),
    )
