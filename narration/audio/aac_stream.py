"""Encode a book's chapters to AAC while later chapters are still being rendered.

Encoding the whole book after the last chapter is mastered leaves one core busy and the other
idle at the end of every job (10 s for 18 minutes of audio with the twoloop coder). Instead, one
ffmpeg encoder is started with the job and fed each mastered chapter, in book order, as soon as
it exists. Its tee muxer writes the AAC frames twice: into a fragmented MP4 file (later remuxed,
without re-encoding, into the chaptered, tagged M4B) and as ADTS into a pipe to a second ffmpeg
that decodes them back to PCM for a StreamingMeter (loudness and true peak), so the encoded
audio is verified without a second pass either. (ffmpeg's own ebur128 true peak costs 6x the
decode: it resamples everything to 192 kHz; our meter oversamples only near the limit.)

A chapter comes as its mastered passages (`add_passage`, samples in memory) and then as its
finished file (`add`); a chapter from the cache comes as its file alone. They may come in any
order; they are fed in book order, so the encoder is at most one passage behind the renderer.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import soundfile as sf

from narration.audio.ffmpeg import aac_args, last_error_line, popen_ffmpeg
from narration.audio.meter import StreamingMeter
from narration.errors import NarrationError

_BLOCK_FRAMES = 1 << 16  # samples per pipe write: small enough to keep memory flat
# Passages of chapters ahead of the one being fed are held in memory up to this many samples
# (6 minutes at 22.05 kHz); beyond it they are read back from their chapter's file.
_HOLD_FRAMES = 1 << 23
# ffmpeg's AAC encoder delays its output by one frame; ADTS has no edit list to say so, so
# the meter drops it itself and measures the same samples a player of the M4B plays.
_AAC_PRIMING = 1024
# The MP4 is written in fragments of this long (microseconds): a plain MP4 muxer keeps an index
# entry per AAC frame in memory until the file ends, 4.6 MB per hour of audio for the whole
# book; fragmented, it keeps one fragment's. A fragmented MP4 has no edit list for the priming
# either: the remux drops it (StreamedAac.ffmpeg_input).
_FRAGMENT_US = 60_000_000


@dataclass(frozen=True)
class StreamedAac:
    """The encoded book: AAC in MP4 (no tags or chapters yet) and its measured levels."""

    path: Path
    seconds: float
    integrated_lufs: float
    true_peak_dbtp: float
    true_peak_is_bound: bool = False  # the meter's floor: the real peak is at most this
    priming_s: float = 0.0  # the encoder's delay at the start, which no edit list drops yet

    def ffmpeg_input(self) -> list[str]:
        """ffmpeg's arguments to read the encoded audio from: its timestamps shifted back by
        the priming, which a remuxed MP4's edit list then drops (as a one-pass encode's does)."""
        return ["-itsoffset", f"{-self.priming_s:.9f}", "-i", str(self.path)]

    def levels(self) -> dict[str, float | bool]:
        """The encoded book's measured levels, as build.json records them."""
        return {
            "m4b_integrated_lufs": round(self.integrated_lufs, 2),
            "m4b_true_peak_dbtp": round(self.true_peak_dbtp, 2),
            "m4b_true_peak_is_bound": self.true_peak_is_bound,
        }


