"""The run's metrics: CSV rows, evaluation columns, old CSVs, episodes, TensorBoard."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import muzero
from config import make_cartpole_config, make_tictactoe_config
from game import CartPole, TicTacToe
from training import LOSS_NAMES
from training.metrics import CSV_FIELDS, EVALUATION_FIELDS, EVALUATION_OUTCOMES, RunLog
from training.run_files import load_weights


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_rows_hold_evaluation_rates_only_where_an_evaluation_ran(tmp_path):
    log = RunLog(tmp_path, log_interval=10, tensorboard=False)
    log.add_evaluation("random", wins=15, draws=3, losses=2)
    log.add_evaluation("expert", wins=0, draws=18, losses=2)
    first = log.write_row(10, games=4, moves=30, replay_games=4, learning_rate=0.1, seconds=1.0)
    second = log.write_row(20, games=8, moves=60, replay_games=8, learning_rate=0.1, seconds=2.0)
    assert first["eval_random_win_rate"] == 0.75 and first["eval_random_draw_rate"] == 0.15
    assert first["eval_random_loss_rate"] == 0.1 and first["eval_expert_draw_rate"] == 0.9
    assert math.isnan(first["eval_minimax_win_rate"])  # not played
    assert all(math.isnan(second[field]) for field in EVALUATION_FIELDS)
    on_disk = read_rows(tmp_path / "metrics.csv")
    assert float(on_disk[0]["eval_expert_loss_rate"]) == 0.1
    assert math.isnan(float(on_disk[1]["eval_random_win_rate"]))
    with pytest.raises(ValueError, match="unknown opponent"):
        log.add_evaluation("grandmaster", 1, 0, 0)


def test_a_csv_from_before_the_evaluation_columns_is_continued(tmp_path):
    old_fields = [field for field in CSV_FIELDS if field not in EVALUATION_FIELDS]
    with open(tmp_path / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, old_fields)
        writer.writeheader()
        writer.writerow({field: 10 if field == "training_step" else 0.5 for field in old_fields})
    log = RunLog(tmp_path, log_interval=10, append=True, tensorboard=False)
    assert log.rows[0]["training_step"] == 10 and log.rows[0]["total"] == 0.5
    assert all(math.isnan(log.rows[0][field]) for field in EVALUATION_FIELDS)
    log.add_evaluation("random", wins=1, draws=0, losses=1)
    log.write_row(20, games=4, moves=30, replay_games=4, learning_rate=0.1, seconds=1.0)
    with open(tmp_path / "metrics.csv", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == CSV_FIELDS
    rows = read_rows(tmp_path / "metrics.csv")
    assert [row["training_step"] for row in rows] == ["10", "20"]  # old rows kept as written
    assert float(rows[0]["total"]) == 0.5 and math.isnan(float(rows[0]["eval_random_win_rate"]))
    assert float(rows[1]["eval_random_win_rate"]) == 0.5
    assert log.plot("old and new") is not None


def test_cartpole_is_solved_at_gymnasiums_threshold_and_board_games_never():
    assert CartPole(discount=1.0).solved_return == 475.0
    assert TicTacToe().solved_return is None


def test_evaluation_fields_are_validated():
    assert make_cartpole_config().evaluation_interval == 0
    board = make_tictactoe_config()
    assert board.evaluation_interval > 0 and board.evaluation_games > 0
    with pytest.raises(ValueError, match="evaluation_interval is for two-player games"):
        make_cartpole_config(evaluation_interval=100)
    with pytest.raises(ValueError, match="evaluation_interval"):
        make_tictactoe_config(evaluation_interval=-1)
    with pytest.raises(ValueError, match="evaluation_games"):
        make_tictactoe_config(evaluation_games=0)
    with pytest.raises(ValueError, match="evaluation_opponents"):
        make_tictactoe_config(evaluation_opponents=("random", "grandmaster"))


def tiny_tictactoe_config(**overrides):
    settings = dict(
        seed=3,
        training_steps=8,
        log_interval=4,
        checkpoint_interval=4,
        training_steps_per_iteration=4,
        selfplay_moves_per_iteration=36,
        min_replay_moves=36,
        num_simulations=4,
        num_parallel_games=4,
        batch_size=8,
        num_unroll_steps=3,
        residual_channels=4,
        window_size=50,
        evaluation_interval=0,
    )
    settings.update(overrides)
    return make_tictactoe_config(**settings)


@pytest.mark.slow
def test_evaluation_leaves_a_seeded_run_as_it_was(tmp_path):
    plain = muzero.muzero(tiny_tictactoe_config(), tmp_path / "plain")
    evaluated = muzero.muzero(
        tiny_tictactoe_config(evaluation_interval=4, evaluation_games=2), tmp_path / "evaluated"
    )
    plain_rows = read_rows(tmp_path / "plain" / "metrics.csv")
    evaluated_rows = read_rows(tmp_path / "evaluated" / "metrics.csv")
    assert [row["training_step"] for row in evaluated_rows] == ["4", "8"]
    for before, after in zip(plain_rows, evaluated_rows):
        for name in ("games", "moves", "episode_return", "replay_games"):
            assert before[name] == after[name], name
        for name in LOSS_NAMES:
            # Equal to float32 rounding (see test_muzero); a changed random stream would
            # sample other batches and differ by far more.
            assert float(before[name]) == pytest.approx(float(after[name]), rel=1e-6), name
        assert all(math.isnan(float(before[field])) for field in EVALUATION_FIELDS)
        for opponent in ("random", "expert"):
            rates = [
                float(after[f"eval_{opponent}_{outcome}_rate"]) for outcome in EVALUATION_OUTCOMES
            ]
            assert sum(rates) == pytest.approx(1.0) and all(0 <= rate <= 1 for rate in rates)
        assert math.isnan(float(after["eval_minimax_win_rate"]))
    for before, after in zip(plain.get_weights(), evaluated.get_weights()):
        np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(
        load_weights(tmp_path / "evaluated" / "weights.npz")[0], evaluated.get_weights()[0]
    )


def test_episodes_csv_gets_a_row_per_game(tmp_path):
    log = RunLog(tmp_path, 5, tensorboard=False)
    log.add_episode(21.0, 21, 3.5, 2.0, frames=400, training_step=0)
    log.add_episode(500.0, 500, 200.0, 30.0, frames=2000, training_step=40)
    rows = read_rows(tmp_path / "episodes.csv")
    assert [(r["frames"], r["training_step"], r["episode_return"]) for r in rows] == [
        ("400", "0", "21.0"), ("2000", "40", "500.0")
    ]  # fmt: skip
    row = log.write_row(5, 2, 2000, 2, 0.01, 1.0)
    assert row["root_value_error"] == pytest.approx(16.0)


def test_the_log_does_not_grow_with_its_rows(tmp_path):
    """A long run writes a row every `log_interval` steps: they go to the CSV, not to memory
    (2,000 rows held as dicts would take ~3 MiB)."""
    import tracemalloc

    log = RunLog(tmp_path, log_interval=10, tensorboard=False)
    log.write_row(10, games=1, moves=10, replay_games=1, learning_rate=0.1, seconds=1.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for step in range(20, 20_010, 10):
            log.add_episode(float(step), 10, 0.5)
            log.add_losses({"total": 1.0 / step})
            log.write_row(step, games=step, moves=10 * step, replay_games=1,
                          learning_rate=0.1, seconds=1.0)  # fmt: skip
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes kept for 2,000 rows"
    rows = log.rows  # read back from the CSV
    assert len(rows) == 2_000 and rows[-1]["training_step"] == 20_000
    assert rows[-1]["episode_return"] == 20_000.0 and rows[-1]["total"] == 1.0 / 20_000


def native_heap_in_use() -> int | None:
    """Bytes glibc's malloc has handed out and not got back (None off glibc >= 2.33)."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost")]  # fmt: skip

    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def test_tensorboard_rows_are_exact_and_keep_no_native_memory(tmp_path):
    """TensorFlow keeps the tensor of every Python number it converts: TensorBoard scalars
    written as Python floats grew a run by ~15 MiB a minute (~570 bytes a scalar, outside
    Python's heap). Written as arrays they keep nothing, and read back as written."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    log = RunLog(tmp_path, log_interval=10)

    def write(step):  # every value new, as in a run
        log.add_episode(step + 0.25, step, step + 0.5)
        log.add_losses({name: step + 0.125 for name in LOSS_NAMES})
        log.add_selfplay(step, 1.0)
        log.add_training(10, 0.5)
        log.write_row(step, games=step, moves=10 * step, replay_games=step,
                      learning_rate=1.0 / step, seconds=1.0, replay_mib=step / 7)  # fmt: skip

    for step in range(10, 110, 10):  # TensorFlow's own first-use memory
        write(step)
    before = native_heap_in_use()
    for step in range(110, 10_110, 10):
        write(step)
    after = native_heap_in_use()
    if before is not None:
        # 1,000 rows of ~20 scalars: 5 MiB before the fix, 0.01 after.
        assert after - before < 2**20, f"{(after - before) / 2**20:.1f} MiB kept"
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    returns = events.Tensors("episode/return_mean")
    assert [event.step for event in returns] == list(range(10, 10_110, 10))
    assert make_ndarray(returns[-1].tensor_proto) == 10_100.25
    assert make_ndarray(events.Tensors("loss/total")[-1].tensor_proto) == 10_100.125


def test_tensorboard_holds_each_rows_finite_figures_at_its_step(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    log = RunLog(tmp_path, log_interval=10)
    log.add_losses({name: 0.25 for name in LOSS_NAMES})
    log.add_episode(episode_return=42.0, length=42, mean_root_value=3.5)
    log.write_row(10, games=1, moves=42, replay_games=1, learning_rate=0.05, seconds=1.0)
    log.add_losses({name: 0.75 for name in LOSS_NAMES})  # no episode: its return is NaN
    log.write_row(20, games=1, moves=42, replay_games=1, learning_rate=0.04, seconds=2.0)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()

    def series(tag):
        return [(e.step, float(make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]

    assert series("loss/total") == [(10, 0.25), (20, 0.75)]
    assert series("train/learning_rate") == [(10, np.float32(0.05)), (20, np.float32(0.04))]
    assert series("episode/return_mean") == [(10, 42.0)]  # the NaN of step 20 is left out
    assert "eval/random_win_rate" not in events.Tags()["tensors"]  # never finite
