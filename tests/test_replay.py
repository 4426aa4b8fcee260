"""Replay: targets made at sampling time, prioritized replay, the target network, Reanalyze."""

import numpy as np
import pytest

from config import make_cartpole_config
from game import ActionHistory
from networks.transforms import scalar_to_support
from self_play import SelfPlay
from self_play.gumbel_mcts import gumbel_search
from self_play.mcts import Node, expand_node, root_visit_counts, run_mcts
from tests.conftest import ScriptedGame
from training import Reanalyser, ReplayBuffer, Trainer, compute_losses
from training.replay_buffer import FLAT_OBSERVATIONS_MAX_BYTES, PRIORITY_EPSILON
from training.targets import make_target, stored_bootstrap_values, unroll_rows


def small_config(**overrides):
    settings = dict(
        batch_size=16, num_unroll_steps=3, td_steps=5, num_simulations=6,
        num_parallel_games=4, hidden_state_size=8, hidden_layers=(16,), value_support_size=30,
        reward_support_size=3, weight_decay=0.0, max_moves=12,
        # The pseudocode's replay; each test switches on what it checks.
        prioritized_replay=False, target_update_interval=0,
    )  # fmt: skip
    settings.update(overrides)
    return make_cartpole_config(**settings)


@pytest.fixture(scope="module")
def played():
    """A network and CartPole games played with it (some cut short at 12 moves)."""
    config = small_config()
    network = config.new_network()
    games = SelfPlay(config, np.random.default_rng(0)).play(network, 300).finished
    assert any(game.terminal() for game in games) and any(not game.terminal() for game in games)
    return network, games


def filled(config, games):
    replay = ReplayBuffer(config)
    for game in games:
        replay.save_game(game)
    return replay


def test_sampled_targets_equal_the_games_own_make_target(played):
    network, games = played
    config = small_config(batch_size=64)
    replay = filled(config, games)
    k = config.num_unroll_steps
    batch = replay.sample_batch(k, config.td_steps, np.random.default_rng(1))
    for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
        game = games[game_id]
        targets = game.make_target(int(position), k, config.td_steps)
        values = scalar_to_support(np.array([t.value for t in targets]), 30)
        rewards = scalar_to_support(np.array([t.reward for t in targets]), 3)
        np.testing.assert_allclose(batch.target_values[row], values, atol=1e-6)
        np.testing.assert_allclose(batch.target_rewards[row], rewards, atol=1e-6)
        np.testing.assert_allclose(batch.target_policies[row], [t.policy for t in targets])
        masks = [(t.value_mask, t.reward_mask, t.policy_mask) for t in targets]
        np.testing.assert_array_equal(batch.masks[row], masks)
        np.testing.assert_array_equal(batch.observations[row], game.make_image(int(position)))
        taken = game.history[position : position + k]
        np.testing.assert_array_equal(batch.actions[row, : len(taken)], taken)
    np.testing.assert_array_equal(batch.weights, 1.0)  # uniform: no correction


@pytest.mark.parametrize("copy_limit", [FLAT_OBSERVATIONS_MAX_BYTES, 0])
def test_observations_follow_the_window_as_games_come_and_go(played, copy_limit, monkeypatch):
    """A small window's observations are gathered from one copy of them, made again whenever
    the window changes (a larger one's row by row): after each game saved (the oldest
    leaving a full window), every sampled observation is still its own game's."""
    monkeypatch.setattr("training.replay_buffer.FLAT_OBSERVATIONS_MAX_BYTES", copy_limit)
    _, games = played
    config = small_config(batch_size=64, window_size=3)
    replay = ReplayBuffer(config)
    rng = np.random.default_rng(2)
    for game in games[:6]:
        replay.save_game(game)
        for _ in range(2):  # the second draw reuses the array the first made
            batch = replay.sample_batch(config.num_unroll_steps, config.td_steps, rng)
            assert batch.observations.dtype == np.float32
            for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
                expected = games[game_id].make_image(int(position))
                np.testing.assert_array_equal(batch.observations[row], expected)
    assert set(batch.game_ids) <= {3, 4, 5}
    assert (replay._flat_observations is not None) == (copy_limit > 0)


