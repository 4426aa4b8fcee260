"""Opponents for evaluating board-game agents: random, perfect tic-tac-toe, Connect Four search.

Every opponent answers `choose(game) -> action` for the player to play; ties between equally
good moves are broken at random (by the opponent's own generator) so that repeated games
differ.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from game.board_game import BoardGame
from game.connect4 import connect4_drop, connect4_winner
from game.tictactoe import tictactoe_winner

#: The opponents of `make_opponent`, by name (tic-tac-toe and Connect Four have each).
OPPONENTS = ("random", "minimax", "expert")


class RandomOpponent:
    """Plays a uniformly random legal move."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def choose(self, game: BoardGame) -> int:
        return int(self.rng.choice(game.legal_actions()))


@cache
def tictactoe_value(cells: tuple[int, ...], mark: int) -> int:
    """Return the game-theoretic value (+1 win, 0 draw, -1 loss) for `mark` (1 or 2) to play."""
    board = np.array(cells)
    if tictactoe_winner(board):
        return -1  # the previous mover completed a line
    empty = [i for i, cell in enumerate(cells) if cell == 0]
    if not empty:
        return 0
    best = -1
    for cell in empty:
        child = cells[:cell] + (mark,) + cells[cell + 1 :]
        best = max(best, -tictactoe_value(child, 3 - mark))
        if best == 1:
            break
    return best


def tictactoe_move_values(game: BoardGame) -> dict[int, int]:
    """Return the minimax value of each legal move for the player to play."""
    cells = tuple(int(c) for c in game.board.reshape(-1))
    mark = game.to_play().index + 1
    return {
        a: -tictactoe_value(cells[:a] + (mark,) + cells[a + 1 :], 3 - mark)
        for a in game.legal_actions()
    }


def tictactoe_best_moves(game: BoardGame) -> list[int]:
    """Return every move of the best minimax value for the player to play."""
    values = tictactoe_move_values(game)
    best = max(values.values())
    return [a for a, v in values.items() if v == best]


class TicTacToeMinimax:
    """A perfect tic-tac-toe player: full minimax (memoised), random among the best moves."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def choose(self, game: BoardGame) -> int:
        return int(self.rng.choice(tictactoe_best_moves(game)))


def _connect4_windows() -> np.ndarray:
    """Return `[W, 4]` flat cell indices of every line of four on a 6 x 7 board."""
    windows = []
    for r in range(6):
        for c in range(7):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (-1, 1)):
                cells = [(r + i * dr, c + i * dc) for i in range(4)]
                if all(0 <= rr < 6 and 0 <= cc < 7 for rr, cc in cells):
                    windows.append([rr * 7 + cc for rr, cc in cells])
    return np.array(windows)


WINDOWS = _connect4_windows()


def connect4_heuristic(board: np.ndarray, mark: int) -> float:
    """Score a position for `mark`: open lines of two and three, and the centre column."""
    flat = board.reshape(-1)[WINDOWS]
    mine = (flat == mark).sum(1)
    theirs = (flat == 3 - mark).sum(1)
    open_mine = theirs == 0
    open_theirs = mine == 0
    score = 5.0 * np.sum(open_mine & (mine == 3)) + 2.0 * np.sum(open_mine & (mine == 2))
    score -= 5.0 * np.sum(open_theirs & (theirs == 3)) + 2.0 * np.sum(open_theirs & (theirs == 2))
    score += 3.0 * np.sum(board[:, 3] == mark) - 3.0 * np.sum(board[:, 3] == 3 - mark)
    return float(score)


class Connect4AlphaBeta:
    """Connect Four by depth-limited negamax with alpha-beta pruning and a line heuristic.

    Args:
        depth: plies searched (2: its move and the reply).
        rng: breaks ties between equally scored moves.
    """

    WIN = 1e6

    def __init__(self, depth: int, rng: np.random.Generator):
        self.depth = depth
        self.rng = rng

    def choose(self, game: BoardGame) -> int:
        mark = game.to_play().index + 1
        scores = {}
        for column in game.legal_actions():
            board = game.board.copy()
            connect4_drop(board, column, mark)
            scores[column] = -self._negamax(board, 3 - mark, self.depth - 1, -np.inf, np.inf)
        best = max(scores.values())
        return int(self.rng.choice([c for c, s in scores.items() if s == best]))

    def _negamax(self, board: np.ndarray, mark: int, depth: int, alpha: float, beta: float):
        """Return the value of `board` for `mark` to play, searched `depth` more plies."""
        if connect4_winner(board):
            return -self.WIN - depth  # the opponent just won; sooner is worse
        columns = [c for c in (3, 2, 4, 1, 5, 0, 6) if board[0, c] == 0]
        if not columns:
            return 0.0
        if depth == 0:
            return connect4_heuristic(board, mark)
        best = -np.inf
        for column in columns:
            child = board.copy()
            connect4_drop(child, column, mark)
            best = max(best, -self._negamax(child, 3 - mark, depth - 1, -beta, -alpha))
            alpha = max(alpha, best)
            if alpha >= beta:
                break
        return best


def make_opponent(game_name: str, kind: str, rng: np.random.Generator):
    """Return the opponent `kind` (``random``, ``minimax``, ``expert``) for a board game.

    Tic-tac-toe: ``minimax`` and ``expert`` are both the perfect player. Connect Four:
    ``minimax`` is alpha-beta of depth 2, ``expert`` of depth 4.
    """
    if kind == "random":
        return RandomOpponent(rng)
    if game_name == "tictactoe" and kind in ("minimax", "expert"):
        return TicTacToeMinimax(rng)
    if game_name == "connect4" and kind in ("minimax", "expert"):
        return Connect4AlphaBeta(2 if kind == "minimax" else 4, rng)
    raise ValueError(f"no opponent {kind!r} for {game_name!r}; valid: {', '.join(OPPONENTS)}")


def opponents_of(game_name: str) -> tuple[str, ...]:
    """Return the opponents `make_opponent` has for a two-player game: all of `OPPONENTS`
    for tic-tac-toe and Connect Four, the random player for any other."""
    return OPPONENTS if game_name in ("tictactoe", "connect4") else OPPONENTS[:1]
