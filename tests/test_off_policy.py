"""EfficientZero's off-policy correction: the n-step horizon by age, the value targets at a
horizon of each game's own, and the bootstrap from a fresh search."""

import numpy as np
import pytest

from config import make_cartpole_config
from networks.transforms import scalar_to_support
from self_play import search
from tests.conftest import ScriptedGame
from tests.test_replay import filled, played, small_config  # noqa: F401  (a fixture)
from training import Reanalyser, ReplayBuffer, Trainer
from training.checkpoint import pack, unpack
from training.targets import horizons_by_age, value_target_parts_at


def test_the_horizon_shrinks_by_one_every_tau_times_the_training_steps():
    # td_steps 5, tau 0.3, 1,000 training steps: one move less every 300 steps of age.
    ages = np.array([0, 299, 300, 599, 600, 899, 1199, 1200, 5000])
    expected = [5, 5, 4, 4, 3, 3, 2, 1, 1]  # clipped at 1
    np.testing.assert_array_equal(horizons_by_age(ages, 5, 0.3, 1000), expected)
    np.testing.assert_array_equal(horizons_by_age(np.array([0, 10**9]), 1, 0.3, 1000), [1, 1])


def scripted(games, **overrides):
    """A buffer of hand-made games (`ScriptedGame` records)."""
    replay = ReplayBuffer(small_config(td_steps=3, **overrides))
    for game in games:
        replay.save_game(game)
    return replay, replay.flatten()


def test_value_targets_at_a_shorter_horizon_by_hand():
    # Rewards 1, 2, 3, 4 at discount 0.5, search values 10, 20, 30, 40: a game that ended by
    # the rules (rows 0-4) and the same game cut short with its final state searched (50).
    ended = ScriptedGame([1, 2, 3, 4], [10, 20, 30, 40], discount=0.5)
    cut = ScriptedGame([1, 2, 3, 4], [10, 20, 30, 40, 50], discount=0.5, terminal=False)
    _, flat = scripted([ended, cut])
    rows = np.array([0, 2, 3, 4, 5 + 3, 5 + 4, 0])
    horizons = np.array([2, 2, 2, 2, 2, 2, 1])
    rewards, bootstrap, factor = value_target_parts_at(flat, rows, horizons, 0.5, 1)
    # state 0, n 2: 1 + 0.5 * 2, then 0.25 * v(2); state 2: 3 + 0.5 * 4 and no bootstrap (the
    # end state of an ended game is worth 0); state 3: 4 only; the end state: nothing. Cut
    # short, state 3 bootstraps at the final state after one move (0.5 * 50), which
    # bootstraps from itself; state 0 at n 1: 1 + 0.5 * v(1).
    np.testing.assert_allclose(rewards, [2.0, 5.0, 4.0, 0.0, 4.0, 0.0, 1.0])
    np.testing.assert_array_equal(bootstrap, [2, -1, -1, -1, 5 + 4, 5 + 4, 1])
    np.testing.assert_allclose(factor, [0.25, 0.0, 0.0, 0.0, 0.5, 1.0, 0.5])
    values = rewards + factor * np.where(bootstrap >= 0, flat.root_value[bootstrap], 0.0)
    np.testing.assert_allclose(values, [9.5, 5.0, 4.0, 0.0, 29.0, 50.0, 11.0])


def test_value_targets_at_a_shorter_horizon_with_two_players_by_hand():
    # Moves by players 0, 1, 0 win 1, 2, 3 (discount 1); search values 10, 20, 30, each for
    # the player to play. From state 0 at n 2: 1 - 2 + v(2) = 29; at n 1: 1 - v(1) = -19.
    game = ScriptedGame([1, 2, 3], [10, 20, 30], discount=1.0, num_players=2)
    _, flat = scripted([game])
    rewards, bootstrap, factor = value_target_parts_at(flat, np.array([0, 0, 1]),
                                                       np.array([2, 1, 1]), 1.0, 2)  # fmt: skip
    np.testing.assert_allclose(rewards, [-1.0, 1.0, 2.0])
    np.testing.assert_array_equal(bootstrap, [2, 1, 2])
    np.testing.assert_allclose(factor, [1.0, -1.0, -1.0])


