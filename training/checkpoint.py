"""Checkpoints of a run: everything needed to continue it, written atomically, verified.

A checkpoint is a plain ``.npz`` file, ``checkpoints/checkpoint-<step:09d>.npz``, opened with
``np.load(path, allow_pickle=False)``: nothing in it is pickled, so opening a run folder that
someone shared runs no code. `pack` splits the payload (network weights, optimizer state,
step and game counters, the replay buffer, the random generator's state, the config) in two:

- each numpy array becomes a member named by its place in the payload (``weights/3``,
  ``optimizer/0``). A list of tuples of arrays whose fields agree in dtype and trailing
  shape, such as the replay buffer's games, is stored field by field, concatenated across
  the items, beside a ``[items, fields]`` table of lengths (``replay/games/0`` ...
  ``replay/games/5``, ``replay/games/lengths``): a dozen members, not six per game.
- everything else (numbers, strings, the nesting of dicts, lists and tuples, and which
  member goes where) is one JSON document, the 0-d unicode member ``__checkpoint__``, with
  the format's name and version.

`unpack` is its inverse: the same dtypes, values and nesting come back. Members are
deflated: boards are one-hot, masks and padding constant, and each position repeats the
targets of the next `num_unroll_steps` positions, so a file shrinks 4 to 8 times. The zip
comment, the file's last bytes, is ``sha256:`` and the SHA-256 of every byte before the
hex digits, so a single flipped byte anywhere, or a cut, is caught before numpy reads on.

Files are written to a temporary name, flushed to disk and renamed, so a run killed at any
moment leaves either the old file or the new one, never half of one. A file damaged later
(a failed SHA-256, not a zip, a missing member, JSON that does not parse, another version)
raises `CheckpointError` and `load_latest_checkpoint` falls back to the previous one.
Checkpoints of the first, pickled format (``checkpoint-*.ckpt``) are never opened.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "muzero-checkpoint"
VERSION = 3  # 1 was the pickled `.ckpt` file; 2 held targets made when a game was saved
DOCUMENT = "__checkpoint__"  # the member that holds the JSON document
OLD_MAGIC = b"MUZERO-CHECKPOINT-1\n"  # recognised only to refuse it
# zlib level. On a CartPole checkpoint level 1 is 7.7 times smaller than stored members,
# level 6 (np.savez_compressed's) only 16% smaller again, for twice the time.
COMPRESS_LEVEL = 1
SEAL = b"sha256:"  # then 64 hex digits: the file's last bytes

# Tags of the JSON document: a one-key dict whose key is a tag stands for something JSON
# lacks; a payload dict that happens to use a tag as a key is wrapped in "__dict__".
_ARRAY, _SCALAR, _TUPLE = "__array__", "__scalar__", "__tuple__"
_RAGGED, _DICT = "__ragged__", "__dict__"
_TAGS = frozenset((_ARRAY, _SCALAR, _TUPLE, _RAGGED, _DICT))


class CheckpointError(Exception):
    """No usable checkpoint."""


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "checkpoints"


# ----- the payload as arrays and a JSON document -------------------------------------------


def pack(payload: Any) -> dict[str, np.ndarray]:
    """Return `payload` as named arrays, the JSON document among them. Inverse: `unpack`.

    Args:
        payload: dicts with `str` keys, lists, tuples, `None`, bools, ints (any size),
            floats, strings, numpy scalars and numpy arrays of any non-object dtype.

    Raises:
        TypeError: something else, or an object array (it could only be pickled).
    """
    packer = _Packer()
    tree = packer.encode(payload, "")
    arrays = packer.arrays
    document = {"format": FORMAT, "version": VERSION, "arrays": sorted(arrays), "payload": tree}
    arrays[DOCUMENT] = np.array(json.dumps(document, separators=(",", ":")))
    return arrays


def _join(path: str, key: str | int) -> str:
    return f"{path}/{key}" if path else str(key)


class _Packer:
    """`pack`'s walk of the payload: the arrays named so far, and the JSON tree.

    A class, not nested functions: a nested function that calls itself is a reference
    cycle, which would keep the arrays (the whole replay buffer) alive after `pack`
    returned, until Python's cyclic collector ran; a run grew by a buffer per checkpoint.
    """

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, path: str, array: np.ndarray) -> str:
        if array.dtype.hasobject:
            raise TypeError(f"checkpoint: {path or 'payload'} is an object array")
        base = name = path or "root"
        n = 1
        # Keys with "/" can collide; np.load would take "x.npy" for the member "x".
        while name in self.arrays or name == DOCUMENT or name.endswith(".npy"):
            name, n = f"{base}~{n}", n + 1
        self.arrays[name] = array
        return name

    def encode(self, value: Any, path: str) -> Any:
        if isinstance(value, np.ndarray):
            return {_ARRAY: self.add(path, value)}
        if isinstance(value, np.generic):  # before float: np.float64 is a float
            return {_SCALAR: self.add(path, np.asarray(value))}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError(f"checkpoint: {path or 'payload'} has a key that is not a str")
            tree = {key: self.encode(item, _join(path, key)) for key, item in value.items()}
            return {_DICT: tree} if _TAGS.intersection(tree) else tree
        if isinstance(value, list) and _is_ragged(value):
            fields = [np.concatenate(column) for column in zip(*value)]
            lengths = np.array([[len(array) for array in item] for item in value], np.int64)
            return {_RAGGED: {
                "fields": [self.add(_join(path, j), field) for j, field in enumerate(fields)],
                "lengths": self.add(_join(path, "lengths"), lengths),
                "tuple": isinstance(value[0], tuple),
            }}  # fmt: skip
        if isinstance(value, list | tuple):
            items = [self.encode(item, _join(path, i)) for i, item in enumerate(value)]
            return {_TUPLE: items} if isinstance(value, tuple) else items
        raise TypeError(f"checkpoint: {path or 'payload'} is a {type(value).__name__}")


def unpack(members: Mapping[str, np.ndarray]) -> Any:
    """Return the payload that `pack` turned into `members`. Inverse: `pack`.

    Args:
        members: the arrays `pack` returned, or an open `np.load` of them (read lazily).

    Raises:
        CheckpointError: a member missing; a document that is not JSON, names another
            format or version, or refers to no member.
    """
    try:
        document = json.loads(str(_array(members, DOCUMENT)[()]))
    except KeyError:
        raise CheckpointError(f"no {DOCUMENT} member (not a checkpoint)") from None
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"its {DOCUMENT} member is not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"not a {FORMAT} file")
    if document.get("version") != VERSION:
        raise CheckpointError(
            f"format version {document.get('version')!r}; this code reads version {VERSION}"
        )
    arrays = {}
    for name in document.get("arrays", ()):
        try:
            arrays[name] = _array(members, name)
        except (KeyError, TypeError):
            raise CheckpointError(f"the member {name!r} is missing") from None
    try:
        return _Unpacker(arrays).decode(document["payload"])
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise CheckpointError(f"the document does not fit the format ({error!r})") from None


class _Unpacker:
    """`unpack`'s walk of the JSON tree (a class for the reason `_Packer` is one)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def member(self, name: Any) -> np.ndarray:
        if name not in self.arrays:
            raise CheckpointError(f"the document names no member {name!r}")
        return self.arrays[name]

    def decode(self, tree: Any) -> Any:
        if isinstance(tree, list):
            return [self.decode(item) for item in tree]
        if not isinstance(tree, dict):
            return tree
        tag = next(iter(tree)) if len(tree) == 1 else None
        if tag == _ARRAY:
            return self.member(tree[tag])
        if tag == _SCALAR:
            return self.member(tree[tag])[()]
        if tag == _TUPLE:
            return tuple(self.decode(item) for item in tree[tag])
        if tag == _RAGGED:
            return _split(tree[tag], self.member)
        if tag == _DICT:
            return {key: self.decode(item) for key, item in tree[tag].items()}
        return {key: self.decode(item) for key, item in tree.items()}


