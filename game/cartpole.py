"""CartPole-v1 (gymnasium): balance a pole for up to 500 steps, reward 1 per step."""

from __future__ import annotations

from game.gym_game import GymGame


class CartPole(GymGame):
    """CartPole-v1; the 500-step time limit truncates (bootstrapped), a fall terminates."""

    def __init__(self, discount: float, seed: int | None = None, render_mode: str | None = None):
        super().__init__("CartPole-v1", discount, seed=seed, render_mode=render_mode)
