"""The job's steps as plain library calls: prepare, render, master (narration.chapter_audio),
package, record.

flows/ wraps each step in a Prefect task; the CLI's up-to-date check and the tests call them
directly. Output layout, under out_root/<book stem>/:
    <stem>.m4b            the audiobook (plus <stem>.mp3 / chapters/ when asked)
    plan.parquet          the segment manifest (text, speaker, voice, key, duration)
    build.json            what was built from what: the up-to-date check reads it
    .cache/segments/      content-addressed rendered segments (the checkpoints)
    .cache/chapters/      mastered chapters, named by their content fingerprint
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import soundfile as sf

from narration import outputs
from narration.atomic import atomic_path, atomic_write_json
from narration.audio.aac_stream import AacStream
from narration.chapter_audio import pending_jobs
from narration.engines.base import Engine
from narration.engines.registry import create_engine
from narration.errors import InputError
from narration.ingest import read_book
from narration.job_settings import (
    FORMATS,
    PODCAST,
    JobSettings,
    output_dir,
    output_mirror,
    store_root,
)
from narration.jobstate import file_sha256
from narration.model import Book, Voice
from narration.plan import (
    NARRATOR,
    Attributor,
    EngineInfo,
    Plan,
    build_plan,
    narration_only,
    voice_of,
)
from narration.render.takes import NOMINAL_CHARS_PER_S
from narration.store import SegmentStore, read_manifest, write_manifest
from narration.tags import book_tags
from narration.text.lexicon import Lexicon

if TYPE_CHECKING:
    from narration.podcast.model import Episode
    from narration.render.router import Renderer
    from narration.storage import Mirror


@dataclass
class Job:
    book_path: Path
    out_dir: Path
    settings: JobSettings
    book: Book
    plan: Plan
    engines: dict[str, Engine]  # every engine routed to, by name (the plan may use fewer)
    episode: Episode | None = None  # a podcast job's script, as read (narration.podcast)

    @cached_property
    def mirror(self) -> Mirror | None:
        """The book folder's copy at the output URL, when OUT is one (narration.storage)."""
        return output_mirror(self.settings, self.book_path)

    @cached_property
    def store(self) -> SegmentStore:
        return SegmentStore(store_root(self.settings, self.book_path), self.mirror)

    def publish(self, path: Path) -> None:
        """A file (or folder) that is done: to the output URL too, when there is one."""
        if self.mirror is not None:
            self.mirror.publish(path)

    def location(self, path: Path) -> str:
        """Where a person finds `path`: its URL when the outputs live at one."""
        return self.mirror.remote(path) if self.mirror is not None else str(path)

    def fetch(self, path: Path) -> bool:
        """True when `path` is here, downloaded from the output URL if need be."""
        return self.mirror.fetch(path) if self.mirror is not None else Path(path).is_file()

    @property
    def chapter_dir(self) -> Path:
        return self.out_dir / ".cache" / "chapters"

    @property
    def state_path(self) -> Path:
        return self.out_dir / "build.json"

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / "plan.parquet"

    def output_paths(self) -> list[Path]:
        return outputs.output_paths(self)

    def used_engines(self) -> list[Engine]:
        """The engines that speak some segment of the plan, narration's first."""
        narrator = self.plan.voices[NARRATOR].engine
        names = sorted(self.plan.engines, key=lambda name: (name != narrator, name))
        return [self.engines[name] for name in names]


def prepare_job(
    book_path: str | Path,
    settings: JobSettings,
    *,
    voices: dict[str, Voice] | None = None,
    attributor: Attributor = narration_only,
) -> Job:
    """Read and plan the book (or a podcast script, by `settings.kind`). Pure and fast: no
    audio, no engine loading."""
    if settings.kind == PODCAST:
        from narration.podcast.job import prepare_episode

        return prepare_episode(local_book(book_path), settings)
    book_path = local_book(book_path)
    book = read_book(
        book_path,
        include_front_matter=settings.include_front_matter,
        include_boilerplate=settings.include_boilerplate,
        notes=settings.notes,
    )
    routed = {name: create_engine(name, **options) for name, options in settings.engines().items()}
    narrator = routed[settings.narration_engine]
    speakers = routed[settings.dialogue_engine]
    engines = {engine.name: engine for engine in routed.values()}
    out_dir = output_dir(settings, book_path)
    mirror = output_mirror(settings, book_path)
    if mirror is not None:  # what an earlier run on any machine decided, and built
        for name in ("cast.toml", "build.json"):
            mirror.fetch(out_dir / name)
    voices = dict(voices or {})
    if settings.cast and voices == {} and attributor is narration_only and _has_quotes(book):
        from narration.cast.speakers import cast_book

        attributor, voices, _ = cast_book(
            book, out_dir, narrator.default_voice(), speakers.character_voices()
        )
        if mirror is not None and (out_dir / "cast.toml").is_file():
            mirror.publish(out_dir / "cast.toml")
    voices.setdefault(NARRATOR, narrator.default_voice())
    plan = plan_book(book, settings, engines, voices, attributor=attributor)
    return Job(book_path, out_dir, settings, book, plan, engines)