class AacStream:
    """One AAC encode of `chapters` chapter files at `sample_rate`, fed as they are added."""

    def __init__(
        self,
        chapters: int,
        sample_rate: int,
        folder: Path,
        *,
        bitrate: str = "64k",
        coder: str = "fast",
        peak_floor_dbtp: float = -6.0,
    ) -> None:
        """`peak_floor_dbtp`: the measured true peak is exact above this level (set it a little
        under the limit to be checked); below it, it is an upper bound."""
        if chapters < 1:
            raise ValueError("an AAC stream needs at least one chapter")
        self.chapters, self.sample_rate = chapters, sample_rate
        folder.mkdir(parents=True, exist_ok=True)
        # A ".part" name, so a killed job's leftover is swept like any other temp file; the
        # encoder runs in `folder` and is given the bare name, which the tee muxer cannot
        # misread (it splits on | [ ] and quotes).
        handle, name = tempfile.mkstemp(prefix=".aac-stream.", suffix=".part.m4a", dir=folder)
        os.close(handle)  # the name is reserved; ffmpeg (-y) writes it
        self.path = Path(name)
        # ffmpeg's stderr, kept for error messages; open until close()
        self._logs: list[IO[bytes]] = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
        pcm_in = ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
        # flush_packets=0: the pipes carry 32 KB writes, not one per AAC frame (~400 bytes)
        # or decoded frame (4 KB); per-frame writes woke the reader for each one, 1.7 s of
        # CPU (mostly the kernel's) per 83 minutes of audio. Only the decoder lags, by a block.
        fragments = f"movflags=+empty_moov+default_base_moof:frag_duration={_FRAGMENT_US}"
        tee = f"[f=mp4:{fragments}]{self.path.name}|[f=adts:flush_packets=0]pipe:1"
        self._encoder = popen_ffmpeg(
            ["-y", *pcm_in, "-map", "0:a", *aac_args(bitrate, coder), "-flags", "+global_header",
             "-f", "tee", tee],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._logs[0], cwd=folder,
        )  # fmt: skip
        self._meter = popen_ffmpeg(
            ["-f", "aac", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", str(sample_rate),
             "-flush_packets", "0", "pipe:1"],
            stdin=self._encoder.stdout, stdout=subprocess.PIPE, stderr=self._logs[1],
        )  # fmt: skip
        assert self._encoder.stdout is not None
        self._encoder.stdout.close()  # the meter holds the read end now
        self._levels = StreamingMeter(sample_rate, floor=10.0 ** (peak_floor_dbtp / 20.0))
        self._reader = threading.Thread(target=self._read, name="aac-meter", daemon=True)
        self._reader.start()
        self._ready: dict[int, Path] = {}  # chapters whose file is complete
        self._passages: dict[tuple[int, int], np.ndarray] = {}  # (chapter, passage) -> samples
        self._from_file: set[int] = set()  # chapters with a passage not held: read their file
        self._feeding = (0, 0)  # the chapter and passage the feeder waits for or feeds
        self._frames = 0
        self._error: str | None = None
        self._aborted = False
        self.finished = False  # finish() was called: the stream cannot be used again
        self.result: StreamedAac | None = None  # what finish() measured
        self._floor_dbtp = peak_floor_dbtp
        self._cond = threading.Condition()
        self._feeder = threading.Thread(target=self._feed, name="aac-stream", daemon=True)
        self._feeder.start()

    def add_passage(self, position: int, index: int, audio: np.ndarray) -> None:
        """Passage `index` (0-based) of chapter `position` (0-based, book order), mastered.
        Passages must come in order within a chapter; one that was already fed (a retried
        task masters its chapter again, to the same samples) is ignored."""
        self._check(position)
        if audio.ndim != 1:
            raise NarrationError(f"chapter {position + 1}: the stream takes mono audio")
        key = (position, index)
        with self._cond:
            if position in self._ready or position in self._from_file or key < self._feeding:
                return
            held = sum(len(a) for a in self._passages.values())
            if position == self._feeding[0] or held + len(audio) <= _HOLD_FRAMES:
                self._passages.setdefault(key, audio)
            else:  # keep memory flat: this and the rest of the chapter come from its file
                self._from_file.add(position)
                for stale in [k for k in self._passages if k[0] == position]:
                    del self._passages[stale]
            self._cond.notify_all()

    def add(self, position: int, path: Path) -> None:
        """Chapter `position` is complete at `path` (a mastered chapter file). What was not
        fed from its passages is read from there."""
        self._check(position)
        with self._cond:
            self._ready.setdefault(position, Path(path))
            self._cond.notify_all()

    def _check(self, position: int) -> None:
        if not 0 <= position < self.chapters:
            raise ValueError(f"chapter position {position} outside 0..{self.chapters - 1}")

    def _next(self, position: int, index: int) -> np.ndarray | Path | None:
        """The samples of the passage to feed next, or the chapter's file to feed the rest
        from, or None when the stream was aborted."""
        key = (position, index)
        with self._cond:
            self._feeding = key
            while key not in self._passages and position not in self._ready:
                if self._aborted:
                    return None
                self._cond.wait()
            if self._aborted:
                return None
            if key in self._passages:
                self._feeding = (position, index + 1)  # a copy of this one is ignored now
                return self._passages.pop(key)
            for stale in [k for k in self._passages if k[0] == position]:
                del self._passages[stale]
            return self._ready[position]

    def _feed(self) -> None:
        pipe = self._encoder.stdin
        assert pipe is not None
        try:
            for position in range(self.chapters):
                fed, index = 0, 0  # samples of this chapter fed, passages fed
                while (item := self._next(position, index)) is not None:
                    if isinstance(item, Path):
                        self._feed_file(pipe, item, fed)
                        break
                    self._feed_samples(pipe, item)
                    fed, index = fed + len(item), index + 1
                else:
                    return  # aborted
        except (OSError, RuntimeError, NarrationError) as exc:  # RuntimeError: soundfile
            self._error = str(exc)
        finally:
            with contextlib.suppress(OSError):  # a broken pipe: the encoder's error says why
                pipe.close()

    def _feed_samples(self, pipe: IO[bytes], audio: np.ndarray) -> None:
        for start in range(0, len(audio), _BLOCK_FRAMES):
            block = audio[start : start + _BLOCK_FRAMES]
            pipe.write(np.asarray(block, dtype="<f4").tobytes())
            self._frames += len(block)

    def _feed_file(self, pipe: IO[bytes], path: Path, start: int) -> None:
        """The chapter file from sample `start` on (what its passages did not feed)."""
        with sf.SoundFile(str(path)) as audio:
            if audio.samplerate != self.sample_rate or audio.channels != 1:
                raise NarrationError(
                    f"{path}: {audio.samplerate} Hz x {audio.channels} channels, the stream "
                    f"takes {self.sample_rate} Hz mono"
                )
            if start > audio.frames:
                raise NarrationError(f"{path}: shorter than the passages fed from it")
            audio.seek(start)
            for block in audio.blocks(_BLOCK_FRAMES, dtype="float32"):
                pipe.write(block.astype("<f4", copy=False).tobytes())
                self._frames += len(block)

    def _read(self) -> None:
        pipe = self._meter.stdout
        assert pipe is not None
        skip = _AAC_PRIMING * 4  # bytes of encoder priming to drop (an MP4 edit list drops it)
        rest = b""  # a sample split between reads
        while chunk := pipe.read(_BLOCK_FRAMES * 4):
            if rest:
                chunk = rest + chunk
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            usable = len(chunk) - len(chunk) % 4
            rest = chunk[usable:]
            self._levels.feed(np.frombuffer(chunk[:usable], dtype="<f4"))

    def finish(self) -> StreamedAac:
        """Wait for the last chapter to be encoded and measured; NarrationError if it failed."""
        self.finished = True
        self._feeder.join()
        self._reader.join()
        encoder_rc, meter_rc = self._encoder.wait(), self._meter.wait()
        if self._aborted:
            raise NarrationError("the AAC stream was aborted")
        if self._error or encoder_rc != 0:
            detail = self._error or last_error_line(self._log_text(0), encoder_rc)
            raise NarrationError(f"ffmpeg failed while encoding the book as it rendered: {detail}")
        if meter_rc != 0:
            detail = last_error_line(self._log_text(1), meter_rc)
            raise NarrationError(f"ffmpeg failed while decoding the encoded book: {detail}")
        peak = self._levels.true_peak_dbtp()
        self.result = StreamedAac(
            path=self.path,
            seconds=self._frames / self.sample_rate,
            integrated_lufs=self._levels.integrated_lufs(),
            true_peak_dbtp=peak,
            true_peak_is_bound=peak <= self._floor_dbtp + 1e-3,
            priming_s=_AAC_PRIMING / self.sample_rate,
        )
        return self.result

    def _log_text(self, index: int) -> str:
        log = self._logs[index]
        log.seek(0)
        return log.read().decode("utf-8", errors="replace")

    def abort(self) -> None:
        """Stop both processes and remove the partial file (safe to call at any time)."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()
        for process in (self._encoder, self._meter):
            if process.poll() is None:
                process.kill()
        self._feeder.join(timeout=10)
        self._reader.join(timeout=10)
        for process in (self._encoder, self._meter):
            process.wait()
        self.close()

    def close(self) -> None:
        """Remove the encoded file (after it was remuxed, or when it is not wanted)."""
        self.path.unlink(missing_ok=True)
        for log in self._logs:
            log.close()
