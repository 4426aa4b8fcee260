"""Self-play in a child process (`config.actor_process`): same games, seeded runs, errors."""

import multiprocessing

import keras
import numpy as np
import pytest

import muzero
from config import make_cartpole_config, make_fully_connected_network
from self_play import SelfPlay
from self_play.actor import ActorError, ActorProcess
from tests.test_muzero import read_rows, tiny_config


def network_failing_in_a_child(config):
    """A network factory that works in the main process and fails in the actor."""
    if multiprocessing.parent_process() is not None:
        raise RuntimeError("no network in this process")
    return make_fully_connected_network(config)


def perturbed(weights, seed):
    rng = np.random.default_rng(seed)
    return [w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype) for w in weights]


def test_actor_plays_the_games_the_main_process_would_play():
    keras.utils.set_random_seed(0)  # the same network whatever ran before
    config = tiny_config(0)
    network = config.new_network()
    weights = perturbed(network.get_weights(), 1)
    later = perturbed(weights, 2)  # the second request brings new weights
    network.set_weights(weights)
    network.steps = 7
    reference = SelfPlay(config, np.random.default_rng(42))
    expected = reference.play(network, 300)
    network.set_weights(later)
    network.steps = 17
    expected_more = reference.play(network, 300)
    actor = ActorProcess(config, seed=42)
    try:
        with pytest.raises(ActorError, match="nothing was requested"):
            actor.collect()
        actor.request(weights, 7, 300)
        with pytest.raises(ActorError, match="still playing"):
            actor.request(weights, 7, 300)
        got = actor.collect()
        assert got.moves >= 300
        # A second request goes on with the same games in flight and the new weights.
        actor.request(later, 17, 300)
        more = actor.collect()
    finally:
        actor.close()
    for stats, want in ((got, expected), (more, expected_more)):
        assert stats.moves == want.moves
        assert len(stats.finished) == len(want.finished) > 0
        for game, other in zip(stats.finished, want.finished):
            assert game.history == other.history
            np.testing.assert_allclose(game.root_values, other.root_values, rtol=1e-6)
            np.testing.assert_array_equal(game.child_visits, other.child_visits)


@pytest.mark.slow
def test_runs_with_an_actor_process_train_and_are_seeded(tmp_path):
    rows = []
    for name in ("first", "again"):
        run_dir = tmp_path / name
        network = muzero.muzero(tiny_config(0, actor_process=True), run_dir)
        assert network.training_steps() == 12
        rows.append(read_rows(run_dir))
    assert [int(row["training_step"]) for row in rows[0]] == [4, 8, 12]
    assert int(rows[0][0]["games"]) > 0 and int(rows[0][-1]["moves"]) >= 40
    for name in ("games", "moves", "episode_return"):
        assert [row[name] for row in rows[0]] == [row[name] for row in rows[1]], name
    for first, again in zip(rows[0], rows[1]):
        assert float(first["total"]) == pytest.approx(float(again["total"]), rel=1e-5)


def test_config_that_does_not_pickle_is_refused():
    config = make_cartpole_config(network_factory=lambda c: make_fully_connected_network(c))
    with pytest.raises(ActorError, match="pickle"):
        ActorProcess(config, seed=0)


def test_failure_in_the_actor_stops_training_with_its_message(tmp_path, capsys):
    config = tiny_config(0, actor_process=True, network_factory=network_failing_in_a_child)
    assert muzero.run_training(config, tmp_path, False, False) == 1
    assert "no network in this process" in capsys.readouterr().err


def test_actor_killed_while_playing_is_reported():
    config = tiny_config(0)
    actor = ActorProcess(config, seed=0)
    try:
        actor.request(config.new_network().get_weights(), 0, 10_000)
        actor._process.kill()
        with pytest.raises(ActorError, match="ended unexpectedly"):
            actor.collect()
    finally:
        actor.close()
