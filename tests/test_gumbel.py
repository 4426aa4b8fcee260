"""Gumbel MuZero: its formulas by hand, the batched search against the reference search."""

import dataclasses

import numpy as np
import pytest

from config import make_cartpole_config, make_tictactoe_config
from networks.network import Network, NetworkOutput
from self_play import search, search_games
from self_play.batched_mcts import RecurrentOutput, RootOutput, run_batched_search
from self_play.gumbel_mcts import (
    GumbelNode,
    completed_q_values,
    gumbel_search,
    sigma_values,
)
from self_play.mcts import Node
from self_play.policies import GumbelPolicy, make_search_policy
from self_play.policies.gumbel import completed_q, mixed_value, sequential_halving, sigma
from tests.conftest import BanditNetwork, PerfectTicTacToeNetwork
from tests.test_batched_mcts import cartpole_games
from tests.test_networks import perturbed_network

# ----- Sequential Halving's schedule, by hand -------------------------------------------


def test_schedule_16_simulations_over_4_actions():
    # log2(4) = 2 phases. Phase 1: 4 actions, floor(16 / (2 * 4)) = 2 visits each (8
    # simulations); phase 2: 2 actions, floor(16 / (2 * 2)) = 4 more each (8 more).
    sizes, visits = sequential_halving(4, 16)
    assert sizes == [4] * 8 + [2] * 8
    assert visits == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_schedule_50_simulations_over_16_actions():
    # log2(16) = 4 phases: 16 actions x max(1, floor(50/64)) = 1; 8 x floor(50/32) = 1;
    # 4 x floor(50/16) = 3; 2 x floor(50/8) = 6; that is 48, and the 2 left go on in a
    # next phase of 2 actions.
    sizes, visits = sequential_halving(16, 50)
    assert sizes == [16] * 16 + [8] * 8 + [4] * 12 + [2] * 14
    assert visits == ([0] * 16 + [1] * 8 + [2] * 4 + [3] * 4 + [4] * 4
                      + [v for v in range(5, 11) for _ in range(2)] + [11, 11])  # fmt: skip


def test_schedule_4_simulations_over_16_actions():
    # Fewer simulations than actions: the first phase is cut; 4 of the 16 get one visit.
    assert sequential_halving(16, 4) == ([16] * 4, [0] * 4)


def test_schedule_2_simulations_over_2_actions():
    # log2(2) = 1 phase of 2 actions, floor(2 / 2) = 1 visit each.
    assert sequential_halving(2, 2) == ([2, 2], [0, 0])


def test_schedule_of_one_action_gives_it_every_simulation():
    assert sequential_halving(1, 5) == ([1] * 5, [0, 1, 2, 3, 4])


# ----- completed Q-values, the mixed value and sigma, by hand ---------------------------


def test_mixed_value_by_hand():
    # Children with priors 0.5, 0.3, 0.2, visits 2, 0, 2, Q 0.4, (unvisited), -0.1, and the
    # network's value 0.1: the visited priors sum to 0.7, their weighted mean Q is
    # (0.5 * 0.4 + 0.2 * -0.1) / 0.7 = 0.18 / 0.7, and with 4 visits
    # v_mix = (0.1 + 4 * 0.18 / 0.7) / 5.
    prior = np.array([0.5, 0.3, 0.2])
    q, visits = np.array([0.4, 123.0, -0.1]), np.array([2, 0, 2])
    assert mixed_value(0.1, q, visits, prior) == pytest.approx((0.1 + 4 * 0.18 / 0.7) / 5)
    # Nothing visited: the network's value alone.
    assert mixed_value(0.1, q, np.zeros(3, int), prior) == pytest.approx(0.1)


