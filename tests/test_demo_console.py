"""What the demo shows on the console and in its summary (issue 24): stage progress naming the log,
per-prompt "follows" checks measured on the joints, small-sample and hold-test wording."""

from __future__ import annotations

import json
import re
import time

import numpy as np
from tqdm import tqdm

from handgen.demo.follows import Check, coverage, followed, follows_line, measure
from handgen.demo.plan import PROMPTS
from handgen.demo.stages import Stage, run_stages
from handgen.demo.summary import follows_lines, hold_line, small_sample_note
from handgen.demo.ticker import latest_bar
from handgen.repr.motion import BimanualMotion


def test_latest_bar_reads_the_newest_tqdm_update(tmp_path):
    log = tmp_path / "stage.log"
    with open(log, "w") as stream:
        stream.write("handgen: loading\n")
        bar = tqdm(total=500, desc="train motion_diffusion", file=stream, mininterval=0)
        bar.update(230)
        bar.refresh()
    line = latest_bar(log)
    assert line is not None and line.startswith("train motion_diffusion 46% (230/500), ETA ")
    (tmp_path / "plain.log").write_text("no bar here\n")
    assert latest_bar(tmp_path / "plain.log") is None and latest_bar(tmp_path / "none.log") is None


def test_running_stage_shows_its_bar_and_log_on_the_console(tmp_path, capsys):
    def work() -> None:
        for _ in tqdm(range(8), desc="work", mininterval=0):
            time.sleep(0.06)

    run_stages(tmp_path, [Stage("work", "a slow stage", work)], "fast", ticker_every=0.05)
    out = capsys.readouterr().out
    log = tmp_path / "logs" / "work.log"
    assert f"[1/1] a slow stage ... (log: {log})" in out
    assert "[1/1] a slow stage: work " in out and "% (" in out and "ETA" in out and f"(log: {log})" in out
    assert "it/s" in log.read_text()  # the bar itself went to the log


def _joints(hand_pair, frames=30, curl=0.0, gap=(0.4, 0.4), swing=0.0, index_curl=None) -> np.ndarray:
    t = np.linspace(0.0, 1.0, frames)
    go = np.zeros((frames, 2, 3))
    go[:, :, 2] = swing * np.sin(2 * np.pi * 3 * t)[:, None]  # rocks about the forward axis: a wave
    pose = np.zeros((frames, 2, 45))
    pose[:, :, 2::3] = curl
    if index_curl is not None:  # MANO's first three joints are the index finger's
        pose[:, :, 2:9:3] = index_curl
    half = np.linspace(gap[0], gap[1], frames) / 2
    transl = np.stack([np.stack([half, 0 * t, 0 * t + 0.3], 1), np.stack([-half, 0 * t, 0 * t + 0.3], 1)], 1)
    return BimanualMotion(go, pose, transl, np.zeros((2, 10))).joints(hand_pair)


def test_follow_checks_measure_the_joints(hand_pair):
    fist, relaxed = _joints(hand_pair, curl=1.4), _joints(hand_pair, curl=0.0)
    assert measure(fist, Check("right", "fist"))[0] and not measure(relaxed, Check("right", "fist"))[0]
    assert measure(relaxed, Check("left", "open"))[0] and measure(relaxed, Check("left", "still"))[0]
    closer = _joints(hand_pair, gap=(0.4, 0.2))
    assert measure(closer, Check("both", "approach"))[0] and not measure(relaxed, Check("both", "approach"))[0]
    assert measure(relaxed, Check("both", "apart"))[0] and not measure(closer, Check("both", "apart"))[0]
    waving = _joints(hand_pair, swing=0.5)
    assert measure(waving, Check("right", "wave"))[0] and not measure(relaxed, Check("right", "wave"))[0]
    pointing = _joints(hand_pair, curl=1.4, index_curl=0.0)
    assert measure(pointing, Check("right", "point"))[0]  # the helper's curl bends the right hand's fingers
    assert not measure(fist, Check("right", "point"))[0] and not measure(relaxed, Check("right", "point"))[0]
    pinching = relaxed.copy()
    pinching[:, 1, 4] = pinching[:, 1, 8] + 0.005  # right thumb tip 5 mm from the index tip
    assert measure(pinching, Check("right", "pinch"))[0] and not measure(pinching, Check("left", "pinch"))[0]
    line = follows_line([fist, relaxed, fist], (Check("right", "fist"), Check("both", "approach")))
    assert re.fullmatch(r"right fist 2/3 no \(curl (1\.\d\d), 0\.\d\d, \1 rad\), "
                        r"approach 0/3 no \(wrists (\d+) -> \2 cm; wrists \2 -> \2 cm; wrists \2 -> \2 cm\)", line)
    assert follows_line([fist], (Check("right", "fist"),)).startswith("right fist 1/1 yes (curl 1.")


