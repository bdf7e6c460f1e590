"""The one small interface every synthesis engine implements.

An engine declares its name, sample rate, the longest text it handles well and whether it
batches; it turns a list of (text, voice) items into float32 mono arrays, in order. Heavy
model loading happens in `load()`, once per process (the host calls it in each worker).
Third-party engines register under the `narration.engines` entry-point group, the way
simonw/llm plugins register models, so `pip install narration-foo` makes `--engine foo` work.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from narration.model import Voice


@dataclass(frozen=True)
class SynthesisItem:
    """One piece of text to speak with one voice; `seed` makes sampling engines repeatable."""

    text: str
    voice: Voice
    seed: int = 0


class Engine(ABC):
    """A text-to-speech engine plugin."""

    name: ClassVar[str]
    sample_rate: ClassVar[int]
    max_segment_chars: ClassVar[int] = 400
    supports_batching: ClassVar[bool] = False
    # How many items the host hands to one synthesize() call. Batching engines size this from
    # free accelerator memory; CPU engines use small batches so work spreads over processes.
    batch_size: int = 4

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def model_version(self) -> str:
        """Identifies the weights and code that shape the audio; part of every segment key."""

    @abstractmethod
    def default_voice(self) -> Voice:
        """The voice used when the user names none (the narrator's voice)."""

    def voices(self) -> list[Voice]:
        """Every voice this engine offers as installed; the caster chooses among them."""
        return [self.default_voice()]

    def recommended_processes(self) -> int:
        """How many worker processes to run this engine in (GPU engines: 1)."""
        return 1

    @abstractmethod
    def load(self) -> None:
        """Load weights; called once per worker process before any synthesize()."""

    @abstractmethod
    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        """Return one float32 mono array at `sample_rate` per item, in order."""
