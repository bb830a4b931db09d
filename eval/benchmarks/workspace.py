"""What the training and sampling benchmarks share: a small synthetic DATA_DIR and the tiny runs trained on it.

Made lazily in a temporary folder (removed at exit) the first time a section needs it, so
``handgen bench --only sampling`` trains only what sampling needs. Grasp models need a
GRASP_DIR (``HANDGEN_BENCH_GRASP_DATA``); without one they are reported as skipped.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from omegaconf import OmegaConf

from data_prep.prep_arctic import prep_arctic
from data_prep.synthetic.generate import generate
from handgen.config import load_config
from handgen.train.loop import run_training

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# model types trained first because other configs point at their runs: key in the dependent config -> model type
DEPENDENCIES: dict[str, str] = {"tokenizer": "fsq_tokenizer", "object_encoder": "grasp_vqvae"}
ORDER: tuple[str, ...] = ("fsq_tokenizer", "grasp_vqvae")


class BenchWorkspace:
    """Temporary DATA_DIR (``num_seqs`` synthetic sequences) and tiny runs keyed by config name."""

    def __init__(self, num_seqs: int = 16) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="handgen-bench-"))
        atexit.register(shutil.rmtree, self.root, True)
        self.num_seqs = num_seqs
        self._data: Path | None = None
        self.runs: dict[str, Path] = {}  # config stem -> run dir
        self.samples_per_s: dict[str, float] = {}
        self.failures: dict[str, str] = {}

    @property
    def data(self) -> Path:
        """The motion DATA_DIR (made on first use)."""
        if self._data is None:
            generate(self.root / "raw", num_seqs=self.num_seqs, seed=0, frames=90, progress=False)
            prep_arctic(self.root / "raw", self.root / "data", progress=False)
            self._data = self.root / "data"
        return self._data

    def tiny_configs(self) -> list[Path]:
        """configs/*_tiny.yaml, the ones others depend on first."""
        found = sorted(CONFIGS.glob("*_tiny.yaml"))
        rank = {t: i for i, t in enumerate(ORDER)}
        return sorted(found, key=lambda p: rank.get(str(OmegaConf.load(p).get("model_type")), len(ORDER)))

    def run_of(self, model_type: str) -> Path | None:
        for stem, run in self.runs.items():
            if load_config(run / "config.yaml").get("model_type") == model_type:
                return run
        return None

    def train(self, config: Path, steps: int = 20) -> Path:
        """Train ``config`` for ``steps`` steps (batch size as configured); records samples/s. Raises RuntimeError."""
        import csv
        import os


        if config.stem in self.runs:
            return self.runs[config.stem]
        cfg = OmegaConf.load(config)
        model_type = str(cfg.get("model_type"))
        overrides = [f"output_dir={self.root / config.stem}", f"max_steps={steps}", "train.log_every=1",
                     f"train.val_every={10 * steps}", f"train.checkpoint_every={10 * steps}", "train.warmup_steps=0"]
        if "data" in cfg:
            if model_type.startswith("grasp"):
                grasp_data = os.environ.get("HANDGEN_BENCH_GRASP_DATA")
                if not grasp_data:
                    raise RuntimeError("needs a GRASP_DIR: set HANDGEN_BENCH_GRASP_DATA")
                overrides.append(f"data={grasp_data}")
            elif "tokenizer" not in cfg:
                overrides.append(f"data={self.data}")
        for key, dep_type in DEPENDENCIES.items():
            if key in cfg:
                dep = self.run_of(dep_type)
                if dep is None:
                    raise RuntimeError(f"needs a {dep_type} run (its tiny config did not train)")
                overrides.append(f"{key}={dep}")
        run = run_training(str(config), overrides)
        with (run / "log.csv").open() as f:
            rows = [r for r in csv.DictReader(f) if r.get("samples_per_s")]
        self.runs[config.stem] = run
        self.samples_per_s[config.stem] = float(rows[-1]["samples_per_s"]) if rows else float("nan")
        return run


_WORKSPACE: BenchWorkspace | None = None


def workspace() -> BenchWorkspace:
    global _WORKSPACE
    if _WORKSPACE is None:
        _WORKSPACE = BenchWorkspace()
    return _WORKSPACE
