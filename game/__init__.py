"""Games: the episode record of the pseudocode (`AbstractGame`) and the games themselves."""

from game.abstract_game import AbstractGame, ActionHistory, Player, Symmetry, Target
from game.board_game import BoardGame
from game.cartpole import CartPole
from game.connect4 import Connect4
from game.gym_game import GymGame
from game.image_game import ImageGame
from game.tictactoe import TicTacToe

__all__ = [
    "AbstractGame", "ActionHistory", "BoardGame", "CartPole", "Connect4", "GymGame", "ImageGame",
    "Player",
    "Symmetry", "Target", "TicTacToe",
]  # fmt: skip
