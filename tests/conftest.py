"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import (  # noqa: F401  (re-exported for older test modules)
    REPO, SHARED, TINY_AE, TINY_PRIOR, YCB_DIR, cli_in_process, run_cli, tiny_ar_overrides, tiny_diffusion_overrides,
    tiny_tokenizer_overrides,
)


# fixtures that train models or prepare data sets: a test that uses one is an integration test
INTEGRATION_FIXTURES = frozenset({
    "synthetic_data_dir", "synthetic_object_data_dir", "trained_tokenizer", "trained_ar", "tiny_diffusion_run",
    "tiny_evaluator_run", "grasp_runs", "box_prior", "fast_demo",
})
INTEGRATION_MODULES = frozenset({"test_training_loop.py", "test_demo.py", "test_prep_arctic.py", "test_prep_ahx.py"})


def pytest_collection_modifyitems(config, items) -> None:
    """Mark integration tests (the quick loop is ``-m "not slow and not integration"``; CI runs them all)."""
    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in INTEGRATION_MODULES:
            item.add_marker(pytest.mark.integration)


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def hand_pair():
    from handgen.hand import HandPair, ProceduralHand

    return HandPair(ProceduralHand("left"), ProceduralHand("right"))


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    """A DATA_DIR of hand-only ``prep synthetic`` data (48 sequences of 90 frames -> 96 clips, seed 5)
    converted by ``prep arctic``, with ground-truth captions and labels. Shared by many tests: copy it
    before changing it. (Hand-object sequences have their own fixtures.)"""
    from data_prep.prep_arctic import prep_arctic
    from data_prep.synthetic.generate import generate

    root = tmp_path_factory.mktemp("synthetic")
    generate(root / "raw", num_seqs=48, seed=5, frames=90, progress=False, objects=0.0)
    prep_arctic(root / "raw", root / "data", progress=False)
    return root / "data"


@pytest.fixture(scope="session")
def condition_clip(synthetic_data_dir, tmp_path_factory) -> Path:
    """The first training clip of ``synthetic_data_dir`` written by ``handgen clip``: the motion file the
    conditioning modes (reaction, wrist, in-between, keyframe) are given."""
    from handgen.io.data_dir import DataDir

    clip = DataDir(synthetic_data_dir).clips("train")[0]["id"]
    path = tmp_path_factory.mktemp("condition") / "condition.npz"
    assert cli_in_process("clip", "--data", synthetic_data_dir, "--id", clip, "--out", path) == 0
    return path


@pytest.fixture(scope="session")
def synthetic_object_data_dir(tmp_path_factory) -> Path:
    """A DATA_DIR of hand-object ``prep synthetic`` data converted by ``prep arctic``: 6 sequences of 90
    frames, all with an object (seed 3, primitives only: box, cylinder, sphere, lidded box, bar), 12 clips
    that turn, tilt, open the lid, push, pull and carry left, in layouts lid, sides, support_top, wrap_one,
    wrap_top and wrap_both, with one hand free in some and hands reaching for the object in others.
    Shared: copy it before changing it."""
    from data_prep.prep_arctic import prep_arctic
    from data_prep.synthetic.generate import generate

    root = tmp_path_factory.mktemp("synthetic_objects")
    generate(root / "raw", num_seqs=6, seed=3, frames=90, progress=False, objects=1.0, ycb_dir=root / "no_ycb")
    prep_arctic(root / "raw", root / "data", progress=False)
    return root / "data"


@pytest.fixture(scope="session")
def trained_tokenizer(synthetic_data_dir, tmp_path_factory) -> Path:
    """A tokenizer run dir from a few steps of configs/fsq_tiny.yaml (in-process)."""
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("fsq") / "run"
    return run_training(str(REPO / "configs" / "fsq_tiny.yaml"), tiny_tokenizer_overrides(
        synthetic_data_dir, run, max_steps=12, **{"train.val_every": 6, "train.checkpoint_every": 12}))


@pytest.fixture(scope="session")
def trained_ar(trained_tokenizer, tmp_path_factory) -> Path:
    """An AR run dir from a few steps of configs/motion_ar_tiny.yaml over ``trained_tokenizer`` (in-process)."""
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("ar") / "run"
    return run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"), tiny_ar_overrides(
        trained_tokenizer, run, max_steps=6, **{"train.val_every": 3, "train.checkpoint_every": 6}))


@pytest.fixture(scope="session")
def tiny_diffusion_run(synthetic_data_dir, tmp_path_factory) -> Path:
    """A tiny motion diffusion model trained for a few dozen steps (once per session)."""
    run = tmp_path_factory.mktemp("diffusion") / "run"
    config = str(REPO / "configs" / "motion_diffusion_tiny.yaml")
    overrides = tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=60, **{
        "train.checkpoint_every": 60, "train.val_every": 60, "train.lr": 0.002, "train.batch_size": 16})
    run_cli("-q", "train", "--config", config, *overrides, check=True)
    return run


@pytest.fixture(scope="session")
def grasp_runs(tmp_path_factory):
    """(GRASP_DIR, autoencoder run, prior run) trained for seconds on a 3-object fixture."""
    from tests.grasp_fixtures import primitive_objects, write_grasp_dir

    root = tmp_path_factory.mktemp("grasp")
    data = write_grasp_dir(root / "data", primitive_objects(0, 1), per_object=8, seed=0)
    ae = root / "ae"
    assert cli_in_process("train", "--config", "configs/grasp_vqvae_tiny.yaml", f"data={data}", f"output_dir={ae}",
                          *TINY_AE) == 0
    prior = root / "prior"
    assert cli_in_process("train", "--config", "configs/grasp_prior_tiny.yaml", f"data={data}", f"object_encoder={ae}",
                          f"output_dir={prior}", *TINY_PRIOR) == 0
    return data, ae, prior


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory):
    """Synthetic MANO_{LEFT,RIGHT}.pkl in the official layout (tests/test_mano_hand.py, tests/test_mano_files.py)."""
    from handgen.testing.synthetic_mano import write_synthetic_mano_dir

    return write_synthetic_mano_dir(tmp_path_factory.mktemp("mano_pkl"), seed=0, fmt="pkl")
