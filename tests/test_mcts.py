import math

import numpy as np
import pytest

from config import KnownBounds, make_cartpole_config
from game import ActionHistory, Player
from networks import NetworkOutput
from self_play import (
    MinMaxStats,
    Node,
    backpropagate,
    expand_node,
    root_visit_counts,
    run_mcts,
    select_action,
    select_child,
    ucb_score,
)
from self_play.search_math import argmax_last, visit_policy
from tests.conftest import BanditNetwork


def make_config(**overrides):
    settings = dict(num_simulations=50, discount=1.0, dirichlet_alpha=0.3)
    settings.update(overrides)
    return make_cartpole_config(**settings)


def test_ucb_score_by_hand():
    config = make_config(discount=0.5, pb_c_base=19652.0, pb_c_init=1.25)
    parent, child = Node(0.0), Node(0.5)
    parent.visit_count = 4
    child.visit_count, child.value_sum, child.reward = 1, 2.0, 1.0
    stats = MinMaxStats(KnownBounds(0.0, 4.0))
    # pb_c = log((4 + 19652 + 1) / 19652) + 1.25 = 1.2502543948; * sqrt(4) / (1 + 1) = same.
    # prior score = 0.5 * 1.2502543948; value = normalise(1 + 0.5 * 2) = 2 / 4 = 0.5.
    expected = 0.5 * (math.log(19657 / 19652) + 1.25) + 0.5
    assert ucb_score(config, parent, child, stats) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(1.1251271974, abs=1e-9)
    # An unvisited child scores its prior term only: pb_c * sqrt(4) / 1 * 0.5.
    assert ucb_score(config, parent, Node(0.5), stats) == pytest.approx(
        (math.log(19657 / 19652) + 1.25) * 2 * 0.5
    )


def test_min_max_stats_by_hand():
    stats = MinMaxStats(None)
    assert stats.normalize(7.0) == 7.0  # no range yet: unchanged
    stats.update(1.0)
    assert stats.normalize(7.0) == 7.0  # a single point is no range either
    stats.update(3.0)
    assert stats.normalize(2.0) == pytest.approx(0.5)
    assert stats.normalize(3.0) == pytest.approx(1.0)
    bounded = MinMaxStats(KnownBounds(-1.0, 1.0))
    assert bounded.normalize(0.0) == pytest.approx(0.5)


def test_backpropagate_two_node_tree_with_discount():
    root, child = Node(0.0), Node(1.0)
    child.reward = 1.0
    stats = MinMaxStats(None)
    backpropagate([root, child], 2.0, Player(0), 0.9, stats)
    assert (child.visit_count, child.value_sum) == (1, 2.0)
    # The root sees the child's reward plus the discounted value: 1 + 0.9 * 2.
    assert (root.visit_count, root.value_sum) == (1, pytest.approx(2.8))
    # Min-max saw the child's value from the root (2.8) and the root's own (0.9 * 2.8).
    assert (stats.minimum, stats.maximum) == (pytest.approx(2.52), pytest.approx(2.8))


def test_backpropagate_flips_sign_between_players():
    root, child = Node(0.0), Node(1.0)
    root.to_play, child.to_play, child.reward = Player(0), Player(1), 1.0
    backpropagate([root, child], 2.0, Player(1), 0.9, MinMaxStats(None))
    assert child.value_sum == pytest.approx(2.0)  # for player 1, who plays at the child
    # Player 0 got reward 1 for the move, then the opponent's value counts negatively.
    assert root.value_sum == pytest.approx(1.0 - 0.9 * 2.0)


def test_select_child_breaks_ties_towards_the_larger_action():
    config = make_config()
    root = Node(0.0)
    output = NetworkOutput(np.zeros(1), np.zeros(1), np.zeros((1, 3)), np.zeros((1, 1)))
    expand_node(root, Player(0), [0, 1, 2], output)
    action, _ = select_child(config, root, MinMaxStats(None))
    assert action == 2
    assert int(argmax_last(np.array([1.0, 3.0, 3.0, 0.0]))) == 2


def test_expand_node_gives_priors_only_to_legal_actions():
    root = Node(0.0)
    logits = np.log(np.array([[1.0, 2.0, 3.0, 4.0]]))
    output = NetworkOutput(np.zeros(1), np.zeros(1), logits, np.zeros((1, 1)))
    expand_node(root, Player(0), [1, 3], output)
    assert sorted(root.children) == [1, 3]
    assert root.children[1].prior == pytest.approx(2 / 6)
    assert root.children[3].prior == pytest.approx(4 / 6)


def run_bandit_search(payouts, num_simulations=60):
    config = make_config(num_simulations=num_simulations, action_space_size=len(payouts))
    network = BanditNetwork(payouts)
    root = Node(0.0)
    expand_node(
        root, Player(0), list(range(len(payouts))), network.initial_inference(np.zeros((1, 1)))
    )
    run_mcts(config, root, ActionHistory([], len(payouts)), network)
    return config, network, root


def test_bandit_search_finds_the_best_arm():
    config, network, root = run_bandit_search([0.1, 0.9, 0.5, 0.3])
    counts = root_visit_counts(root, 4)
    assert counts.sum() == 60
    assert int(np.argmax(counts)) == 1
    assert counts[1] > counts.sum() / 2
    action = select_action(config, 0, root, network, np.random.default_rng(0), temperature=0.0)
    assert action == 1


def test_visit_policy_temperatures_by_hand():
    counts = np.array([1.0, 3.0])
    np.testing.assert_allclose(visit_policy(counts, 1.0), [0.25, 0.75])
    np.testing.assert_allclose(visit_policy(counts, 0.5), [0.1, 0.9])  # 1^2 : 3^2
    np.testing.assert_allclose(visit_policy(counts, 0.0), [0.0, 1.0])
    np.testing.assert_allclose(visit_policy(np.array([2.0, 2.0, 1.0]), 0.0), [0, 1, 0])


def test_select_action_samples_by_visit_counts(rng):
    config, network, root = run_bandit_search([0.1, 0.9, 0.5, 0.3])
    counts = root_visit_counts(root, 4)
    draws = [select_action(config, 0, root, network, rng, temperature=1.0) for _ in range(4000)]
    frequencies = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(frequencies, counts / counts.sum(), atol=0.03)


def test_play_game_records_a_cut_episode_with_a_final_search():
    from self_play import play_game

    config = make_config(num_simulations=5, max_moves=10, value_support_size=5,
                         reward_support_size=5)  # fmt: skip
    game = play_game(config, config.new_network(), np.random.default_rng(0))
    # CartPole rarely falls within 10 random-ish moves; if it did, there is no final search.
    extra = 0 if game.terminal() else 1
    assert len(game.history) <= 10 and len(game.rewards) == len(game.history)
    assert len(game.root_values) == len(game.child_visits) == len(game.history) + extra
    assert all(abs(v.sum() - 1) < 1e-6 for v in game.child_visits)