def scripted_buffer(priorities, **overrides):
    """One game per list of priorities, set by hand."""
    config = small_config(prioritized_replay=True, batch_size=4, **overrides)
    replay = ReplayBuffer(config)
    for number, game_priorities in enumerate(priorities):
        length = len(game_priorities)
        replay.save_game(ScriptedGame([1.0] * length, [0.0] * length, discount=0.9))
        replay.update_priorities(np.full(length, number), np.arange(length),
                                 np.array(game_priorities) - PRIORITY_EPSILON)  # fmt: skip
    return replay


def test_probabilities_and_importance_weights_by_hand():
    # Priorities 1, 2 (first game) and 3, 6 (second); alpha = 1, beta = 1; N = 4 positions.
    # P = p / 12 = 1/12, 2/12, 3/12, 6/12;  N P = 1/3, 2/3, 1, 2;  w = 1 / (N P) = 3, 1.5, 1,
    # 0.5, divided by the largest in the batch.
    replay = scripted_buffer([[1.0, 2.0], [3.0, 6.0]])
    rng = np.random.default_rng(0)
    draws = np.concatenate([replay.sample_positions(rng)[0] for _ in range(15_000)])
    flat = replay.flatten()
    # Rows 0, 1 are the first game's positions, row 2 its end state (never drawn), 3, 4 the
    # second game's positions, row 5 its end state.
    frequencies = np.bincount(draws, minlength=6) / len(draws)
    np.testing.assert_allclose(frequencies, [1 / 12, 2 / 12, 0, 3 / 12, 6 / 12, 0], atol=0.006)
    assert flat.priority.tolist() == pytest.approx([1, 2, 0, 3, 6, 0])
    rows, weights = replay.sample_positions(np.random.default_rng(5))
    expected = {0: 3.0, 1: 1.5, 3: 1.0, 4: 0.5}
    raw = np.array([expected[int(row)] for row in rows])
    np.testing.assert_allclose(weights, raw / raw.max(), rtol=1e-6)


def test_alpha_and_beta_bend_probabilities_and_weights_by_hand():
    # alpha = 0.5: P = sqrt(p) / (1 + 2 + 3) for p = 1, 4, 9; beta = 0.5: w = (N P)^-0.5.
    replay = scripted_buffer([[1.0, 4.0, 9.0]], priority_alpha=0.5, priority_beta=0.5)
    flat = replay.flatten()
    np.testing.assert_allclose(flat.priority[:3], [1.0, 2.0, 3.0])
    rows, weights = replay.sample_positions(np.random.default_rng(1))
    probabilities = np.array([1, 2, 3]) / 6
    raw = (3 * probabilities[rows]) ** -0.5
    np.testing.assert_allclose(weights, raw / raw.max(), rtol=1e-6)


def test_new_positions_enter_at_the_largest_priority_so_far():
    replay = scripted_buffer([[0.5, 7.0]])
    replay.save_game(ScriptedGame([1.0] * 3, [0.0] * 3, discount=0.9))
    np.testing.assert_allclose(replay.buffer[-1].priorities, 7.0)
    np.testing.assert_allclose(replay.flatten().priority[3:6], [7.0, 7.0, 7.0])
    # A position whose game has left the window is skipped, not misplaced.
    replay.update_priorities(np.array([-5]), np.array([0]), np.array([100.0]))
    assert replay.max_priority == pytest.approx(7.0)


def test_training_refreshes_priorities_with_the_value_error(played):
    network, games = played
    config = small_config(prioritized_replay=True, batch_size=8)
    replay = filled(config, games)
    trainer = Trainer(config, network)
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(2))
    before = network.get_weights()
    value = network.initial_inference(batch.observations).value
    trainer.update_weights(batch)
    network.set_weights(before)  # the module's network stays as it was
    network.steps = 0
    from networks.transforms import support_to_scalar

    targets = support_to_scalar(batch.target_values[:, 0], 30)
    np.testing.assert_allclose(trainer.value_errors, np.abs(value - targets), rtol=1e-4, atol=1e-4)
    replay.update_priorities(batch.game_ids, batch.positions, trainer.value_errors)
    for game_id, position, error in zip(batch.game_ids, batch.positions, trainer.value_errors):
        stored = replay.buffer[game_id - (replay.games_saved - len(replay))].priorities[position]
        assert stored == pytest.approx(error + PRIORITY_EPSILON)


