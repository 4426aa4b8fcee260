"""Checkpoints, resume (also after SIGKILL), corrupt files, failures, TensorBoard, --render.

Also the file format: an exact round trip without pickle, and files built to run code when
unpickled, refused without running it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import muzero
from config import make_cartpole_config
from training import ReplayBuffer
from training.checkpoint import (
    DOCUMENT,
    OLD_MAGIC,
    VERSION,
    CheckpointError,
    list_checkpoints,
    load_latest_checkpoint,
    open_npz,
    pack,
    read_checkpoint,
    save_checkpoint,
    unpack,
)
from training.metrics import RunLog
from training.run_files import load_weights

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "num_simulations=4", "selfplay_moves_per_iteration=50", "min_replay_moves=50",
    "training_steps_per_iteration=5", "batch_size=16", "checkpoint_interval=10",
    "log_interval=5", "hidden_layers=16", "hidden_state_size=8", "window_size=50",
]  # fmt: skip


def tiny_config(**overrides):
    settings = muzero.parse_overrides(TINY, make_cartpole_config())
    settings.update(overrides)
    return make_cartpole_config(**settings)


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_checkpoint_round_trip_and_damage_detection(tmp_path):
    payload = {"weights": [np.arange(5.0)], "training_step": 7}
    path = save_checkpoint(tmp_path, 7, payload)
    assert path.name == "checkpoint-000000007.npz"
    np.testing.assert_array_equal(read_checkpoint(path)["weights"][0], np.arange(5.0))
    corrupt(path)
    with pytest.raises(CheckpointError, match="checkpoint-000000007.npz is damaged"):
        read_checkpoint(path)
    truncated = save_checkpoint(tmp_path, 8, payload)
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="checkpoint-000000008.npz is damaged"):
        read_checkpoint(truncated)
    (tmp_path / "checkpoints" / "checkpoint-000000009.npz").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="every checkpoint"):
        with pytest.warns(UserWarning, match="damaged"):
            load_latest_checkpoint(tmp_path)


def test_newest_good_checkpoint_is_used_and_old_ones_pruned(tmp_path):
    for step in (10, 20, 30):
        save_checkpoint(tmp_path, step, {"training_step": step}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "checkpoint-000000030.npz", "checkpoint-000000020.npz",
    ]  # fmt: skip
    corrupt(list_checkpoints(tmp_path)[0])
    with pytest.warns(UserWarning, match="checkpoint-000000030"):
        path, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 20 and path.name == "checkpoint-000000020.npz"
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    for step in (10, 20):
        save_checkpoint(tmp_path, step, {"training_step": step, "weights": [np.ones(1000)]})
    newest = list_checkpoints(tmp_path)[0]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    with pytest.warns(UserWarning, match="checkpoint-000000020.npz is damaged"):
        path, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 10 and path.name == "checkpoint-000000010.npz"


# ----- the format: an exact round trip, without pickle -------------------------------------


def realistic_payload(num_games: int = 5) -> dict:
    """A payload shaped like `muzero.save`'s: arrays of several dtypes, games of different
    lengths, a generator state with 128-bit ints, a config dict."""
    rng = np.random.default_rng(3)
    rng.random(7)  # a state that is not the seed's
    games = []
    for length in rng.integers(1, 30, size=num_games):
        searched = length + int(rng.integers(2))  # one more when cut short
        games.append((  # the fields of a `GameRecord`
            rng.random((searched, 4), dtype=np.float32),
            rng.integers(0, 2, size=length),
            rng.random(length),
            rng.random((searched, 2), dtype=np.float32),
            rng.random(searched),
            np.zeros(searched, np.int64),
            rng.random((searched, 2)) > 0.2,
            rng.random(length + 1),
            rng.integers(-1, length + 1, size=length + 1),
            rng.random(length + 1),
            rng.random(length),
            np.array([searched == length]),
        ))  # fmt: skip
    config = make_cartpole_config().to_dict()
    return {
        "training_step": 500,
        "moves": 18_116,
        "games_saved": 31,
        "weights": [
            rng.random((4, 16), dtype=np.float32),
            np.zeros(16, np.float32),
            np.arange(6, dtype=np.float16),
        ],
        "optimizer": [np.array(500, np.int64), np.array(1e-3, np.float32), np.ones((4, 16))],
        "replay": {"games": games, "games_saved": 31, "max_priority": 2.5, "num_players": 1},
        "rng": rng.bit_generator.state,
        "config": config,
        "odds": {
            "nested": [[1, [2.5, None]], ("a", True)],
            "specials": [float("inf"), -0.0, 2**100, "\u00e9\n"],
            "numpy_scalars": [np.int32(-4), np.float64(0.1), np.bool_(True)],
            "__array__": "a key that is also a tag",
            "k/1": np.array([b"bytes", b"x"]),
            "k": {"1": np.array(["unicode"]), "empty": [], "none": {}},
            "flags": np.array([[True, False]]),
            "big_endian": np.arange(3, dtype=">i4"),
        },
    }


def assert_identical(actual, expected, where="payload"):
    """Assert the same types, dtypes, shapes, values and nesting (NaN equal to NaN)."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            assert_identical(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_identical(a, e, f"{where}[{index}]")
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(actual), where
    else:
        assert actual == expected, where
        if isinstance(expected, float):
            assert np.copysign(1, actual) == np.copysign(1, expected), where


