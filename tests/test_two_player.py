"""Two players: sign conventions, forced wins and blocks, batched == reference, the games."""

import dataclasses

import numpy as np
import pytest

from config import make_connect4_config, make_tictactoe_config
from game import Player
from game.board_game import parse_move
from game.connect4 import Connect4
from game.opponents import (
    RandomOpponent,
    TicTacToeMinimax,
    tictactoe_best_moves,
    tictactoe_move_values,
)
from game.tictactoe import TicTacToe
from self_play import MinMaxStats, Node, arena, backpropagate, search_games
from self_play.arena import greedy_actions, play_every_line, play_match
from tests.conftest import PerfectTicTacToeNetwork


def play(game, moves):
    for move in moves:
        game.apply(move)
    return game


def tictactoe_config(**overrides):
    settings = dict(num_simulations=200, num_parallel_games=8)
    settings.update(overrides)
    return make_tictactoe_config(**settings)


def test_tictactoe_rules_rewards_and_image():
    game = play(TicTacToe(), [0, 3, 1, 4])
    assert game.to_play() == Player(0) and not game.terminal()
    image = game.make_image(-1)  # player 0 (X) to play: X stones first
    assert image.shape == (3, 3, 3)
    assert image[0, 0, 0] == 1 and image[0, 1, 0] == 1 and image[1, 0, 1] == 1
    assert np.all(image[..., 2] == 1)
    image = game.make_image(1)  # after X took 0, O to play: O's stones (none), then X's
    assert image[..., 0].sum() == 0 and image[0, 0, 1] == 1 and np.all(image[..., 2] == 0)
    game.apply(2)  # X completes the top row
    assert game.terminal() and game.rewards == [0, 0, 0, 0, 1.0]
    assert game.outcome(0) == 1 and game.outcome(1) == -1 and game.legal_actions() == []
    with pytest.raises(ValueError, match="illegal move"):
        play(TicTacToe(), [4, 4])


def test_connect4_columns_fill_from_the_bottom_and_diagonals_win():
    game = play(Connect4(), [0, 1, 1, 2, 2, 3, 2, 3, 3, 6])
    assert game.board[5, 0] == 1 and game.board[4, 1] == 1 and not game.terminal()
    game.apply(3)  # X: (5,0) (4,1) (3,2) (2,3) is a rising diagonal
    assert game.terminal() and game.outcome(0) == 1
    full = Connect4()
    for _ in range(6):
        full.apply(0)
    assert 0 not in full.legal_actions()


def test_two_player_value_targets_for_a_won_game():
    game = play(TicTacToe(), [0, 3, 1, 4, 2])  # X wins on move 5
    for _ in range(5):
        game.root_values.append(0.0)
        game.to_plays.append(0)
    # Monte Carlo targets (td_steps = max_moves): +1 for X to play, -1 for O to play.
    np.testing.assert_allclose(game.value_targets(9), [1, -1, 1, -1, 1, 0])


def two_ply_tree(reward_first: float, reward_second: float, leaf_value: float):
    """Root (player 0) -> child (player 1) -> grandchild (player 0), backed up once."""
    root, child, grandchild = Node(0), Node(1.0), Node(1.0)
    root.to_play, child.to_play, grandchild.to_play = Player(0), Player(1), Player(0)
    child.reward, grandchild.reward = reward_first, reward_second
    backpropagate([root, child, grandchild], leaf_value, Player(0), 1.0, MinMaxStats(None))
    return root, child, grandchild


def test_two_ply_backup_signs_by_hand():
    # Player 0 gets 0.5 for its move, player 1 then gets 0.25, and the leaf is worth 1 to
    # player 0. For player 1 at the child: 0.25 - 1 = -0.75. For player 0 at the root:
    # 0.5 - (-0.75) = 1.25.
    root, child, grandchild = two_ply_tree(0.5, 0.25, 1.0)
    assert grandchild.value_sum == pytest.approx(1.0)
    assert child.value_sum == pytest.approx(-0.75)
    assert root.value_sum == pytest.approx(1.25)


