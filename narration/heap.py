"""The C heap of a long run: glibc's malloc, told how to hand memory back.

The CLI masters passages from several threads for hours. Left at glibc's defaults each thread
gets its own malloc arena (8 per core) and freed blocks stay mapped, so the process's resident
size climbs and never comes down: on Pride and Prejudice chapters 1-12 (1.5 h of audio) the CLI
went 0.32 -> 0.62 GiB; bounded, 0.32 -> 0.46 GiB.

`bound_heap()` caps the number of arenas and fixes the trim and mmap thresholds, so free memory
at the top of the heap goes back to the system. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

# Allocations this large get their own mapping, returned the moment they are freed; below it,
# blocks are reused from the heap. A passage's buffers (10-20 MB each, held while it is mastered
# and streamed) are above it: kept in the heap they left it fragmented, and the CLI's peak on
# P&P chapters 1-12 was 0.385 GiB with a 256 MiB threshold, 0.344 GiB with this one.
MMAP_THRESHOLD_BYTES = 4 << 20
# Free memory at the top of the heap beyond this goes back to the system at once.
TRIM_THRESHOLD_BYTES = 32 << 20
ARENAS = 2


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 (only glibc has it)
    except (OSError, AttributeError):
        return None
    return libc


def bound_heap(arenas: int = ARENAS) -> bool:
    """Cap malloc's arenas and fix its trim and mmap thresholds (before threads start: an
    arena once made is kept). True when applied."""
    libc = _glibc()
    if libc is None:
        return False
    applied = libc.mallopt(_M_ARENA_MAX, arenas)
    applied &= libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    applied &= libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    return bool(applied)
