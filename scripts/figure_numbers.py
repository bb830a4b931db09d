"""What counts as a figure in scripts/reproduce_figures.py: content digests of arrays and JSON files (timings
and paths left out), every number of a report, and the comparison of two runs' numbers stage by stage."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

# keys whose values are timings, file times, the machine or paths, not figures (side_files: [path, size, mtime];
# the files themselves are hashed in their own stage)
VOLATILE = re.compile(r"(seconds|per_second|mtime|side_files|^wall|elapsed|samples_per_s|^date$|timestamp|path|^run_dir$|^src$|^mesh$|^file$|"
                      r"^results$|^ckpt$|^evaluator$|^data$|^out$|host|torch_version|threads|cores)", re.IGNORECASE)


def array_digest(arrays: dict[str, np.ndarray]) -> dict:
    """Exact and 1e-6-rounded hashes of named arrays (numeric ones also summed); timings and paths left out."""
    exact, rounded, total = hashlib.sha256(), hashlib.sha256(), 0.0
    for key in sorted(k for k in arrays if not VOLATILE.search(k.rsplit("/", 1)[-1])):
        a = np.asarray(arrays[key])
        header = f"{key}:{a.dtype.str}:{a.shape}".encode()
        exact.update(header)
        rounded.update(header)
        if a.dtype.kind in "fc":
            exact.update(np.ascontiguousarray(a).tobytes())
            rounded.update(np.round(a.astype(np.float64) * 1e6).astype(np.int64).tobytes())
            total += float(np.nansum(np.abs(a.astype(np.float64))))
        elif a.dtype.kind in "iub":
            exact.update(np.ascontiguousarray(a).tobytes())
            rounded.update(np.ascontiguousarray(a).tobytes())
            total += float(np.abs(a.astype(np.float64)).sum())
        else:  # strings / pickled objects
            text = repr(a.tolist()).encode()
            exact.update(text)
            rounded.update(text)
    return {"sha256": exact.hexdigest()[:16], "sha256_1e-6": rounded.hexdigest()[:16], "abs_sum": total}


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz / .npy file; pickled ones (our own prep output, trusted) unpacked into their arrays."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=True) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        arrays = {"": np.load(path, allow_pickle=True)}
    out: dict[str, np.ndarray] = {}

    def add(key: str, value) -> None:
        if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
            value = value.item()
        if isinstance(value, dict):
            for k, v in value.items():
                add(f"{key}/{k}", v)
        else:
            out[key] = np.asarray(value)

    for key, a in arrays.items():
        add(key, a)
    return out


def folder_digest(root: Path, patterns=("*.npz", "*.npy")) -> dict:
    """Per-file content digests of the arrays under ``root`` (zip timestamps ignored) + text files' hashes."""
    out = {}
    for pattern in patterns:
        for path in sorted(root.rglob(pattern)):
            if "text_cache" in path.parts or "sdf_cache" in path.parts:
                continue
            out[str(path.relative_to(root))] = array_digest(load_arrays(path))
    for path in sorted(root.rglob("*.obj")):
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    for path in sorted(root.rglob("*.json")):
        if "text_cache" in path.parts or "sdf_cache" in path.parts:
            continue
        out[str(path.relative_to(root))] = hashlib.sha256(
            json.dumps(strip_volatile(json.loads(path.read_text())), sort_keys=True).encode()).hexdigest()[:16]
    for path in sorted(root.rglob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        out[str(path.relative_to(root))] = hashlib.sha256(
            json.dumps(strip_volatile(lines), sort_keys=True).encode()).hexdigest()[:16]
    return out


def strip_volatile(value):
    """``value`` without timing/path entries (recursively)."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if not VOLATILE.search(str(k))}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


def flatten_numbers(value, prefix: str = "") -> dict[str, float | str]:
    """Every number (and string) of a JSON value, keyed by its path; timings and paths left out."""
    out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if not VOLATILE.search(str(k)):
                out.update(flatten_numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten_numbers(v, f"{prefix}[{i}]"))
    elif isinstance(value, (bool, int, float)):
        out[prefix] = float(value)
    elif isinstance(value, str):
        out[prefix] = value
    return out


def leaves(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def compare(a: dict, b: dict) -> dict[str, dict]:
    """Per stage: the largest relative difference of its numbers, unequal hashes/strings, keys on one side only."""
    report = {}
    for stage in sorted(set(a) | set(b)):
        if stage in ("commands", "environment", "failure"):
            continue
        la, lb = dict(leaves(a.get(stage, {}))), dict(leaves(b.get(stage, {})))
        worst, worst_key, changed = 0.0, None, []
        for key in sorted(set(la) & set(lb)):
            va, vb = la[key], lb[key]
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
                rel = abs(va - vb) / max(abs(va), abs(vb), 1e-12)
                if rel > worst:
                    worst, worst_key = rel, key
            elif va != vb:
                changed.append(key)
        report[stage] = {"max_rel_diff": worst, "at": worst_key, "unequal_values": changed,
                         "only_in_first": sorted(set(la) - set(lb)), "only_in_second": sorted(set(lb) - set(la)),
                         "numbers": len(set(la) & set(lb))}
    return report
