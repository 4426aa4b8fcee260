"""The batched search against the reference search: same network, same noise, same counts."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from config import make_cartpole_config
from game import ActionHistory, Player
from self_play import Node, expand_node, root_visit_counts, run_mcts, search, search_games
from self_play.search_math import visit_count_policy
from tests.conftest import BanditNetwork
from tests.test_networks import perturbed_network

ROOT = Path(__file__).resolve().parents[1]


def cartpole_games(config, count, seed=0):
    games = [config.new_game(seed=seed + i) for i in range(count)]
    rng = np.random.default_rng(seed)
    for index, game in enumerate(games):
        for _ in range(index % 5):  # different lengths in one batch
            game.apply(int(rng.integers(2)))
    return games


def reference(config):
    return dataclasses.replace(config, search="reference")


@pytest.mark.parametrize("num_simulations", [1, 2, 17, 50])
def test_batched_equals_reference_on_cartpole(num_simulations):
    config = make_cartpole_config(
        value_support_size=10, reward_support_size=5, num_simulations=num_simulations
    )
    network = perturbed_network()
    games = cartpole_games(config, 12)
    batched = search_games(config, network, games)
    expected = search_games(reference(config), network, games)
    np.testing.assert_array_equal(batched.visit_counts, expected.visit_counts)
    np.testing.assert_allclose(batched.root_value, expected.root_value, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(batched.action, expected.action)
    np.testing.assert_array_equal(batched.policy, expected.policy)
    assert np.all(batched.visit_counts.sum(1) == num_simulations)


def test_batched_equals_reference_with_noise_and_sampled_actions_from_one_generator():
    # Both searches draw each root's Dirichlet noise in the order of the roots, then each
    # root's action in that order: the same generator gives the same noise and actions.
    config = make_cartpole_config(value_support_size=10, reward_support_size=5,
                                  num_simulations=20)  # fmt: skip
    network = perturbed_network()
    games = cartpole_games(config, 8)
    noise = np.array([True, False, True, True, False, True, False, True])
    temperature = np.array([1.0, 0.5, 0.0, 2.0] * 2)
    outputs = [search_games(cfg, network, games, np.random.default_rng(3), noise, temperature)
               for cfg in (config, reference(config))]  # fmt: skip
    batched, expected = outputs
    np.testing.assert_array_equal(batched.visit_counts, expected.visit_counts)
    np.testing.assert_array_equal(batched.action, expected.action)
    np.testing.assert_array_equal(batched.policy, expected.policy)
    # The noise did something: without it the noised roots search differently.
    plain = search_games(config, network, games)
    assert not np.array_equal(plain.visit_counts[noise], batched.visit_counts[noise])


def test_batched_equals_reference_with_legal_action_masks():
    payouts = [0.3, 0.9, 0.2, 0.8, 0.1]
    network = BanditNetwork(payouts)
    config = make_cartpole_config(action_space_size=5, num_simulations=60, discount=1.0)
    legal = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 1, 0], [1, 0, 1, 0, 1]], dtype=bool)
    batched = search(config, network, np.zeros((3, 1)), legal, np.zeros(3, dtype=np.int64))
    for row in range(3):
        root = Node(0)
        actions = list(np.flatnonzero(legal[row]))
        expand_node(root, Player(0), actions, network.initial_inference(np.zeros((1, 1))))
        run_mcts(config, root, ActionHistory([], 5), network)
        np.testing.assert_array_equal(batched.visit_counts[row], root_visit_counts(root, 5))
        np.testing.assert_allclose(batched.root_value[row], root.value(), atol=1e-12)
        assert np.all(batched.visit_counts[row][~legal[row]] == 0)
    # The best legal arm gets the most visits: arm 1 (0.9); without it arm 3 (0.8); without
    # both arm 0 (0.3). Greedy (temperature 0) plays it; the target is the visit share.
    assert list(batched.visit_counts.argmax(1)) == [1, 3, 0]
    assert list(batched.action) == [1, 3, 0]
    np.testing.assert_array_equal(batched.policy, batched.visit_counts.astype(np.float32) / 60)
    assert batched.policy.dtype == np.float32


def test_visit_count_policy_by_hand():
    np.testing.assert_array_equal(visit_count_policy(np.array([1, 3])), [0.25, 0.75])
    np.testing.assert_array_equal(visit_count_policy(np.array([[0, 0], [2, 6]])),
                                  [[0.0, 0.0], [0.25, 0.75]])  # fmt: skip


def test_batched_noise_changes_only_the_chosen_roots():
    config = make_cartpole_config(value_support_size=10, reward_support_size=5)
    network = perturbed_network()
    games = cartpole_games(config, 6)
    plain = search_games(config, network, games, np.random.default_rng(0))
    noise = np.array([True, False] * 3)
    noisy = search_games(config, network, games, np.random.default_rng(0), noise)
    np.testing.assert_array_equal(noisy.visit_counts[~noise], plain.visit_counts[~noise])
    assert np.all(noisy.visit_counts.sum(1) == config.num_simulations)


def test_importing_the_numpy_search_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "import self_play.batched_mcts, self_play.seam, self_play.policies\n"
        "from self_play import search, SEARCH_POLICIES\n"
        "loaded = [m for m in ('tensorflow', 'keras', 'config', 'networks') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
