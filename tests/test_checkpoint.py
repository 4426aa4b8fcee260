"""Checkpoints, resume (also after SIGKILL), corrupt files, failures, TensorBoard, --render."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import muzero
from config import make_cartpole_config
from training.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_latest_checkpoint,
    read_checkpoint,
    save_checkpoint,
)

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
    np.testing.assert_array_equal(read_checkpoint(path)["weights"][0], np.arange(5.0))
    corrupt(path)
    with pytest.raises(CheckpointError, match="checksum"):
        read_checkpoint(path)
    truncated = save_checkpoint(tmp_path, 8, payload)
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="checksum"):
        read_checkpoint(truncated)
    (tmp_path / "checkpoints" / "checkpoint-000000009.ckpt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="every checkpoint"):
        with pytest.warns(UserWarning, match="damaged"):
            load_latest_checkpoint(tmp_path)


def test_newest_good_checkpoint_is_used_and_old_ones_pruned(tmp_path):
    for step in (10, 20, 30):
        save_checkpoint(tmp_path, step, {"training_step": step}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "checkpoint-000000030.ckpt", "checkpoint-000000020.ckpt",
    ]  # fmt: skip
    corrupt(list_checkpoints(tmp_path)[0])
    with pytest.warns(UserWarning, match="checkpoint-000000030"):
        path, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 20 and path.name == "checkpoint-000000020.ckpt"


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
        found = sorted((tmp_path / "cartpole").glob("*/checkpoints/checkpoint-*.ckpt"))
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