def plan_book(
    book: Book,
    settings: JobSettings,
    engines: dict[str, Engine],
    voices: dict[str, Voice],
    **options: Any,
) -> Plan:
    """The plan of `book` spoken by `voices`, with the job's lexicon, chapters and seed (the
    engines that speak some voice shape keys, splitting and the output rate)."""
    lexicon = Lexicon.load(*settings.lexicon_paths) if settings.lexicon_paths else Lexicon()
    speaking = {voice.engine for voice in voices.values()}
    infos = {
        engine.name: EngineInfo(
            engine.name, engine.model_version(), engine.sample_rate, engine.max_segment_chars
        )
        for engine in engines.values()
        if engine.name in speaking
    }
    return build_plan(
        book, engines=infos, voices=voices, lexicon=lexicon, chapters=settings.chapters,
        seed=settings.seed, **options,
    )  # fmt: skip


def local_book(book: str | Path) -> Path:
    """The book as a local file: a URL (s3://inbox/book.epub) is downloaded first."""
    from narration.storage import is_url

    if not is_url(book):
        return Path(book)
    import fsspec

    from narration.storage import mirror_root

    name = str(book).rstrip("/").rsplit("/", 1)[-1]
    local = mirror_root(str(book)) / name
    try:
        with fsspec.open(str(book), "rb") as remote, atomic_path(local) as tmp:
            tmp.write_bytes(remote.read())
    except (OSError, ValueError) as exc:
        raise InputError(book, f"cannot download the book ({exc})") from exc
    return local


# Any mark that can open a quotation; a book with none has no one to attribute speech to.
_QUOTE_MARKS = frozenset("\"'“”‘’«»„‹›「『")


def _has_quotes(book: Book) -> bool:
    """Whether the book has any quotation mark at all (most do: then casting runs). Finding
    the characters of a huge text without one cost a minute and 800 MB for nothing."""
    return any(
        not _QUOTE_MARKS.isdisjoint(block.text)
        for chapter in book.chapters
        for block in chapter.blocks
    )


def make_engines(settings: JobSettings) -> dict[str, Engine]:
    """The job's engines by name (a module:Class spec is known by its class's name)."""
    made = (create_engine(name, **options) for name, options in settings.engines().items())
    return {engine.name: engine for engine in made}


def remove_partial_files(job: Job) -> None:
    """Temp files left by a job killed mid-write; complete files are never named like this."""
    for partial in (job.out_dir / ".cache").rglob(".*.part*"):
        partial.unlink(missing_ok=True)


def prefetch(job: Job, renderer: Renderer) -> int:
    """Queue every missing segment, in reading order, without waiting. Returns how many."""
    jobs = [j for chapter in job.plan.chapters for j in pending_jobs(job, chapter.segments)]
    if jobs:
        renderer.submit(jobs)
    return len(jobs)