def test_pack_and_unpack_round_trip_a_payload_exactly():
    payload = realistic_payload()
    members = pack(payload)
    assert all(not array.dtype.hasobject for array in members.values())
    assert members[DOCUMENT].shape == () and members[DOCUMENT].dtype.kind == "U"
    assert_identical(unpack(members), payload)
    nan = unpack(pack({"x": float("nan"), "y": [np.float32("nan")]}))
    assert np.isnan(nan["x"]) and nan["y"][0].dtype == np.float32


def test_pack_and_unpack_leave_nothing_for_the_cyclic_collector():
    """A checkpoint's arrays (the replay buffer, concatenated) are freed as soon as the
    caller drops them: were `pack` or `unpack` to leave a reference cycle behind, they would
    live on until Python's cyclic collector ran, and a run grew by a buffer per checkpoint."""
    import gc
    import weakref

    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        members = pack(realistic_payload())
        packed = weakref.ref(members["replay/games/0"])  # a concatenation pack made
        payload = unpack(members)
        unpacked = weakref.ref(payload["weights"][0])
        del members
        assert packed() is None  # unpack cut copies of the games out of it
        del payload
        assert unpacked() is None
    finally:
        if enabled:
            gc.enable()


def test_a_checkpoint_file_round_trips_exactly_and_opens_without_pickle(tmp_path):
    payload = realistic_payload()
    path = save_checkpoint(tmp_path, 500, payload)
    assert path.name == "checkpoint-000000500.npz" and zipfile.is_zipfile(path)
    assert_identical(read_checkpoint(path), payload)
    with np.load(path, allow_pickle=False) as data:  # an ordinary .npz
        document = json.loads(str(data[DOCUMENT]))
        assert document["format"] == "muzero-checkpoint" and document["version"] == VERSION
        np.testing.assert_array_equal(data["weights/2"], payload["weights"][2])


def test_replay_games_are_stored_as_a_few_concatenated_members(tmp_path):
    payload = realistic_payload(num_games=300)
    games = payload["replay"]["games"]
    with np.load(save_checkpoint(tmp_path, 1, payload), allow_pickle=False) as data:
        replay = sorted(name for name in data.files if name.startswith("replay/"))
        assert replay == sorted([*(f"replay/games/{j}" for j in range(12)), "replay/games/lengths"])
        assert len(data["replay/games/0"]) == sum(len(game[0]) for game in games)
        assert data["replay/games/lengths"].shape == (300, 12)
    buffer = ReplayBuffer(tiny_config(window_size=300))
    buffer.load_state_dict(read_checkpoint(list_checkpoints(tmp_path)[0])["replay"])
    assert len(buffer) == 300 and buffer.games_saved == 31
    assert_identical([tuple(game) for game in buffer.state_dict()["games"]], games)


