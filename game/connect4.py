"""Connect Four: 6 rows by 7 columns; action i drops a disc into column i (0 .. 6)."""

from __future__ import annotations

import numpy as np

from game.abstract_game import Symmetry
from game.board_game import BoardGame


def connect4_winner(board: np.ndarray) -> int:
    """Return the player (1 or 2) with four in a row on a `[6, 7]` board, else 0."""
    for player in (1, 2):
        mine = board == player
        if (
            (mine[:, :-3] & mine[:, 1:-2] & mine[:, 2:-1] & mine[:, 3:]).any()
            or (mine[:-3] & mine[1:-2] & mine[2:-1] & mine[3:]).any()
            or (mine[:-3, :-3] & mine[1:-2, 1:-2] & mine[2:-1, 2:-1] & mine[3:, 3:]).any()
            or (mine[3:, :-3] & mine[2:-1, 1:-2] & mine[1:-2, 2:-1] & mine[:-3, 3:]).any()
        ):
            return player
    return 0


def connect4_drop(board: np.ndarray, column: int, mark: int) -> None:
    """Drop a `mark` disc into `column` of a `[6, 7]` board: it lands on the lowest empty row."""
    row = int(np.flatnonzero(board[:, column] == 0)[-1])
    board[row, column] = mark


class Connect4(BoardGame):
    """Connect Four for two players; the mover gets reward 1 for a win, 0 otherwise.

    Row 0 is the top of the board; discs fall to the lowest empty row.
    """

    rows, columns = 6, 7

    def __init__(self, discount: float = 1.0, seed: int | None = None):
        super().__init__(action_space_size=7, discount=discount)

    @classmethod
    def symmetries(cls) -> list[Symmetry]:
        """The mirror image, left to right: column c becomes column 6 - c."""
        cells = np.arange(cls.rows * cls.columns).reshape(cls.rows, cls.columns)
        return [cls.board_symmetry(cells[:, ::-1], np.arange(cls.columns)[::-1])]

    def legal_actions(self) -> list[int]:
        if self.terminal():
            return []
        return [int(column) for column in np.flatnonzero(self.board[0] == 0)]

    def place(self, action: int) -> None:
        connect4_drop(self.board, action, self.to_play().index + 1)

    def winner(self) -> int:
        return connect4_winner(self.board)
