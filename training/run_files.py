"""The files of a run folder besides its metrics: `config.json`, `run.json`, the weights.

Not in the pseudocode. Each is written atomically (a temporary file, then a rename), so a
run stopped half-way leaves the old file, never half of a new one; the weights are read
without unpickling anything, so opening someone else's run folder runs no code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def save_run_info(run_dir: str | os.PathLike, config_dict: dict, run_info: dict) -> None:
    """Write the exact config (`config.json`) and how to rebuild it (`run.json`)."""
    run_dir = Path(run_dir)
    # Temporary file, then rename: extending a run rewrites these, and a stop half-way must
    # leave the old file, not half of a new one.
    for name, content in (("config.json", config_dict), ("run.json", run_info)):
        temporary = run_dir / f"{name}.tmp"
        with open(temporary, "w") as handle:
            json.dump(content, handle, indent=2, default=str)
        os.replace(temporary, run_dir / name)


def save_weights(
    run_dir: str | os.PathLike, weights: list[np.ndarray], name: str = "weights.npz"
) -> Path:
    """Write network weights into `run_dir` atomically (temporary file, then rename).

    Returns:
        The file's path.

    Raises:
        TypeError: an object array, which only a pickle could hold (`load_weights`
            refuses pickles).
    """
    arrays = [np.asarray(array) for array in weights]
    if any(array.dtype.hasobject for array in arrays):
        raise TypeError("save_weights: an object array cannot be saved without pickle")
    path = Path(run_dir) / name
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, *arrays)
    os.replace(temporary, path)
    return path


def load_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Read weights written by `save_weights`.

    Nothing is unpickled: a file that holds an object array (or is a pickle) is refused, so
    opening someone else's run folder runs no code.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not a weights file (not an `.npz`, damaged, an object array).
    """
    try:
        data = np.load(path, allow_pickle=False)
    except OSError:
        raise
    except Exception as error:  # zipfile's and numpy's own errors for a bad file
        raise ValueError(f"{path} is not a weights file ({error})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a weights file (a bare array)")
    with data:
        try:
            return [data[f"arr_{i}"] for i in range(len(data.files))]
        except ValueError:  # an object array: allow_pickle=False refused it
            raise
        except Exception as error:  # a bad CRC, a cut deflate stream, a missing member
            raise ValueError(f"{path} is a damaged weights file ({error})") from None