def test_what_json_and_npz_cannot_hold_is_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match="weights/0 is an object array"):
        save_checkpoint(tmp_path, 1, {"weights": [np.array([{}], dtype=object)]})
    with pytest.raises(TypeError, match="is a set"):
        save_checkpoint(tmp_path, 1, {"config": {"actions": {1, 2}}})
    with pytest.raises(TypeError, match="not a str"):
        save_checkpoint(tmp_path, 1, {"table": {1: 2}})
    assert list_checkpoints(tmp_path) == []


def seal(data: bytes) -> bytes:
    """Append what `open_npz` checks, as anyone could: ``sha256:`` and the hex digest."""
    data += b"sha256:"
    return data + hashlib.sha256(data).hexdigest().encode()


def write_members(path: Path, members: dict[str, np.ndarray]) -> Path:
    """Write arrays as a sealed .npz (object arrays pickled, as an attacker would)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    path.write_bytes(seal(buffer.getvalue()))
    return path


def test_a_wrong_version_a_missing_member_or_bad_json_is_refused(tmp_path):
    members = pack({"weights": [np.arange(3.0)], "training_step": 3})
    document = json.loads(str(members[DOCUMENT]))
    newer = {**members, DOCUMENT: np.array(json.dumps({**document, "version": VERSION + 1}))}
    missing = {name: array for name, array in members.items() if name != "weights/0"}
    not_json = {**members, DOCUMENT: np.array('{"format": "muzero-checkpoint", "vers')}
    no_document = {"weights/0": np.ones(1)}
    assert_identical(read_checkpoint(write_members(tmp_path / "good.npz", members)),
                     {"weights": [np.arange(3.0)], "training_step": 3})  # fmt: skip
    for name, bad, reason in [("newer", newer, f"version {VERSION + 1}"),
                              ("missing", missing, "missing"),
                              ("json", not_json, "not JSON"),
                              ("no_document", no_document, "not a checkpoint")]:  # fmt: skip
        path = write_members(tmp_path / name / "checkpoints" / "checkpoint-000000003.npz", bad)
        with pytest.raises(CheckpointError, match=reason):
            read_checkpoint(path)
        with pytest.raises(CheckpointError, match="every checkpoint"):
            with pytest.warns(UserWarning, match="checkpoint-000000003.npz"):
                load_latest_checkpoint(tmp_path / name)


def test_every_flipped_byte_and_every_cut_is_refused(tmp_path):
    payload = {"training_step": 12, "weights": [np.arange(40, dtype=np.float32)],
               "replay": {"games": [(np.arange(6.0), np.ones(3, np.int64))] * 2}}  # fmt: skip
    good = save_checkpoint(tmp_path, 12, payload).read_bytes()
    for index in range(len(good)):  # zip headers and the seal included
        data = bytearray(good)
        data[index] ^= 0x01
        with pytest.raises(CheckpointError, match="checksum mismatch|no SHA-256"):
            open_npz(bytes(data))
    damaged = tmp_path / "damaged.npz"
    for index in (0, 40, len(good) // 2, len(good) - 80, len(good) - 1):
        data = bytearray(good)
        data[index] ^= 0x01
        damaged.write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match="damaged.npz is damaged"):
            read_checkpoint(damaged)
    for length in (0, 1, 30, len(good) // 2, len(good) - 72, len(good) - 1):
        damaged.write_bytes(good[:length])
        with pytest.raises(CheckpointError, match="damaged.npz is damaged"):
            read_checkpoint(damaged)


# ----- files built to run code when unpickled -----------------------------------------------


class RunsCodeWhenUnpickled:
    """What an attacker would put in a shared checkpoint: unpickling it calls
    `Path.touch(marker)` (it could as well call `os.system`)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def hostile_files(folder: Path, marker: Path) -> dict[str, Path]:
    """Write files that run code if unpickled, each alone in a run folder of its own.

    Each carries a valid SHA-256 (anyone can compute one): what refuses them is that
    nothing is unpickled, not the checksum."""
    attack = RunsCodeWhenUnpickled(marker)
    evil = np.array([attack], dtype=object)
    members = pack({"weights": [np.zeros(2)], "training_step": 100})
    files = {}

    def place(name: str, suffix: str = "npz") -> Path:
        path = folder / name / "checkpoints" / f"checkpoint-000000100.{suffix}"
        path.parent.mkdir(parents=True)
        files[name] = path
        return path

    write_members(place("object_array_member"), {**members, "weights/0": evil})
    write_members(place("object_array_document"), {**members, DOCUMENT: evil})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        with archive.open(f"{DOCUMENT}.npy", "w") as member:
            np.lib.format.write_array(member, members[DOCUMENT])
        archive.writestr("weights/0.npy", pickle.dumps(attack))
    place("raw_pickle_member").write_bytes(seal(buffer.getvalue()))
    place("raw_pickle_file").write_bytes(seal(pickle.dumps({"weights": [attack]})))
    buffer = io.BytesIO()
    np.save(buffer, evil, allow_pickle=True)
    place("object_npy_file").write_bytes(seal(buffer.getvalue()))
    data = pickle.dumps({"weights": [attack], "training_step": 100})
    place("old_format", "ckpt").write_bytes(
        OLD_MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data
    )
    return files