def test_perfect_model_search_takes_a_forced_win():
    # X: 0, 1; O: 3, 4. X to play wins at 2 (O would win at 5 next).
    game = play(TicTacToe(), [0, 3, 1, 4])
    for search in ("reference", "batched"):
        config = tictactoe_config(search=search)
        assert greedy_actions(config, PerfectTicTacToeNetwork(), [game])[0] == 2


def test_perfect_model_search_blocks_a_forced_loss():
    # X: 0, 8; O: 4, 1. X to play must block the column 1-4-7 at 7.
    game = play(TicTacToe(), [0, 4, 8, 1])
    for search in ("reference", "batched"):
        config = tictactoe_config(search=search)
        assert greedy_actions(config, PerfectTicTacToeNetwork(), [game])[0] == 7


def test_batched_equals_reference_with_two_players():
    config = tictactoe_config(num_simulations=60)
    rng = np.random.default_rng(0)
    games = []
    for index in range(10):
        game = TicTacToe()
        for _ in range(index % 6):
            game.apply(int(rng.choice(game.legal_actions())))
        if not game.terminal():
            games.append(game)
    network = PerfectTicTacToeNetwork()
    batched = search_games(config, network, games)
    reference = search_games(tictactoe_config(num_simulations=60, search="reference"), network,
                             games)  # fmt: skip
    np.testing.assert_array_equal(batched.visit_counts, reference.visit_counts)
    np.testing.assert_allclose(batched.root_value, reference.root_value, atol=1e-12)
    np.testing.assert_array_equal(batched.action, reference.action)
    for game, counts in zip(games, batched.visit_counts):
        illegal = [a for a in range(9) if a not in game.legal_actions()]
        assert counts[illegal].sum() == 0


def test_perfect_model_agent_beats_random_and_holds_minimax_as_first_player():
    # Values are all 0, so only what the search sees within its budget counts: enough to
    # beat a random player nearly always (a fork five plies deep can still slip through as
    # second player), and as first player to hold the perfect player.
    config = tictactoe_config(num_simulations=400, num_parallel_games=10)
    network = PerfectTicTacToeNetwork()
    for seat in (0, 1):
        result = play_match(
            config, network, lambda: RandomOpponent(np.random.default_rng(2)), seat, 20, seat
        )
        assert result.losses <= (0 if seat == 0 else 2) and result.wins >= 15, result
        assert result.games == 20
    result = play_match(
        config, network, lambda: TicTacToeMinimax(np.random.default_rng(1)), 0, 10, seed=0
    )
    assert result.losses == 0 and result.draws == 10, result


def test_random_openings_vary_the_lines_of_a_deterministic_match():
    # The greedy agent, moving first, opens every game alike; random opening moves start
    # each game elsewhere, and play goes on legally from there.
    config = tictactoe_config(num_simulations=30, num_parallel_games=5)
    network = PerfectTicTacToeNetwork()
    starts = {}
    for opening in (0, 2):
        played = []
        result = play_match(
            config,
            network,
            lambda: TicTacToeMinimax(np.random.default_rng(1)),
            0,
            20,
            seed=3,
            on_game_end=played.append,
            opening_moves=opening,
        )
        assert result.games == 20 and len(played) == 20
        starts[opening] = {tuple(game.history[:2]) for game in played}
        for game in played:  # TicTacToe.step raises on an illegal move: replaying checks them
            assert play(TicTacToe(), game.history).terminal()
    assert len({first for first, _ in starts[0]}) == 1  # the agent's own first move
    assert len(starts[2]) >= 10  # of 72 two-move openings


def lowest_empty_cell(config, network, games):
    return np.array([game.legal_actions()[0] for game in games])


