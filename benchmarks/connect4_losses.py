"""How does a Connect Four agent lose to depth-2 alpha-beta? Each lost game's last move sorted.

    python benchmarks/connect4_losses.py RUN_DIR [--games 100] [--simulations N] [--seed 1]

Plays `--games` greedy games in each seat against the depth-2 alpha-beta player (the games
`benchmarks/connect4.py --seed 0` plays, with the default `--seed 1`) and sorts every loss by the
agent's last move before the opponent's winning one: the opponent already had two winning
columns ("double threat"); it had one and the agent played elsewhere ("missed block"); it had
none, the agent's disc made one and a safe move existed ("opened a win") or every legal move
made one ("forced"). Also counts the games, and the distinct positions, where that last move
was played: the opponent breaks ties at random but the greedy agent is deterministic, so
losses repeat a few lines. The last line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from connect4_tactics import load_connect4_run, safe_columns, winning_columns  # noqa: E402

from game.connect4 import connect4_drop  # noqa: E402
from game.opponents import make_opponent  # noqa: E402
from self_play.arena import play_match  # noqa: E402

KINDS = ("double threat", "missed block", "opened a win", "forced")


def last_move_kind(history: list[int]) -> tuple[str, bytes]:
    """Return the kind of the loser's last move and the position it was played in."""
    board = np.zeros((6, 7), dtype=np.int8)
    for ply, action in enumerate(history[:-2]):
        connect4_drop(board, action, 1 + ply % 2)
    ply = len(history) - 2
    mark, played = 1 + ply % 2, history[ply]
    threats = winning_columns(board, 3 - mark)
    if len(threats) >= 2:
        kind = "double threat"
    elif threats and played != threats[0]:
        kind = "missed block"
    elif safe_columns(board, mark):
        kind = "opened a win"
    else:
        kind = "forced"
    return kind, board.tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--games", type=int, default=100, help="games per seat")
    parser.add_argument("--simulations", type=int, help="default: the run's config")
    parser.add_argument("--seed", type=int, default=1, help="the benchmark's seed + 1")
    args = parser.parse_args()
    config, network = load_connect4_run(parser, args.run_dir, args.simulations)
    figures: dict = {"run_dir": str(args.run_dir), "simulations": config.num_simulations}
    for seat in (0, 1):
        kinds: Counter = Counter()
        positions: set[bytes] = set()

        def on_game_end(game, seat=seat, kinds=kinds, positions=positions) -> None:
            if game.outcome(seat) < 0:
                kind, position = last_move_kind(list(game.history))
                kinds[kind] += 1
                positions.add(position)

        def opponent(seat=seat):
            return make_opponent("connect4", "minimax", np.random.default_rng(args.seed + seat))

        # The same opponents and game seeds as `self_play.arena.play_both_seats(..., seed)`.
        result = play_match(
            config,
            network,
            opponent,
            seat,
            args.games,
            args.seed + 10 * seat,
            on_game_end,
        )
        name = "first" if seat == 0 else "second"
        row = {"wins": result.wins, "draws": result.draws, "losses": result.losses,
               **{kind: kinds[kind] for kind in KINDS},
               "distinct_last_positions": len(positions)}  # fmt: skip
        figures[name] = row
        print(f"agent {name:<6}: " + ", ".join(f"{key} {value}" for key, value in row.items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