def _array(members: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """Return one member, which must be an array (`np.load` hands other files back as
    their raw bytes)."""
    array = members[name]
    if not isinstance(array, np.ndarray):
        raise CheckpointError(f"the member {name!r} is not an .npy array")
    return array


def _is_ragged(items: list) -> bool:
    """Whether `items` are tuples (or lists) of arrays that concatenate field by field."""
    if not items or not all(type(item) is type(items[0]) for item in items):
        return False
    first = items[0]
    if not isinstance(first, tuple | list) or not first:
        return False
    for item in items:
        if len(item) != len(first):
            return False
        for array, model in zip(item, first):
            if not (type(array) is np.ndarray and array.ndim >= 1 and array.dtype == model.dtype
                    and array.shape[1:] == model.shape[1:]) or array.dtype.hasobject:  # fmt: skip
                return False
    return True


def _split(spec: dict, member) -> list:
    """Cut the concatenated fields of a `_RAGGED` entry back into its items."""
    fields = [member(name) for name in spec["fields"]]
    lengths = member(spec["lengths"])
    if lengths.ndim != 2 or lengths.shape[1] != len(fields) or np.any(lengths < 0):
        raise CheckpointError("a table of lengths does not fit its fields")
    if any(len(field) != total for field, total in zip(fields, lengths.sum(axis=0))):
        raise CheckpointError("a table of lengths does not fit its fields")
    # Copies: views would keep the whole concatenation alive until the last item is gone.
    columns = [
        [piece.copy() for piece in np.split(field, np.cumsum(lengths[:-1, j]))]
        for j, field in enumerate(fields)
    ]
    kind = tuple if spec["tuple"] else list
    return [kind(item) for item in zip(*columns)]


def npz_bytes(members: Mapping[str, np.ndarray]) -> bytes:
    """Return `members` as the bytes of a sealed ``.npz`` file. Inverse: `open_npz`.

    What `np.savez_compressed` writes (without its clash of member names with its own
    arguments), at `COMPRESS_LEVEL`, with the seal as the zip comment.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
        for name, array in members.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
        zf.comment = SEAL + b"0" * 64
    data = buffer.getbuffer()[:-64]
    return bytes(data) + hashlib.sha256(data).hexdigest().encode()


def open_npz(data: bytes) -> np.lib.npyio.NpzFile:
    """Return the members of a file's bytes, read lazily. Inverse: `npz_bytes`.

    Raises:
        CheckpointError: the seal is missing or wrong (truncated or corrupt bytes), or the
            bytes are not an ``.npz``. Nothing is unpickled (``allow_pickle=False``).
    """
    body, digest = data[: -64 - len(SEAL)], data[-64 - len(SEAL) :]
    if not digest.startswith(SEAL):
        raise CheckpointError("no SHA-256 at its end (truncated, or not a checkpoint)")
    if hashlib.sha256(body + SEAL).hexdigest().encode() != digest[len(SEAL) :]:
        raise CheckpointError("checksum mismatch (truncated or corrupt)")
    try:
        members = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:  # numpy's and zipfile's many ways to say "not an npz"
        raise CheckpointError(f"not an npz ({type(error).__name__}: {error})") from None
    if not isinstance(members, np.lib.npyio.NpzFile):
        raise CheckpointError("not an npz (a bare array)")
    return members


# ----- files -------------------------------------------------------------------------------


def save_checkpoint(run_dir: str | os.PathLike, step: int, payload: dict[str, Any],
                    keep: int = 2) -> Path:  # fmt: skip
    """Write `payload` as checkpoint `step` atomically; keep the newest `keep` checkpoints.

    Raises:
        TypeError: the payload holds something `pack` does not store.
    """
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = npz_bytes(pack(payload))
    path = folder / f"checkpoint-{step:09d}.npz"
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_folder(folder)
    for old in list_checkpoints(run_dir)[keep:]:
        old.unlink(missing_ok=True)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable where the system allows it (not on Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Return the checkpoint files of a run, newest first."""
    folder = checkpoint_dir(run_dir)
    return sorted(folder.glob("checkpoint-*.npz"), reverse=True) if folder.is_dir() else []


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Return the payload of one checkpoint file; `CheckpointError` if it is damaged.

    Nothing is unpickled: an object array or a pickle inside is refused, never loaded, and
    a file of the old pickle format is not even parsed.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({error.strerror or error})"
        ) from None
    if data.startswith(OLD_MAGIC):
        raise CheckpointError(f"checkpoint {path} is of the old pickle format, not opened "
                              f"for safety")  # fmt: skip
    try:
        with open_npz(data) as members:
            return unpack(members)
    except CheckpointError as error:
        raise CheckpointError(f"checkpoint {path} is damaged: {error}") from None
    except Exception as error:  # a bad CRC, a cut deflate stream, an object array, ...
        raise CheckpointError(f"checkpoint {path} is damaged "
                              f"({type(error).__name__}: {error})") from None  # fmt: skip


