"""Keep the C heap's freed memory in a prep process (glibc's ``mallopt``), so that big temporaries reuse pages.

With glibc's defaults a block over the (adaptive) mmap threshold gets its own mapping and the top of the heap
is given back once more than twice that is free, so prep's per-sequence temporaries (the contact's skinned
vertices and grid queries: 0.5-3 MB each) are mapped again and again: ~5,000 first-touch page faults per 64
sequences, ~4.4 us each on the project's VM (the host backs each page anew), and a cost that varies with the
machine's memory traffic. :func:`retain_freed_memory` sets a fixed mmap threshold of 32 MB (glibc's maximum) and
a trim threshold of 512 MB, so freed blocks stay in the heap and are reused. It is process-wide and for good (glibc
has no way back to the adaptive thresholds), which suits a prep process or worker; a process that frees much
more than 512 MB keeps at most that much. Elsewhere (not Linux, another C library, no ``mallopt``) it does
nothing and returns False.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # bytes: blocks up to this come from the heap
TRIM_THRESHOLD = 512 << 20  # bytes of free memory at the heap's top before it is given back


def retain_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module); True if both were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
