"""A generic wrapper: any gymnasium environment with discrete actions and vector observations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from game.abstract_game import AbstractGame


class GymGame(AbstractGame):
    """A single-player game over a gymnasium environment.

    The environment's `terminated` flag ends the episode for good (absorbing); its
    `truncated` flag (a time limit) only cuts it short, so value targets bootstrap past it.

    Args:
        env_id: a registered gymnasium id with a `Discrete` action space and a `Box`
            observation space, e.g. ``"CartPole-v1"``.
        discount: the discount of the returns.
        seed: seeds the environment's reset.
        wrap: applied to the made environment (e.g. gymnasium's Atari preprocessing).
        env_kwargs: passed to `gymnasium.make`.
    """

    def __init__(
        self,
        env_id: str,
        discount: float,
        seed: int | None = None,
        wrap=None,
        **env_kwargs,
    ):
        self.env = gym.make(env_id, **env_kwargs)
        if wrap is not None:
            self.env = wrap(self.env)
        if not isinstance(self.env.action_space, gym.spaces.Discrete):
            raise ValueError(
                f"{env_id}: GymGame needs a Discrete action space, got {self.env.action_space}"
            )
        super().__init__(int(self.env.action_space.n), discount)
        observation, _ = self.env.reset(seed=seed)
        self.observations: list[np.ndarray] = []
        self.observe(observation)
        self._terminated = False
        self._truncated = False

    @property
    def solved_return(self) -> float | None:
        """The environment's `reward_threshold` from its gymnasium spec (None if unset)."""
        threshold = self.env.spec.reward_threshold if self.env.spec is not None else None
        return None if threshold is None else float(threshold)

    def step(self, action: int) -> float:
        """Step the environment and record the next observation."""
        observation, reward, terminated, truncated, _ = self.env.step(action)
        self.observe(observation)
        self._terminated = bool(terminated)
        self._truncated = bool(truncated) and not self._terminated
        return float(reward)

    def observe(self, observation) -> None:
        """Record the environment's observation (here as a flat float32 vector)."""
        self.observations.append(np.asarray(observation, dtype=np.float32).reshape(-1))

    def terminal(self) -> bool:
        """Return whether the environment terminated."""
        return self._terminated

    def truncated(self) -> bool:
        """Return whether the environment's time limit cut the episode."""
        return self._truncated

    def legal_actions(self) -> list[int]:
        """Return every action: gymnasium's Discrete spaces have no masks."""
        return list(range(self.action_space_size))

    def make_image(self, state_index: int) -> np.ndarray:
        """Return the observation at `state_index` (-1: the current one)."""
        return self.observations[state_index]

    def render_rgb(self) -> np.ndarray | None:
        """Return an RGB frame of the current state, where the environment can draw one."""
        return self.env.render() if self.env.render_mode == "rgb_array" else None

    def close(self) -> None:
        """Release the environment."""
        self.env.close()
