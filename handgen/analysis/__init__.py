"""Measurable motion features of bimanual clips (HandX's "decoupled" annotation, step 1).

:func:`extract_clip_features` is the entry point; :mod:`.contacts` exposes the per-frame
contact flags and statistics that the evaluator reuses.
"""

from handgen.analysis.extract import ClipFeatures, HandFeatures, PairFeatures, extract_clip_features

__all__ = ["ClipFeatures", "HandFeatures", "PairFeatures", "extract_clip_features"]
