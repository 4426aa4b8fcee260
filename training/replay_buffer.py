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


class _GameTargets(NamedTuple):
    """A saved game's targets for every position, from `make_target` (computed once)."""

    observations: np.ndarray  # [T, *observation_shape]
    actions: np.ndarray  # [T, K], -1 past the end
    values: np.ndarray  # [T, K + 1]
    rewards: np.ndarray  # [T, K + 1]
    policies: np.ndarray  # [T, K + 1, A]
    masks: np.ndarray  # [T, K + 1, 3]


class ReplayBuffer:
    """The last `window_size` games. Pseudocode: `ReplayBuffer`.

    Targets are made by the game's own `make_target` once per position when a game is saved,
    and the buffer keeps those tables (plain arrays) rather than the game objects: sampling a
    batch only gathers rows, and the buffer can be written to a checkpoint as it is.

    Args:
        config: reads `window_size`, `batch_size`, `num_unroll_steps`, `td_steps`,
            `action_space_size` and the support sizes.
    """

    def __init__(self, config):
        self.config = config
        self.window_size = config.window_size
        self.batch_size = config.batch_size
        self.buffer: collections.deque[_GameTargets] = collections.deque(maxlen=self.window_size)
        self.games_saved = 0
        self.symmetries = config.game_factory.symmetries() if config.augment_symmetries else []

    def save_game(self, game: AbstractGame) -> None:
        """Store a finished game; the oldest game leaves when the window is full."""
        self.buffer.append(self._make_targets(game))
        self.games_saved += 1

    def _make_targets(self, game: AbstractGame) -> _GameTargets:
        k, td = self.config.num_unroll_steps, self.config.td_steps
        length = len(game.history)
        actions = np.full((length, k), -1, dtype=np.int64)
        values = np.zeros((length, k + 1))
        rewards = np.zeros((length, k + 1))
        policies = np.zeros((length, k + 1, self.config.action_space_size), dtype=np.float32)
        masks = np.zeros((length, k + 1, 3), dtype=np.float32)
        for position in range(length):
            taken = game.history[position : position + k]
            actions[position, : len(taken)] = taken
            for step, target in enumerate(game.make_target(position, k, td)):
                values[position, step] = target.value
                rewards[position, step] = target.reward
                policies[position, step] = target.policy
                masks[position, step] = (target.value_mask, target.reward_mask, target.policy_mask)
        observations = np.stack([game.make_image(i) for i in range(length)]).astype(np.float32)
        return _GameTargets(observations, actions, values, rewards, policies, masks)

    def num_moves(self) -> int:
        """Return the number of moves held."""
        return sum(len(targets.actions) for targets in self.buffer)

    def __len__(self) -> int:
        return len(self.buffer)

    def state_dict(self) -> dict:
        """Return the buffer's contents as plain arrays (for a checkpoint)."""
        return {"games": [tuple(t) for t in self.buffer], "games_saved": self.games_saved}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""
        self.buffer.clear()
        self.buffer.extend(_GameTargets(*fields) for fields in state["games"])
        self.games_saved = int(state["games_saved"])

    def sample_batch(self, num_unroll_steps: int, td_steps: int, rng: np.random.Generator) -> Batch:
        """Sample `batch_size` positions with their targets. Pseudocode: `sample_batch`.

        A game is drawn uniformly, then a position in it uniformly (`sample_game`,
        `sample_position` of the pseudocode). `num_unroll_steps` and `td_steps` must be the
        config's (the targets were made with them when the games were saved).
        """
        config = self.config
        if (num_unroll_steps, td_steps) != (config.num_unroll_steps, config.td_steps):
            raise ValueError(
                "sample_batch: targets were made with the config's num_unroll_steps and td_steps"
            )
        picks = [self.buffer[i] for i in rng.integers(len(self.buffer), size=self.batch_size)]
        positions = [int(rng.integers(len(targets.actions))) for targets in picks]
        rows = [
            tuple(field[position] for field in targets)
            for targets, position in zip(picks, positions)
        ]
        observations, actions, values, rewards, policies, masks = (np.stack(f) for f in zip(*rows))
        # Past the end of an episode the actions are random (pseudocode: the history slice).
        random_actions = rng.integers(config.action_space_size, size=actions.shape)
        actions = np.where(actions < 0, random_actions, actions)
        if self.symmetries:
            observations, actions, policies = self._augment(observations, actions, policies, rng)
        return Batch(
            observations,
            actions.astype(np.int32),
            scalar_to_support(values, config.value_support_size, config.value_transform),
            scalar_to_support(rewards, config.reward_support_size, config.value_transform),
            policies,
            masks,
        )

    def _augment(self, observations, actions, policies, rng: np.random.Generator):
        """Map each sample by a symmetry drawn uniformly (the identity among them), in place:
        the arrays are the fresh ones `sample_batch` just stacked."""
        choice = rng.integers(len(self.symmetries) + 1, size=len(observations))
        for index, symmetry in enumerate(self.symmetries, start=1):
            rows = np.flatnonzero(choice == index)
            if len(rows) == 0:
                continue
            observations[rows] = symmetry.observations(observations[rows])
            actions[rows] = symmetry.actions[actions[rows]]
            # The new action symmetry.actions[a] has the probability the old action a had.
            policies[rows] = policies[rows][..., np.argsort(symmetry.actions)]
        return observations, actions, policies
