"""The record of a run on disk: config, metrics CSV, learning-curve PNG, final weights."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from training.train import LOSS_NAMES

CSV_FIELDS = (
    "training_step",
    "games",
    "moves",
    "episode_return",
    "episode_return_min",
    "episode_return_max",
    "episode_length",
    "root_value",
    *LOSS_NAMES,
    "learning_rate",
    "replay_games",
    "selfplay_sims_per_s",
    "train_steps_per_s",
    "seconds",
)

# TensorBoard tag of each CSV field (the counters stay CSV-only).
TENSORBOARD_TAGS = {
    "episode_return": "episode/return_mean",
    "episode_return_min": "episode/return_min",
    "episode_return_max": "episode/return_max",
    "episode_length": "episode/length",
    "root_value": "selfplay/mean_root_value",
    **{name: f"loss/{name}" for name in LOSS_NAMES},
    "learning_rate": "train/learning_rate",
    "replay_games": "replay/games",
    "selfplay_sims_per_s": "speed/selfplay_simulations_per_s",
    "train_steps_per_s": "speed/train_steps_per_s",
}


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


class RunLog:
    """Collects what self-play and training did; every `log_interval` steps writes a CSV row
    and the same figures to TensorBoard (``tensorboard --logdir results``).

    Args:
        run_dir: the run's folder (created).
        log_interval: training steps per row.
        append: continue an existing `metrics.csv` (a resumed run) instead of starting one.
        tensorboard: also write TensorBoard event files under ``run_dir/tensorboard``.
    """

    def __init__(self, run_dir: str | os.PathLike, log_interval: int, append: bool = False,
                 tensorboard: bool = True):  # fmt: skip
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_interval = log_interval
        self.csv_path = self.run_dir / "metrics.csv"
        self.rows: list[dict[str, float]] = []
        self._episodes: list[tuple[float, int, float]] = []
        self._losses: list[dict[str, float]] = []
        self._simulations, self._selfplay_seconds = 0, 0.0
        self._train_steps, self._train_seconds = 0, 0.0
        if append and self.csv_path.exists():
            with open(self.csv_path, newline="") as handle:
                self.rows = [
                    {k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)
                ]
        else:
            with open(self.csv_path, "w", newline="") as handle:
                csv.DictWriter(handle, CSV_FIELDS).writeheader()
        self._writer = None
        if tensorboard:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))

    def add_episode(self, episode_return: float, length: int, mean_root_value: float) -> None:
        """Note one finished self-play game."""
        self._episodes.append((episode_return, length, mean_root_value))

    def add_selfplay(self, simulations: int, seconds: float) -> None:
        """Note the simulations of one self-play round and its duration."""
        self._simulations += simulations
        self._selfplay_seconds += seconds

    def add_training(self, steps: int, seconds: float) -> None:
        """Note training steps taken and their duration."""
        self._train_steps += steps
        self._train_seconds += seconds

    def add_losses(self, losses: dict[str, float]) -> None:
        """Note the losses of one training step."""
        self._losses.append(losses)

    def row_due(self, training_step: int) -> bool:
        return training_step % self.log_interval == 0

    def write_row(self, training_step: int, games: int, moves: int, replay_games: int,
                  learning_rate: float, seconds: float) -> dict[str, float]:  # fmt: skip
        """Append one row averaging what was noted since the last row; return it."""
        returns = [episode[0] for episode in self._episodes]
        row = {
            "training_step": training_step,
            "games": games,
            "moves": moves,
            "episode_return": _mean(returns),
            "episode_return_min": float(np.min(returns)) if returns else float("nan"),
            "episode_return_max": float(np.max(returns)) if returns else float("nan"),
            "episode_length": _mean([episode[1] for episode in self._episodes]),
            "root_value": _mean([episode[2] for episode in self._episodes]),
            "learning_rate": learning_rate,
            "replay_games": replay_games,
            "selfplay_sims_per_s": self._simulations / self._selfplay_seconds
            if self._selfplay_seconds
            else float("nan"),
            "train_steps_per_s": self._train_steps / self._train_seconds
            if self._train_seconds
            else float("nan"),
            "seconds": round(seconds, 2),
        }
        for name in LOSS_NAMES:
            row[name] = _mean([loss[name] for loss in self._losses])
        self._episodes, self._losses = [], []
        self._simulations, self._selfplay_seconds = 0, 0.0
        self._train_steps, self._train_seconds = 0, 0.0
        self.rows.append(row)
        with open(self.csv_path, "a", newline="") as handle:
            csv.DictWriter(handle, CSV_FIELDS).writerow(row)
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default(step=training_step):
                for field, tag in TENSORBOARD_TAGS.items():
                    if np.isfinite(row[field]):
                        tf.summary.scalar(tag, row[field])
            self._writer.flush()
        return row

    def save_weights(self, weights: list[np.ndarray], name: str = "weights.npz") -> Path:
        """Write network weights atomically (temporary file, then rename)."""
        path = self.run_dir / name
        temporary = path.with_suffix(".tmp.npz")
        np.savez(temporary, *weights)
        os.replace(temporary, path)
        return path

    def plot(self, title: str) -> Path | None:
        """Draw episode return against training step into `learning_curve.png`."""
        points = [
            (r["training_step"], r["episode_return"])
            for r in self.rows
            if np.isfinite(r["episode_return"])
        ]
        if not points:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps, returns = zip(*points)
        figure, axis = plt.subplots(figsize=(6, 3.5), dpi=100)
        axis.plot(steps, returns)
        axis.set_xlabel("training step")
        axis.set_ylabel("self-play episode return")
        axis.set_title(title)
        axis.grid(alpha=0.3)
        figure.tight_layout()
        path = self.run_dir / "learning_curve.png"
        figure.savefig(path)
        plt.close(figure)
        return path


def save_run_info(run_dir: str | os.PathLike, config_dict: dict, run_info: dict) -> None:
    """Write the exact config (`config.json`) and how to rebuild it (`run.json`)."""
    run_dir = Path(run_dir)
    with open(run_dir / "config.json", "w") as handle:
        json.dump(config_dict, handle, indent=2, default=str)
    with open(run_dir / "run.json", "w") as handle:
        json.dump(run_info, handle, indent=2)


def load_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Read weights written by `RunLog.save_weights`."""
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