def job_fingerprint(job: Job) -> str:
    """Everything the outputs depend on; equal fingerprints mean nothing to do."""
    cover = hashlib.sha256(job.book.cover_image or b"").hexdigest()
    payload = json.dumps(
        {
            "plan": job.plan.fingerprint(),
            "master": job.settings.master_settings().fingerprint(),
            "formats": sorted(job.settings.formats),
            "bitrate": job.settings.bitrate,
            "aac_coder": job.settings.aac_coder,
            "tags": book_tags(job),
            "cover": cover,
            **_podcast_inputs(job),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _podcast_inputs(job: Job) -> dict[str, Any]:
    """What an episode's notes and feed read beyond the plan: the script as written (its
    transcript, cues, front matter), the user's templates and the base URL. Empty for a book,
    so books' fingerprints are unchanged."""
    if job.settings.kind != PODCAST:
        return {}
    templates: dict[str, str] = {}
    if job.settings.templates:
        folder = Path(job.settings.templates)
        templates = {str(t.relative_to(folder)): file_sha256(t) for t in folder.rglob("*.j2")}
    from narration.podcast.music import music_inputs

    return {
        "script": file_sha256(job.book_path),
        "templates": templates,
        "base_url": job.settings.base_url,
        **music_inputs(job),  # the music files' contents: a changed file is mixed again
    }


def is_up_to_date(job: Job) -> bool:
    try:
        state = json.loads(job.state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    mirror = job.mirror
    return state.get("fingerprint") == job_fingerprint(job) and all(
        p.exists() or (mirror is not None and mirror.exists(p)) for p in job.output_paths()
    )


def space_needed_bytes(job: Job) -> int:
    """About how much more disk the job needs: its segments not yet stored and its chapters
    as 16-bit WAV, and each output at its bitrate, from the planned minutes of speech."""
    chars = {s.key: len(s.spoken_text) for s in job.plan.segments if not job.store.has(s.key)}
    todo_s = sum(chars.values()) / NOMINAL_CHARS_PER_S
    book_s = sum(len(s.spoken_text) for s in job.plan.segments) / NOMINAL_CHARS_PER_S
    wav_bytes_per_s = 2 * job.plan.sample_rate
    kbps = float(job.settings.bitrate.rstrip("kK") or 64)
    outputs = len(job.settings.formats) * book_s * kbps * 1000 / 8
    return int(todo_s * wav_bytes_per_s + book_s * wav_bytes_per_s + outputs)


def render_progress(job: Job) -> tuple[int, int]:
    """(segments to have rendered, of them already in the store), counting a sentence that
    occurs twice once: it is rendered once, so the progress bar could never reach a count
    that included it twice."""
    keys = {segment.key for segment in job.plan.segments}
    store = job.store
    return len(keys), sum(1 for key in keys if store.has(key))


def start_m4b_stream(job: Job) -> AacStream | None:
    """An AAC encoder to feed mastered chapters to as they are made (see aac_stream), when the
    job writes an M4B; None otherwise. The caller must finish() or abort() it."""
    if "m4b" not in job.settings.formats:
        return None
    return AacStream(
        len(job.plan.chapters),
        job.plan.sample_rate,
        job.out_dir / ".cache",
        bitrate=job.settings.bitrate,
        coder=job.settings.aac_coder,
        peak_floor_dbtp=job.settings.master_settings().peak_dbtp - 1.0,
    )


def package(job: Job, chapter_files: list[Path], stream: AacStream | None = None) -> list[Path]:
    """Write every output the job asks for: the chain of narration.outputs' steps. The M4B
    comes from `stream` (every chapter already added) when there is one and it passed its
    checks, else it is encoded from the chapter files."""
    return outputs.run_chain(job, chapter_files, stream)


def write_manifest_for(job: Job, errors: dict[str, str] | None = None) -> None:
    """plan.parquet: every segment, its duration once rendered, or why it could not be."""
    store, errors = job.store, errors or {}
    rows = []
    for chapter in job.plan.chapters:
        for segment in chapter.segments:
            row = segment.to_row()
            row["chapter_title"] = chapter.title
            voice = voice_of(job.plan, segment)
            row["voice"] = voice.name or voice.model_id
            row["engine"] = voice.engine
            rendered = store.has(segment.key)
            row["duration_s"] = store.duration_s(segment.key) if rendered else None
            row["takes"] = store.takes(segment.key) if rendered else None
            row["error"] = None if rendered else errors.get(segment.key)
            rows.append(row)
    write_manifest(job.manifest_path, rows)
    job.publish(job.manifest_path)


def write_state(
    job: Job, outputs: list[Path], stats: dict[str, Any], failed: dict[int, str] | None = None
) -> None:
    """build.json. With `failed` chapters (index -> why) it has no fingerprint: never up to
    date, so the next run finishes the book."""
    state = {
        "fingerprint": None if failed else job_fingerprint(job),
        "title": job.book.title,
        "failed_chapters": {str(k): v for k, v in (failed or {}).items()},
        "book": str(job.book_path),
        "book_sha256": file_sha256(job.book_path),  # the overnight scan skips what matches
        "defects": job.book.defects,  # what was read past in the input
        "outputs": [str(p) for p in outputs],
        "chapters": [c.title for c in job.plan.chapters],
        "settings": job.settings.to_dict(),
        "engines": {
            e.name: {
                "model_version": job.plan.engines[e.name].model_version,
                "sample_rate": e.sample_rate,
                "code_license": e.code_license,
                "weights_license": e.weights_license,
                "segments": sum(
                    1 for s in job.plan.segments if voice_of(job.plan, s).engine == e.name
                ),
            }
            for e in job.used_engines()
        },
        **stats,
    }
    atomic_write_json(job.state_path, state)
    job.publish(job.state_path)


def audio_duration_s(paths: list[Path]) -> float:
    infos = [sf.info(p) for p in paths]
    return sum(info.frames / info.samplerate for info in infos)


__all__ = ["Job", "JobSettings", "prepare_job", "read_manifest", "FORMATS"]
