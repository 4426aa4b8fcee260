"""Tic-tac-toe: action i marks cell i, row-major from the top-left (0 .. 8)."""

from __future__ import annotations

import numpy as np

from game.abstract_game import Symmetry
from game.board_game import BoardGame

LINES = np.array(
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]
)


def tictactoe_winner(cells: np.ndarray) -> int:
    """Return the player (1 or 2) owning a full line of `[9]` cells, else 0."""
    lines = cells[LINES]
    full = (lines[:, 0] != 0) & (lines[:, 0] == lines[:, 1]) & (lines[:, 1] == lines[:, 2])
    return int(lines[np.argmax(full), 0]) if full.any() else 0


class TicTacToe(BoardGame):
    """Tic-tac-toe for two players; the mover gets reward 1 for a win, 0 otherwise."""

    rows, columns = 3, 3

    def __init__(self, discount: float = 1.0, seed: int | None = None):
        super().__init__(action_space_size=9, discount=discount)

    @classmethod
    def symmetries(cls) -> list[Symmetry]:
        """The seven rotations and reflections of the square other than the identity."""
        cells = np.arange(9).reshape(3, 3)
        images = [np.rot90(grid, k) for grid in (cells, cells.T) for k in range(4)][1:]
        # Cell images[j] moves to cell j, so the mark on cell a lands where images == a.
        return [cls.board_symmetry(image, np.argsort(image.reshape(-1))) for image in images]

    def legal_actions(self) -> list[int]:
        if self.terminal():
            return []
        return [int(cell) for cell in np.flatnonzero(self.board.reshape(-1) == 0)]

    def place(self, action: int) -> None:
        self.board.reshape(-1)[action] = self.to_play().index + 1

    def winner(self) -> int:
        return tictactoe_winner(self.board.reshape(-1))