def every_line_by_recursion(game, seat, agent, opponent_moves, probability=1.0):
    """`play_every_line` again, one game at a time: (lines, lost lines, loss probability)."""
    if game.terminal():
        lost = game.outcome(seat) < 0
        return 1, [list(game.history)] if lost else [], probability if lost else 0.0
    moves = [agent(game)] if game.to_play().index == seat else opponent_moves(game)
    lines, lost, loss = 0, [], 0.0
    for move in moves:
        child = play(TicTacToe(), game.history + [move])
        share = probability / len(moves)
        found = every_line_by_recursion(child, seat, agent, opponent_moves, share)
        lines, lost, loss = lines + found[0], lost + found[1], loss + found[2]
    return lines, lost, loss


def test_every_line_of_a_lowest_cell_agent_by_hand(monkeypatch):
    # Moving first and always taking the lowest empty cell: X 0; the only move that holds a
    # corner opening is the centre, O 4; X 1 threatens 0-1-2, O 2 must block and threatens
    # 2-4-6; X 3 does not block, O 6 wins. One line, lost for sure.
    monkeypatch.setattr(arena, "greedy_actions", lowest_empty_cell)
    config = tictactoe_config()
    result = play_every_line(config, None, tictactoe_best_moves, seat=0)
    assert (result.lines, result.lost, result.loss_probability) == (1, [[0, 4, 1, 2, 3, 6]], 1.0)
    assert result.draw_probability == 0.0
    # Second, against every legal move of its opponent (the random player's choices).
    result = play_every_line(config, None, lambda game: game.legal_actions(), seat=1)
    lines, lost, loss = every_line_by_recursion(
        TicTacToe(), 1, lambda game: game.legal_actions()[0], lambda game: game.legal_actions()
    )
    assert (result.lines, sorted(result.lost)) == (lines, sorted(lost))
    assert result.loss_probability == pytest.approx(loss)
    assert 0 < result.loss_probability < 1 and result.draw_probability > 0


def test_every_line_equals_one_game_at_a_time_and_contains_every_lost_match_game():
    # Few simulations with values of 0: an agent that loses some lines to the perfect player.
    config = tictactoe_config(num_simulations=12, num_parallel_games=16)
    network = PerfectTicTacToeNetwork()
    result = play_every_line(config, network, tictactoe_best_moves, seat=1)

    def agent(game):
        return int(greedy_actions(config, network, [game])[0])

    lines, lost, loss = every_line_by_recursion(TicTacToe(), 1, agent, tictactoe_best_moves)
    assert (result.lines, sorted(result.lost)) == (lines, sorted(lost))
    assert result.loss_probability == pytest.approx(loss) and lost
    played = []
    match = play_match(
        config, network, lambda: TicTacToeMinimax(np.random.default_rng(4)), 1, 40, 0, played.append
    )
    assert match.losses == sum(game.outcome(1) < 0 for game in played) > 0
    assert all(game.history in result.lost for game in played if game.outcome(1) < 0)


def test_minimax_values_of_known_positions():
    # x(1,1) o(0,0) x(2,2): the only non-losing answers for O are the corners 2 and 6.
    game = play(TicTacToe(), [4, 0, 8])
    values = tictactoe_move_values(game)
    assert {a for a, v in values.items() if v == 0} == {2, 6}
    assert all(v == -1 for a, v in values.items() if a not in (2, 6))


def test_residual_network_shapes():
    for make in (make_tictactoe_config, make_connect4_config):
        config = make(residual_channels=8, residual_blocks=1)
        network = config.new_network()
        observations = np.zeros((3, *config.observation_shape), dtype=np.float32)
        out = network.initial_inference(observations)
        rows, columns = config.observation_shape[:2]
        assert out.hidden_state.shape == (3, rows, columns, 8)
        assert out.policy_logits.shape == (3, config.action_space_size)
        nxt = network.recurrent_inference(out.hidden_state, np.array([0, 1, 2]))
        assert nxt.hidden_state.shape == out.hidden_state.shape and nxt.reward.shape == (3,)


