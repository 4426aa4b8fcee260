"""Pseudocode: `ReplayBuffer`, a window of the latest games to sample training batches from."""

from __future__ import annotations

import collections
from typing import NamedTuple

import numpy as np

from game import AbstractGame
from networks.transforms import scalar_to_support


class Batch(NamedTuple):
    """A training batch of `N` positions unrolled `K` steps.

    Attributes:
        observations: `[N, *observation_shape]` float32 observations at the sampled positions.
        actions: `[N, K]` int32 actions taken (random past the end of the episode).
        target_values: `[N, K + 1, 2 * value_support_size + 1]` value targets (two-hot).
        target_rewards: `[N, K + 1, 2 * reward_support_size + 1]` reward targets (two-hot).
        target_policies: `[N, K + 1, A]` search visit distributions.
        masks: `[N, K + 1, 3]` float32: which of the value, reward and policy losses apply.
    """

    observations: np.ndarray
    actions: np.ndarray
    target_values: np.ndarray
    target_rewards: np.ndarray
    target_policies: np.ndarray
    masks: np.ndarray


class ReplayBuffer:
    """The last `window_size` games. Pseudocode: `ReplayBuffer`.

    Args:
        config: reads `window_size`, `batch_size`, `num_unroll_steps`, `td_steps`,
            `action_space_size` and the support sizes.
    """

    def __init__(self, config):
        self.config = config
        self.window_size = config.window_size
        self.batch_size = config.batch_size
        self.buffer: collections.deque[AbstractGame] = collections.deque(maxlen=self.window_size)
        self.games_saved = 0

    def save_game(self, game: AbstractGame) -> None:
        """Store a finished game; the oldest game leaves when the window is full."""
        self.buffer.append(game)
        self.games_saved += 1

    def num_moves(self) -> int:
        """Return the number of moves held."""
        return sum(len(game.history) for game in self.buffer)

    def __len__(self) -> int:
        return len(self.buffer)

    def sample_batch(
        self, num_unroll_steps: int, td_steps: int, rng: np.random.Generator
    ) -> Batch:
        """Sample `batch_size` positions with their targets. Pseudocode: `sample_batch`.

        A game is drawn uniformly, then a position in it uniformly (`sample_game`,
        `sample_position` of the pseudocode).
        """
        config = self.config
        games = [self.buffer[i] for i in rng.integers(len(self.buffer), size=self.batch_size)]
        positions = [int(rng.integers(len(game.history))) for game in games]
        shape = (self.batch_size, num_unroll_steps + 1)
        values = np.zeros(shape)
        rewards = np.zeros(shape)
        policies = np.zeros((*shape, config.action_space_size), dtype=np.float32)
        masks = np.zeros((*shape, 3), dtype=np.float32)
        # Past the end of an episode the actions are random (pseudocode: the history slice).
        actions = rng.integers(config.action_space_size, size=(self.batch_size, num_unroll_steps))
        for row, (game, position) in enumerate(zip(games, positions)):
            taken = game.history[position : position + num_unroll_steps]
            actions[row, : len(taken)] = taken
            for step, target in enumerate(game.make_target(position, num_unroll_steps, td_steps)):
                values[row, step] = target.value
                rewards[row, step] = target.reward
                policies[row, step] = target.policy
                masks[row, step] = (target.value_mask, target.reward_mask, target.policy_mask)
        observations = np.stack(
            [game.make_image(position) for game, position in zip(games, positions)]
        ).astype(np.float32)
        return Batch(
            observations,
            actions.astype(np.int32),
            scalar_to_support(values, config.value_support_size),
            scalar_to_support(rewards, config.reward_support_size),
            policies,
            masks,
        )
