"""The C heap of a long run: glibc's malloc, told how to hand memory back.

A book run is hours of the same few shapes of work: a Piper worker allocates and frees tens to
hundreds of megabytes per sentence (its tensors grow with the sentence's length), the main
process masters passages from several threads. Left at glibc's defaults, each thread gets
its own malloc arena (8 per core) and freed blocks stay mapped, so a process's resident size
climbs with every rare long sentence or busy thread and never comes down (measured on Pride
and Prejudice: each Piper worker 0.5 -> 0.85 GiB, the CLI 0.32 -> 0.64 GiB in 1.5 h of audio).

`bound_heap()` caps the number of arenas and makes glibc return free memory at the top of the
heap; `give_back()` returns the free pages inside it too (malloc_trim), for calling between
pieces of work. Both are no-ops where the C library is not glibc (macOS, musl).
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

# Allocations this large get their own mapping, returned the moment they are freed. Below it,
# blocks are reused from the heap: mapping and faulting in fresh pages for every one of a
# Piper sentence's tensors costs about 20% of its speed, reuse costs nothing.
MMAP_THRESHOLD_BYTES = 256 << 20
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


def give_back() -> None:
    """Return free heap pages to the system (cheap: a few ms for a few hundred MB)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
