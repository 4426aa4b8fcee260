"""The metrics of a run: `metrics.csv`, `episodes.csv` and the same figures in TensorBoard.

Not in the pseudocode. A row every `log_interval` training steps averages what self-play
and training did since the one before; a CSV written by an older version (fewer columns) is
migrated to today's columns when a run continues it. The learning-curve figure drawn from
the rows is `training.plots`; the run folder's other files are `training.run_files`.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from game.opponents import OPPONENTS
from training.run_files import save_weights
from training.train import DIAGNOSTIC_NAMES, EXTRA_LOSS_NAMES, LOSS_NAMES

#: Opponents a two-player run can be evaluated against (`game.opponents.make_opponent`), in
#: the order of their CSV columns.
EVALUATION_OPPONENTS = OPPONENTS
#: Outcomes recorded per opponent, as fractions of the evaluation's games.
EVALUATION_OUTCOMES = ("win", "draw", "loss")
EVALUATION_FIELDS = tuple(
    f"eval_{opponent}_{outcome}_rate"
    for opponent in EVALUATION_OPPONENTS
    for outcome in EVALUATION_OUTCOMES
)

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
    # Last, so that a CSV written before them is a prefix of this one.
    *EVALUATION_FIELDS,
    "root_value_error",
    *DIAGNOSTIC_NAMES,
    "actor_restarts",
    "replay_mib",
    "replay_ratio",
    *EXTRA_LOSS_NAMES,
)

#: One row per finished self-play game, in `episodes.csv`: the frames (moves of all games)
#: and the training step when it was saved, its return and its length.
EPISODE_FIELDS = ("frames", "training_step", "episode_return", "episode_length")

#: TensorBoard tag of each CSV field (the counters stay CSV-only).
TENSORBOARD_TAGS = {
    "episode_return": "episode/return_mean",
    "episode_return_min": "episode/return_min",
    "episode_return_max": "episode/return_max",
    "episode_length": "episode/length",
    "root_value": "selfplay/mean_root_value",
    **{name: f"loss/{name}" for name in LOSS_NAMES},
    "learning_rate": "train/learning_rate",
    "replay_games": "replay/games",
    "replay_mib": "replay/mib",
    "replay_ratio": "train/replay_ratio",
    **{name: f"loss/{name}" for name in EXTRA_LOSS_NAMES},
    "selfplay_sims_per_s": "speed/selfplay_simulations_per_s",
    "train_steps_per_s": "speed/train_steps_per_s",
    **{name: "eval/" + name.removeprefix("eval_") for name in EVALUATION_FIELDS},
    "root_value_error": "selfplay/root_value_error",
    **{name: f"diagnostics/{name}" for name in DIAGNOSTIC_NAMES},
}


def _compiled_row_writer(writer):
    """Return a compiled ``write(step, values)`` of one row's TensorBoard scalars to `writer`:
    `values` float32, one per `TENSORBOARD_TAGS`, each written only where finite.

    One compiled call per row: written eagerly, each scalar cost ~1.5 ms (2026-12-03). It
    holds the writer, not the `RunLog`, so a finished log is freed with its writer.
    """
    import tensorflow as tf
    from tensorboard.plugins.scalar.metadata import create_summary_metadata

    # `tf.summary.write` with the scalar plugin's metadata is what `tf.summary.scalar`
    # writes, with the tag as given (`scalar` would prefix the scope of each `cond`).
    metadata = create_summary_metadata(display_name=None, description=None)

    def write(step, values):
        with writer.as_default(step=step):
            for index, tag in enumerate(TENSORBOARD_TAGS.values()):
                value = values[index]
                tf.cond(tf.math.is_finite(value),
                        lambda: tf.summary.write(tag, value, metadata=metadata),  # noqa: B023
                        lambda: tf.constant(False))  # fmt: skip

    signature = [tf.TensorSpec([], tf.int64), tf.TensorSpec([len(TENSORBOARD_TAGS)], tf.float32)]
    return tf.function(write, input_signature=signature, reduce_retracing=True)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def _parse_row(row: dict[str | None, str | None]) -> dict[str, float]:
    """Return a CSV row as floats over `CSV_FIELDS`; a column the file lacks is NaN."""
    return {field: float(row.get(field) or "nan") for field in CSV_FIELDS}


def read_metrics(path: str | os.PathLike) -> list[dict[str, float]]:
    """Return the rows of a `metrics.csv` as floats over `CSV_FIELDS` (NaN where it has none).

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, newline="") as handle:
        return [_parse_row(row) for row in csv.DictReader(handle)]


