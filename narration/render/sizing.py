"""Batch sizes from the device's memory.

The budget is the memory free once the model is loaded, less the meter's reserve. A batch's
cost is fitted from a short calibration: the first batches of a run are 1, 2 and 4 items of
typical length, their peak memory is measured, and `peak = base + per_char_item * n * L` is
fitted (n items, L characters in the longest: a batch runs until its longest item ends). The
fit is cached per engine, device and model version, so later runs skip the calibration. On an
out-of-memory error the batch is halved and that size becomes the run's ceiling.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narration.atomic import atomic_write_json

CALIBRATION_SIZES = (1, 2, 4)


def calibration_cache_path() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "narration" / "batch-memory.json"


@dataclass
class BatchSizer:
    """Batch caps for one engine on one device. Without a meter: a fixed size."""

    fixed_size: int
    max_size: int
    cache_key: str = ""
    budget_bytes: int | None = None  # None: no meter, fixed sizes
    base_bytes: float | None = None
    per_char_item_bytes: float | None = None
    source: str = "fixed"  # fixed / calibrated / cached
    ceiling: int | None = None  # set by an out-of-memory error
    samples: list[tuple[int, int, int]] = field(default_factory=list)  # (n, longest, peak)

    @classmethod
    def for_device(
        cls, fixed_size: int, max_size: int, cache_key: str, budget_bytes: int | None
    ) -> BatchSizer:
        sizer = cls(fixed_size, max_size, cache_key, budget_bytes)
        if budget_bytes is not None:
            cached = _read_cache().get(cache_key)
            if cached:
                sizer.base_bytes = float(cached["base_bytes"])
                sizer.per_char_item_bytes = float(cached["per_char_item_bytes"])
                sizer.source = "cached"
        return sizer

    @property
    def calibrating(self) -> bool:
        return self.budget_bytes is not None and self.per_char_item_bytes is None

    def cap(self, longest_chars: int) -> int:
        """The most items a batch whose longest text has `longest_chars` may hold."""
        if self.calibrating:
            size = CALIBRATION_SIZES[min(len(self.samples), len(CALIBRATION_SIZES) - 1)]
        elif self.budget_bytes is None:
            size = self.fixed_size
        else:
            assert self.base_bytes is not None and self.per_char_item_bytes is not None
            room = self.budget_bytes - self.base_bytes
            size = int(room // (self.per_char_item_bytes * max(longest_chars, 1)))
        if self.ceiling is not None:
            size = min(size, self.ceiling)
        return max(1, min(size, self.max_size))

    def observe(self, items: int, longest_chars: int, peak_bytes: int | None) -> None:
        """A finished batch's measured peak; after the calibration sizes, fit and cache."""
        if not self.calibrating or peak_bytes is None:
            return
        self.samples.append((items, longest_chars, peak_bytes))
        if len(self.samples) >= len(CALIBRATION_SIZES):  # (an OOM ceiling may repeat a size)
            self._fit()

    def _fit(self) -> None:
        xs = [float(n * longest) for n, longest, _ in self.samples]
        ys = [float(peak) for _, _, peak in self.samples]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mean_x) ** 2 for x in xs)
        cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
        slope = cov / var if var > 0 else 0.0
        if slope <= 0:  # no usable trend: cost as if it were all per item
            slope = max(ys) / max(xs)
            intercept = 0.0
        else:
            intercept = max(0.0, mean_y - slope * mean_x)
        self.base_bytes, self.per_char_item_bytes = intercept, slope
        self.source = "calibrated"
        cache = _read_cache()
        cache[self.cache_key] = {"base_bytes": intercept, "per_char_item_bytes": slope}
        with contextlib.suppress(OSError):  # a read-only home: calibrate again next time
            atomic_write_json(calibration_cache_path(), cache)

    def out_of_memory(self, items: int) -> None:
        self.ceiling = max(1, items // 2)

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "budget_bytes": self.budget_bytes,
            "base_bytes": None if self.base_bytes is None else round(self.base_bytes),
            "per_char_item_bytes": self.per_char_item_bytes,
            "oom_ceiling": self.ceiling,
            "calibration": [
                {"items": n, "longest_chars": c, "peak_bytes": p} for n, c, p in self.samples
            ],
        }


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(calibration_cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
