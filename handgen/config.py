"""YAML configs with dotted ``key=value`` overrides, checked against a schema (OmegaConf underneath).

``load_config("configs/x.yaml", ["model.width=256", "max_steps=100"])`` reads the file,
merges it onto its ``base:`` file when it names one (the ``*_tiny.yaml`` configs are short
overlays on their full-size twins), applies the overrides and validates the result against
the schema of its ``model_type`` (:mod:`handgen.config_schema`): a misspelt key, in the file
or in an override, is an error naming the key and the nearest valid one; a value of the
wrong type is an error naming the key; keys a file leaves out take the schema's defaults.

A config may be named instead of given by path: ``motion_diffusion_tiny`` finds the shipped
``configs/motion_diffusion_tiny.yaml`` (installed with the package).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from handgen.config_schema import RUN_SCHEMAS, schema_keys, unknown_key_message, validate
from handgen.errors import HandgenError, InputFileError
from handgen.io.atomic import atomic_write_text

SHIPPED_CONFIGS = Path(__file__).resolve().parent / "configs"
BASE_KEY = "base"


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


def find_config(name: str | Path) -> Path:
    """The config file for a path, or for the name of a shipped config (``motion_diffusion_tiny``).

    Raises:
        InputFileError: neither a file nor a shipped config's name.
    """
    path = Path(name)
    if path.is_file():
        return path
    shipped = SHIPPED_CONFIGS / (path.name if path.suffix == ".yaml" else f"{path.name}.yaml")
    if path.parent == Path(".") or path.parent.name == "configs":
        if shipped.is_file():
            return shipped
    known = ", ".join(sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml")))
    raise InputFileError(path, f"config file not found (shipped configs: {known})")


def read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> DictConfig:
    """A config file merged onto its ``base:`` chain (paths relative to the file), unvalidated."""
    if path.resolve() in seen:
        raise InputFileError(path, "the base: chain of this config loops back to itself")
    try:
        cfg = OmegaConf.load(path)
    except Exception as exc:  # yaml errors come in several types
        raise InputFileError(path, f"not a valid YAML config ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(cfg, DictConfig):
        raise InputFileError(path, "the config must be a mapping at the top level")
    base = cfg.pop(BASE_KEY, None)
    if base is None:
        return cfg
    base_path = path.parent / str(base)
    if not base_path.is_file():
        raise InputFileError(path, f"its base: {base} is not a file beside it")
    return OmegaConf.merge(read_yaml(base_path, seen + (path.resolve(),)), cfg)  # type: ignore[return-value]


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """Read a YAML config (path or shipped name), apply dotted overrides, validate against the schema.

    Raises:
        InputFileError: missing or unparsable file, or an invalid key/value in it.
        HandgenError: a malformed override, an unknown key or a wrong value in one.
    """
    path = find_config(path)
    cfg = read_yaml(path)
    try:
        validate(cfg)  # the file alone: its errors name the file
    except InputFileError:
        raise
    except HandgenError as exc:
        raise InputFileError(path, str(exc)) from None
    apply_overrides(cfg, overrides)
    return validate(cfg, " (after the command-line overrides)")


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """Apply ``key=value`` overrides in place; an unknown key names the nearest valid one."""
    schema = RUN_SCHEMAS.get(str(cfg.get("model_type")))
    valid = schema_keys(schema) if schema is not None else []
    for item in overrides:
        key, value, _ = parse_override(item)
        if valid and key not in valid and not any(v.startswith(key + ".") for v in valid):
            raise HandgenError(unknown_key_message(key, valid, f" in override {item!r}"))
        OmegaConf.update(cfg, key, value, merge=True, force_add=True)
    return cfg


def save_config(cfg: DictConfig, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    atomic_write_text(path, OmegaConf.to_yaml(cfg, resolve=True))


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
