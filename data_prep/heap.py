"""Keep the C heap's freed memory in a prep process (glibc's ``mallopt``), so that big temporaries reuse pages.

With glibc's defaults a block over the (adaptive) mmap threshold gets its own mapping and the top of the heap
is given back once more than twice that is free, so prep's per-sequence temporaries (the contact's skinned
vertices and grid queries: 0.5-3 MB each) are mapped again and again: ~5,000 first-touch page faults per 64
sequences, ~4.4 us each on the project's VM (the host backs each page anew), and a cost that varies with the
machine's memory traffic. :func:`retain_freed_memory` sets a fixed mmap threshold of 32 MB (glibc's maximum) and
a trim threshold of 512 MB, so freed blocks stay in the heap and are reused, then grows the heap by ``reserve``
bytes (written once, freed, kept): the growth a converting process makes once, in its setup rather than in its
first sequences (prep's contact reaches ~15-25 MB of temporaries). It is process-wide and for good (glibc has no
way back to the adaptive thresholds), which suits a prep process or worker; a process that frees much more than
512 MB keeps at most that much. Elsewhere (not Linux, another C library, no ``mallopt``) it does nothing and
returns False.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # bytes: blocks up to this come from the heap
TRIM_THRESHOLD = 512 << 20  # bytes of free memory at the heap's top before it is given back
RESERVE = 32 << 20  # bytes the heap grows by in a converting process's setup


def retain_freed_memory(reserve: int = RESERVE) -> bool:
    """Set glibc's mmap and trim thresholds and grow the heap by ``reserve`` bytes (see the module); True if set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1):
        return False
    half = reserve // 2  # two blocks under the mmap threshold, held together: the heap's top grows by both
    blocks = [ctypes.create_string_buffer(half) for _ in range(2)] if half else []  # zero-filled: pages touched
    del blocks
    return True