@pytest.mark.parametrize("units, widths", [(0, [7, 3]), (16, [7, 16, 3])])
def test_residual_value_head_has_the_configured_hidden_layer(units, widths):
    config = make_connect4_config(residual_channels=8, residual_head_units=units)
    network = config.new_network()
    dense = [layer.units for layer in network.prediction.layers if hasattr(layer, "units")]
    assert sorted(dense) == sorted(widths)  # policy 7, value 3 (-1, 0, 1), hidden if any
    assert network.initial_inference(np.zeros((2, 6, 7, 3), np.float32)).value.shape == (2,)


@pytest.mark.parametrize("blocks, convolutions", [(0, 2), (1, 5), (2, 7)])
def test_residual_prediction_tower_has_the_configured_blocks(blocks, convolutions):
    config = make_connect4_config(residual_channels=8, residual_prediction_blocks=blocks)
    network = config.new_network()
    convs = [layer for layer in network.prediction.layers if "conv" in layer.name]
    # Two 1x1 head convolutions; a tower adds its first convolution and two per block.
    assert len(convs) == convolutions
    out = network.initial_inference(np.zeros((2, 6, 7, 3), np.float32))
    assert out.policy_logits.shape == (2, 7) and out.value.shape == (2,)


@pytest.mark.parametrize(
    "text, message",
    [
        ("abc", "not a move number"),
        ("", "not a move number"),
        ("9", "out of range"),
        ("-1", "out of range"),
        ("4", "not legal"),
        ("2.5", "not a move number"),
    ],
)
def test_human_input_parser_refuses_bad_moves(text, message):
    with pytest.raises(ValueError, match=message):
        parse_move(text, [0, 1, 2, 3, 5], 9)


def test_human_input_parser_accepts_legal_moves():
    assert parse_move(" 3\n", [0, 1, 2, 3, 5], 9) == 3


def test_selfplay_never_plays_illegal_moves():
    from self_play import SelfPlay

    config = tictactoe_config(
        num_simulations=8, num_parallel_games=6, residual_channels=8, residual_blocks=1
    )
    stats = SelfPlay(config, np.random.default_rng(0)).play(config.new_network(), 60)
    assert stats.finished
    for game in stats.finished:  # TicTacToe.step raises on an illegal move
        assert game.terminal() and len(game.child_visits) == len(game.history)


def test_play_command_refuses_bad_input_and_quits_cleanly(tmp_path, capsys):
    import muzero

    settings = [
        "num_simulations=4",
        "residual_channels=4",
        "residual_blocks=1",
        "min_replay_moves=20",
        "selfplay_moves_per_iteration=20",
        "training_steps_per_iteration=2",
        "batch_size=8",
        "num_parallel_games=4",
    ]
    args = [
        "--game",
        "tictactoe",
        "--training-steps",
        "2",
        "--results-dir",
        str(tmp_path),
        "--no-progress",
    ]
    assert muzero.main(args + [a for s in settings for a in ("--set", s)]) == 0
    run_dir = next((tmp_path / "tictactoe").iterdir())
    typed = iter(["abc", "99", "4", "4"])

    def read(prompt):
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    capsys.readouterr()
    assert muzero.play_command([str(run_dir)], read=read) == 0
    out = capsys.readouterr().out
    assert "'abc' is not a move number" in out and "99 is out of range" in out
    assert "MuZero plays" in out and "4 is not legal now" in out and "game abandoned" in out

    def interrupt(prompt):
        raise KeyboardInterrupt

    # Ctrl-C at the prompt is not a move: it ends the program (main: status 130).
    with pytest.raises(KeyboardInterrupt):
        muzero.play_command([str(run_dir)], read=interrupt)

    evaluate = ["evaluate", str(run_dir), "--opponent", "random", "--episodes", "2"]
    assert muzero.main(evaluate + ["--simulations", "0"]) == 2
    assert "--simulations must be positive, got 0" in capsys.readouterr().err
    assert muzero.main(evaluate + ["--simulations", "3"]) == 0
    out = capsys.readouterr().out
    assert "agent first vs random" in out and "agent second vs random" in out
    for bad in ("-1", "9"):  # a tic-tac-toe game has 9 moves
        assert muzero.main(evaluate + ["--random-opening", bad]) == 2
        assert "--random-opening must be" in capsys.readouterr().err
    assert muzero.main(evaluate + ["--random-opening", "2"]) == 0
    assert "agent first vs random after 2 random moves: " in capsys.readouterr().out


