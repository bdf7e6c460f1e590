"""An episode's intro and outro music: which files, read how, and the mixed chapters.

The files come from `--intro-music`/`--outro-music` (JobSettings.intro_music/outro_music,
absolute paths) or else from the front matter's `intro_music:`/`outro_music:` (relative to
the script). They are checked when the job is prepared, so a missing or unreadable file is
one line naming it before anything is rendered.

Music is mixed after mastering, into copies of the first and last chapter files
(OUT/<episode>/.cache/mixed/, named by the chapter file, the music's content and the bed's
settings), which the output steps then encode: changing a music file re-mixes and re-encodes
but renders nothing, and the music's content hashes are part of the job's fingerprint
(`music_inputs`), so such a change is never "up to date". Each mixed chapter keeps its
segment spans beside it, moved by the pre-roll, so captions and chapter marks (read from the
encoded file) stay on the speech.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from narration.atomic import atomic_path
from narration.errors import InputError, NarrationError
from narration.jobstate import file_sha256
from narration.podcast.musicbed import MusicBed, mix_music, shifted, speech_bounds
from narration.podcast.timing import load_spans, save_spans
from narration.store import to_pcm16

if TYPE_CHECKING:
    from narration.job_settings import JobSettings
    from narration.model import Segment
    from narration.pipeline import Job
    from narration.podcast.model import Episode

BED = MusicBed()
ROLES = ("intro", "outro")


def music_files(settings: JobSettings, episode: Episode, script: Path) -> dict[str, Path]:
    """{"intro"/"outro": file} for the music this episode has: the option's file, else the
    front matter's (relative to the script). Each is checked to be readable audio."""
    found: dict[str, Path] = {}
    for role in ROLES:
        given = getattr(settings, f"{role}_music", None)
        where = f"--{role}-music"
        if not given:
            given = episode.meta.extra.get(f"{role}_music")
            where = f"front matter {role}_music"
            if given is None or not str(given).strip():
                continue
            given = Path(script).parent / str(given).strip()
        found[role] = check_music(Path(given), where)
    return found


def check_music(path: Path, where: str) -> Path:
    """`path`, resolved, once it is known to decode as audio; else a one-line InputError."""
    if not path.is_file():
        raise InputError(path, f"no such music file ({where})")
    try:
        info = sf.info(str(path))
        if info.frames <= 0:
            raise InputError(path, f"music file has no audio ({where})")
    except (sf.LibsndfileError, RuntimeError, OSError):
        try:  # formats libsndfile does not read (AAC/M4A...): ffmpeg decodes them
            audio, _rate = _decode(path)
        except NarrationError as exc:
            raise InputError(path, f"not a readable audio file ({where}): {exc}") from None
        if audio.size == 0:
            raise InputError(path, f"music file has no audio ({where})") from None
    return path.resolve()


def _decode(path: Path, rate: int | None = None) -> tuple[np.ndarray, int]:
    from narration.audio.ffmpeg import decode_to_float

    return decode_to_float(path, rate)


def read_music(path: Path, rate: int) -> np.ndarray:
    """Mono float32 at `rate`: soundfile (WAV, FLAC, OGG, MP3), else the ffmpeg wrapper."""
    from narration.audio.level import resample

    try:
        audio, found = sf.read(str(path), dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
    except (sf.LibsndfileError, RuntimeError, OSError):
        audio, found = _decode(path)
    except MemoryError:
        raise InputError(path, "music file too large to hold in memory") from None
    return resample(np.ascontiguousarray(audio, dtype=np.float32), found, rate)


def music_inputs(job: Job) -> dict[str, Any]:
    """For the job's fingerprint: each music file's content hash and the bed's settings
    (empty without music, so an episode without music keeps its fingerprint)."""
    music = getattr(job.episode, "music", None)  # None for a book
    if not music:
        return {}
    return {
        "music": {role: file_sha256(Path(p)) for role, p in sorted(music.items())},
        "music_bed": BED.key(),
    }


def host_segments(segments: list[Segment], lines: list[str], *, from_end: bool) -> int:
    """How many segments at the chapter's start (or end) speak the host's `lines`: segment
    texts are read off the lines' text in order, whitespace aside."""
    text = " ".join(" ".join(line.split()) for line in lines)
    order = list(reversed(segments)) if from_end else segments
    count, cursor = 0, len(text) if from_end else 0
    for segment in order:
        piece = " ".join(segment.text.split())
        if not piece:
            break
        if from_end:
            at = text.rfind(piece, 0, cursor)
            if at < 0 or text[at + len(piece) : cursor].strip():
                break
            cursor = at
        else:
            at = text.find(piece, cursor)
            if at < 0 or text[cursor:at].strip():
                break
            cursor = at + len(piece)
        count += 1
    return count


def with_music(job: Job, chapter_files: list[Path]) -> list[Path]:
    """The chapter files to encode: the first and last with their music mixed in (cached),
    the others as they are. Without music, `chapter_files` unchanged."""
    music = getattr(job.episode, "music", None)
    if not music or not chapter_files:
        return chapter_files
    folder = job.out_dir / ".cache" / "mixed"
    result = list(chapter_files)
    last = len(chapter_files) - 1
    keep: set[Path] = set()
    for position in sorted({0, last}):
        roles = [r for r in ROLES if r in music and position == (0 if r == "intro" else last)]
        if roles:
            result[position] = _mixed_chapter(job, position, chapter_files[position], roles, folder)
            keep |= {result[position], result[position].with_suffix(".spans")}
    for stale in folder.glob("*.*") if folder.is_dir() else ():
        if stale not in keep:
            stale.unlink(missing_ok=True)
    return result


def _mixed_chapter(job: Job, position: int, source: Path, roles: list[str], folder: Path) -> Path:
    episode = job.episode
    assert episode is not None
    music = {role: Path(episode.music[role]) for role in roles}
    digest = hashlib.sha256(
        repr([source.name, BED.key(), *[(r, file_sha256(music[r])) for r in roles]]).encode()
    ).hexdigest()[:16]
    target = folder / f"{position + 1:03d}-{digest}.wav"
    if target.is_file() and load_spans(target) is not None:
        return target
    spans = load_spans(source)
    if spans is None:
        raise ValueError(f"{source}: no segment timings saved beside it")
    chapter, rate = sf.read(str(source), dtype="float32")
    segments = job.plan.chapters[position].segments
    placed: dict[str, tuple[np.ndarray, tuple[float, float]]] = {}
    for role in roles:
        lines = episode.intro_lines if role == "intro" else episode.outro_lines
        count = host_segments(segments, lines, from_end=role == "outro")
        count = count or 1  # no host lines: the music goes under the first (last) line
        first = 0 if role == "intro" else len(spans) - count
        bounds = speech_bounds(spans, first, count) or speech_bounds(spans, 0, len(spans))
        if bounds is None:  # a chapter with no sound at all: music alone
            bounds = (0.0, len(chapter) / rate)
        placed[role] = (read_music(music[role], rate), bounds)
    mixed = mix_music(
        chapter, rate, job.settings.master_settings(), BED,
        intro=placed.get("intro"), outro=placed.get("outro"),
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pcm = to_pcm16(mixed.audio)  # as the mastered chapters are written
    with atomic_path(target) as tmp:
        sf.write(str(tmp), pcm, rate, subtype="PCM_16", format="WAV")
        # before the file is renamed into place: a mixed chapter never lacks its spans
        save_spans(target, shifted(spans, mixed.shift / rate))
    return target
