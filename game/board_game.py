"""What two-player board games share: the board record, the rules of turns, the image."""

from __future__ import annotations

import abc

import numpy as np

from game.abstract_game import AbstractGame, Symmetry


class BoardGame(AbstractGame):
    """A two-player game on a `rows` x `columns` board of cells 0 (empty), 1 or 2 (players).

    Player 0 moves first and owns the cells marked 1. The mover gets reward 1 for a winning
    move and 0 otherwise (a draw is 0 for both), so values lie in [-1, 1]. A subclass says
    which moves are legal, how a move changes the board and who has won.
    """

    num_players = 2
    rows: int
    columns: int

    def __init__(self, action_space_size: int, discount: float):
        super().__init__(action_space_size, discount)
        self.board = np.zeros((self.rows, self.columns), dtype=np.int8)
        self.boards = [self.board.copy()]
        self._winner = 0

    @classmethod
    def board_symmetry(cls, cells: np.ndarray, actions: np.ndarray) -> Symmetry:
        """Return the symmetry that moves the cell `cells[j]` to cell `j` (flat indices) and
        renumbers action `a` as `actions[a]`; it maps `[N, rows, columns, planes]` images."""
        cells = np.asarray(cells).reshape(-1)

        def observations(images: np.ndarray) -> np.ndarray:
            flat = images.reshape(len(images), cls.rows * cls.columns, -1)
            return flat[:, cells].reshape(images.shape)

        return Symmetry(observations, np.asarray(actions))

    @abc.abstractmethod
    def place(self, action: int) -> None:
        """Put the mark of the player to play for `action` on `self.board`."""

    @abc.abstractmethod
    def winner(self) -> int:
        """Return the player (1 or 2) who has won on `self.board`, else 0."""

    def step(self, action: int) -> float:
        if action not in self.legal_actions():
            raise ValueError(f"illegal move {action}; legal moves: {self.legal_actions()}")
        self.place(action)
        self.boards.append(self.board.copy())
        self._winner = self.winner()
        return 1.0 if self._winner else 0.0

    def terminal(self) -> bool:
        return self._winner != 0 or not (self.board == 0).any()

    def outcome(self, player: int) -> float:
        """Return +1 if `player` (0 or 1) won, -1 if they lost, 0 for a draw or no result yet."""
        if self._winner == 0:
            return 0.0
        return 1.0 if self._winner == player + 1 else -1.0

    def make_image(self, state_index: int) -> np.ndarray:
        """Return `[rows, columns, 3]` planes: the player to play's stones, the opponent's,
        and a plane of 1s when player 0 is to play (the paper's board encoding, small)."""
        board = self.boards[state_index]
        index = state_index if state_index >= 0 else len(self.boards) + state_index
        me = index % 2 + 1
        other = 3 - me
        to_play = np.full(board.shape, 1.0 if me == 1 else 0.0)
        return np.stack([board == me, board == other, to_play], axis=-1).astype(np.float32)

    def render(self) -> str:
        """Return the board as text: X for player 0, O for player 1, cell numbers below."""
        marks = {0: ".", 1: "X", 2: "O"}
        lines = [" ".join(marks[int(cell)] for cell in row) for row in self.board]
        if self.action_space_size == self.rows * self.columns:
            numbers = [
                " ".join(str(r * self.columns + c) for c in range(self.columns))
                for r in range(self.rows)
            ]
            lines = [f"{line}    {number}" for line, number in zip(lines, numbers)]
        else:
            lines.append(" ".join(str(c) for c in range(self.columns)))
        return "\n".join(lines)


def parse_move(text: str, legal_actions: list[int], action_space_size: int) -> int:
    """Read a move typed by a human, or raise `ValueError` saying what is wrong with it."""
    text = text.strip()
    choices = ", ".join(str(a) for a in legal_actions)
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{text!r} is not a move number; legal moves: {choices}")
    move = int(text)
    if not 0 <= move < action_space_size:
        raise ValueError(f"{move} is out of range 0..{action_space_size - 1}; legal: {choices}")
    if move not in legal_actions:
        raise ValueError(f"{move} is not legal now; legal moves: {choices}")
    return move
