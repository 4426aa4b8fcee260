"""The record of a run on disk: config, metrics CSV, learning-curve PNG, final weights."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.train import DIAGNOSTIC_NAMES, LOSS_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Opponents a two-player run can be evaluated against (`game.opponents.make_opponent`).
EVALUATION_OPPONENTS = ("random", "minimax", "expert")
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
)

#: One row per finished self-play game, in `episodes.csv`: the frames (moves of all games)
#: and the training step when it was saved, its return and its length.
EPISODE_FIELDS = ("frames", "training_step", "episode_return", "episode_length")

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
    "replay_mib": "replay/mib",
    "selfplay_sims_per_s": "speed/selfplay_simulations_per_s",
    "train_steps_per_s": "speed/train_steps_per_s",
    **{name: "eval/" + name.removeprefix("eval_") for name in EVALUATION_FIELDS},
    "root_value_error": "selfplay/root_value_error",
    **{name: f"diagnostics/{name}" for name in DIAGNOSTIC_NAMES},
}


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


def exponential_moving_average(values: Sequence[float], span: float) -> np.ndarray:
    """Return the exponential moving average of `values`, without the bias of its start.

    ``y_t = sum_i w^i x_{t-i} / sum_i w^i`` over the values up to `t`, with
    ``w = 1 - 2 / (span + 1)``: pandas' ``ewm(span=span, adjust=True).mean()``. It trails (no
    value looks ahead), and its first value is the first input, not a blend with zero.
    NaN entries are skipped: they add nothing, decay nothing, and come out as NaN.

    Args:
        values: `[N]` numbers, in order.
        span: about the number of recent values averaged; 1 returns the values unchanged.

    Returns:
        `[N]` float64 averages.
    """
    if span < 1:
        raise ValueError(f"span must be at least 1, got {span}")
    weight = 1.0 - 2.0 / (span + 1.0)
    out = np.full(len(values), np.nan)
    numerator = denominator = 0.0
    for index, value in enumerate(values):
        if not np.isfinite(value):
            continue
        numerator = weight * numerator + value
        denominator = weight * denominator + 1.0
        out[index] = numerator / denominator
    return out


def smoothing_span(rows: int) -> int:
    """Return the span of the plotted averages: a twentieth of the rows, at least 1."""
    return max(1, rows // 20)


class RunLog:
    """Collects what self-play and training did; every `log_interval` steps writes a CSV row
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
        }
        for name in (*LOSS_NAMES, *DIAGNOSTIC_NAMES):
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
            import tensorflow as tf

            # Numpy arrays, not Python numbers: TensorFlow caches the tensor of every Python
            # number it converts and never frees it, which grew a run by ~15 MiB a minute.
            with self._writer.as_default(step=np.array(training_step, np.int64)):
                for field, tag in TENSORBOARD_TAGS.items():
                    if np.isfinite(row[field]):
                        tf.summary.scalar(tag, np.array(row[field], np.float32))
            self._writer.flush()
        return row

    def save_weights(self, weights: list[np.ndarray], name: str = "weights.npz") -> Path:
        """Write network weights atomically (temporary file, then rename).

        Raises:
            TypeError: an object array, which only a pickle could hold (`load_weights`
                refuses pickles).
        """
        arrays = [np.asarray(array) for array in weights]
        if any(array.dtype.hasobject for array in arrays):
            raise TypeError("save_weights: an object array cannot be saved without pickle")
        path = self.run_dir / name
        temporary = path.with_suffix(".tmp.npz")
        np.savez(temporary, *arrays)
        os.replace(temporary, path)
        return path

    @property
    def rows(self) -> list[dict[str, float]]:
        """The rows written so far, read back from `metrics.csv` (floats over `CSV_FIELDS`).

        They are not kept in memory: a long run writes a row every `log_interval` steps, and
        its process must not grow with them.
        """
        return read_metrics(self.csv_path)

    def plot(self, title: str, solved_return: float | None = None) -> Path | None:
        """Draw the rows so far into `learning_curve.png` (see `draw_learning_curve`).

        Args:
            title: the figure's title, e.g. ``"MuZero on cartpole"``.
            solved_return: the return at which the game counts as solved (a dashed line),
                or None.

        Returns:
            The PNG's path, or None before the first row.
        """
        rows = self.rows
        if not rows:
            return None
        figure = draw_learning_curve(rows, title, solved_return)
        path = self.run_dir / "learning_curve.png"
        figure.savefig(path, dpi=100)
        return path

    def _rewrite_csv(self, text_rows: list[dict]) -> None:
        """Write rows read from the CSV under today's header, as they were written, NaN in
        the columns they lack; atomically (temporary file, then rename)."""
        temporary = self.csv_path.with_suffix(".tmp.csv")
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, CSV_FIELDS, restval="nan", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(text_rows)
        os.replace(temporary, self.csv_path)


