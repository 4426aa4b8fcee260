"""The learning curve: moving averages, the figure's panels, the PNG, the command line."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from training import LOSS_NAMES
from training.metrics import CSV_FIELDS, RunLog
from training.plots import draw_learning_curve, exponential_moving_average, main


def fake_rows(count, evaluated_every=0):
    """Rows as `RunLog.rows` holds them: returns rising, losses falling, some evaluations."""
    rows = []
    for index in range(count):
        row = {field: float("nan") for field in CSV_FIELDS}
        row.update(training_step=10.0 * (index + 1), episode_return=20.0 + 5 * index)
        row.update({name: 1.0 / (index + 1) for name in LOSS_NAMES})
        if evaluated_every and (index + 1) % evaluated_every == 0:
            row.update(eval_random_win_rate=0.8, eval_random_draw_rate=0.1)
            row.update(eval_random_loss_rate=0.1)
        rows.append(row)
    return rows


def test_moving_average_matches_values_worked_out_by_hand():
    # span 3: weight w = 1 - 2/4 = 0.5; y_t = sum w^i x_{t-i} / sum w^i.
    np.testing.assert_allclose(
        exponential_moving_average([0.0, 10.0, 10.0], span=3),
        [0.0, 10 / 1.5, (10 + 5 + 0) / 1.75],
    )
    # A NaN neither adds nor decays: the 4 after it sees the 2 at weight 0.5.
    np.testing.assert_allclose(
        exponential_moving_average([2.0, np.nan, 4.0], span=3), [2.0, np.nan, 5 / 1.5]
    )
    np.testing.assert_array_equal(exponential_moving_average([3.0, -1.0, 7.0], 1), [3, -1, 7])
    with pytest.raises(ValueError, match="span"):
        exponential_moving_average([1.0], span=0.5)


def test_learning_curve_has_a_return_and_a_loss_panel_and_the_solved_line():
    figure = draw_learning_curve(fake_rows(40), "MuZero on cartpole", solved_return=475.0)
    titles = [axis.get_title() for axis in figure.axes]
    assert len(titles) == 2
    assert titles[0] == "self-play return" and titles[1].startswith("training losses")
    assert figure.get_suptitle() == "MuZero on cartpole"
    assert tuple(figure.get_size_inches()) == (8, 7)
    returns_axis, losses_axis = figure.axes
    lines = {line.get_label(): line for line in returns_axis.lines}
    assert set(np.asarray(lines["solved (475)"].get_ydata(), float)) == {475.0}
    smoothed = lines["moving average (2 rows)"].get_ydata()
    assert smoothed[0] == 20.0 and smoothed[-1] < 20.0 + 5 * 39  # trails the rising returns
    assert {text.get_text() for text in losses_axis.get_legend().get_texts()} == set(LOSS_NAMES)
    assert losses_axis.get_yscale() == "log"  # every loss positive
    assert returns_axis.get_xlabel() == "" and losses_axis.get_xlabel() == "training step"


def test_the_consistency_loss_is_drawn_where_the_run_has_it_on_a_linear_scale():
    rows = fake_rows(40)
    for index, row in enumerate(rows):
        row["consistency"] = -0.5 - 0.01 * index  # a negative cosine similarity
    losses_axis = draw_learning_curve(rows, "EfficientZero").axes[1]
    labels = {text.get_text() for text in losses_axis.get_legend().get_texts()}
    assert labels == {*LOSS_NAMES, "consistency"}
    assert losses_axis.get_yscale() == "linear"  # a negative loss: no log scale


def test_learning_curve_without_a_solved_return_and_with_evaluations():
    figure = draw_learning_curve(fake_rows(12, evaluated_every=4), "MuZero on tictactoe")
    assert [axis.get_title() for axis in figure.axes][2].startswith("evaluation")
    returns_axis, _, evaluation_axis = figure.axes
    assert not any(line.get_label().startswith("solved") for line in returns_axis.lines)
    lines = {line.get_label(): line for line in evaluation_axis.lines}
    assert set(lines) == {"vs random: won", "vs random: won or drawn"}
    np.testing.assert_array_equal(lines["vs random: won"].get_xdata(), [40, 80, 120])
    np.testing.assert_allclose(lines["vs random: won or drawn"].get_ydata(), [0.9] * 3)


def png_size(path):
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_plot_writes_one_png_of_800_by_700_pixels(tmp_path):
    log = RunLog(tmp_path, log_interval=10, tensorboard=False)
    assert log.plot("empty") is None  # nothing to draw before the first row
    log.add_losses({name: 0.5 for name in LOSS_NAMES})
    log.write_row(10, games=0, moves=0, replay_games=0, learning_rate=0.1, seconds=1.0)
    path = log.plot("MuZero on cartpole", solved_return=475.0)
    assert path == tmp_path / "learning_curve.png"
    assert png_size(path) == (800, 700)


def test_the_diagnostics_get_their_panels_and_the_learning_rate_its_axis():
    rows = fake_rows(30)
    for index, row in enumerate(rows):
        row.update(value_error=10.0 - index / 10, reward_error=0.5, root_value_error=20.0)
        row.update(prior_entropy=0.69, search_entropy=0.5, learning_rate=1e-3 / (index + 1))
    figure = draw_learning_curve(rows, "MuZero on cartpole")
    titles = [axis.get_title() for axis in figure.axes]
    assert titles[2].startswith("errors of the value and reward")
    assert titles[3].startswith("policy entropy")
    assert len(figure.axes) == 5  # the learning rate's second axis
    errors_legend = [text.get_text() for text in figure.axes[2].get_legend().get_texts()]
    assert len(errors_legend) == 3 and "self-play" in errors_legend[2]
    rate = figure.axes[4].get_lines()[0].get_ydata()
    np.testing.assert_allclose(rate, [1e-3 / (i + 1) for i in range(30)])
    assert tuple(figure.get_size_inches()) == (8, 9.5)
    # A CSV from before the diagnostics has none of these panels.
    assert len(draw_learning_curve(fake_rows(30), "x").axes) == 2


def test_the_command_line_redraws_a_runs_curve_from_its_csv(tmp_path, capsys):
    log = RunLog(tmp_path, log_interval=10, tensorboard=False)
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path)])
    assert stopped.value.code == 2 and "has no rows yet" in capsys.readouterr().err
    log.add_losses({name: 0.5 for name in LOSS_NAMES})
    log.write_row(10, games=0, moves=0, replay_games=0, learning_rate=0.1, seconds=1.0)
    assert main([str(tmp_path), "--solved", "475", "--out", str(tmp_path / "curve.png")]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'curve.png'}\n"
    assert png_size(tmp_path / "curve.png") == (800, 700)
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "missing")])
    assert stopped.value.code == 2 and "cannot read" in capsys.readouterr().err
