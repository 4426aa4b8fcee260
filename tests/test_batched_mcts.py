"""The batched search against the reference search: same network, noise off, same counts."""

import numpy as np
import pytest

from config import make_cartpole_config
from game import ActionHistory, Player
from self_play import (
    Node,
    SearchConfig,
    expand_node,
    root_visit_counts,
    run_batched_mcts,
    run_mcts,
    search_games,
)
from tests.conftest import BanditNetwork
from tests.test_networks import perturbed_network


def cartpole_games(config, count, seed=0):
    games = [config.new_game(seed=seed + i) for i in range(count)]
    rng = np.random.default_rng(seed)
    for index, game in enumerate(games):
        for _ in range(index % 5):  # different lengths in one batch
            game.apply(int(rng.integers(2)))
    return games


@pytest.mark.parametrize("num_simulations", [1, 2, 17, 50])
def test_batched_equals_reference_on_cartpole(num_simulations):
    config = make_cartpole_config(
        value_support_size=10, reward_support_size=5, num_simulations=num_simulations
    )
    network = perturbed_network()
    games = cartpole_games(config, 12)
    noise = np.zeros(len(games), dtype=bool)
    batched = search_games(config, network, games, noise, np.random.default_rng(0))
    config.search = "reference"
    reference = search_games(config, network, games, noise, np.random.default_rng(0))
    np.testing.assert_array_equal(batched.visit_counts, reference.visit_counts)
    np.testing.assert_allclose(batched.root_values, reference.root_values, rtol=1e-5, atol=1e-5)
    assert np.all(batched.visit_counts.sum(1) == num_simulations)


def test_batched_equals_reference_with_legal_action_masks():
    payouts = [0.3, 0.9, 0.2, 0.8, 0.1]
    network = BanditNetwork(payouts)
    config = make_cartpole_config(action_space_size=5, num_simulations=60, discount=1.0)
    legal = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 1, 0], [1, 0, 1, 0, 1]], dtype=bool)
    batched = run_batched_mcts(
        SearchConfig.from_config(config),
        network,
        np.zeros((3, 1)),
        legal,
        np.zeros(3, dtype=np.int64),
        1,
    )
    for row in range(3):
        root = Node(0)
        actions = list(np.flatnonzero(legal[row]))
        expand_node(root, Player(0), actions, network.initial_inference(np.zeros((1, 1))))
        run_mcts(config, root, ActionHistory([], 5), network)
        np.testing.assert_array_equal(batched.visit_counts[row], root_visit_counts(root, 5))
        np.testing.assert_allclose(batched.root_values[row], root.value(), atol=1e-12)
        assert np.all(batched.visit_counts[row][~legal[row]] == 0)
    # The best legal arm gets the most visits: arm 1 (0.9); without it arm 3 (0.8); without
    # both arm 0 (0.3).
    assert list(batched.visit_counts.argmax(1)) == [1, 3, 0]


def test_batched_noise_changes_only_the_chosen_roots():
    config = make_cartpole_config(value_support_size=10, reward_support_size=5)
    network = perturbed_network()
    games = cartpole_games(config, 6)
    plain = search_games(config, network, games, np.zeros(6, bool), np.random.default_rng(0))
    noise = np.array([True, False] * 3)
    noisy = search_games(config, network, games, noise, np.random.default_rng(0))
    np.testing.assert_array_equal(noisy.visit_counts[~noise], plain.visit_counts[~noise])
    assert np.all(noisy.visit_counts.sum(1) == config.num_simulations)