def test_completed_q_and_sigma_on_a_two_child_node():
    # Child 0 visited 3 times with Q 1.0 (prior 0.6), child 1 never (prior 0.4), the
    # network's value 0.5: v_mix = (0.5 + 3 * 1.0) / 4 = 0.875 completes child 1.
    prior, q, visits = np.array([0.6, 0.4]), np.array([1.0, 0.0]), np.array([3, 0])
    completed = completed_q(0.5, q, visits, prior)
    np.testing.assert_allclose(completed, [1.0, 0.875])
    # Rescaled to [0, 1] over the node: [1, 0]; sigma = (50 + max N = 3) * 0.1 * that.
    np.testing.assert_allclose(sigma(completed, visits, True, 50.0, 0.1), [5.3, 0.0])
    # Both visited: the Q-values themselves, rescaled; max N is 2.
    completed = completed_q(0.5, np.array([0.2, -0.4]), np.array([2, 1]), np.array([0.25, 0.75]))
    np.testing.assert_allclose(completed, [0.2, -0.4])
    np.testing.assert_allclose(sigma(completed, np.array([2, 1]), True, 50.0, 0.1), [5.2, 0.0])
    # Equal values rescale to 0 (no division by a zero range); illegal children get 0.
    np.testing.assert_array_equal(sigma(np.array([0.3, 0.3]), np.array([1, 1]), True, 50, 1),
                                  [0.0, 0.0])  # fmt: skip
    legal = np.array([True, False, True])
    np.testing.assert_allclose(sigma(np.array([0.0, 9.0, 1.0]), np.array([1, 0, 1]), legal,
                                     50.0, 0.1), [0.0, 0.0, 5.1])  # fmt: skip


def test_reference_formulas_agree_with_the_hand_answer():
    # The same two-child node as above, built of reference nodes.
    config = make_cartpole_config()
    node = Node(0)
    node.raw_value = 0.5
    for action, (prior, visits) in enumerate([(0.6, 3), (0.4, 0)]):
        child = GumbelNode(prior, np.log(prior))
        child.visit_count, child.value_sum = visits, visits * 1.0 / config.discount
        node.children[action] = child
    completed = completed_q_values(config, node)
    assert completed[0] == pytest.approx(1.0) and completed[1] == pytest.approx(0.875)
    sigmas = sigma_values(config, node)
    assert sigmas[0] == pytest.approx(5.3) and sigmas[1] == 0.0


# ----- the search ------------------------------------------------------------------------


def gumbel_config(make=make_cartpole_config, **overrides):
    settings = dict(search_policy="gumbel", value_support_size=10, reward_support_size=5)
    settings.update(overrides)
    return make(**settings)


