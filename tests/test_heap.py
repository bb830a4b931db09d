"""data_prep.heap: with the heap kept, big temporaries freed and allocated again touch no new pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

# 3 blocks of 8 MB written, freed, then allocated and written again: the page faults of each round
_SCRIPT = """
import resource, sys
import numpy as np
from data_prep.heap import retain_freed_memory
if sys.argv[1] == "keep":
    assert retain_freed_memory()
faults = []
for _ in range(2):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(1 << 20) for _ in range(3)]
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del blocks
print(*faults)
"""


def _faults(mode: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    first, second = done.stdout.split()
    return int(first), int(second)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_kept_heap_reuses_freed_blocks_without_page_faults():
    """Default glibc maps the 8 MB blocks afresh in both rounds (~1,500 faults a round, fewer with huge pages); with
    the heap kept and grown by 32 MB in advance they come from it in both (a few faults at most). In subprocesses:
    the setting is process-wide and for good."""
    default, kept = _faults("default"), _faults("keep")
    assert max(kept) <= 64 and min(default) >= 16 * max(max(kept), 1), (default, kept)