def load_latest_checkpoint(run_dir: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Return the newest good checkpoint of a run, warning about each damaged one skipped."""
    folder = checkpoint_dir(run_dir)
    paths = list_checkpoints(run_dir)
    if not paths:
        if folder.is_dir() and any(folder.glob("checkpoint-*.ckpt")):
            raise CheckpointError(
                f"{folder} holds only checkpoints of the old pickle format "
                f"(checkpoint-*.ckpt), which are not opened for safety"
            )
        raise CheckpointError(f"no checkpoint in {folder}")
    for path in paths:
        try:
            return path, read_checkpoint(path)
        except CheckpointError as error:
            warnings.warn(f"skipping a damaged checkpoint: {error}", stacklevel=2)
    raise CheckpointError(f"every checkpoint in {folder} is damaged")


# ----- a run's state -----------------------------------------------------------------------


def save_run(run_dir: str | os.PathLike, config: Any, trainer: Any, replay_buffer: Any,
             rng: np.random.Generator, moves: int, owed: float = 0.0) -> Path:  # fmt: skip
    """Write a checkpoint of everything a run needs to go on as if never stopped.

    The trained and target networks' weights and steps, the consistency heads' weights
    (when the config has them), the optimizer's state, the replay buffer, the run's
    generator, its self-play moves and the fraction of a training step its replay ratio
    has earned but not taken (`owed`; `restore_run` reads them back).
    """
    network = trainer.network
    heads = {}
    if trainer.consistency is not None:
        heads["consistency_weights"] = trainer.consistency.get_weights()
    return save_checkpoint(run_dir, network.steps, {
        **trainer.reanalyser.state_dict(),  # the target network's weights and step
        **heads, "training_step": network.steps, "moves": moves, "owed": float(owed),
        "games_saved": replay_buffer.games_saved, "weights": network.get_weights(),
        "optimizer": trainer.optimizer_state(), "replay": replay_buffer.state_dict(),
        "rng": rng.bit_generator.state, "config": config.to_dict(),
    })  # fmt: skip


def restore_run(run_dir: str | os.PathLike, trainer: Any, replay_buffer: Any,
                rng: np.random.Generator) -> tuple[Path, int, float]:  # fmt: skip
    """Restore what `save_run` wrote from the newest good checkpoint of `run_dir`.

    Returns:
        The checkpoint's path, the run's self-play moves so far and the training step
        fraction owed (0 in a checkpoint from before the replay ratio).

    Raises:
        CheckpointError: the run has no good checkpoint.
    """
    path, state = load_latest_checkpoint(run_dir)
    network = trainer.network
    network.set_weights(state["weights"])
    network.steps = int(state["training_step"])
    if trainer.consistency is not None:
        if "consistency_weights" not in state:
            raise CheckpointError(f"{path} has no consistency heads; its run had no "
                                  "consistency_loss_weight")  # fmt: skip
        trainer.consistency.set_weights(state["consistency_weights"])
    trainer.load_optimizer_state(state["optimizer"])
    replay_buffer.load_state_dict(state["replay"], saved_at=network.steps)
    trainer.reanalyser.load_state_dict(state)
    rng.bit_generator.state = state["rng"]
    return path, int(state["moves"]), float(state.get("owed", 0.0))