def test_the_attack_is_real_when_unpickled(tmp_path):
    marker = tmp_path / "MARKER"
    pickle.loads(pickle.dumps(RunsCodeWhenUnpickled(marker)))
    assert marker.exists()  # so the tests below would see it run
    marker.unlink()
    files = hostile_files(tmp_path, marker)
    with np.load(files["object_array_member"], allow_pickle=True) as data:
        data["weights/0"]
    assert marker.exists()
    marker.unlink()
    raw = files["old_format"].read_bytes()
    digest, _, data = raw[len(OLD_MAGIC) :].partition(b"\n")
    assert hashlib.sha256(data).hexdigest().encode() == digest  # it passes the old check
    pickle.loads(data)
    assert marker.exists()


@pytest.mark.parametrize(
    "name",
    ["object_array_member", "object_array_document", "raw_pickle_member", "raw_pickle_file",
     "object_npy_file"],
)  # fmt: skip
def test_an_npz_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path, name):
    marker = tmp_path / "MARKER"
    path = hostile_files(tmp_path, marker)[name]
    with pytest.raises(CheckpointError, match="checkpoint-000000100.npz"):
        read_checkpoint(path)
    with pytest.raises(CheckpointError, match="every checkpoint"):
        with pytest.warns(UserWarning, match="checkpoint-000000100.npz"):
            load_latest_checkpoint(path.parents[1])
    assert not marker.exists()


def test_an_old_pickle_checkpoint_is_never_opened(tmp_path):
    marker = tmp_path / "MARKER"
    path = hostile_files(tmp_path, marker)["old_format"]
    run_dir = path.parents[1]
    with pytest.raises(CheckpointError, match="old pickle format.*not opened for safety") as error:
        load_latest_checkpoint(run_dir)
    assert "\n" not in str(error.value)
    with pytest.raises(CheckpointError, match="old pickle format"):
        read_checkpoint(path)
    assert list_checkpoints(run_dir) == []
    save_checkpoint(run_dir, 50, {"training_step": 50})  # a new checkpoint beside it is used
    assert load_latest_checkpoint(run_dir)[1] == {"training_step": 50}
    assert not marker.exists()