def test_one_legal_action_is_played_without_noise():
    config = gumbel_config(action_space_size=3, num_simulations=7, gumbel_scale=0.0)
    network = BanditNetwork([0.9, 0.1, 0.5])
    legal = np.array([[False, True, False]])
    output = search(config, network, np.zeros((1, 1)), legal, np.zeros(1, int),
                    np.random.default_rng(0), np.ones(1, bool))  # fmt: skip
    assert output.action[0] == 1
    np.testing.assert_array_equal(output.visit_counts, [[0, 7, 0]])
    np.testing.assert_array_equal(output.policy, [[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("num_simulations", [2, 4, 16])
def test_the_target_improves_on_the_prior_when_q_values_differ(num_simulations):
    # A bandit whose best arm (1, paying 1) has the smaller prior: the improved policy puts
    # more weight on it than the prior, and its expected payout beats the prior's.
    config = gumbel_config(action_space_size=3, num_simulations=num_simulations, discount=1.0,
                           gumbel_scale=0.0)  # fmt: skip
    payouts = np.array([0.0, 1.0, 0.2])
    network = BanditNetwork(payouts)
    policy = make_search_policy(config)
    logits = np.array([[2.0, 1.0, 0.0]])
    root = RootOutput(logits, np.zeros(1), np.zeros((1, 1)))

    def recurrent_fn(hidden, actions):
        out = network.recurrent_inference(hidden, actions)
        edge = RecurrentOutput(out.reward, np.ones(1), out.policy_logits, out.value)
        return edge, out.hidden_state

    roots = run_batched_search(policy, root, recurrent_fn, np.ones((1, 3), bool))
    actions, target = policy.act(roots, None, np.zeros(1))
    prior = np.exp(logits) / np.exp(logits).sum()
    assert target[0, 1] > prior[0, 1]
    assert target[0] @ payouts > prior[0] @ payouts
    # Arm 1 was visited by every budget of 2 or more (m = 3 considered: all arms get a
    # first visit in phase 1 up to the budget), so it wins the search.
    assert actions[0] == 1


def test_two_players_see_q_values_from_the_player_to_play():
    # The perfect tic-tac-toe model, X (to play) can win at once at 2; O threatens 6.
    config = gumbel_config(make_tictactoe_config, num_simulations=16, gumbel_scale=0.0)
    game = config.new_game()
    for move in (0, 3, 1, 4):  # X: 0, 1; O: 3, 4. X wins at 2, else O wins at 5.
        game.apply(move)
    network = PerfectTicTacToeNetwork()
    for cfg in (config, dataclasses.replace(config, search="reference")):
        output = search_games(cfg, network, [game])
        assert output.action[0] == 2
        assert output.policy[0, 2] == output.policy[0].max() > 0.5
        assert output.root_value[0] > 0


def random_tictactoe_network(seed=0):
    network = gumbel_config(make_tictactoe_config).new_network()
    rng = np.random.default_rng(seed)
    network.set_weights([w + rng.normal(0, 0.3, w.shape).astype(np.float32)
                         for w in network.get_weights()])  # fmt: skip
    return network


def tictactoe_positions(config, count, seed=0):
    rng = np.random.default_rng(seed)
    games = []
    for index in range(count):
        game = config.new_game()
        for _ in range(index % 6):
            game.apply(int(rng.choice(game.legal_actions())))
        games.append(game)
    return games


def assert_equal_to_the_reference(config, network, games, noise, seed):
    """The batched search, the seam's reference mode and `gumbel_search` agree."""
    batched = search_games(config, network, games, np.random.default_rng(seed), noise)
    seam = search_games(dataclasses.replace(config, search="reference"), network, games,
                        np.random.default_rng(seed), noise)  # fmt: skip
    rng = np.random.default_rng(seed)
    for row, game in enumerate(games):
        action, target, root, _ = gumbel_search(config, network, game.make_image(-1),
                                                game.legal_actions(), game.to_play().index,
                                                rng, bool(noise[row]))  # fmt: skip
        visits = [root.children[a].visit_count if a in root.children else 0
                  for a in range(config.action_space_size)]  # fmt: skip
        np.testing.assert_array_equal(batched.visit_counts[row], visits)
        assert batched.action[row] == action
        np.testing.assert_allclose(batched.policy[row], target, atol=1e-6)
        np.testing.assert_allclose(batched.root_value[row], root.value(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(seam.visit_counts, batched.visit_counts)
    np.testing.assert_array_equal(seam.action, batched.action)
    np.testing.assert_allclose(seam.policy, batched.policy, atol=1e-6)
    assert np.all(batched.visit_counts.sum(1) == config.num_simulations)
    return batched


@pytest.mark.parametrize("num_simulations", [1, 2, 5, 16, 50])
def test_batched_equals_reference_on_cartpole_without_noise(num_simulations):
    config = gumbel_config(num_simulations=num_simulations, gumbel_scale=0.0)
    games = cartpole_games(config, 8)
    assert_equal_to_the_reference(config, perturbed_network(), games, np.ones(8, bool), 0)


@pytest.mark.parametrize("num_simulations,considered", [(4, 16), (16, 16), (30, 3), (9, 1)])
def test_batched_equals_reference_on_tictactoe_with_noise(num_simulations, considered):
    config = gumbel_config(make_tictactoe_config, num_simulations=num_simulations,
                           max_considered_actions=considered)  # fmt: skip
    games = tictactoe_positions(config, 8)
    noise = np.array([True, False, True, True, False, True, True, True])
    batched = assert_equal_to_the_reference(config, random_tictactoe_network(), games, noise, 5)
    # The Gumbel noise did something: without it the noised roots search differently.
    plain = search_games(config, random_tictactoe_network(), games)
    assert not np.array_equal(plain.visit_counts[noise], batched.visit_counts[noise])
    legal = np.array([[a in game.legal_actions() for a in range(9)] for game in games])
    assert np.all(batched.visit_counts[~legal] == 0) and np.all(batched.policy[~legal] == 0)
    assert np.all((batched.visit_counts > 0).sum(1) <= min(considered, num_simulations))


class HashedModel(Network):
    """A model of made-up numbers: each state's reward, value and logits a fixed function of
    its path from the root (the hidden state `[1]`, an integer, exact in the tree's float32
    hidden states), so Q-values differ everywhere."""

    def __init__(self, num_actions):
        self.num_actions = num_actions

    def output(self, state, reward):
        actions = np.arange(1, self.num_actions + 1)
        logits = 2 * np.sin(state[:, None] * actions * 3.1)
        return NetworkOutput(2 * np.sin(state * 12.9898), reward, logits, state[:, None])

    def initial_inference(self, observations):
        state = np.asarray(observations, dtype=np.float64)[:, 0]
        return self.output(state, np.zeros(len(state)))

    def recurrent_inference(self, hidden_states, actions):
        state = np.asarray(hidden_states, dtype=np.float64)[:, 0]
        state = (state * 3 + np.asarray(actions) + 1) % 997
        return self.output(state, np.cos(state * 78.233))

    def training_steps(self):
        return 0


@pytest.mark.parametrize("num_simulations,considered", [(12, 4), (30, 8), (50, 16)])
def test_batched_equals_reference_where_halving_keeps_the_best_half(num_simulations, considered):
    # On this model, choosing the next phase's actions one a simulation by the score of the
    # moment (mctx's way) instead of halving the set at the phase's start gives other visit
    # counts on some of the 200 roots: the reference halves, and so must the batched search.
    config = gumbel_config(action_space_size=8, num_simulations=num_simulations,
                           max_considered_actions=considered, gumbel_scale=0.0)  # fmt: skip
    network = HashedModel(8)
    observations, legal = np.arange(200.0)[:, None], np.ones((200, 8), bool)
    outputs = [search(cfg, network, observations, legal, np.zeros(200, int))
               for cfg in (config, dataclasses.replace(config, search="reference"))]  # fmt: skip
    np.testing.assert_array_equal(outputs[0].visit_counts, outputs[1].visit_counts)
    np.testing.assert_array_equal(outputs[0].action, outputs[1].action)
    np.testing.assert_allclose(outputs[0].policy, outputs[1].policy, atol=1e-6)


def test_visit_counts_follow_the_schedule_for_every_budget_and_width():
    # A random model: whatever the values, each root's visit counts (sorted) are the ones
    # Sequential Halving's schedule gives, and no illegal action is visited.
    rng = np.random.default_rng(0)
    num_actions = 7

    def recurrent_fn(hidden, actions):
        batch = len(actions)
        logits = rng.normal(size=(batch, num_actions))
        output = RecurrentOutput(rng.normal(size=batch), np.full(batch, 0.9), logits,
                                 rng.normal(size=batch))  # fmt: skip
        return output, hidden

    for num_simulations in (1, 2, 3, 7, 12, 33):
        for top in (1, 2, 3, 16):
            config = gumbel_config(action_space_size=num_actions, num_simulations=num_simulations,
                                   max_considered_actions=top)  # fmt: skip
            legal = np.stack([np.arange(num_actions) < count for count in range(1, 8)])
            batch = len(legal)
            root = RootOutput(rng.normal(size=(batch, num_actions)), rng.normal(size=batch),
                              np.zeros((batch, 1)))  # fmt: skip
            policy = GumbelPolicy(config)
            roots = run_batched_search(policy, root, recurrent_fn, legal, rng, np.ones(batch, bool))
            for row in range(batch):
                considered = min(top, int(legal[row].sum()))
                _, before = sequential_halving(considered, num_simulations)
                counts = roots.visit_counts[row]
                assert counts.sum() == num_simulations and np.all(counts[~legal[row]] == 0)
                # The schedule's simulation with `v` visits before it takes an action to
                # v + 1: `reached[v]` actions get v + 1 or more, so `reached[v-1] -
                # reached[v]` get exactly v; the search must give the same numbers.
                reached = np.bincount(before)
                exactly = -np.diff(np.append(reached, 0))
                np.testing.assert_array_equal(
                    np.bincount(counts[counts > 0])[1:],
                    exactly,
                    err_msg=f"{num_simulations=} {top=} {row=}",
                )


def test_evaluation_searches_add_no_gumbel_noise():
    config = gumbel_config(num_simulations=8)
    network = perturbed_network()
    games = cartpole_games(config, 4)
    a = search_games(config, network, games, np.random.default_rng(0))
    b = search_games(config, network, games, np.random.default_rng(1))
    np.testing.assert_array_equal(a.visit_counts, b.visit_counts)
    np.testing.assert_array_equal(a.action, b.action)
