"""YAML configs with dotted ``key=value`` overrides (OmegaConf underneath).

``load_config("configs/x.yaml", ["model.width=256", "max_steps=100"])`` merges the
overrides into the file's tree. Overriding a key that the file does not define is
an error (typos fail loudly); prefix it with ``+`` to add a new key on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig, OmegaConf

from handgen.config_checks import check_config
from handgen.errors import HandgenError, InputFileError


def parse_override(text: str) -> tuple[str, Any, bool]:
    """``"a.b=3"`` -> ("a.b", 3, False); ``"+a.c=x"`` -> ("a.c", "x", True). Values parse as YAML."""
    if "=" not in text:
        raise HandgenError(f"override {text!r} is not of the form key=value")
    key, value = text.split("=", 1)
    add = key.startswith("+")
    key = key.lstrip("+").strip()
    if not key:
        raise HandgenError(f"override {text!r} has an empty key")
    try:
        parsed = OmegaConf.to_container(OmegaConf.from_dotlist([f"v={value}"]))["v"]  # type: ignore[index]
    except Exception:  # not parsable as YAML: keep the raw text
        parsed = value
    return key, parsed, add


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """Read a YAML config and apply dotted overrides.

    Raises:
        InputFileError: missing or unparsable file.
        HandgenError: malformed override or unknown key.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "config file not found")
    try:
        cfg = OmegaConf.load(path)
    except Exception as exc:  # yaml errors come in several types
        raise InputFileError(path, f"not a valid YAML config ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(cfg, DictConfig):
        raise InputFileError(path, "the config must be a mapping at the top level")
    defaults = cfg.copy()
    apply_overrides(cfg, overrides)
    check_config(cfg, defaults)
    return cfg


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """Apply ``key=value`` overrides in place (see module docstring)."""
    for item in overrides:
        key, value, add = parse_override(item)
        if not add and OmegaConf.select(cfg, key, default=_MISSING) is _MISSING:
            raise HandgenError(f"unknown config key {key!r} (use +{key}=... to add a new key)")
        OmegaConf.update(cfg, key, value, merge=True, force_add=True)
    return cfg


def save_config(cfg: DictConfig, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    from handgen.io.atomic import atomic_write_text

    atomic_write_text(path, OmegaConf.to_yaml(cfg, resolve=True))


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


_MISSING = object()
