"""Checkpoints of a run: everything needed to continue it, written atomically, verified.

A checkpoint file is a header line, the SHA-256 of the payload, and the pickled payload:
network weights, optimizer state, step and game counters, the replay buffer, the random
generator's state and the config. Files are written to a temporary name and renamed, so a
run killed at any moment leaves either the old file or the new one, never half of one; a
file damaged later fails its checksum and is skipped for the previous one.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

MAGIC = b"MUZERO-CHECKPOINT-1\n"


class CheckpointError(Exception):
    """No usable checkpoint."""


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(run_dir: str | os.PathLike, step: int, payload: dict[str, Any],
                    keep: int = 2) -> Path:  # fmt: skip
    """Write `payload` as checkpoint `step` atomically; keep the newest `keep` checkpoints."""
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    path = folder / f"checkpoint-{step:09d}.ckpt"
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    for old in list_checkpoints(run_dir)[keep:]:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Return the checkpoint files of a run, newest first."""
    folder = checkpoint_dir(run_dir)
    return sorted(folder.glob("checkpoint-*.ckpt"), reverse=True) if folder.is_dir() else []


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Return the payload of one checkpoint file; `CheckpointError` if it is damaged."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error})") from None
    if not raw.startswith(MAGIC):
        raise CheckpointError(f"{path}: not a checkpoint (bad header)")
    digest, _, data = raw[len(MAGIC) :].partition(b"\n")
    if hashlib.sha256(data).hexdigest().encode() != digest:
        raise CheckpointError(f"{path}: checksum mismatch (truncated or corrupt)")
    try:
        return pickle.loads(data)
    except Exception as error:  # a payload that passed its checksum but will not load
        raise CheckpointError(f"{path}: cannot be loaded ({error})") from None


def load_latest_checkpoint(run_dir: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Return the newest good checkpoint of a run, warning about each damaged one skipped."""
    paths = list_checkpoints(run_dir)
    if not paths:
        raise CheckpointError(f"no checkpoint in {checkpoint_dir(run_dir)}")
    for path in paths:
        try:
            return path, read_checkpoint(path)
        except CheckpointError as error:
            warnings.warn(f"skipping a damaged checkpoint: {error}", stacklevel=2)
    raise CheckpointError(f"every checkpoint in {checkpoint_dir(run_dir)} is damaged")
