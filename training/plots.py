"""The learning curve of a run: its metrics rows drawn as one figure (matplotlib).

Not in the pseudocode. `RunLog.plot` redraws ``learning_curve.png`` as a run goes; the
command line redraws it from a run folder's `metrics.csv` at any time:

    python -m training.plots RUN_DIR [--solved 475] [--title T] [--out PATH]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.metrics import EVALUATION_OPPONENTS, read_metrics
from training.train import EXTRA_LOSS_NAMES, LOSS_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
    2. "training losses": each loss of `LOSS_NAMES` and those of `EXTRA_LOSS_NAMES` the
       run has (the consistency loss, negative), row means (light) and their moving
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
    extra = [name for name in EXTRA_LOSS_NAMES if np.isfinite(column(name)).any()]
    for index, name in enumerate((*LOSS_NAMES, *extra)):
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


def save_learning_curve(
    rows: Sequence[dict[str, float]],
    path: str | os.PathLike,
    title: str,
    solved_return: float | None = None,
) -> Path:
    """Draw `rows` (see `draw_learning_curve`) into the PNG at `path`; return its path."""
    draw_learning_curve(rows, title, solved_return).savefig(path, dpi=100)
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    """Redraw a run's learning curve from its `metrics.csv`.

    ``python -m training.plots RUN_DIR [--solved 475] [--title T] [--out PATH]``
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m training.plots", description="Redraw a run's learning_curve.png."
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
    out = save_learning_curve(rows, args.out or args.run_dir / "learning_curve.png", args.title,
                              args.solved)  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