def test_importance_weights_scale_each_positions_loss(played):
    _, games = played
    config = small_config(batch_size=8)
    network = config.new_network()  # random heads (a new one's value head outputs uniform)
    rng = np.random.default_rng(9)
    network.set_weights([rng.normal(0.0, 0.5, w.shape) for w in network.get_weights()])
    batch = filled(config, games).sample_batch(3, config.td_steps, np.random.default_rng(3))
    # Targets far apart, so that the positions' losses differ: the second half's at the top
    # of the supports, its policy all on action 1.
    values, rewards, policies = (batch.target_values.copy(), batch.target_rewards.copy(),
                                 batch.target_policies.copy())  # fmt: skip
    values[4:], rewards[4:], policies[4:] = 0.0, 0.0, 0.0
    values[4:, :, -1], rewards[4:, :, -1], policies[4:, :, 1] = 1.0, 1.0, 1.0
    batch = batch._replace(target_values=values, target_rewards=rewards,
                           target_policies=policies)  # fmt: skip
    weights = np.zeros(8, np.float32)
    weights[:4] = 2.0  # the first half twice, the second half not at all
    halves = [batch._replace(**{f: getattr(batch, f)[part] for f in batch._fields
                                if getattr(batch, f) is not None})
              for part in (slice(0, 4), slice(4, 8))]  # fmt: skip
    first, second = (compute_losses(network, half.tensors(), 1.0, 0.0) for half in halves)
    weighted = compute_losses(network, batch._replace(weights=weights).tensors(), 1.0, 0.0)
    for name in ("value", "reward", "policy"):
        # The mean over 8 of (2 x the first four, 0 x the others) is the first four's mean.
        assert float(weighted[name]) == pytest.approx(float(first[name]), rel=1e-5)
        # Unweighted, the mean would take in the second half, whose losses differ.
        assert abs(float(second[name]) - float(first[name])) > 0.05 * float(first[name])


def test_the_target_network_lags_by_exactly_the_interval(played):
    _, games = played
    config = small_config(target_update_interval=3, optimizer="adam", lr_init=0.01)
    network = config.new_network()
    trainer = Trainer(config, network)
    replay = filled(config, games)
    rng = np.random.default_rng(4)
    snapshots = {0: network.get_weights()}
    for step in range(1, 8):
        batch = replay.sample_batch(3, config.td_steps, rng, trainer.reanalyser)
        trainer.update_weights(batch)
        snapshots[step] = network.get_weights()
        synced = 3 * (step // 3)
        assert trainer.target_network.steps == synced
        for target, expected in zip(trainer.target_network.get_weights(), snapshots[synced]):
            np.testing.assert_array_equal(target, expected)
    assert not np.array_equal(snapshots[7][0], snapshots[6][0])  # it did learn meanwhile


def test_value_targets_bootstrap_from_the_target_networks_value(played):
    network, games = played
    config = small_config(target_update_interval=1, batch_size=32)
    replay = filled(config, games)
    reanalyser = Reanalyser(config, network, target_network=network)
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(6), reanalyser)
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
                observation = game.make_image(int(index[state]))[None]
                value += factor[state] * network.initial_inference(observation).value[0]
                checked += 1
            expected = scalar_to_support(np.array(value), 30)
            np.testing.assert_allclose(batch.target_values[row, step], expected, atol=1e-5)
    assert checked > 20