@pytest.mark.parametrize(
    "game_class, moves, count",
    [(Connect4, [0, 1, 1, 3, 2, 2, 6, 5], 1), (TicTacToe, [0, 5, 1, 7, 8], 7)],
)
def test_symmetries_map_games_onto_the_games_of_renumbered_moves(game_class, moves, count):
    symmetries = game_class.symmetries()
    assert len(symmetries) == count
    # Distinct permutations, none of them the identity.
    identity = tuple(range(len(symmetries[0].actions)))
    permutations = {tuple(symmetry.actions) for symmetry in symmetries} | {identity}
    assert len(permutations) == count + 1
    game = play(game_class(), moves)
    images = np.stack([game.make_image(i) for i in range(len(moves) + 1)])
    for symmetry in symmetries:
        assert sorted(symmetry.actions) == list(range(len(symmetry.actions)))
        image = play(game_class(), [int(symmetry.actions[m]) for m in moves])
        expected = np.stack([image.make_image(i) for i in range(len(moves) + 1)])
        np.testing.assert_array_equal(symmetry.observations(images), expected)


def test_connect4_mirror_by_hand():
    (mirror,) = Connect4.symmetries()
    assert mirror.actions.tolist() == [6, 5, 4, 3, 2, 1, 0]
    image = play(Connect4(), [0]).make_image(-1)  # O to play; X's disc bottom left
    assert image[5, 0, 1] == 1
    assert mirror.observations(image[None])[0, 5, 6, 1] == 1


def test_replay_augmentation_maps_observation_actions_and_policy_together():
    from training import ReplayBuffer

    config = make_connect4_config(augment_symmetries=True, batch_size=64, num_unroll_steps=3)
    game = play(Connect4(), [0, 1, 1, 3, 2])
    for step in range(len(game.history)):
        visits = np.zeros(7)
        visits[[0, 1, 2, 3]] = [1, 2, 3, 4 + step]  # an asymmetric policy
        game.child_visits.append(visits / visits.sum())
        game.root_values.append(0.0)
        game.to_plays.append(step % 2)
    replay = ReplayBuffer(config)
    replay.save_game(game)
    plain = ReplayBuffer(
        make_connect4_config(augment_symmetries=False, batch_size=64, num_unroll_steps=3)
    )
    plain.save_game(game)
    (mirror,) = Connect4.symmetries()
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(0))
    reference = plain.sample_batch(3, config.td_steps, np.random.default_rng(0))
    flipped = np.zeros(len(batch.actions), bool)
    for row in range(len(batch.actions)):
        # The same draws pick the same position; actions past the end are random in both.
        known = reference.masks[row, 1:, 2] > 0
        obs, actions, policy = (
            reference.observations[row],
            reference.actions[row],
            reference.target_policies[row],
        )
        if not np.allclose(batch.target_policies[row], policy):
            flipped[row] = True
            obs = mirror.observations(obs[None])[0]
            actions = mirror.actions[actions]
            policy = policy[:, ::-1]
        np.testing.assert_array_equal(batch.observations[row], obs)
        np.testing.assert_array_equal(batch.actions[row][known], actions[known])
        np.testing.assert_allclose(batch.target_policies[row], policy)
        np.testing.assert_array_equal(batch.target_values[row], reference.target_values[row])
    assert 10 < flipped.sum() < 54  # about half of 64 are mirrored


def test_augment_symmetries_needs_a_game_with_symmetries():
    config = make_connect4_config()
    with pytest.raises(ValueError, match="augment_symmetries"):
        dataclasses.replace(config, augment_symmetries=True, game_factory=lambda **kw: Connect4())
