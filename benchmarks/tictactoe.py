"""Train tic-tac-toe, then 100 greedy games in each seat against the perfect minimax player.

    python benchmarks/tictactoe.py [--seed 0] [--training-steps N] [--max-minutes M]
        [--set FIELD=VALUE ...]
    python benchmarks/tictactoe.py --seeds 0-2 --simulations-sweep [--budgets 4,8,16] [...]

Goal: no losses at all (every game a draw). Then the agent plays every line the perfect
player's choices allow (each of its best moves in turn, nothing sampled) and the lost lines
are printed: none lost means no game against it can be lost. Last line: a JSON object of
the figures. ``--seeds`` and ``--simulations-sweep`` (muzero and gumbel at 4, 8 and 16
simulations: the lost lines per policy and budget) are `board_game.py`'s.
"""

import sys

from board_game import run

if __name__ == "__main__":
    run("tictactoe", "minimax,random", sys.argv[1:])
