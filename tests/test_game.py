import numpy as np
import pytest

from config import make_cartpole_config
from game import ActionHistory, Player
from tests.conftest import ScriptedGame

# Rewards 1, 2, 3, 4; search values 10, 20, 30, 40; discount 0.5; td_steps 2.
REWARDS, VALUES = [1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]


def test_value_targets_of_a_terminated_episode_by_hand():
    game = ScriptedGame(REWARDS, VALUES, discount=0.5, terminal=True)
    expected = [
        1 + 0.5 * 2 + 0.25 * 30,  # bootstrap from the search value two steps on
        2 + 0.5 * 3 + 0.25 * 40,
        3 + 0.5 * 4,  # the bootstrap state is past the end: absorbing, worth 0
        4,
        0,  # the end state itself
    ]
    np.testing.assert_allclose(game.value_targets(2), expected)


def test_value_targets_of_a_truncated_episode_bootstrap_from_the_final_search():
    # Cut short: the final state was searched too (value 50).
    game = ScriptedGame(REWARDS, VALUES + [50.0], discount=0.5, terminal=False)
    expected = [
        1 + 0.5 * 2 + 0.25 * 30,
        2 + 0.5 * 3 + 0.25 * 40,
        3 + 0.5 * 4 + 0.25 * 50,
        4 + 0.5 * 50,
        50,
    ]
    np.testing.assert_allclose(game.value_targets(2), expected)


def test_make_target_rewards_are_those_of_the_previous_action():
    game = ScriptedGame(REWARDS, VALUES, discount=0.5, terminal=True)
    targets = game.make_target(1, 3, 2)
    assert [t.reward_mask for t in targets] == [0.0, 1.0, 1.0, 1.0]  # none at step 0
    assert [t.reward for t in targets][1:] == [2.0, 3.0, 4.0]
    np.testing.assert_allclose([t.value for t in targets], [13.5, 5.0, 4.0, 0.0])
    assert [t.policy_mask for t in targets] == [1.0, 1.0, 1.0, 0.0]
    np.testing.assert_array_equal(targets[0].policy, game.child_visits[1])


def test_make_target_past_the_end_of_a_terminated_episode_is_absorbing():
    game = ScriptedGame(REWARDS, VALUES, discount=0.5, terminal=True)
    targets = game.make_target(3, 3, 2)  # states 3, 4 (end), 5, 6
    assert [t.value for t in targets] == [4.0, 0.0, 0.0, 0.0]
    assert [t.value_mask for t in targets] == [1.0, 1.0, 1.0, 1.0]
    assert [t.reward for t in targets] == [0.0, 4.0, 0.0, 0.0]
    assert [t.reward_mask for t in targets] == [0.0, 1.0, 1.0, 1.0]
    assert [t.policy_mask for t in targets] == [1.0, 0.0, 0.0, 0.0]


def test_make_target_past_the_end_of_a_truncated_episode_is_unknown():
    game = ScriptedGame(REWARDS, VALUES + [50.0], discount=0.5, terminal=False)
    targets = game.make_target(3, 3, 2)  # states 3, 4 (final, searched), 5, 6
    assert [t.value for t in targets][:2] == [4 + 0.5 * 50, 50.0]
    assert [t.value_mask for t in targets] == [1.0, 1.0, 0.0, 0.0]
    assert [t.reward_mask for t in targets] == [0.0, 1.0, 0.0, 0.0]
    assert [t.policy_mask for t in targets] == [1.0, 1.0, 0.0, 0.0]


def test_two_player_value_targets_count_the_opponent_negatively():
    # Player 0 moves at states 0 and 2, player 1 at states 1 and 3; discount 1.
    game = ScriptedGame(
        [0.0, 0.0, 0.0, 1.0], [0.1, 0.2, 0.3, 0.4], discount=1.0, terminal=True, num_players=2
    )
    # Player 1 won with the last move: +1 for player 1's states, -1 for player 0's.
    np.testing.assert_allclose(game.value_targets(10), [-1, 1, -1, 1, 0])
    # With td_steps 1, state 0 bootstraps from state 1, the opponent's: -0.2.
    np.testing.assert_allclose(game.value_targets(1)[:2], [-0.2, -0.3])


def test_action_history_alternates_players():
    history = ActionHistory([3, 4], 9, num_players=2)
    assert history.to_play() == Player(0)
    clone = history.clone()
    clone.add_action(5)
    assert clone.to_play() == Player(1) and clone.last_action() == 5
    assert history.history == [3, 4]  # the clone is independent
    assert Player(0) != Player(1)


def test_cartpole_game_records_an_episode():
    config = make_cartpole_config()
    game = config.new_game(seed=3)
    assert game.make_image(-1).shape == (4,)
    while not game.ended():
        game.store_search_statistics(np.array([0.25, 0.75]), 5.0)
        game.apply(0)
    assert game.terminal() and not game.truncated()
    assert len(game.rewards) == len(game.history) == len(game.root_values)
    assert game.rewards == [1.0] * len(game.history)
    np.testing.assert_allclose(game.child_visits[0], [0.25, 0.75])
    with pytest.raises(IndexError):
        game.make_image(len(game.history) + 1)
