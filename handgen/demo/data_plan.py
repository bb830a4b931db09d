"""The demo's data plan: a synthetic-data seed whose sequences show every motion the demo's prompts ask for.

The synthetic generator draws each sequence's primitives (finger pose, wrist motion, two-hand
relation) from its seed; with few sequences some motions (hands approaching: 12 % of the
hand-only sequences) may appear only a few times, and a model cannot follow words its data
hardly showed it. The plan draws the sequences' labels only (no motion, milliseconds) for seeds
0, 1, ... and takes the first seed where every checked motion appears in at least ``min_count``
hand-only sequences (a fifth of the sequences go to the validation and test splits; each 90-frame
sequence makes two clips; the summary counts the training clips).
"""

from __future__ import annotations

from data_prep.synthetic.compose import sample_plan
from data_prep.synthetic.sequences import is_object_sequence, sequence_rngs
from handgen.demo.follows import Check, label_matches

DEFAULT_OBJECT_FRACTION = 1 / 3  # prep synthetic's default


def label_counts(seed: int, num_seqs: int, checks: tuple[Check, ...],
                 objects: float = DEFAULT_OBJECT_FRACTION) -> dict[str, int]:
    """Hand-only sequences of ``prep synthetic --seed seed --num-seqs num_seqs`` showing each check's motion."""
    labels = [sample_plan(sequence_rngs(seed, i)[0]).labels() for i in range(num_seqs)
              if not is_object_sequence(i, objects)]
    return {c.label: sum(label_matches(row, c) for row in labels) for c in checks}


def covering_seed(num_seqs: int, checks: tuple[Check, ...], min_count: int = 3,
                  seeds: range = range(1000), objects: float = DEFAULT_OBJECT_FRACTION) -> tuple[int, dict[str, int]]:
    """The first seed whose data shows every check at least ``min_count`` times, with its counts.

    ``objects`` is ``prep synthetic --objects``. When no seed reaches ``min_count`` (a small ``--fast``
    set), the seed with the largest smallest count.
    """
    best: tuple[int, int, dict[str, int]] | None = None
    for seed in seeds:
        counts = label_counts(seed, num_seqs, checks, objects)
        low = min(counts.values())
        if low >= min_count:
            return seed, counts
        if best is None or low > best[1]:
            best = (seed, low, counts)
    assert best is not None
    return best[0], best[2]
