"""``--device``: which torch device a command runs its networks on."""

from __future__ import annotations

import argparse

from handgen.errors import HandgenError

DEVICE_HELP = "auto (default: CUDA when this torch build and a GPU have it, else CPU), cpu, cuda, cuda:N or mps"


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """The shared ``--device`` option (default ``auto``)."""
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def resolve_device(name: str | None) -> str:
    """The torch device string for ``name`` ("auto" picks CUDA when available, else CPU).

    Raises:
        HandgenError: an unknown device, or one this torch build or machine does not have (one line).
    """
    import torch  # here, not at the top: every command registers --device at start-up

    name = (name or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise HandgenError(f"--device {name}: not a device; use {DEVICE_HELP}") from None
    if device.type == "cuda":
        if torch.version.cuda is None:
            raise HandgenError(f"--device {name}: this torch build ({torch.__version__}) has no CUDA support; "
                               "use --device cpu, or install a CUDA build of torch (see README, Set-up)")
        if not torch.cuda.is_available():
            raise HandgenError(f"--device {name}: torch has CUDA {torch.version.cuda} but finds no GPU (driver?)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise HandgenError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible")
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise HandgenError(f"--device {name}: MPS (Apple GPU) is not available here; use --device cpu")
    elif device.type != "cpu":
        raise HandgenError(f"--device {name}: handgen runs on {DEVICE_HELP}")
    return str(device)