def test_a_reanalysed_policy_target_is_a_fresh_reference_search(played):
    network, games = played
    config = small_config(target_update_interval=1, reanalyse_fraction=0.5, batch_size=8)
    replay = filled(config, games)
    reanalyser = Reanalyser(config, network, target_network=network)
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(7), reanalyser)
    plain = filled(small_config(batch_size=8), games)
    stored = plain.sample_batch(3, config.td_steps, np.random.default_rng(7))
    changed = 0
    for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
        game = games[game_id]
        for step in range(4):
            state = position + step
            if batch.masks[row, step, 2] == 0:
                continue
            if row >= 4:  # not reanalysed: the policy the game was played with
                np.testing.assert_allclose(batch.target_policies[row, step],
                                           stored.target_policies[row, step])  # fmt: skip
                continue
            root = Node(0)
            observation = game.make_image(int(state))[None]
            expand_node(root, game.to_play(), [0, 1], network.initial_inference(observation))
            run_mcts(config, root, ActionHistory(game.history[:state], 2), network)
            counts = root_visit_counts(root, 2)
            np.testing.assert_allclose(batch.target_policies[row, step], counts / counts.sum(),
                                       atol=1e-6)  # fmt: skip
            changed += not np.allclose(counts / counts.sum(), game.child_visits[state])
    assert changed > 0  # the noise and sampling of self-play are gone from the new targets


def test_a_reanalysed_policy_target_with_gumbel_is_the_reference_gumbel_target(played):
    # With search_policy = "gumbel", Reanalyze's targets come from the same search: the
    # improved policy of the reference Gumbel search of each state (no noise), not counts.
    network, games = played
    config = small_config(target_update_interval=1, reanalyse_fraction=0.5, batch_size=8,
                          search_policy="gumbel")  # fmt: skip
    reanalyser = Reanalyser(config, network, target_network=network)
    batch = filled(config, games).sample_batch(3, config.td_steps, np.random.default_rng(7),
                                               reanalyser)  # fmt: skip
    checked = 0
    for row in range(4):  # the reanalysed half
        game = games[batch.game_ids[row]]
        for step in range(4):
            state = batch.positions[row] + step
            if batch.masks[row, step, 2] == 0:
                continue
            _, target, _, _ = gumbel_search(config, network, game.make_image(int(state)), [0, 1],
                                            0, None, False)  # fmt: skip
            np.testing.assert_allclose(batch.target_policies[row, step], target, atol=1e-6)
            assert not np.allclose(target * config.num_simulations,
                                   np.round(target * config.num_simulations))  # fmt: skip
            checked += 1
    assert checked > 4


def test_the_replay_buffer_round_trips_through_its_state(played):
    _, games = played
    config = small_config(prioritized_replay=True)
    replay = filled(config, games)
    replay.update_priorities(np.array([0, 1]), np.array([0, 0]), np.array([3.0, 9.0]))
    copy = ReplayBuffer(config)
    copy.load_state_dict(replay.state_dict())
    one = replay.sample_batch(3, config.td_steps, np.random.default_rng(8))
    two = copy.sample_batch(3, config.td_steps, np.random.default_rng(8))
    for field in one._fields:
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    assert copy.max_priority == replay.max_priority


def test_a_training_phases_batches_are_reanalysed_in_one_batched_search(played, monkeypatch):
    import training.reanalyse

    network, games = played
    config = small_config(target_update_interval=1, reanalyse_fraction=0.5, batch_size=8)
    replay = filled(config, games)
    calls = []
    original = training.reanalyse.search

    def counted(search_config, net, observations, *args, **kwargs):
        calls.append(len(observations))
        return original(search_config, net, observations, *args, **kwargs)

    monkeypatch.setattr(training.reanalyse, "search", counted)
    reanalyser = Reanalyser(config, network, target_network=network)
    batches = replay.sample_batches(3, 3, config.td_steps, np.random.default_rng(7), reanalyser)
    assert len(calls) == 1
    states = set()
    for batch in batches:
        for game_id, position in zip(batch.game_ids[:4], batch.positions[:4]):
            searched = len(games[game_id].root_values)
            states.update((int(game_id), int(s)) for s in range(position, position + 4)
                          if s < searched)  # fmt: skip
    assert calls[0] == len(states)  # every reanalysed state once, all in one search
    # The first batch's reanalysed targets are those it gets when drawn alone.
    alone = replay.sample_batch(3, config.td_steps, np.random.default_rng(7), reanalyser)
    np.testing.assert_allclose(batches[0].target_policies[:4], alone.target_policies[:4])


