"""Does a Connect Four agent see one-move tactics? Wins to take and threats to block.

    python benchmarks/connect4_tactics.py RUN_DIR [--positions 200] [--simulations N]

Plays random games from the empty board and collects positions of two kinds: the player to
play can win at once ("win"), or cannot but the opponent threatens to win at once in exactly
one column ("block"). For each kind it prints how often the network's policy prior alone and
the greedy search (as `evaluate` plays) choose the right column, and for wins the reward the
model predicts for the winning move (1 is right) and the value of the position (close to 1
when the win is seen). The last line is a JSON object of the figures. The depth-2 alpha-beta
player takes every such win and blocks every such threat.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import muzero  # noqa: E402
from game.connect4 import Connect4, connect4_drop, connect4_winner  # noqa: E402
from self_play.arena import greedy_actions  # noqa: E402


def winning_columns(board: np.ndarray, mark: int) -> list[int]:
    """Return the columns where dropping a `mark` disc wins at once."""
    columns = []
    for column in np.flatnonzero(board[0] == 0):
        child = board.copy()
        connect4_drop(child, int(column), mark)
        if connect4_winner(child) == mark:
            columns.append(int(column))
    return columns


def collect_positions(count: int, rng: np.random.Generator) -> dict[str, list]:
    """Return up to `count` (game, right column) pairs of each kind, from random play."""
    found: dict[str, list] = {"win": [], "block": []}
    while min(len(found["win"]), len(found["block"])) < count:
        game = Connect4()
        while not game.terminal():
            mark = game.to_play().index + 1
            wins = winning_columns(game.board, mark)
            threats = winning_columns(game.board, 3 - mark)
            if len(wins) == 1 and len(found["win"]) < count:
                found["win"].append((copy.deepcopy(game), wins[0]))
            elif not wins and len(threats) == 1 and len(found["block"]) < count:
                found["block"].append((copy.deepcopy(game), threats[0]))
            game.apply(int(rng.choice(game.legal_actions())))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--positions", type=int, default=200, help="positions of each kind")
    parser.add_argument("--simulations", type=int, help="default: the run's config")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config, network = muzero.load_run(args.run_dir)
    if config.game_name != "connect4":
        parser.error(f"{args.run_dir} is a {config.game_name} run, not connect4")
    if args.simulations is not None:
        import dataclasses

        config = dataclasses.replace(config, num_simulations=args.simulations)
    positions = collect_positions(args.positions, np.random.default_rng(args.seed))
    figures: dict = {"run_dir": str(args.run_dir), "simulations": config.num_simulations}
    for kind, pairs in positions.items():
        games = [game for game, _ in pairs]
        right = np.array([column for _, column in pairs])
        observations = np.stack([game.make_image(-1) for game in games])
        initial = network.initial_inference(observations)
        prior = np.argmax(initial.policy_logits, axis=1)
        chosen = np.asarray(greedy_actions(config, network, games))
        row = {
            "positions": len(pairs),
            "prior_right": round(float(np.mean(prior == right)), 3),
            "search_right": round(float(np.mean(chosen == right)), 3),
        }
        if kind == "win":
            after = network.recurrent_inference(initial.hidden_state, right.astype(np.int32))
            row["reward_of_win"] = round(float(np.mean(after.reward)), 3)
            row["value"] = round(float(np.mean(initial.value)), 3)
        figures[kind] = row
        print(f"{kind:<6} " + "  ".join(f"{name} {value}" for name, value in row.items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
