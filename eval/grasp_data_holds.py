"""Hold rate of a GRASP_DIR (the grasp prior's training frames): ``python -m eval.grasp_data_holds GRASP_DIR``.

Every (or every ``--every``-th) frame of the chosen splits is put through the hold test
(:mod:`handgen.grasp.frame_holds`) in its own world frame: both hands posed from their stored
MANO parameters, the object template posed by ``object_rot`` / ``object_transl`` (and its
articulation). Prints the hold rate overall and per object, optionally writes them as JSON
(``--out``) with each frame's verdict (``--frames``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from handgen.grasp.frame_holds import FrameHoldTester
from handgen.grasp.grasp_data import GraspDataset
from handgen.hand.factory import make_hand_pair


def data_hold_rate(root: str | Path, splits: tuple[str, ...] = ("train", "val", "test"), every: int = 1,
                   mano_dir: str | None = None) -> dict:
    """Hold verdicts of the frames of GRASP_DIR ``root``: ``{"frames": [...], "rate", "per_object"}``."""
    data = GraspDataset(root, splits)
    tester = FrameHoldTester(data, make_hand_pair(mano_dir, flat_hand_mean=True))
    frames = []
    for i in range(0, len(data), max(1, every)):
        row = data.rows[i]
        r = tester(i)
        frames.append({"id": row["id"], "object": row["object"], "holds": r.holds, "directions": r.directions_held,
                       "grasp_type": row.get("grasp_type", "")})
    per_object: dict[str, list[bool]] = defaultdict(list)
    per_type: dict[str, list[bool]] = defaultdict(list)
    for fr in frames:
        per_object[fr["object"]].append(fr["holds"])
        per_type[fr["grasp_type"] or "-"].append(fr["holds"])
    return {"grasp_dir": str(root), "frames_tested": len(frames), "every": every,
            "rate": float(np.mean([fr["holds"] for fr in frames])) if frames else None,
            "per_object": {k: {"frames": len(v), "rate": float(np.mean(v))} for k, v in sorted(per_object.items())},
            "per_grasp_type": {k: {"frames": len(v), "rate": float(np.mean(v))} for k, v in sorted(per_type.items())},
            "frames": frames}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grasp_dir")
    parser.add_argument("--every", type=int, default=1, help="test every n-th frame (default all)")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--frames", action="store_true", help="include each frame's verdict in --out")
    args = parser.parse_args(argv)
    t0 = time.time()
    report = data_hold_rate(args.grasp_dir, every=args.every)
    report["seconds"] = round(time.time() - t0, 1)
    for name, v in report["per_object"].items():
        print(f"{name:<24} {v['frames']:>5} frames  hold rate {v['rate']:.3f}")
    for name, v in report["per_grasp_type"].items():
        print(f"type {name:<19} {v['frames']:>5} frames  hold rate {v['rate']:.3f}")
    print(f"{'all':<24} {report['frames_tested']:>5} frames  hold rate {report['rate']:.3f}  ({report['seconds']} s)")
    if args.out:
        if not args.frames:
            report.pop("frames")
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
