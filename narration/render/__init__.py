"""The render layer: segments in, audio in the segment store out.

A Renderer routes each segment to the backend of its voice's engine; the backend is chosen by
what the engine declares (`placement`), never by the caller:

- pool (render.dispatch): CPU worker processes, small fixed batches (the embedded engine);
- device (render.dispatch): one process owns the accelerator and loads the model once;
  batches by voice and length, sized to the device's memory (render.sizing);
- remote (render.remote): concurrent requests to a model server, capped at its batch.

Backends own their workers: a Renderer is made, used and closed by one owner (the CLI or the
flow), and nothing about it is global. This package's own import is light (the workers import
render.worker at start).
"""

from collections.abc import Iterable
from concurrent.futures import Future, wait

from narration.render.takes import Landed, RenderJob

__all__ = ["Landed", "RenderJob", "all_succeeded"]


def all_succeeded(futures: Iterable[Future]) -> bool:
    """Wait for every future; True when none of them failed (a backend's wait_idle)."""
    done, _ = wait(list(futures))
    return not any(future.exception() is not None for future in done)
