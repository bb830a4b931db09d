"""``prep handx`` throughput: HandX-format files (written from REFERENCE 4b) -> DATA_DIR, clips/s and frames/s."""

from __future__ import annotations

import tempfile
from pathlib import Path


def bench_prep_handx(clips: int = 2000, workers: tuple[int, ...] = (1, 2), chunk: int = 256) -> list[dict]:
    """Rows: clips/s and frames/s of ``prep handx`` over ``clips`` 60-frame train clips, per worker count."""
    from data_prep.prep_handx import prep_handx
    from handgen.testing.handx_files import write_handx_dir
    from handgen.hand.factory import make_hand_pair

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = write_handx_dir(Path(tmp) / "src", make_hand_pair(None, flat_hand_mean=True), train=clips, test=0)
        for n in workers:
            summary = prep_handx(src, Path(tmp) / f"data{n}", workers=n, chunk=chunk, progress=False)
            case = f"{clips} clips x 60 frames, {n} worker(s)"
            rows += [{"benchmark": "prep handx", "case": case, "value": summary.clips_per_second, "unit": "clips/s"},
                     {"benchmark": "prep handx", "case": case, "value": summary.frames_per_second, "unit": "frames/s"}]
    return rows