def test_the_memory_cap_drops_the_oldest_games_and_counts_bytes(played):
    _, games = played
    capped = ReplayBuffer(small_config(replay_memory_mb=1))
    assert capped.memory_limit == 2**20
    sizes = [sum(array.nbytes for array in capped.make_record(game)) for game in games[:6]]
    capped.memory_limit = sum(sizes[3:6])  # room for the last three games, not a byte more
    for game in games[:6]:
        capped.save_game(game)
    assert len(capped.buffer) == 3 and capped.games_saved == 6
    assert capped.nbytes() == sum(sizes[3:6])
    kept = [record.actions.tolist() for record in capped.buffer]
    assert kept == [list(game.history) for game in games[3:6]]
    # The window counts bytes too: a full window drops its oldest game's bytes.
    window = ReplayBuffer(small_config(window_size=2))
    for game in games[:4]:
        window.save_game(game)
    assert window.nbytes() == sum(sizes[2:4])
    restored = ReplayBuffer(small_config(replay_memory_mb=1))
    restored.memory_limit = sizes[5]
    restored.load_state_dict(capped.state_dict())
    assert len(restored.buffer) == 1 and restored.nbytes() == sizes[5]


def test_make_target_is_pure_and_reanalyze_leaves_the_stored_targets(played):
    network, games = played
    config = small_config(target_update_interval=1, reanalyse_fraction=1.0, batch_size=8)
    replay = filled(config, games)
    flat = replay.flatten()
    before = [array.copy() for array in flat]
    rows, _ = replay.sample_positions(np.random.default_rng(3))
    bootstrap = flat.bootstrap[unroll_rows(flat, rows, 3)]
    random_actions = np.random.default_rng(4).integers(2, size=(len(rows), 3))
    one = make_target(flat, rows, 3, 2, stored_bootstrap_values(flat, bootstrap), random_actions)
    two = make_target(flat, rows, 3, 2, stored_bootstrap_values(flat, bootstrap), random_actions)
    for field in one._fields:
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    np.testing.assert_array_equal(one.unroll_rows, unroll_rows(flat, rows, 3))
    # Reanalyze writes its fresh policies into the batch's targets, not into the window.
    reanalyser = Reanalyser(config, network, target_network=network)
    replay.sample_batches(2, 3, config.td_steps, np.random.default_rng(5), reanalyser)
    assert replay.flatten() is flat
    for array, kept in zip(flat, before):
        np.testing.assert_array_equal(array, kept)


def test_the_reanalyser_owns_the_target_network_and_its_checkpoint_keys(played):
    _, games = played
    config = small_config(target_update_interval=2, optimizer="adam", lr_init=0.01)
    network = config.new_network()
    trainer = Trainer(config, network)
    assert trainer.target_network is trainer.reanalyser.target_network is not None
    replay = filled(config, games)
    rng = np.random.default_rng(4)
    for _ in range(3):
        trainer.update_weights(replay.sample_batch(3, config.td_steps, rng, trainer.reanalyser))
    state = trainer.reanalyser.state_dict()
    assert set(state) == {"target_weights", "target_step"} and state["target_step"] == 2
    other = Trainer(config, config.new_network())
    other.reanalyser.load_state_dict(state)
    assert other.target_network.steps == 2
    for restored, saved in zip(other.target_network.get_weights(), state["target_weights"]):
        np.testing.assert_array_equal(restored, saved)
    plain = Reanalyser(small_config(), network)  # no target_update_interval: none
    assert plain.target_network is None
    assert plain.state_dict() == {"target_weights": None, "target_step": None}
    plain.load_state_dict({"target_weights": None, "target_step": None})
    with pytest.raises(ValueError, match="give a Reanalyser"):
        replay.sample_batch(3, config.td_steps, rng)


def test_a_replay_state_from_before_config_num_players_still_loads(played):
    _, games = played
    config = small_config()
    replay = filled(config, games)
    state = replay.state_dict()
    assert "num_players" not in state  # the config's is the one read
    old = ReplayBuffer(config)
    old.load_state_dict({**state, "num_players": 1})  # as checkpoints wrote it before
    assert old.num_players == config.num_players == 1 and len(old) == len(replay)
