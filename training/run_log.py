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
    *LOSS_NAMES,
    "learning_rate",
    "seconds",
)


class RunLog:
    """Collects episode returns and losses; writes a CSV row every `log_interval` steps.

    Args:
        run_dir: the run's folder (created).
        log_interval: training steps per CSV row.
    """

    def __init__(self, run_dir: str | os.PathLike, log_interval: int):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_interval = log_interval
        self.csv_path = self.run_dir / "metrics.csv"
        self.rows: list[dict[str, float]] = []
        self._returns: list[float] = []
        self._losses: list[dict[str, float]] = []
        with open(self.csv_path, "w", newline="") as handle:
            csv.DictWriter(handle, CSV_FIELDS).writeheader()

    def add_episodes(self, returns: list[float]) -> None:
        """Note the returns of finished self-play games."""
        self._returns.extend(returns)

    def add_losses(self, losses: dict[str, float]) -> None:
        """Note the losses of one training step."""
        self._losses.append(losses)

    def row_due(self, training_step: int) -> bool:
        return training_step % self.log_interval == 0

    def write_row(
        self, training_step: int, games: int, moves: int, learning_rate: float, seconds: float
    ) -> dict[str, float]:
        """Append one CSV row averaging what was noted since the last row; return it."""
        returns = self._returns or [float("nan")]
        row = {
            "training_step": training_step,
            "games": games,
            "moves": moves,
            "episode_return": float(np.mean(returns)),
            "episode_return_min": float(np.min(returns)),
            "episode_return_max": float(np.max(returns)),
            "learning_rate": learning_rate,
            "seconds": round(seconds, 2),
        }
        for name in LOSS_NAMES:
            row[name] = (
                float(np.mean([loss[name] for loss in self._losses]))
                if self._losses
                else float("nan")
            )
        self._returns, self._losses = [], []
        self.rows.append(row)
        with open(self.csv_path, "a", newline="") as handle:
            csv.DictWriter(handle, CSV_FIELDS).writerow(row)
        return row

    def save_config(self, config_dict: dict, run_info: dict) -> None:
        """Write the exact config and how to rebuild it (`run.json`)."""
        with open(self.run_dir / "config.json", "w") as handle:
            json.dump(config_dict, handle, indent=2, default=str)
        with open(self.run_dir / "run.json", "w") as handle:
            json.dump(run_info, handle, indent=2)

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


def load_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Read weights written by `RunLog.save_weights`."""
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
