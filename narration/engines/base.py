"""The one small interface every synthesis engine implements.

An engine declares what it is (name, sample rate, the longest text it handles well), where it
runs (`placement`: CPU worker processes, one process that owns an accelerator, or a model
server), how items may share one call (`batch_key`), which roles it is a default for, and its
licences; it turns a list of (text, voice) items into float32 mono arrays, in order. Heavy
model loading happens in `load()`, once per process (the render layer calls it in its worker).
Third-party engines register under the `narration.engines` entry-point group, the way
simonw/llm plugins register models, so `pip install narration-foo` makes `--engine foo` work.

Nothing outside an engine's own module knows which engine it is: the render layer, the router
and the CLI read only what is declared here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from narration.model import Voice

if TYPE_CHECKING:
    from narration.render.memory import MemoryMeter

PLACEMENTS = ("pool", "device", "remote")
ROLES = ("narration", "dialogue")


@dataclass(frozen=True)
class SynthesisItem:
    """One piece of text to speak with one voice; `seed` makes sampling engines repeatable
    (those that declare `repeatable`)."""

    text: str
    voice: Voice
    seed: int = 0


@dataclass(frozen=True)
class Availability:
    """Whether an engine can render here and now, found without loading it (cheap)."""

    usable: bool  # installed, weights found, and a device it is meant for
    reason: str = ""  # why not, or a remark ("on the CPU: slow")
    weights: str | None = None  # where the weights are, when it has any
    device: str = "cpu"


class Engine(ABC):
    """A text-to-speech engine plugin."""

    name: ClassVar[str]
    sample_rate: ClassVar[int]
    max_segment_chars: ClassVar[int] = 400
    # pool: CPU worker processes; device: one process owns the accelerator and batches;
    # remote: requests to a model server, `max_concurrency()` at a time.
    placement: ClassVar[str] = "pool"
    # Roles this engine is the default for when `availability()` says it is usable; among
    # several, the highest `priority` wins (the embedded engine: 0, always usable).
    roles: ClassVar[tuple[str, ...]] = ()
    priority: ClassVar[int] = 0
    code_license: ClassVar[str] = "unknown"
    weights_license: ClassVar[str] = "unknown"
    # Said once when a job uses this engine (e.g. a non-commercial weights licence).
    licence_notice: ClassVar[str] = ""
    # Sampling engines sometimes repeat, skip or babble: a take whose duration is implausible
    # for its text is redone with another seed, up to this many times.
    max_retakes: ClassVar[int] = 2
    # Non-verbal tokens the engine speaks for a script's cues (laugh, breath, pause); a cue
    # it has no token for is dropped.
    cue_tokens: ClassVar[Mapping[str, str]] = {}
    # The same text, voice, model version and seed give the same samples, whatever else is
    # in the batch or rendered before it. False: audio compared across runs is compared by
    # segment key only (a re-render is another take, not the reviewed one).
    repeatable: ClassVar[bool] = False
    # Takes a voice prompt (a clip and its transcript: narration.engines.prompts) to clone.
    clones_voices: ClassVar[bool] = False
    # Items per synthesize() call: the pool hands out this many; a device engine starts from
    # it until its memory has been measured, and never exceeds `max_batch_size`.
    batch_size: int = 4
    max_batch_size: int = 64

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def model_version(self) -> str:
        """Identifies the weights and code that shape the audio; part of every segment key."""

    @abstractmethod
    def default_voice(self) -> Voice:
        """The voice used when the user names none (the narrator's voice)."""

    def voices(self) -> list[Voice]:
        """Every voice this engine offers as installed."""
        return [self.default_voice()]

    def character_voices(self) -> list[Voice]:
        """The palette the caster gives characters when this engine speaks dialogue."""
        return self.voices()

    def recommended_processes(self) -> int:
        """How many worker processes a `pool` engine runs in."""
        return 1

    def availability(self) -> Availability:
        """Installed, weights found, device present: checked without loading anything."""
        return Availability(True)

    def weights_folder(self) -> Path | None:
        """Where this engine's weights live (None: it has none to fetch)."""
        return None

    def fetch_weights(self) -> Path:
        """Download the weights into weights_folder(); synthesis never downloads."""
        from narration.errors import EngineError

        raise EngineError(f"engine {self.name!r} has no weights to fetch")

    def install(self, source: Path, folder: Path) -> dict[str, Any]:
        """Set up what this engine runs in (e.g. a virtual environment for code that cannot
        share ours) from `source` into `folder`; returns the options to record in the config."""
        from narration.errors import EngineError

        raise EngineError(f"engine {self.name!r} has nothing to install")

    def batch_key(self, item: SynthesisItem) -> Hashable:
        """Items with equal keys may share one synthesize() call (same voice and settings)."""
        return (item.voice.fingerprint(), item.seed)

    def max_concurrency(self) -> int:
        """For `remote` engines: requests in flight at once (the server's batch)."""
        return 1

    def memory_meter(self) -> MemoryMeter | None:
        """For `device` engines, after load(): the device's memory, for sizing batches."""
        return None

    def release_memory(self) -> None:
        """After an out-of-memory error: hand cached device memory back before the retry."""
        return None

    @abstractmethod
    def load(self) -> None:
        """Load weights; called once per worker process before any synthesize()."""

    @abstractmethod
    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        """Return one float32 mono array at `sample_rate` per item, in order."""
