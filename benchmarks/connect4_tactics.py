"""Does a Connect Four agent see one-move tactics? Wins to take and threats to block.

    python benchmarks/connect4_tactics.py RUN_DIR [--positions 200] [--simulations N]

Plays random games from the empty board and collects positions of three kinds: the player
to play can win at once ("win"); cannot, but the opponent threatens to win at once in exactly
one column ("block"); or neither, but some moves would let the opponent win at once (a disc
right under the opponent's winning cell) and some would not ("avoid": a move of the second
sort is right). For each kind it prints how often the network's policy prior alone and the
greedy search (as `evaluate` plays) choose a right column, and for wins the reward the model
predicts for the winning move (1 is right) and the value of the position (close to 1 when
the win is seen). The last line is a JSON object of the figures. The depth-2 alpha-beta
player takes every such win, blocks every such threat and never opens such a win.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import muzero  # noqa: E402
from game.connect4 import Connect4, connect4_drop, connect4_winner  # noqa: E402
from self_play.arena import greedy_actions  # noqa: E402
from self_play.seam import legal_mask  # noqa: E402


def winning_columns(board: np.ndarray, mark: int) -> list[int]:
    """Return the columns where dropping a `mark` disc wins at once."""
    columns = []
    for column in np.flatnonzero(board[0] == 0):
        child = board.copy()
        connect4_drop(child, int(column), mark)
        if connect4_winner(child) == mark:
            columns.append(int(column))
    return columns


def safe_columns(board: np.ndarray, mark: int) -> list[int]:
    """Return the legal columns after which the opponent of `mark` cannot win at once."""
    safe = []
    for column in np.flatnonzero(board[0] == 0):
        child = board.copy()
        connect4_drop(child, int(column), mark)
        if not winning_columns(child, 3 - mark):
            safe.append(int(column))
    return safe


def collect_positions(count: int, rng: np.random.Generator) -> dict[str, list]:
    """Return up to `count` (game, right columns) pairs of each kind, from random play."""
    found: dict[str, list] = {"win": [], "block": [], "avoid": []}
    while min(len(pairs) for pairs in found.values()) < count:
        game = Connect4()
        while not game.terminal():
            mark = game.to_play().index + 1
            wins = winning_columns(game.board, mark)
            threats = winning_columns(game.board, 3 - mark)
            if len(wins) == 1:
                kind, right = "win", wins
            elif not wins and len(threats) == 1:
                kind, right = "block", threats
            elif not wins and not threats:
                kind, right = "avoid", safe_columns(game.board, mark)
                if not 0 < len(right) < len(game.legal_actions()):
                    kind = None  # every move is safe, or none is: nothing to test
            else:
                kind = None
            if kind is not None and len(found[kind]) < count:
                found[kind].append((copy.deepcopy(game), right))
            game.apply(int(rng.choice(game.legal_actions())))
    return found


def load_connect4_run(parser: argparse.ArgumentParser, run_dir: Path, simulations: int | None):
    """Return a Connect Four run's config (with `simulations` if given) and network."""
    config, network = muzero.load_run(run_dir)
    if config.game_name != "connect4":
        parser.error(f"{run_dir} is a {config.game_name} run, not connect4")
    if simulations is not None:
        config = dataclasses.replace(config, num_simulations=simulations)
    return config, network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--positions", type=int, default=200, help="positions of each kind")
    parser.add_argument("--simulations", type=int, help="default: the run's config")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config, network = load_connect4_run(parser, args.run_dir, args.simulations)
    positions = collect_positions(args.positions, np.random.default_rng(args.seed))
    figures: dict = {"run_dir": str(args.run_dir), "simulations": config.num_simulations}
    for kind, pairs in positions.items():
        games = [game for game, _ in pairs]
        right = np.zeros((len(pairs), config.action_space_size), dtype=bool)
        for row_index, (_, columns) in enumerate(pairs):
            right[row_index, columns] = True
        observations = np.stack([game.make_image(-1) for game in games])
        initial = network.initial_inference(observations)
        # Only legal columns compete: the prior of a full column does not count.
        logits = np.where(legal_mask(games, config.action_space_size),
                          np.asarray(initial.policy_logits), -np.inf)  # fmt: skip
        prior = np.argmax(logits, axis=1)
        chosen = np.asarray(greedy_actions(config, network, games))
        rows = np.arange(len(pairs))
        row = {
            "positions": len(pairs),
            "prior_right": round(float(np.mean(right[rows, prior])), 3),
            "search_right": round(float(np.mean(right[rows, chosen])), 3),
        }
        if kind == "win":
            winning = np.argmax(right, axis=1).astype(np.int32)
            after = network.recurrent_inference(initial.hidden_state, winning)
            row["reward_of_win"] = round(float(np.mean(after.reward)), 3)
            row["value"] = round(float(np.mean(initial.value)), 3)
        figures[kind] = row
        print(f"{kind:<6} " + "  ".join(f"{name} {value}" for name, value in row.items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
