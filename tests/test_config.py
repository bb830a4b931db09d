"""YAML configs with dotted overrides."""

from __future__ import annotations

import pytest

from handgen.config import load_config, save_config
from handgen.errors import HandgenError, InputFileError


def test_overrides_and_unknown_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("max_steps: 10\nmodel:\n  width: 64\n  layers: 2\noptim:\n  lr: 0.001\n")
    cfg = load_config(path, ["model.width=128", "optim.lr=1e-4", "+extra.name=abc"])
    assert cfg.model.width == 128 and cfg.optim.lr == pytest.approx(1e-4) and cfg.extra.name == "abc"
    with pytest.raises(HandgenError, match="unknown config key 'model.widht'"):
        load_config(path, ["model.widht=3"])
    with pytest.raises(HandgenError, match="key=value"):
        load_config(path, ["max_steps"])
    save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml").model.width == 128


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(InputFileError, match="bad.yaml"):
        load_config(bad)
