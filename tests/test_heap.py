"""data_prep.heap: with the heap kept, big temporaries freed and allocated again touch no new pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

# 4 blocks of 8 MB, written, freed, then allocated and written again: the second round's page faults
_SCRIPT = """
import resource, sys
import numpy as np
from data_prep.heap import retain_freed_memory
if sys.argv[1] == "keep":
    assert retain_freed_memory()
blocks = [np.ones(1 << 20) for _ in range(4)]
del blocks
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
blocks = [np.ones(1 << 20) for _ in range(4)]
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _second_round_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_kept_heap_reuses_freed_blocks_without_page_faults():
    """Default glibc maps the 8 MB blocks afresh (~2,000 faults each, fewer with huge pages); with the heap kept they
    come back from it (a few faults at most). Run in subprocesses: the setting is process-wide and for good."""
    default, kept = _second_round_faults("default"), _second_round_faults("keep")
    assert kept <= 64 and default >= 16 * max(kept, 1), (default, kept)
