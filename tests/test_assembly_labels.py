"""Assembly101-style fine-grained action labels."""

from __future__ import annotations

import numpy as np
import pytest

from data_prep.assembly_labels import (
    BENCHMARK_VERBS,
    ActionSegment,
    dominant_verb,
    normalize_verb,
    per_frame_verbs,
    read_action_labels,
)
from handgen.errors import InputFileError

CSV = """id,video,start_frame,end_frame,action_id,verb_id,noun_id,action_cls,verb_cls,noun_cls,toy_id
0,nusar-2021_seqA/C10095_rgb.mp4,10,39,1,3,4,pick up screwdriver,pick_up,screwdriver,a01
1,nusar-2021_seqA/C10095_rgb.mp4,40,99,2,5,4,screw wheel,screw,wheel,a01
2,nusar-2021_seqA/C10095_rgb.mp4,90,119,3,7,4,inspect toy,inspect,toy,a01
3,nusar-2021_seqB/C10095_rgb.mp4,0,29,4,1,2,"put down, base",Put-Down,base,a02
"""


def test_read_labels_groups_by_sequence_and_normalises_verbs(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(CSV)
    labels = read_action_labels(path)
    assert sorted(labels) == ["nusar-2021_seqA", "nusar-2021_seqB"]
    a = labels["nusar-2021_seqA"]
    assert a[0] == ActionSegment(10, 40, "pick up")  # end_frame inclusive -> [10, 40)
    assert [s.verb for s in a] == ["pick up", "screw", "inspect"]
    assert [s.is_benchmark_verb for s in a] == [True, True, False]
    assert labels["nusar-2021_seqB"] == [ActionSegment(0, 30, "put down")]
    assert read_action_labels(path, end_inclusive=False)["nusar-2021_seqA"][0].end == 39


def test_verb_column_and_sequence_column_take_precedence(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("sequence,start_frame,end_frame,verb,verb_cls\ns1,0,9,unscrew,7\ns1,10,19,Position,8\n")
    labels = read_action_labels(path)
    assert [s.verb for s in labels["s1"]] == ["unscrew", "position"]
    assert normalize_verb(" Pick__Up ") == "pick up" and normalize_verb("12") == "verb_12"
    assert set(BENCHMARK_VERBS) == {"pick up", "put down", "position", "remove", "screw", "unscrew"}


def test_dominant_verb_and_per_frame_labels():
    segs = [ActionSegment(10, 40, "pick up"), ActionSegment(40, 100, "screw"), ActionSegment(90, 120, "inspect")]
    assert dominant_verb(segs, 0, 30) == "pick up"  # 20 frames of pick up, nothing else
    assert dominant_verb(segs, 30, 60) == "screw"  # 10 vs 20
    assert dominant_verb(segs, 100, 120) is None  # only the non-benchmark verb
    assert dominant_verb(segs, 100, 120, benchmark_only=False) == "inspect"
    assert dominant_verb(segs, 200, 260) is None
    assert dominant_verb(segs, 25, 55) == "pick up"  # a 15/15 tie goes to the verb seen first
    # a 15 fps motion: motion frames [20, 30) are label frames [40, 60)
    assert dominant_verb(segs, 20, 30, motion_fps=15.0) == "screw"
    assert dominant_verb(segs, 20, 30) == "pick up"
    frames = per_frame_verbs(segs, 130)
    assert frames[9] == "" and frames[10] == "pick up" and frames[39] == "pick up" and frames[40] == "screw"
    assert frames[95] == "inspect" and frames[125] == ""
    assert per_frame_verbs(segs, 130, benchmark_only=True)[95] == "screw"
    assert isinstance(frames, np.ndarray) and frames.shape == (130,)


def test_bad_label_files(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("video,start,end,verb\na,0,1,screw\n")
    with pytest.raises(InputFileError, match="x.csv: action csv needs start_frame"):
        read_action_labels(path)
    path.write_text("video,start_frame,end_frame,verb\na,5,oops,screw\n")
    with pytest.raises(InputFileError, match="line 2: bad start_frame"):
        read_action_labels(path)
    path.write_text("video,start_frame,end_frame,verb\na,5,2,screw\n")
    with pytest.raises(InputFileError, match="line 2: empty or negative"):
        read_action_labels(path)
    with pytest.raises(InputFileError, match="cannot read"):
        read_action_labels(tmp_path / "missing.csv")
