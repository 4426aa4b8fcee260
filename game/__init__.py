"""Games: the episode record of the pseudocode (`AbstractGame`) and the games themselves."""

from game.abstract_game import AbstractGame, ActionHistory, Player, Target
from game.cartpole import CartPole
from game.gym_game import GymGame

__all__ = ["AbstractGame", "ActionHistory", "CartPole", "GymGame", "Player", "Target"]