def test_weights_that_would_run_code_are_refused_and_run_nothing(tmp_path):
    marker = tmp_path / "MARKER"
    evil = np.array([RunsCodeWhenUnpickled(marker)], dtype=object)
    path = write_members(tmp_path / "weights.npz", {"arr_0": evil})
    with pytest.raises(ValueError, match="allow_pickle"):
        load_weights(path)
    (tmp_path / "pickled.npz").write_bytes(pickle.dumps([RunsCodeWhenUnpickled(marker)]))
    with pytest.raises(ValueError, match="not a weights file"):
        load_weights(tmp_path / "pickled.npz")
    assert not marker.exists()
    with pytest.raises(TypeError, match="object array"):
        RunLog(tmp_path, 1, tensorboard=False).save_weights([np.array([None], dtype=object)])


def test_the_training_code_does_not_import_pickle():
    for path in (ROOT / "training").glob("*.py"):
        assert "import pickle" not in path.read_text(), path


def test_load_run_falls_back_to_weights_past_an_old_checkpoint(tmp_path):
    overrides = muzero.parse_overrides(TINY, make_cartpole_config())
    config = tiny_config()
    muzero.save_run_info(tmp_path, config.to_dict(), {"game": "cartpole", "overrides": overrides})
    weights = [w + 0.5 for w in config.new_network().get_weights()]
    RunLog(tmp_path, 1, tensorboard=False).save_weights(weights)
    marker = tmp_path / "MARKER"
    old = hostile_files(tmp_path / "elsewhere", marker)["old_format"]
    (tmp_path / "checkpoints").mkdir()
    old.rename(tmp_path / "checkpoints" / old.name)
    _, network = muzero.load_run(tmp_path)
    for loaded, saved in zip(network.get_weights(), weights):
        np.testing.assert_array_equal(loaded, saved)
    evil = np.array([RunsCodeWhenUnpickled(marker)], dtype=object)
    write_members(tmp_path / "weights.npz", {"arr_0": evil})
    with pytest.raises(muzero.UsageError, match="cannot load the run.*allow_pickle"):
        muzero.load_run(tmp_path)
    assert muzero.main(["--resume", str(tmp_path), "--no-progress"]) == 2
    assert not marker.exists()


def test_resume_continues_the_step_counter_and_the_replay_buffer(tmp_path):
    config = tiny_config(training_steps=20)
    muzero.muzero(config, tmp_path)
    _, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 20
    games = state["replay"]["games_saved"]
    assert games > 0 and len(state["replay"]["games"]) > 0
    longer = tiny_config(training_steps=30)
    network = muzero.muzero(longer, tmp_path, resume=True)
    assert network.training_steps() == 30
    _, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 30 and state["replay"]["games_saved"] >= games
    steps = [int(float(line.split(",")[0])) for line in
             (tmp_path / "metrics.csv").read_text().splitlines()[1:]]  # fmt: skip
    assert steps == [5, 10, 15, 20, 25, 30]  # one CSV, continued


def test_resume_carries_the_step_fraction_a_replay_ratio_earned(tmp_path):
    # 50 moves a round (10 in each of 5 games) at 0.05 steps a move earn 2.5 steps: 2
    # taken, 0.5 owed, kept.
    ratio = dict(replay_ratio=0.05, num_parallel_games=5)
    muzero.muzero(tiny_config(training_steps=2, **ratio), tmp_path)
    _, state = load_latest_checkpoint(tmp_path)
    assert (state["training_step"], state["owed"]) == (2, 0.5)
    moves = state["moves"]
    # One more round earns 2.5 + 0.5 = 3 steps, the 5 asked for (without the 0.5: 2, and
    # a second round).
    network = muzero.muzero(tiny_config(training_steps=5, **ratio), tmp_path, resume=True)
    _, state = load_latest_checkpoint(tmp_path)
    assert network.training_steps() == 5
    assert (state["moves"] - moves, state["owed"]) == (50, 0.0)


def test_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    from training.train import Trainer

    original = Trainer.update_weights

    def poisoned(self, batch):
        losses = original(self, batch)
        if self.network.steps > 12:
            losses["total"] = float("nan")
        return losses

    monkeypatch.setattr(Trainer, "update_weights", poisoned)
    with pytest.raises(muzero.TrainingError, match="training step 13"):
        muzero.muzero(tiny_config(training_steps=40), tmp_path)
    path, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 10 and np.all(np.isfinite(state["weights"][0]))