@pytest.mark.parametrize("num_players", [1, 2])
def test_at_the_full_horizon_the_parts_are_the_stored_ones(num_players):
    rng = np.random.default_rng(3)
    games = [
        ScriptedGame(
            rng.normal(size=length).tolist(),
            rng.normal(size=length + cut).tolist(),
            discount=0.9,
            terminal=not cut,
            num_players=num_players,
        )  # fmt: skip
        for length, cut in [(1, 0), (4, 1), (7, 0), (9, 1), (2, 1)]
    ]
    _, flat = scripted(games)
    rows = np.arange(len(flat.game))
    rewards, bootstrap, factor = value_target_parts_at(flat, rows, 3, 0.9, num_players)
    np.testing.assert_allclose(rewards, flat.value_rewards, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(bootstrap, flat.bootstrap)
    np.testing.assert_allclose(factor, flat.bootstrap_factor, rtol=1e-12)


def test_old_games_train_on_one_step_targets(played):  # noqa: F811
    """Games far older than tau * training_steps sample the targets of ``td_steps = 1``."""
    network, games = played
    old = small_config(td_steps=5, off_policy_tau=0.1, training_steps=100)
    one_step = small_config(td_steps=1)
    reanalyser = Reanalyser(old, network)
    network.steps, saved = 1000, network.steps
    try:
        batch = filled(old, games).sample_batch(3, 5, np.random.default_rng(2), reanalyser)
    finally:
        network.steps = saved
    expected = filled(one_step, games).sample_batch(3, 1, np.random.default_rng(2))
    uncorrected = filled(small_config(td_steps=5), games)
    young = uncorrected.sample_batch(3, 5, np.random.default_rng(2))
    np.testing.assert_array_equal(batch.observations, expected.observations)
    np.testing.assert_allclose(batch.target_values, expected.target_values, atol=1e-6)
    assert not np.allclose(young.target_values, expected.target_values, atol=1e-3)


def test_fresh_games_keep_the_full_horizon(played):  # noqa: F811
    network, games = played
    corrected = small_config(off_policy_tau=0.3, training_steps=100)
    replay = ReplayBuffer(corrected)
    for game in games:
        replay.save_game(game, step=network.steps)  # age 0
    batch = replay.sample_batch(3, 5, np.random.default_rng(5), Reanalyser(corrected, network))
    plain = filled(small_config(), games).sample_batch(3, 5, np.random.default_rng(5))
    np.testing.assert_allclose(batch.target_values, plain.target_values, atol=1e-6)


def test_the_age_counts_from_the_step_each_game_was_saved_at_and_survives_a_checkpoint(played):  # noqa: F811
    _, games = played
    config = small_config(off_policy_tau=0.3, window_size=5)
    replay = ReplayBuffer(config)
    for step, game in enumerate(games[:8]):
        replay.save_game(game, step=10 * step)
    assert list(replay.saved_at) == [30, 40, 50, 60, 70]  # the window's games only
    copy = ReplayBuffer(config)
    copy.load_state_dict(unpack(pack(replay.state_dict())))
    assert list(copy.saved_at) == [30, 40, 50, 60, 70]
    state = replay.state_dict()
    del state["saved_at"]  # a checkpoint from before the correction
    copy.load_state_dict(state, saved_at=90)  # restore_run: the checkpoint's step
    assert list(copy.saved_at) == [90] * 5


def test_each_game_trains_at_the_horizon_of_its_own_age(played):  # noqa: F811
    network, games = played
    # One move less every 25 steps of age; a window of 6 games, three of the 9 gone.
    config = small_config(off_policy_tau=0.25, training_steps=100, window_size=6)
    replay = ReplayBuffer(config)
    for number, game in enumerate(games[:9]):
        replay.save_game(game, step=10 * number)
    network.steps, saved = 100, network.steps
    try:  # ages 70, 60, 50, 40, 30, 20: horizons 3, 3, 3, 4, 4, 5
        batch = replay.sample_batch(3, 5, np.random.default_rng(9), Reanalyser(config, network))
    finally:
        network.steps = saved
    horizons = {number: 5 - (100 - 10 * number) // 25 for number in range(3, 9)}
    seen = set()
    for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
        game, horizon = games[game_id], horizons[int(game_id)]
        values = game.value_targets(horizon)
        seen.add(horizon)
        for step in range(4):
            if position + step <= len(game.history):
                expected = scalar_to_support(np.array(values[position + step]), 30)
                np.testing.assert_allclose(batch.target_values[row, step], expected, atol=1e-5)
    assert seen == {3, 4, 5}


@pytest.mark.parametrize("interval", [100, 0])
def test_bootstrap_search_bootstraps_from_the_root_value_of_a_search(played, interval):  # noqa: F811
    """With a target network its search; without one, the latest weights'."""
    network, games = played
    config = small_config(bootstrap_search=True, target_update_interval=interval, batch_size=8)
    trainer = Trainer(config, config.new_network())
    target = trainer.target_network if interval else trainer.network
    # A network unlike the played one, its value and reward heads far from 0.
    rng = np.random.default_rng(1)
    noisy = [w + rng.normal(scale=0.3, size=w.shape) for w in network.get_weights()]
    target.set_weights(noisy)
    replay = filled(config, games)
    batch = replay.sample_batch(3, 5, np.random.default_rng(7), trainer.reanalyser)
    flat = replay.flatten()
    checked = 0
    for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
        game = games[game_id]
        rewards_part, index, factor = game.value_target_parts(config.td_steps)
        for step in range(4):
            state = position + step
            if state > len(game.history):
                continue
            value = rewards_part[state]
            if index[state] >= 0:
                states = replay.stored_states(np.array([flat.offsets[game_id] + index[state]]))
                fresh = search(config, target, *states).root_value[0]
                value += factor[state] * fresh
                checked += 1
            expected = scalar_to_support(np.array(value), 30)
            np.testing.assert_allclose(batch.target_values[row, step], expected, atol=1e-5)
    assert checked > 5
    if not interval:
        return
    # Not the target network's own value: the search moved it.
    plain = small_config(target_update_interval=100, batch_size=8)
    trainer_plain = Trainer(plain, config.new_network())
    trainer_plain.target_network.set_weights(noisy)
    other = filled(plain, games).sample_batch(3, 5, np.random.default_rng(7),
                                              trainer_plain.reanalyser)  # fmt: skip
    assert not np.allclose(other.target_values, batch.target_values, atol=1e-4)


@pytest.mark.parametrize("field", ["off_policy_tau", "bootstrap_search"])
def test_the_switches_need_a_reanalyser(played, field):  # noqa: F811
    _, games = played
    config = small_config(**{field: 0.3 if field == "off_policy_tau" else True})
    with pytest.raises(ValueError, match="need a Reanalyser"):
        filled(config, games).sample_batch(3, 5, np.random.default_rng(0))


def test_the_defaults_are_muzeros():
    config = make_cartpole_config()
    assert config.off_policy_tau == 0.0 and config.bootstrap_search is False
