"""Train Connect Four, then play the random player and the depth-2 alpha-beta player.

    python benchmarks/connect4.py [--seed 0] [--training-steps N] [--max-minutes M]
        [--set FIELD=VALUE ...]

Goal: at least 95% wins against random and a winning record against depth-2 alpha-beta
(``--opponents random,minimax``) within an hour: ``--max-minutes 55`` stops training in time
on a 2-core machine, where the config's 16,000 steps take about 71 minutes. Last line: a
JSON object of the figures.
"""

import sys

from board_game import run

if __name__ == "__main__":
    run("connect4", "random,minimax", sys.argv[1:])