class RunLog:
    """Collect what self-play and training did; every `log_interval` steps write a CSV row
    and the same figures to TensorBoard (``tensorboard --logdir results``).

    Args:
        run_dir: the run's folder (created).
        log_interval: training steps per row.
        append: continue an existing `metrics.csv` (a resumed run) instead of starting one;
            one written before today's columns gets them, NaN in its rows.
        tensorboard: also write TensorBoard event files under ``run_dir/tensorboard``.
    """

    def __init__(self, run_dir: str | os.PathLike, log_interval: int, append: bool = False,
                 tensorboard: bool = True):  # fmt: skip
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_interval = log_interval
        self.csv_path = self.run_dir / "metrics.csv"
        self._episodes: list[tuple[float, int, float, float]] = []
        self.episodes_path = self.run_dir / "episodes.csv"
        if not (append and self.episodes_path.exists()):
            with open(self.episodes_path, "w", newline="") as handle:
                csv.writer(handle).writerow(EPISODE_FIELDS)
        self._losses: list[dict[str, float]] = []
        self._simulations, self._selfplay_seconds = 0, 0.0
        self._train_steps, self._train_seconds = 0, 0.0
        self._evaluations: dict[str, tuple[int, int, int]] = {}
        #: Self-play actors restarted so far (Ray runs; the main loop sets it).
        self.actor_restarts = 0
        if append and self.csv_path.exists():
            with open(self.csv_path, newline="") as handle:
                reader = csv.DictReader(handle)
                text_rows = list(reader)
                header = tuple(reader.fieldnames or ())
            last = _parse_row(text_rows[-1]) if text_rows else None
            if last and math.isfinite(last["actor_restarts"]):
                self.actor_restarts = int(last["actor_restarts"])
            if header != CSV_FIELDS:
                # A CSV from an older version: rewrite it with today's columns (NaN where
                # it had none), so the rows appended below line up with the header.
                self._rewrite_csv(text_rows)
        else:
            with open(self.csv_path, "w", newline="") as handle:
                csv.DictWriter(handle, CSV_FIELDS).writeheader()
        self._writer = None
        if tensorboard:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))
            self._write_scalars = _compiled_row_writer(self._writer)

    def add_episode(self, episode_return: float, length: int, mean_root_value: float,
                    root_value_error: float = float("nan"), frames: int = 0,
                    training_step: int = 0) -> None:  # fmt: skip
        """Note one finished self-play game (and append it to `episodes.csv`).

        Args:
            episode_return, length: the game's return and moves.
            mean_root_value: the mean of its search values.
            root_value_error: mean ``|search value - observed return|`` over its states
                (`AbstractGame.returns_error`).
            frames: moves of all self-play games up to this one; `training_step`: the step.
        """
        self._episodes.append((episode_return, length, mean_root_value, root_value_error))
        with open(self.episodes_path, "a", newline="") as handle:
            csv.writer(handle).writerow((frames, training_step, episode_return, length))

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

    def add_evaluation(self, opponent: str, wins: int, draws: int, losses: int) -> None:
        """Note the outcomes of one evaluation against `opponent` (the next row holds them).

        Args:
            opponent: one of `EVALUATION_OPPONENTS`.
            wins: games the agent won, both seats together; `draws`, `losses` likewise.
        """
        if opponent not in EVALUATION_OPPONENTS:
            raise ValueError(
                f"unknown opponent {opponent!r}; valid: {', '.join(EVALUATION_OPPONENTS)}"
            )
        if wins + draws + losses < 1:
            raise ValueError(f"an evaluation against {opponent} needs at least one game")
        self._evaluations[opponent] = (wins, draws, losses)

    def row_due(self, training_step: int) -> bool:
        """Return whether `training_step` ends a row (every `log_interval` steps)."""
        return training_step % self.log_interval == 0

    def write_row(self, training_step: int, games: int, moves: int, replay_games: int,
                  learning_rate: float, seconds: float,
                  replay_mib: float = float("nan")) -> dict[str, float]:  # fmt: skip
        """Append one row averaging what was noted since the last row; return it.

        `replay_mib` is the memory of the replay buffer's games (`ReplayBuffer.nbytes`).
        """
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
            "root_value_error": _mean([episode[3] for episode in self._episodes]),
            "learning_rate": learning_rate,
            "replay_games": replay_games,
            "selfplay_sims_per_s": self._simulations / self._selfplay_seconds
            if self._selfplay_seconds
            else float("nan"),
            "train_steps_per_s": self._train_steps / self._train_seconds
            if self._train_seconds
            else float("nan"),
            "seconds": round(seconds, 2),
            "actor_restarts": self.actor_restarts,
            "replay_mib": round(replay_mib, 3),
            # The run's training steps per self-play move so far (`config.replay_ratio`).
            "replay_ratio": training_step / moves if moves else float("nan"),
        }
        for name in (*LOSS_NAMES, *DIAGNOSTIC_NAMES, *EXTRA_LOSS_NAMES):
            row[name] = _mean([loss.get(name, float("nan")) for loss in self._losses])
        for opponent in EVALUATION_OPPONENTS:
            # NaN for an opponent not played since the last row (NaN / NaN stays NaN).
            counts = np.array(self._evaluations.get(opponent, (np.nan,) * 3), dtype=float)
            for outcome, rate in zip(EVALUATION_OUTCOMES, counts / counts.sum()):
                row[f"eval_{opponent}_{outcome}_rate"] = float(rate)
        self._evaluations = {}
        self._episodes, self._losses = [], []
        self._simulations, self._selfplay_seconds = 0, 0.0
        self._train_steps, self._train_seconds = 0, 0.0
        with open(self.csv_path, "a", newline="") as handle:
            csv.DictWriter(handle, CSV_FIELDS).writerow(row)
        if self._writer is not None:
            # Numpy arrays, not Python numbers: TensorFlow caches the tensor of every Python
            # number it converts and never frees it, which grew a run by ~15 MiB a minute.
            values = np.array([row[field] for field in TENSORBOARD_TAGS], np.float32)
            self._write_scalars(np.array(training_step, np.int64), values)
            self._writer.flush()
        return row

    @property
    def rows(self) -> list[dict[str, float]]:
        """The rows written so far, read back from `metrics.csv` (floats over `CSV_FIELDS`).

        They are not kept in memory: a long run writes a row every `log_interval` steps, and
        its process must not grow with them.
        """
        return read_metrics(self.csv_path)

    def save_weights(self, weights: list[np.ndarray], name: str = "weights.npz") -> Path:
        """Write network weights into the run folder (`training.run_files.save_weights`)."""
        return save_weights(self.run_dir, weights, name)

    def plot(self, title: str, solved_return: float | None = None) -> Path | None:
        """Draw the rows so far into `learning_curve.png` (`training.plots`).

        Args:
            title: the figure's title, e.g. ``"MuZero on cartpole"``.
            solved_return: the return at which the game counts as solved (a dashed line),
                or None.

        Returns:
            The PNG's path, or None before the first row.
        """
        # Imported here: the plots read this module's field names, so a top-level import
        # would be circular (and a run without a plot never loads matplotlib).
        from training.plots import save_learning_curve

        rows = self.rows
        if not rows:
            return None
        return save_learning_curve(rows, self.run_dir / "learning_curve.png", title,
                                   solved_return)  # fmt: skip

    def _rewrite_csv(self, text_rows: list[dict]) -> None:
        """Write rows read from the CSV under today's header, as they were written, NaN in
        the columns they lack; atomically (temporary file, then rename)."""
        temporary = self.csv_path.with_suffix(".tmp.csv")
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, CSV_FIELDS, restval="nan", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(text_rows)
        os.replace(temporary, self.csv_path)
