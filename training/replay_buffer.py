"""Pseudocode: `ReplayBuffer`, a window of the latest games to sample training batches from.

Each game is stored once, as it was played (`GameRecord`), and the window's states are laid
end to end in flat arrays (`training.targets.FlatWindow`); a batch's targets are made when
it is sampled, by `training.targets.make_target` (the pseudocode's `make_target`, vectorised
over the batch). The buffer holds the storage and the priorities:

- prioritized replay (paper appendix G): positions drawn with probability
  ``p^alpha / sum p^alpha``, the loss of each scaled by its importance weight
  ``(N P(i))^-beta`` (normalised by the batch's largest), priorities refreshed by the
  trainer from each step's value error.

What depends on a network is the `training.reanalyse.Reanalyser`'s (paper appendix H): the
target network whose values bootstrap the n-step value targets, and the fresh search of
stored states for the policy targets of a fraction of each batch (MuZero Reanalyze).
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from game import AbstractGame
from game.frames import stack_frames
from networks.transforms import scalar_to_support
from networks.value_prefix import value_prefixes
from training.targets import (
    FlatWindow,
    Targets,
    horizons_by_age,
    make_target,
    stored_bootstrap_values,
    unroll_rows,
    value_target_parts_at,
)

if TYPE_CHECKING:
    from training.reanalyse import Reanalyser

#: Added to every refreshed priority, so that a position whose value error is 0 can still be
#: drawn again (Schaul et al., 2016, "proportional prioritization").
PRIORITY_EPSILON = 1e-6
#: The most bytes of observations a window may hold for `ReplayBuffer.observations` to
#: gather batches from one copy of them (a window without `stacked_frames`).
FLAT_OBSERVATIONS_MAX_BYTES = 16 * 2**20


class Batch(NamedTuple):
    """A training batch of `N` positions unrolled `K` steps.

    Attributes:
        observations: `[N, *observation_shape]` float32 observations at the sampled positions.
        actions: `[N, K]` int32 actions taken (random past the end of the episode).
        target_values: `[N, K + 1, 2 * value_support_size + 1]` value targets (two-hot).
        target_rewards: `[N, K + 1, 2 * reward_support_size + 1]` reward targets (two-hot;
            with `value_prefix_horizon`, the value prefixes of `networks.value_prefix`).
        target_policies: `[N, K + 1, A]` the search policy targets (MuZero: visit distributions).
        masks: `[N, K + 1, 3]` float32: which of the value, reward and policy losses apply.
        weights: `[N]` float32 importance weights of the positions' losses (1 when uniform).
        game_ids: `[N]` int64 number of each position's game (`ReplayBuffer.games_saved`
            when it was saved), for `update_priorities`.
        positions: `[N]` int64 index of each position in its game.
        future_observations: `[N, K, *observation_shape]` float32 observations at unroll
            steps 1 .. K, zeros where the step's state has none (its policy mask is 0), for
            EfficientZero's consistency loss; None without `consistency_loss_weight`.
    """

    observations: np.ndarray
    actions: np.ndarray
    target_values: np.ndarray
    target_rewards: np.ndarray
    target_policies: np.ndarray
    masks: np.ndarray
    weights: np.ndarray
    game_ids: np.ndarray
    positions: np.ndarray
    future_observations: np.ndarray | None = None

    def tensors(self) -> tuple[np.ndarray, ...]:
        """Return what the training step reads: everything but the positions' addresses."""
        if self.future_observations is None:
            return tuple(self[:7])
        return (*self[:7], self.future_observations)