def test_ctrl_c_saves_a_checkpoint(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = muzero.run_selfplay

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(muzero, "run_selfplay", interrupted)
    status = muzero.run_training(tiny_config(training_steps=100), tmp_path, False, resume=False)
    assert status == 130
    assert "--resume" in capsys.readouterr().err
    _, state = load_latest_checkpoint(tmp_path)
    assert 0 < state["training_step"] < 100


def test_tensorboard_logs_every_head_and_speed(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    muzero.muzero(tiny_config(training_steps=10), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])
    for tag in (
        "loss/total",
        "loss/value",
        "loss/reward",
        "loss/policy",
        "train/learning_rate",
        "episode/return_mean",
        "episode/length",
        "selfplay/mean_root_value",
        "replay/games",
        "speed/selfplay_simulations_per_s",
        "speed/train_steps_per_s",
    ):
        assert tag in tags, tag


def run_cli(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "muzero.py", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@pytest.mark.slow
def test_sigkill_during_training_then_resume_and_evaluate(tmp_path):
    settings = [arg for item in TINY for arg in ("--set", item)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(
        [sys.executable, "muzero.py", "--training-steps", "120", "--results-dir", tmp_path,
         "--no-progress", *settings],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 240
    run_dir = None
    while time.time() < deadline:
        found = sorted((tmp_path / "cartpole").glob("*/checkpoints/checkpoint-*.npz"))
        if any(int(p.stem.split("-")[1]) >= 20 for p in found):
            run_dir = found[0].parents[1]
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert run_dir is not None, "no checkpoint appeared"
    assert not (run_dir / "weights.npz").exists()  # it really died mid-run
    _, state = load_latest_checkpoint(run_dir)
    killed_at = state["training_step"]
    assert 20 <= killed_at < 120

    resumed = run_cli("--resume", run_dir, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert f"at training step {killed_at}" in resumed.stdout
    _, state = load_latest_checkpoint(run_dir)
    assert state["training_step"] == 120
    evaluated = run_cli("evaluate", run_dir, "--episodes", "2")
    assert evaluated.returncode == 0 and "mean return" in evaluated.stdout

    for path in list_checkpoints(run_dir):
        corrupt(path)
    refused = run_cli("--resume", run_dir)
    assert refused.returncode == 2
    assert "cannot resume" in refused.stderr and "damaged" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_resume_of_a_folder_that_is_not_a_run_is_refused(tmp_path, capsys):
    assert muzero.main(["--resume", str(tmp_path)]) == 2
    assert "cannot load the run" in capsys.readouterr().err


def test_evaluate_render_writes_a_gif(tmp_path):
    config = tiny_config(training_steps=5)
    network = config.new_network()
    path = muzero.render_episode(config, network, tmp_path / "episode.gif", seed=0)
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "GIF" and image.n_frames > 5


def test_time_limit_stops_early_and_saves_like_a_finished_run(tmp_path, capsys):
    # A budget already spent after the first iteration: training stops there, well before
    # its step count, and leaves the files a finished run leaves.
    config = tiny_config(training_steps=10_000, min_replay_moves=0)
    network = muzero.muzero(config, tmp_path, max_seconds=1e-9)
    assert network.training_steps() == 0  # the limit is checked before each iteration
    assert "time limit" in capsys.readouterr().out
    # 50 ms: always past after one iteration (600 moves of self-play, 5 traced training
    # steps), never before the first check, so exactly one iteration runs.
    config = tiny_config(training_steps=10_000, min_replay_moves=0,
                         selfplay_moves_per_iteration=600)  # fmt: skip
    network = muzero.muzero(config, tmp_path / "two", max_seconds=0.05)
    steps = network.training_steps()
    assert steps == config.training_steps_per_iteration
    assert (tmp_path / "two" / "weights.npz").exists()
    assert read_checkpoint(list_checkpoints(tmp_path / "two")[0])["training_step"] == steps
