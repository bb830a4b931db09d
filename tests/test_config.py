"""YAML configs: schema, overlays, overrides, shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from handgen.config import SHIPPED_CONFIGS, find_config, load_config, save_config
from handgen.config_schema import RUN_SCHEMAS
from handgen.errors import HandgenError, InputFileError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_overrides_apply_and_a_misspelt_override_names_the_nearest_key(tmp_path):
    cfg = load_config(REPO / "configs/motion_diffusion_tiny.yaml", ["model.width=96", "train.lr=1e-4", "max_steps=7"])
    assert cfg.model.width == 96 and cfg.train.lr == pytest.approx(1e-4) and cfg.max_steps == 7
    with pytest.raises(HandgenError, match=r"unknown config key 'model.widht' in override .*did you mean 'model.width'"):
        load_config(REPO / "configs/motion_diffusion_tiny.yaml", ["model.widht=3"])
    with pytest.raises(HandgenError, match="key=value"):
        load_config(REPO / "configs/motion_diffusion_tiny.yaml", ["max_steps"])
    save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml").model.width == 96


def test_a_misspelt_key_in_a_file_names_the_file_and_the_nearest_key(tmp_path):
    path = _write(tmp_path / "c.yaml", "base: x.yaml\n")
    (tmp_path / "x.yaml").write_text((REPO / "configs/motion_diffusion.yaml").read_text())
    _write(path, "base: x.yaml\ntrain:\n  bacth_size: 8\n")
    with pytest.raises(InputFileError, match=r"c.yaml.*unknown config key 'train.bacth_size'.*'train.batch_size'") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_wrong_types_and_unset_required_keys_are_errors(tmp_path):
    with pytest.raises(HandgenError, match="max_steps"):
        load_config(REPO / "configs/motion_diffusion_tiny.yaml", ["max_steps=abc"])
    path = _write(tmp_path / "m.yaml", "model_type: motion_diffusion\noutput_dir: o\n")
    with pytest.raises(HandgenError, match="'max_steps'.*must be set"):
        load_config(path)
    with pytest.raises(HandgenError, match="unknown model_type 'nope'"):
        load_config(_write(tmp_path / "n.yaml", "model_type: nope\n"))


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = _write(tmp_path / "bad.yaml", "a: [1, 2\n")
    with pytest.raises(InputFileError, match="bad.yaml"):
        load_config(bad)
    loop = _write(tmp_path / "loop.yaml", "base: loop.yaml\n")
    with pytest.raises(InputFileError, match="loops back"):
        load_config(loop)


def test_a_tiny_config_is_a_short_overlay_on_its_full_twin():
    tiny, full = load_config("motion_diffusion_tiny"), load_config("motion_diffusion")
    assert tiny.model.preset == "tiny" and full.model.preset == "large"
    assert tiny.diffusion == full.diffusion  # written once, in the full config
    # the loss is HandX's in both; the tiny recipe adds only the SNR weighting (docs/motion_eval.md)
    assert {**tiny.loss, "snr_weighting": False, "max_weight": None} == full.loss and tiny.loss.snr_weighting
    assert len((REPO / "configs/motion_diffusion_tiny.yaml").read_text().splitlines()) < 30


def test_configs_are_found_by_name_from_the_installed_package():
    assert find_config("motion_diffusion_tiny").resolve() == (SHIPPED_CONFIGS / "motion_diffusion_tiny.yaml").resolve()
    assert find_config("configs/fsq_tiny.yaml").name == "fsq_tiny.yaml"
    with pytest.raises(InputFileError, match="shipped configs: .*motion_diffusion_tiny"):
        find_config("motion_difusion_tiny")


def _build(cfg) -> torch.nn.Module:
    """The model of a config with the data-derived sizes of the synthetic data (324 features, MiniLM 384)."""
    from handgen.models.grid_unet import GridUNet, grid_unet_config
    from handgen.models.motion_ar import build_ar
    from handgen.models.motion_denoiser import build_denoiser
    from handgen.models.motion_evaluator import build_evaluator
    from handgen.models.motion_tokenizer import build_tokenizer
    from handgen.models.object_autoencoder import ObjectAutoencoder, autoencoder_config

    kind = cfg.model_type
    if kind in ("motion_diffusion", "motion_consistency"):  # a student has its teacher's architecture
        return build_denoiser(cfg, 324, 384)
    if kind == "motion_ar":
        return build_ar(cfg, 4375, 384, 4)
    if kind == "fsq_tokenizer":
        return build_tokenizer(cfg, 324)
    if kind == "motion_evaluator":
        return build_evaluator(cfg, 384)
    if kind == "grasp_vqvae":
        return ObjectAutoencoder(autoencoder_config(cfg.model))
    if kind == "grasp_prior":
        return GridUNet(grid_unet_config(cfg.model, 43, 384, int(cfg.diffusion.num_train_timesteps)))
    raise AssertionError(kind)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_loads_and_builds_its_model(path):
    cfg = load_config(path)
    assert cfg.model_type in RUN_SCHEMAS
    # the real build path; on the meta device the large presets' weights are neither allocated nor initialised
    # (vector_quantize_pytorch's FSQ reads tensor values while it is built, so the tokenizers build for real)
    with torch.device("cpu" if cfg.model_type == "fsq_tokenizer" else "meta"):
        model = _build(cfg)
    assert sum(p.numel() for p in model.parameters()) > 1000