class GameRecord(NamedTuple):
    """One saved game, as plain arrays (`T` moves, `S` searched states: `T`, or `T + 1`
    when the episode was cut short and its final state searched to bootstrap from).

    Attributes:
        observations: `[S, *observation_shape]` float32 observation of each searched state;
            for image games (`config.stacked_frames`), `[S, H, W, C]` uint8 frames, stacked
            when sampled.
        actions: `[T]` int64 actions taken.
        rewards: `[T]` float64 reward of each action, for the player who made it.
        child_visits: `[S, A]` float32 search policy targets (`SearchOutput.policy`).
        root_values: `[S]` float64 search values, for the player to play.
        to_plays: `[S]` int64 player to play.
        legal: `[S, A]` bool legal actions.
        value_rewards, bootstrap_index, bootstrap_factor: `[T + 1]` the n-step value targets
            (`AbstractGame.value_target_parts`).
        priorities: `[T]` float64 priority of each position (prioritized replay).
        terminal: `[1]` bool: the episode ended by the rules (its end state is absorbing).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    child_visits: np.ndarray
    root_values: np.ndarray
    to_plays: np.ndarray
    legal: np.ndarray
    value_rewards: np.ndarray
    bootstrap_index: np.ndarray
    bootstrap_factor: np.ndarray
    priorities: np.ndarray
    terminal: np.ndarray


class DrawnBatch(NamedTuple):
    """A batch's drawn positions and their targets, before the observations are gathered.

    Attributes:
        rows: `[N]` row of each position in the window's `FlatWindow`.
        weights: `[N]` float32 importance weights.
        game_ids: `[N]` int64 number of each position's game (see `Batch`).
        positions: `[N]` int64 index of each position in its game.
        targets: their `Targets`, as scalars (Reanalyze replaces policies in place).
    """

    rows: np.ndarray
    weights: np.ndarray
    game_ids: np.ndarray
    positions: np.ndarray
    targets: Targets


class StoredStates(NamedTuple):
    """What a search of `B` stored states starts from.

    Attributes:
        observations: `[B, *observation_shape]` float32 observations (frame stacks built).
        legal: `[B, A]` bool legal actions.
        to_play: `[B]` int64 player to play.
    """

    observations: np.ndarray
    legal: np.ndarray
    to_play: np.ndarray


def _record_bytes(record: GameRecord) -> int:
    return sum(array.nbytes for array in record)


class ReplayBuffer:
    """The last `window_size` games (fewer if `replay_memory_mb` caps them).

    Pseudocode: `ReplayBuffer`.

    Args:
        config: reads `window_size`, `batch_size`, `replay_memory_mb`, `td_steps`,
            `action_space_size`, `observation_shape`, `stacked_frames`, the support sizes and
            `value_transform`, `prioritized_replay`, `priority_alpha`, `priority_beta`,
            `augment_symmetries` (with `game_factory`), `num_players`, and
            `target_update_interval` and `reanalyse_fraction` to check that a `Reanalyser`
            is given.
    """

    def __init__(self, config):
        self.config = config
        self.window_size = config.window_size
        self.batch_size = config.batch_size
        self.buffer: collections.deque[GameRecord] = collections.deque(maxlen=self.window_size)
        #: The training step at which each game of `buffer` was saved (its age, for the
        #: off-policy correction, counts from it).
        self.saved_at: collections.deque[int] = collections.deque(maxlen=self.window_size)
        self.memory_limit = config.replay_memory_mb * 2**20
        self._nbytes = 0  # of the stored games' arrays
        self.games_saved = 0
        self.max_priority = 1.0
        self.symmetries = config.game_factory.symmetries() if config.augment_symmetries else []
        self._flat: FlatWindow | None = None
        #: `saved_at` as an int64 array, the games of `_flat` (built with it).
        self._flat_saved_at = np.zeros(0, dtype=np.int64)
        #: The observations of `_flat`'s rows end to end, and the window they were made
        #: from (games without `stacked_frames`; see `observations`).
        self._flat_observations: tuple[FlatWindow, np.ndarray] | None = None

    # ----- storing ------------------------------------------------------------------------
    def save_game(self, game: AbstractGame, step: int = 0) -> None:
        """Store a finished game, saved at training step `step`; the oldest game leaves when
        the window is full.

        Its positions enter at the largest priority so far, so each is drawn soon. The step
        is what the off-policy correction (`config.off_policy_tau`) counts the game's age
        from.
        """
        record = self.make_record(game)
        if len(self.buffer) == self.buffer.maxlen:
            self._nbytes -= _record_bytes(self.buffer[0])
        self.buffer.append(record)
        self.saved_at.append(int(step))
        self._nbytes += _record_bytes(record)
        self._trim_to_memory_limit()
        self.games_saved += 1
        self._flat = None

    def _trim_to_memory_limit(self) -> None:
        """Drop the oldest games while the stored ones take more than `replay_memory_mb`."""
        while self.memory_limit and self._nbytes > self.memory_limit and len(self.buffer) > 1:
            self._nbytes -= _record_bytes(self.buffer.popleft())
            self.saved_at.popleft()

    def make_record(self, game: AbstractGame) -> GameRecord:
        """Return the arrays of a finished `game` (see `GameRecord`)."""
        length, searched = len(game.history), len(game.root_values)
        if self.config.stacked_frames:
            observations = np.stack(game.observations[:searched]).astype(np.uint8)
        else:
            observations = np.stack([game.make_image(i) for i in range(searched)])
            observations = observations.astype(np.float32)
        legal = np.ones((searched, self.config.action_space_size), dtype=bool)
        if len(game.legal_masks) == searched:
            legal = np.array(game.legal_masks, dtype=bool)
        value_rewards, bootstrap_index, bootstrap_factor = game.value_target_parts(
            self.config.td_steps
        )
        return GameRecord(
            observations,
            np.array(game.history, dtype=np.int64),
            np.array(game.rewards, dtype=np.float64),
            np.array(game.child_visits, dtype=np.float32).reshape(searched, -1),
            np.array(game.root_values, dtype=np.float64),
            np.array(game.to_plays, dtype=np.int64),
            legal,
            value_rewards.copy(),
            bootstrap_index.copy(),
            bootstrap_factor.copy(),
            np.full(length, self.max_priority),
            np.array([game.terminal()]),
        )

    @property
    def num_players(self) -> int:
        """The players of the stored games (`config.num_players`), alternating each move."""
        return self.config.num_players

    def num_moves(self) -> int:
        """Return the number of moves (positions that can be drawn) held."""
        return sum(len(record.actions) for record in self.buffer)

    def __len__(self) -> int:
        return len(self.buffer)

    def state_dict(self) -> dict:
        """Return the buffer's contents as plain arrays (for a checkpoint)."""
        return {
            "games": [tuple(record) for record in self.buffer],
            "games_saved": self.games_saved,
            "max_priority": self.max_priority,
            "saved_at": np.array(self.saved_at, dtype=np.int64),
        }

    def load_state_dict(self, state: dict, saved_at: int = 0) -> None:
        """Restore what `state_dict` returned.

        A state written before `config.num_players` also holds the games' ``num_players``;
        the config's is the one read, so that key is left unread. One written before
        ``saved_at`` has every game saved at step `saved_at` (`restore_run`: the
        checkpoint's step, so its games start at age 0).
        """
        self.buffer.clear()
        self.buffer.extend(GameRecord(*fields) for fields in state["games"])
        self.saved_at.clear()
        steps = state.get("saved_at", [saved_at] * len(self.buffer))
        self.saved_at.extend(int(step) for step in steps)
        self._nbytes = sum(_record_bytes(record) for record in self.buffer)
        self._trim_to_memory_limit()
        self.games_saved = int(state["games_saved"])
        self.max_priority = float(state["max_priority"])
        self._flat = None

    # ----- priorities ---------------------------------------------------------------------
    def update_priorities(
        self, game_ids: np.ndarray, positions: np.ndarray, priorities: np.ndarray
    ) -> None:
        """Set the priority of sampled positions (those whose game has left are skipped).

        Args:
            game_ids, positions: a batch's `game_ids` and `positions`.
            priorities: `[N]` new priorities, e.g. ``|value - target|`` of the training step.
        """
        priorities = np.asarray(priorities, dtype=np.float64) + PRIORITY_EPSILON
        first_id = self.games_saved - len(self.buffer)
        flat = self._flat
        alpha = self.config.priority_alpha
        for game_id, position, priority in zip(game_ids, positions, priorities):
            index = int(game_id) - first_id
            if index < 0:
                continue
            self.buffer[index].priorities[position] = priority
            if flat is not None:
                flat.priority[flat.offsets[index] + position] = priority**alpha
            self.max_priority = max(self.max_priority, float(priority))

    # ----- sampling -----------------------------------------------------------------------
    def flatten(self) -> FlatWindow:
        """Return the window's states end to end (built again only when games came or went)."""
        if self._flat is not None:
            return self._flat
        records = list(self.buffer)
        lengths = np.array([len(r.actions) for r in records], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        num_actions = self.config.action_space_size
        uniform = np.full((1, num_actions), 1.0 / num_actions, dtype=np.float32)
        game, state, action, reward_in, root_value, policy, searched = [], [], [], [], [], [], []
        bootstrap, priority = [], []
        for number, (record, offset) in enumerate(zip(records, offsets)):
            length, searched_states = len(record.actions), len(record.root_values)
            game.append(np.full(length + 1, number))
            state.append(np.arange(length + 1))
            action.append(np.append(record.actions, -1))
            reward_in.append(np.concatenate([[0.0], record.rewards]))
            pad = length + 1 - searched_states
            root_value.append(np.concatenate([record.root_values, np.zeros(pad)]))
            policy.append(np.concatenate([record.child_visits, np.repeat(uniform, pad, 0)]))
            searched.append(np.arange(length + 1) < searched_states)
            bootstrap.append(np.where(record.bootstrap_index >= 0,
                                      record.bootstrap_index + offset, -1))  # fmt: skip
            priority.append(np.append(record.priorities**self.config.priority_alpha, 0.0))
        self._flat = FlatWindow(
            offsets,
            lengths,
            np.array([bool(r.terminal[0]) for r in records]),
            np.concatenate(game),
            np.concatenate(state),
            np.concatenate(action),
            np.concatenate(reward_in),
            np.concatenate([r.value_rewards for r in records]),
            np.concatenate(bootstrap),
            np.concatenate([r.bootstrap_factor for r in records]),
            np.concatenate(root_value),
            np.concatenate(policy),
            np.concatenate(searched),
            np.concatenate(priority),
        )
        self._flat_saved_at = np.array(self.saved_at, dtype=np.int64)
        return self._flat

    def observations(self, rows: np.ndarray) -> np.ndarray:
        """Return the `[len(rows), *observation_shape]` observations of searched rows of
        `flatten` (the frame stacks of image games, built here from the stored frames)."""
        flat = self.flatten()
        if not self.config.stacked_frames:
            # A small window's observations (CartPole's: at most ~4 MiB) are copied into one
            # array once per window, and a batch is gathered from it by indexing; a larger
            # one (a board game's) is gathered row by row from the records, without a copy.
            cached = self._flat_observations
            if cached is None or cached[0] is not flat:
                nbytes = len(flat.game) * 4 * int(np.prod(self.config.observation_shape))
                small = nbytes <= FLAT_OBSERVATIONS_MAX_BYTES
                cached = (flat, self._stack_observations()) if small else None
                self._flat_observations = cached
            if cached is not None:
                return cached[1][rows]
            return np.stack([
                self.buffer[game].observations[state]
                for game, state in zip(flat.game[rows], flat.state[rows])
            ])  # fmt: skip
        games, states = flat.game[rows], flat.state[rows]
        observations = np.empty((len(rows), *self.config.observation_shape), dtype=np.float32)
        for game in np.unique(games):
            record, mine = self.buffer[game], np.flatnonzero(games == game)
            led_by = np.concatenate([[-1], record.actions])[: len(record.observations)]
            observations[mine] = stack_frames(
                record.observations, led_by, states[mine], self.config.stacked_frames,
                self.config.action_space_size,
            )  # fmt: skip
        return observations

    def _stack_observations(self) -> np.ndarray:
        """Return `[R, *observation_shape]` float32: each row's stored observation (zeros
        where the state was not searched), the rows of `flatten` end to end."""
        parts = []
        for record in self.buffer:
            observations = np.asarray(record.observations, dtype=np.float32)
            pad = len(record.actions) + 1 - len(observations)
            parts.append(observations)
            parts.append(np.zeros((pad, *observations.shape[1:]), dtype=np.float32))
        return np.concatenate(parts)

    def stored_states(self, rows: np.ndarray) -> StoredStates:
        """Return what a search of the searched rows `rows` of `flatten` starts from."""
        flat = self.flatten()
        games, states = flat.game[rows], flat.state[rows]
        legal = np.stack([self.buffer[g].legal[s] for g, s in zip(games, states)])
        to_play = np.array([self.buffer[g].to_plays[s] for g, s in zip(games, states)])
        return StoredStates(self.observations(rows), legal, to_play)

    def nbytes(self) -> int:
        """Return the bytes the stored games' arrays hold."""
        return self._nbytes

    def sample_positions(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw `batch_size` positions; return their rows and importance weights.

        Uniform (the pseudocode's `sample_game`, `sample_position`): a game uniformly, then a
        position in it uniformly; every weight 1. Prioritized (paper appendix G): position
        `i` of all `N` held with ``P(i) = p_i^alpha / sum_k p_k^alpha``, weight
        ``w_i = (N P(i))^-beta / max_j w_j`` over the batch.
        """
        flat = self.flatten()
        if not self.config.prioritized_replay:
            games = rng.integers(len(flat.lengths), size=self.batch_size)
            positions = (rng.random(self.batch_size) * flat.lengths[games]).astype(np.int64)
            return flat.offsets[games] + positions, np.ones(self.batch_size, dtype=np.float32)
        total = flat.priority.sum()
        probabilities = flat.priority / total
        rows = rng.choice(len(probabilities), size=self.batch_size, p=probabilities)
        weights = (int(flat.lengths.sum()) * probabilities[rows]) ** -self.config.priority_beta
        return rows, (weights / weights.max()).astype(np.float32)

    def sample_batch(
        self,
        num_unroll_steps: int,
        td_steps: int,
        rng: np.random.Generator,
        reanalyser: Reanalyser | None = None,
    ) -> Batch:
        """Sample `batch_size` positions with their targets. Pseudocode: `sample_batch`.

        Args:
            num_unroll_steps: `K`.
            td_steps: must be the config's (the games' rewards were summed with it).
            rng: the source of positions, random actions past the end and symmetries.
            reanalyser: the target network whose values bootstrap the value targets and the
                search that makes fresh policy targets (`Trainer.reanalyser`; needed when
                `target_update_interval` or `reanalyse_fraction` is set). None: the stored
                search values and visits (the pseudocode).
        """
        return self.sample_batches(1, num_unroll_steps, td_steps, rng, reanalyser)[0]

    def sample_batches(
        self,
        count: int,
        num_unroll_steps: int,
        td_steps: int,
        rng: np.random.Generator,
        reanalyser: Reanalyser | None = None,
    ) -> list[Batch]:
        """Sample `count` batches at once (see `sample_batch`), from the same priorities.

        Reanalyze searches the states of all of them in ONE batched search: a search costs
        mostly its number of simulations, not its number of states, so a training phase's
        batches are reanalysed together (as the paper's reanalyse workers run beside the
        learner, their policy targets come from the network at the phase's start).
        """
        config = self.config
        if td_steps != config.td_steps:
            raise ValueError("sample_batch: the games' rewards were summed with config.td_steps")
        if config.target_update_interval and (reanalyser is None or
                                              reanalyser.target_network is None):  # fmt: skip
            raise ValueError("sample_batch: target_update_interval is set; give a Reanalyser "
                             "with a target network (Trainer.reanalyser)")  # fmt: skip
        if config.reanalyse_fraction and reanalyser is None:
            raise ValueError("sample_batch: reanalyse_fraction is set; give a Reanalyser "
                             "(Trainer.reanalyser)")  # fmt: skip
        if (config.off_policy_tau or config.bootstrap_search) and reanalyser is None:
            raise ValueError("sample_batch: off_policy_tau and bootstrap_search need a "
                             "Reanalyser (Trainer.reanalyser)")  # fmt: skip
        # Every batch's positions and random actions first, then the symmetries: the order
        # the generator's numbers are taken in.
        drawn = [self._draw(num_unroll_steps, rng, reanalyser) for _ in range(count)]
        if config.reanalyse_fraction:
            reanalyser.reanalyse(self, [draw.targets for draw in drawn])
        return [self._finish(draw, rng) for draw in drawn]

    def _draw(
        self, num_unroll_steps: int, rng: np.random.Generator, reanalyser: Reanalyser | None
    ) -> DrawnBatch:
        """Draw a batch's positions and make their targets (as scalars)."""
        config = self.config
        rows, weights = self.sample_positions(rng)
        flat = self._flat
        steps = unroll_rows(flat, rows, num_unroll_steps)
        value_parts, bootstrap = None, flat.bootstrap[steps]
        if config.off_policy_tau:  # EfficientZero: older games bootstrap sooner
            age = reanalyser.network.training_steps() - self._flat_saved_at[flat.game[rows]]
            horizons = horizons_by_age(age, config.td_steps, config.off_policy_tau,
                                       config.training_steps)  # fmt: skip
            value_rewards, bootstrap, factor = value_target_parts_at(
                flat, steps, horizons[:, None], config.discount, config.num_players
            )
            value_parts = (value_rewards, factor)
        if reanalyser is None:
            bootstrap_values = stored_bootstrap_values(flat, bootstrap)
        else:
            bootstrap_values = reanalyser.bootstrap_values(self, bootstrap)
        num_actions = config.action_space_size
        random_actions = rng.integers(num_actions, size=(len(rows), num_unroll_steps))
        targets = make_target(flat, rows, num_unroll_steps, num_actions, bootstrap_values,
                              random_actions, steps, value_parts)  # fmt: skip
        first_id = self.games_saved - len(self.buffer)
        return DrawnBatch(rows, weights, flat.game[rows] + first_id, flat.state[rows], targets)

    def _finish(self, draw: DrawnBatch, rng: np.random.Generator) -> Batch:
        """Gather the observations, map by a symmetry if asked, encode the supports."""
        config, targets = self.config, draw.targets
        transform = config.value_transform
        observations = self.observations(draw.rows)
        future = None
        if config.consistency_loss_weight:
            future = self.future_observations(targets, observations)
        actions, policies, rewards = targets.actions, targets.policies, targets.rewards
        if config.value_prefix_horizon:  # EfficientZero: the prefix of each step, not its reward
            rewards = value_prefixes(rewards, config.value_prefix_horizon, config.discount)
        if self.symmetries:
            observations, actions, policies = self._augment(observations, actions, policies, rng,
                                                            future)  # fmt: skip
        return Batch(
            observations,
            actions.astype(np.int32),
            scalar_to_support(targets.values, config.value_support_size, transform),
            scalar_to_support(rewards, config.reward_support_size, transform),
            policies.astype(np.float32),
            targets.masks,
            draw.weights,
            draw.game_ids,
            draw.positions,
            future,
        )

    def future_observations(self, targets: Targets, first: np.ndarray) -> np.ndarray:
        """Return the `[N, K, *observation_shape]` observations of unroll steps 1 .. K of
        `targets` (`Batch.future_observations`): those of the searched steps; a step no
        search saw (past the end, or an end state) repeats the step before it (`first`, the
        `[N, ...]` observations at step 0, before step 1). Those steps are masked out of the
        loss; repeating a real observation keeps zeros out of the batch-norm statistics."""
        rows, searched = targets.unroll_rows[:, 1:], targets.searched[:, 1:]
        future = np.empty((*rows.shape, *self.config.observation_shape), dtype=np.float32)
        if searched.any():
            future[searched] = self.observations(rows[searched])
        for step in range(rows.shape[1]):
            missing = ~searched[:, step]
            future[missing, step] = (first if step == 0 else future[:, step - 1])[missing]
        return future

    def _augment(self, observations, actions, policies, rng: np.random.Generator,
                 future: np.ndarray | None = None):  # fmt: skip
        """Map each sample by a symmetry drawn uniformly (the identity among them), in place:
        the arrays are the fresh ones `sample_batch` just stacked (and the sample's
        `future` observations, when given, by the same symmetry)."""
        choice = rng.integers(len(self.symmetries) + 1, size=len(observations))
        for index, symmetry in enumerate(self.symmetries, start=1):
            rows = np.flatnonzero(choice == index)
            if len(rows) == 0:
                continue
            observations[rows] = symmetry.observations(observations[rows])
            if future is not None:
                shape = future.shape
                mapped = symmetry.observations(future[rows].reshape(-1, *shape[2:]))
                future[rows] = mapped.reshape(len(rows), *shape[1:])
            actions[rows] = symmetry.actions[actions[rows]]
            # The new action symmetry.actions[a] has the probability the old action a had.
            policies[rows] = policies[rows][..., np.argsort(symmetry.actions)]
        return observations, actions, policies
