"""A job's settings and where its files go: light to import (no scipy, ebooklib or Prefect),
so the CLI can start the engine workers before it imports the rest of the pipeline."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from narration.engines.host import EngineHost, shared_host
from narration.engines.registry import create_engine

if TYPE_CHECKING:
    from narration.audio.master import MasterSettings
    from narration.engines.base import Engine

FORMATS = ("m4b", "mp3", "chapters")


@dataclass
class JobSettings:
    """Everything a user can choose for one book. Plain values: it travels as flow parameters."""

    out_root: str = "output"
    engine: str = "piper"
    engine_options: dict[str, Any] = field(default_factory=dict)
    processes: int | None = None  # None: the engine's recommendation
    chapters: list[int] | None = None  # 1-based; None = all
    notes: str = "skip"
    include_front_matter: bool = False
    lexicon_paths: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=lambda: ["m4b"])
    bitrate: str = "64k"
    aac_coder: str = "fast"  # ffmpeg's AAC coder: fast, or twoloop (3x slower)
    seed: int = 0
    cast: bool = True  # attribute quotations and give characters their own voices
    master: dict[str, Any] = field(default_factory=dict)  # MasterSettings overrides

    def master_settings(self) -> MasterSettings:
        from narration.audio.master import MasterSettings

        return MasterSettings(**self.master)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def book_slug(book_path: Path) -> str:
    return re.sub(r"[^\w.-]+", "_", book_path.stem).strip("._") or "book"


def engine_host_for(
    book_path: Path, settings: JobSettings, engine: Engine | None = None
) -> tuple[EngineHost, bool]:
    """engine_host() before the book is read: the same host, found by the same key, so the CLI
    can start the workers (and their model loads) while it is still planning."""
    engine = engine or create_engine(settings.engine, **settings.engine_options)
    processes = settings.processes or engine.recommended_processes()
    store_root = Path(settings.out_root) / book_slug(Path(book_path)) / ".cache" / "segments"
    return shared_host(
        settings.engine, str(store_root), settings.engine_options, processes, engine.batch_size
    )
