"""Smoke runs of the main loop `muzero.muzero` in process: it trains, logs and is seeded."""

import csv
import math

import pytest

import muzero
from config import make_cartpole_config
from training import LOSS_NAMES


def tiny_config(seed, **overrides):
    settings = dict(
        seed=seed,
        training_steps=12,
        log_interval=4,
        training_steps_per_iteration=4,
        selfplay_moves_per_iteration=40,
        min_replay_moves=40,
        num_simulations=4,
        num_parallel_games=4,
        batch_size=8,
        num_unroll_steps=3,
        td_steps=5,
        hidden_state_size=8,
        hidden_layers=(16,),
        value_support_size=5,
        reward_support_size=3,
    )
    settings.update(overrides)
    return make_cartpole_config(**settings)


def read_rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tiny runs: seed 0 twice, seed 1 once; each gives (network, run folder)."""
    out = {}
    for name, seed in (("first", 0), ("again", 0), ("other", 1)):
        run_dir = tmp_path_factory.mktemp(f"run_{name}")
        out[name] = (muzero.muzero(tiny_config(seed), run_dir), run_dir)
    return out


def test_run_trains_the_requested_steps_and_writes_its_record(runs):
    network, run_dir = runs["first"]
    assert network.training_steps() == 12
    rows = read_rows(run_dir)
    assert [int(row["training_step"]) for row in rows] == [4, 8, 12]
    for row in rows:
        for name in LOSS_NAMES:
            assert math.isfinite(float(row[name])), (name, row)
        assert int(row["moves"]) >= 40
    assert (run_dir / "weights.npz").stat().st_size > 0
    assert (run_dir / "learning_curve.png").exists()


def test_same_seed_gives_the_same_run(runs):
    first, again = read_rows(runs["first"][1])[0], read_rows(runs["again"][1])[0]
    for name in ("games", "moves", "episode_return"):
        assert first[name] == again[name], name
    for name in LOSS_NAMES:
        # Float32 sums that TensorFlow may associate differently in two traces of the update
        # step within one process: equal to float32 rounding (another seed differs by far
        # more, see below).
        assert float(first[name]) == pytest.approx(float(again[name]), rel=1e-6), name


def test_other_seed_gives_another_run(runs):
    first, other = read_rows(runs["first"][1])[0], read_rows(runs["other"][1])[0]
    assert [first[name] for name in LOSS_NAMES] != [other[name] for name in LOSS_NAMES]


def test_a_phase_takes_the_whole_steps_a_replay_ratio_earned_and_carries_the_rest():
    config = tiny_config(0, replay_ratio=0.25, training_steps_per_iteration=7)
    # 6 moves earn 1.5 steps: 1 now, 0.5 carried; 6 more earn 2.0 with it.
    assert muzero.phase_steps(config, 6, 0.0) == (1, 0.5)
    assert muzero.phase_steps(config, 6, 0.5) == (2, 0.0)
    assert muzero.phase_steps(config, 3, 0.0) == (0, 0.75)
    # 0.29 * 100 is 28.999999999999996 in floating point: still 29 whole steps.
    assert muzero.phase_steps(tiny_config(0, replay_ratio=0.29), 100, 0.0)[0] == 29
    plain = tiny_config(0, training_steps_per_iteration=7)
    assert muzero.phase_steps(plain, 6, 0.5) == (7, 0.5)  # no ratio: the config's steps


def test_a_replay_ratio_of_4_steps_per_40_moves_trains_as_4_steps_per_iteration_do(
    runs, tmp_path, capsys
):
    """The tiny config plays 40 moves per iteration: a ratio of 0.1 earns the 4 steps per
    phase that `runs["first"]` took by `training_steps_per_iteration` (ignored here)."""
    network = muzero.muzero(tiny_config(0, replay_ratio=0.1, training_steps_per_iteration=9),
                            tmp_path)  # fmt: skip
    assert network.training_steps() == 12
    rows, plain = read_rows(tmp_path), read_rows(runs["first"][1])
    assert [row["training_step"] for row in rows] == ["4", "8", "12"]
    for row, before in zip(rows, plain, strict=True):
        for name in ("games", "moves", "episode_return"):
            assert row[name] == before[name], name
        for name in LOSS_NAMES:
            assert float(row[name]) == pytest.approx(float(before[name]), rel=1e-6), name
        # The column: the run's steps per frame so far.
        assert float(row["replay_ratio"]) == int(row["training_step"]) / int(row["moves"])
    moves = int(rows[-1]["moves"])
    assert f"{moves} frames, 12 training steps ({12 / moves:.3g} per frame); per frame:" in (
        capsys.readouterr().out
    )


def test_a_frame_limit_below_the_replays_minimum_is_refused(tmp_path):
    config = tiny_config(0, min_replay_moves=200)
    with pytest.raises(ValueError, match=r"max_frames \(199\) is below min_replay_moves \(200\)"):
        muzero.muzero(config, tmp_path, max_frames=199)
    assert not (tmp_path / "metrics.csv").exists()


def test_a_frame_limit_stops_self_play_at_the_limit_after_the_steps_it_earned(tmp_path, capsys):
    # 40 moves a round, 100 allowed: rounds of 40, 40 and 20; a ratio of 0.1 earns 4, 4, 2.
    config = tiny_config(0, training_steps=1000, replay_ratio=0.1, min_replay_moves=1)
    network = muzero.muzero(config, tmp_path, max_frames=100)
    out = capsys.readouterr().out
    assert f"frame limit: stopped after 100 frames at training step {network.steps}" in out
    assert "100 frames, " in out  # the cost per frame counts them all
    # The first round's games may not have ended (nothing to sample yet): its 4 steps are
    # not earned then.
    assert network.steps in (6, 10)


def test_run_without_a_folder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    network = muzero.muzero(tiny_config(0, training_steps=4))
    assert network.training_steps() == 4
    assert list(tmp_path.iterdir()) == []


PAPER_SWITCHES = dict(prioritized_replay=True, target_update_interval=4, reanalyse_fraction=0.5)


def test_a_run_with_priorities_a_target_network_and_reanalyse_repeats(tmp_path):
    rows = []
    for name in ("one", "two"):
        network = muzero.muzero(tiny_config(0, **PAPER_SWITCHES), tmp_path / name)
        assert network.training_steps() == 12
        rows.append(read_rows(tmp_path / name))
    for first, again in zip(*rows):
        for name in ("games", "moves", "episode_return", "replay_games", "replay_mib"):
            assert first[name] == again[name], name
        for name in (*LOSS_NAMES, "value_error", "prior_entropy", "importance_weight"):
            assert float(first[name]) == pytest.approx(float(again[name]), rel=1e-5), name
    weights = [float(row["importance_weight"]) for row in rows[0]]
    assert all(0 < weight <= 1 for weight in weights) and min(weights) < 1
    # The buffer's memory grows with its games (none leave: the window is not full).
    sizes = [(int(row["replay_games"]), float(row["replay_mib"])) for row in rows[0]]
    assert sizes[0][1] > 0 and sizes == sorted(sizes) and sizes[-1][0] > sizes[0][0]
    assert sizes[-1][1] > sizes[0][1]


def test_a_checkpoint_keeps_the_target_network_and_the_priorities(tmp_path):
    import numpy as np

    from training.checkpoint import load_latest_checkpoint

    switches = dict(PAPER_SWITCHES, checkpoint_interval=4, target_update_interval=3)
    muzero.muzero(tiny_config(0, **switches, training_steps=8), tmp_path)
    _, state = load_latest_checkpoint(tmp_path)
    assert state["training_step"] == 8 and state["target_step"] == 6  # the copy of step 6
    assert len(state["target_weights"]) == len(state["weights"])
    assert any(not np.array_equal(t, w) for t, w in zip(state["target_weights"], state["weights"]))
    priorities = np.concatenate([game[10] for game in state["replay"]["games"]])
    assert len(np.unique(priorities)) > 10  # refreshed by training, not all the initial one
    network = muzero.muzero(tiny_config(0, **switches), tmp_path, resume=True)
    assert network.training_steps() == 12
    assert [row["training_step"] for row in read_rows(tmp_path)] == ["4", "8", "12"]


def test_evaluate_returns_the_episodes_it_started_not_the_first_to_finish(monkeypatch):
    from self_play import SelfPlay

    config = tiny_config(0)
    network = config.new_network()
    started = []
    new_game = SelfPlay._new_game

    def counted(self):
        game = new_game(self)
        started.append(game)
        return game

    monkeypatch.setattr(SelfPlay, "_new_game", counted)
    returns = muzero.evaluate(config, network, 7, seed=3)
    # Exactly the 7 episodes started, each played to its end: a short one finishing first
    # does not make room for another.
    assert len(started) == 7 and len(returns) == 7
    assert sorted(returns) == sorted(muzero.episode_return(game) for game in started)
    assert all(game.ended() or len(game.history) >= config.max_moves for game in started)