def test_a_prompt_is_followed_by_a_clear_majority_of_its_samples():
    assert followed(1, 1) and followed(2, 2) and followed(3, 4) and followed(4, 4)
    assert not followed(0, 1) and not followed(1, 2) and not followed(2, 4) and not followed(0, 0)


def test_summary_groups_the_samples_by_prompt(tmp_path, hand_pair):
    """Each prompt's samples are found by their texts and measured together; other samples are left out."""
    text = tmp_path / "samples" / "text"
    text.mkdir(parents=True)
    relaxed, fist = _joints(hand_pair, curl=0.0), _joints(hand_pair, curl=1.4)
    open_fist = relaxed.copy()
    open_fist[:, 1] = fist[:, 1]  # left open and still, right fist: prompt 0
    files = [(PROMPTS[0], open_fist), (PROMPTS[0], open_fist), (PROMPTS[2], open_fist), (PROMPTS[2], relaxed),
             ({"left": "other", "right": "", "both": ""}, open_fist)]
    for i, (prompt, joints) in enumerate(files):
        np.savez(text / f"sample_{i:03d}.npz", joints=joints, **{f"text_{k}": v for k, v in prompt.items()})
    lines = follows_lines(tmp_path)
    assert len(lines) == 2
    assert lines[0].startswith("- `samples/text/sample_000.npz` and 1 more (The left hand opens wide")
    assert "follows: left open 2/2 yes (curl 0." in lines[0] and "right fist 2/2 yes (curl 1.41, 1.41 rad)" in lines[0]
    assert lines[1].startswith("- `samples/text/sample_002.npz` and 1 more")
    assert "right fist 1/2 no (curl 1.41, 0.00 rad)" in lines[1]


def test_coverage_counts_training_clips_per_motion(tmp_path):
    rows = [{"split": "train", "gt_labels": {"left": {"fingers": "fist", "wrist": "still"},
                                             "right": {"fingers": "relaxed", "wrist": "wave"}, "both": "approach"}},
            {"split": "train", "gt_labels": {"left": {"fingers": "open", "wrist": "up"},
                                             "right": {"fingers": "fist", "wrist": "still"}, "both": "none"}},
            {"split": "test", "gt_labels": {"left": {"fingers": "fist"}, "right": {}, "both": "approach"}}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    counts = coverage(tmp_path, (Check("left", "fist"), Check("right", "wave"), Check("both", "approach"),
                                 Check("right", "fist"), Check("left", "open"), Check("right", "open")))
    # relaxed fingers (curl 0.68 rad in the data) are not "open" (<= 0.6 rad)
    assert counts == {"left fist": 1, "right wave": 1, "approach": 1, "right fist": 1, "left open": 1, "right open": 0}


def test_small_samples_and_the_hold_test_are_worded_as_such():
    small = {"clips": 10, "protocol": {"r_precision_batch": 10}}
    assert "n = 10 test clips" in small_sample_note(small)[0] and "not a comparison" in small_sample_note(small)[0]
    full = small_sample_note({"clips": 64, "protocol": {"r_precision_batch": 32}, "replications": 3})
    assert full[0].startswith("n = 64 test clips") and "Small sample" not in full[0]
    fell = hold_line({"grasps": [{"holds": 0.0, "hold_directions": 1.0, "simulation_displacement_mm": 4825.0}]})
    assert "does NOT hold" in fell and "1 of 6 directions" in fell and "plausible" not in fell
    held = hold_line({"grasps": [{"holds": 1.0, "hold_directions": 6.0, "simulation_displacement_mm": 3.0}]})
    assert held.startswith("hold test: holds the object") and "6 of 6" in held
    assert hold_line({"grasps": [{}]}) == "hold test: not simulated"


def test_data_plan_seed_shows_every_prompted_motion():
    from handgen.demo.data_plan import covering_seed, label_counts
    from handgen.demo.plan import ALL_CHECKS, FULL, PROMPT_CHECKS, PROMPTS

    assert len(PROMPT_CHECKS) == len(PROMPTS)
    seed, counts = covering_seed(FULL.num_seqs, ALL_CHECKS, FULL.min_count, objects=FULL.objects)
    assert set(counts) == {c.label for c in ALL_CHECKS} and min(counts.values()) >= FULL.min_count >= 20
    assert label_counts(seed, FULL.num_seqs, ALL_CHECKS, FULL.objects) == counts
    assert label_counts(seed, FULL.num_seqs, ALL_CHECKS) != counts  # the object fraction changes the labels
    # a set too small to show everything gets the seed with the best smallest count
    _, small = covering_seed(4, ALL_CHECKS, seeds=range(5))
    assert min(small.values()) == max(min(label_counts(s, 4, ALL_CHECKS).values()) for s in range(5))