#: The diagnostics drawn in the "errors" panel, with their legend.
ERROR_NAMES = {
    "value_error": "value at step 0 vs its n-step target (training)",
    "reward_error": "reward vs observed reward, steps 1..K (training)",
    "root_value_error": "search value vs observed return (self-play)",
}
#: The diagnostics drawn in the "entropy" panel, with their legend.
ENTROPY_NAMES = {
    "prior_entropy": "network policy (prior)",
    "search_entropy": "search policy (its target)",
}


def draw_learning_curve(
    rows: Sequence[dict[str, float]], title: str, solved_return: float | None = None
) -> Figure:
    """Draw a run's metrics rows as one figure 8 inches wide, panels over training steps.

    1. "self-play return": each row's mean return (thin, light) under its exponential moving
       average (`exponential_moving_average`, span `smoothing_span(len(rows))` rows), and a
       dashed line at `solved_return` where there is one.
    2. "training losses": each loss of `LOSS_NAMES`, row means (light) and their moving
       average; log scale while every loss is positive.
    3. "evaluation" (only when a row holds one): for each opponent played, the fraction of
       games won (solid) and won or drawn (dashed), both seats together.
    4. "errors" (when the rows have them): the mean absolute errors of `ERROR_NAMES`.
    5. "entropy" (likewise): the entropies of `ENTROPY_NAMES`, and the learning rate on a
       second axis.

    Args:
        rows: metrics rows as `RunLog.rows` holds them (NaN where a row has no figure).
        title: the figure's title.
        solved_return: the return at which the game counts as solved, or None.

    Returns:
        The figure (not shown; ``figure.savefig(path)`` writes it).
    """
    from matplotlib.figure import Figure

    def column(name: str) -> np.ndarray:
        return np.array([row.get(name, np.nan) for row in rows], dtype=float)

    steps = column("training_step")
    span = smoothing_span(len(rows))
    span_text = f"{span} row" if span == 1 else f"{span} rows"
    opponents = [
        opponent
        for opponent in EVALUATION_OPPONENTS
        if np.isfinite(column(f"eval_{opponent}_win_rate")).any()
    ]
    errors = [name for name in ERROR_NAMES if np.isfinite(column(name)).any()]
    entropies = [name for name in ENTROPY_NAMES if np.isfinite(column(name)).any()]
    panels = 2 + bool(opponents) + bool(errors) + bool(entropies)
    figure = Figure(figsize=(8, 7 + 2.5 * max(panels - 3, 0)), layout="constrained")
    axes = figure.subplots(panels, 1, sharex=True)
    figure.suptitle(title)

    returns_axis = axes[0]
    returns = column("episode_return")
    finite = np.isfinite(returns)
    returns_axis.plot(steps[finite], returns[finite], color="C0", alpha=0.3, linewidth=0.8,
                      label="mean return of each row")  # fmt: skip
    returns_axis.plot(steps[finite], exponential_moving_average(returns[finite], span),
                      color="C0", linewidth=2, label=f"moving average ({span_text})")  # fmt: skip
    if solved_return is not None:
        returns_axis.axhline(solved_return, color="black", linestyle="--", linewidth=1,
                             label=f"solved ({solved_return:g})")  # fmt: skip
    returns_axis.set_title("self-play return")
    returns_axis.set_ylabel("episode return")

    losses_axis = axes[1]
    positive = True
    for index, name in enumerate(LOSS_NAMES):
        losses = column(name)
        finite = np.isfinite(losses)
        positive = positive and bool(np.all(losses[finite] > 0))
        color = f"C{index}"
        losses_axis.plot(steps[finite], losses[finite], color=color, alpha=0.2, linewidth=0.8)
        losses_axis.plot(steps[finite], exponential_moving_average(losses[finite], span),
                         color=color, linewidth=1.5, label=name)  # fmt: skip
    if positive:
        losses_axis.set_yscale("log")
    losses_axis.set_title(f"training losses (light: each row; dark: moving average, {span_text})")
    losses_axis.set_ylabel("loss")

    if opponents:
        evaluation_axis = axes[2]
        for index, opponent in enumerate(opponents):
            wins = column(f"eval_{opponent}_win_rate")
            not_lost = wins + column(f"eval_{opponent}_draw_rate")
            finite = np.isfinite(wins)
            color = f"C{index}"
            evaluation_axis.plot(steps[finite], wins[finite], color=color, marker="o",
                                 markersize=3, label=f"vs {opponent}: won")  # fmt: skip
            evaluation_axis.plot(steps[finite], not_lost[finite], color=color, marker="o",
                                 markersize=3, linestyle="--", markerfacecolor="none",
                                 label=f"vs {opponent}: won or drawn")  # fmt: skip
        evaluation_axis.set_ylim(-0.03, 1.03)
        evaluation_axis.set_title("evaluation: greedy games against fixed opponents, both seats")
        evaluation_axis.set_ylabel("fraction of games")

    axis_index = 2 + bool(opponents)
    if errors:
        errors_axis = axes[axis_index]
        axis_index += 1
        for index, name in enumerate(errors):
            values = column(name)
            finite = np.isfinite(values)
            errors_axis.plot(steps[finite], values[finite], color=f"C{index}", alpha=0.2,
                             linewidth=0.8)  # fmt: skip
            errors_axis.plot(steps[finite], exponential_moving_average(values[finite], span),
                             color=f"C{index}", linewidth=1.5, label=ERROR_NAMES[name])  # fmt: skip
        errors_axis.set_title("errors of the value and reward predictions (absolute, as scalars)")
        errors_axis.set_ylabel("mean |error|")
    if entropies:
        entropy_axis = axes[axis_index]
        for index, name in enumerate(entropies):
            values = column(name)
            finite = np.isfinite(values)
            smooth = exponential_moving_average(values[finite], span)
            entropy_axis.plot(steps[finite], smooth, color=f"C{index}", linewidth=1.5,
                              label=ENTROPY_NAMES[name])  # fmt: skip
        entropy_axis.set_ylabel("entropy (nats)")
        entropy_axis.set_title("policy entropy, and the learning rate (right)")
        rates = column("learning_rate")
        finite = np.isfinite(rates)
        if finite.any():
            rate_axis = entropy_axis.twinx()
            rate_axis.plot(steps[finite], rates[finite], color="black", linestyle=":",
                           linewidth=1.2, label="learning rate")  # fmt: skip
            rate_axis.set_ylabel("learning rate")
            rate_axis.set_ylim(bottom=0)
            # One legend for both axes (two would cover each other).
            lines = entropy_axis.get_lines() + rate_axis.get_lines()
            entropy_axis.legend(lines, [line.get_label() for line in lines], loc="lower left",
                                fontsize="small")  # fmt: skip

    for axis in axes:
        axis.grid(alpha=0.3)
        if axis.get_legend() is None and axis.get_legend_handles_labels()[0]:
            axis.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("training step")
    return figure


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


def load_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Read weights written by `RunLog.save_weights`.

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


def main(argv: list[str] | None = None) -> int:
    """Redraw a run's learning curve from its `metrics.csv`.

    ``python -m training.run_log RUN_DIR [--solved 475] [--title T] [--out PATH]``
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m training.run_log", description="Redraw a run's learning_curve.png."
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--solved", type=float, help="draw the game's solved return")
    parser.add_argument("--title", default="MuZero", help="the figure's title")
    parser.add_argument("--out", type=Path, help="where to write (default: the run's PNG)")
    args = parser.parse_args(argv)
    path = args.run_dir / "metrics.csv"
    try:
        rows = read_metrics(path)
    except OSError as error:
        parser.exit(2, f"cannot read {path}: {error.strerror or error}\n")
    if not rows:
        parser.exit(2, f"{path} has no rows yet\n")
    out = args.out or args.run_dir / "learning_curve.png"
    draw_learning_curve(rows, args.title, args.solved).savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
