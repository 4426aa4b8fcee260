"""The episode record of the pseudocode's `Game`, plus the hooks a new game implements.

Pseudocode: `Game`, `ActionHistory`, `Player`, `Action` (paper appendix "Pseudocode").
A game subclasses `AbstractGame` and implements `step`, `terminal`, `legal_actions` and
`make_image` (and `to_play` for two players, `truncated` where an episode can be cut short).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Player:
    """A player, told apart by its index (0 moves first). Pseudocode: `Player`."""

    index: int = 0


class ActionHistory:
    """The actions taken so far, seen from inside the search. Pseudocode: `ActionHistory`.

    Players are assumed to alternate 0, 1, ..., num_players - 1, 0, ... with every move, from
    `first_player` at the start of the history (a game's history starts at the beginning of
    the game, with player 0), so `to_play` follows from its length.
    """

    def __init__(self, history: list[int], action_space_size: int, num_players: int = 1,
                 first_player: int = 0):  # fmt: skip
        self.history = list(history)
        self.action_space_size = action_space_size
        self.num_players = num_players
        self.first_player = first_player

    def clone(self) -> ActionHistory:
        """Return an independent copy."""
        return ActionHistory(self.history, self.action_space_size, self.num_players,
                             self.first_player)  # fmt: skip

    def add_action(self, action: int) -> None:
        """Append an action."""
        self.history.append(action)

    def last_action(self) -> int:
        """Return the most recent action."""
        return self.history[-1]

    def action_space(self) -> list[int]:
        """Return every action (inside the search all actions are allowed)."""
        return list(range(self.action_space_size))

    def to_play(self) -> Player:
        """Return the player to move after the recorded actions."""
        return Player((self.first_player + len(self.history)) % self.num_players)


@dataclass
class Target:
    """Training targets for one unroll step, with masks saying which losses apply."""

    value: float
    reward: float
    policy: np.ndarray
    value_mask: float
    reward_mask: float
    policy_mask: float


@dataclass(frozen=True)
class Symmetry:
    """A map of a game onto itself that keeps the rules: a position and its image under the map
    have the same value, and the same policy up to renumbering the actions.

    Attributes:
        observations: maps `[N, *observation_shape]` observations to their images.
        actions: `[A]` ints, a permutation: action `a` becomes action `actions[a]`.
    """

    observations: Callable[[np.ndarray], np.ndarray]
    actions: np.ndarray


class AbstractGame(abc.ABC):
    """One episode: the pseudocode's `Game` record plus the hooks a game implements.

    Record (filled by self-play): `history` (actions), `rewards` (reward of each action, for
    the player who made it), `child_visits` (the search's policy
    targets: for MuZero the root visit distributions), `root_values` (root
    search values, for the player to play), `to_plays` (player index at each searched state),
    `legal_masks` (the legal actions at each searched state, so it can be searched again).
    When an episode is cut short (`truncated`), self-play searches the final state too, so
    `root_values` holds one entry more than `history`, to bootstrap from.
    """

    #: Players taking turns; 1 for single-agent environments.
    num_players: int = 1
    #: The episode return at which the game counts as solved (gymnasium's
    #: `reward_threshold`), drawn on the learning curve; None where there is none.
    solved_return: float | None = None

    def __init__(self, action_space_size: int, discount: float):
        self.action_space_size = action_space_size
        self.discount = discount
        self.history: list[int] = []
        self.rewards: list[float] = []
        self.child_visits: list[np.ndarray] = []
        self.root_values: list[float] = []
        self.to_plays: list[int] = []
        self._value_targets_cache: tuple[tuple[int, int, int], tuple] | None = None
        self.legal_masks: list[np.ndarray] = []

    # ----- hooks a game implements -------------------------------------------------------
    @abc.abstractmethod
    def step(self, action: int) -> float:
        """Apply `action` to the environment and return the reward for the player who moved."""

    @abc.abstractmethod
    def terminal(self) -> bool:
        """Return whether the episode ended by the rules (the end state is absorbing)."""

    @abc.abstractmethod
    def legal_actions(self) -> list[int]:
        """Return the actions allowed in the current state."""

    @abc.abstractmethod
    def make_image(self, state_index: int) -> np.ndarray:
        """Return the observation at `state_index` (-1: the current state), float32."""

    def truncated(self) -> bool:
        """Return whether the episode was cut short (a time limit): it may be bootstrapped."""
        return False

    def to_play(self) -> Player:
        """Return the player to move now; players alternate by default."""
        return Player(len(self.history) % self.num_players)

    def render(self) -> str:
        """Return a human-readable picture of the current state (text)."""
        return repr(self)

    @classmethod
    def symmetries(cls) -> list[Symmetry]:
        """Return the game's symmetries other than the identity (for `augment_symmetries`)."""
        return []

    # ----- the pseudocode's record ------------------------------------------------------
    def apply(self, action: int) -> None:
        """Play `action` and record it with its reward. Pseudocode: `Game.apply`."""
        reward = self.step(action)
        self.rewards.append(float(reward))
        self.history.append(int(action))

    def store_search_statistics(self, policy: np.ndarray, root_value: float) -> None:
        """Record the search's policy target over the action space and the root's value.

        Pseudocode: `Game.store_search_statistics`, here given the target the search policy
        made (`SearchOutput.policy`: MuZero's is the root's visit distribution), so every
        search and every policy can call it.

        Args:
            policy: `[A]` the policy target (sums to 1 over the legal actions).
            root_value: the root's mean value, for the player to play.
        """
        # A copy: a row of the search's `[B, A]` output would keep the whole batch alive.
        self.child_visits.append(np.array(policy, dtype=np.float32))
        self.root_values.append(float(root_value))
        self.to_plays.append(self.to_play().index)
        legal = np.zeros(self.action_space_size, dtype=bool)
        legal[self.legal_actions()] = True
        self.legal_masks.append(legal)  # so the state can be searched again (Reanalyze)

    def action_history(self) -> ActionHistory:
        """Return the history for the search. Pseudocode: `Game.action_history`."""
        return ActionHistory(self.history, self.action_space_size, self.num_players)

    def ended(self) -> bool:
        """Return whether no move follows: terminated or truncated."""
        return self.terminal() or self.truncated()

    def value_target_parts(self, td_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the n-step value target of every state, split where the network comes in.

        Pseudocode: the value part of `Game.make_target`, for all states ``0 .. len(history)``
        at once: ``z_t = sum_{i<n} discount^i r_{t+i} + discount^n v_{t+n}``. The rewards
        are fixed once the game is played; the bootstrap value `v` is the search value
        stored in `root_values` or, for Reanalyze and a target network, a fresh value made
        at sampling time. So the target is returned as
        ``z_t = rewards_part[t] + factor[t] * v[index[t]]``.

        Past the end of a terminated episode there is no bootstrap (absorbing states are worth
        0); an episode cut short bootstraps from its final state, which self-play searched for
        this purpose. With two players each term is seen from the player to play at `t`: a
        reward won by the opponent or the opponent's value counts negatively.

        Returns:
            `[len(history) + 1]` arrays: the discounted rewards (float64), the index of the
            searched state bootstrapped from (int64, -1 for none) and its factor
            ``+-discount^k`` (float64, 0 for none).
        """
        key = (td_steps, len(self.history), len(self.root_values))
        if self._value_targets_cache is not None and self._value_targets_cache[0] == key:
            return self._value_targets_cache[1]
        length = len(self.history)
        rewards = np.asarray(self.rewards, dtype=np.float64)
        players = self._players_of_states()
        rewards_part = np.zeros(length + 1)
        index = np.full(length + 1, -1, dtype=np.int64)
        factor = np.zeros(length + 1)
        # An episode cut short had its final state searched: bootstrap there at the latest.
        cut_short = len(self.root_values) > length
        for state in range(length + 1):
            bootstrap_index = state + td_steps
            if cut_short:
                bootstrap_index = min(bootstrap_index, length)
            if bootstrap_index < len(self.root_values):
                sign = 1.0 if players[bootstrap_index] == players[state] else -1.0
                index[state] = bootstrap_index
                factor[state] = sign * self.discount ** (bootstrap_index - state)
            end = min(bootstrap_index, length)
            if end > state:
                signs = np.where(players[state:end] == players[state], 1.0, -1.0)
                powers = self.discount ** np.arange(end - state)
                rewards_part[state] = float(np.sum(signs * rewards[state:end] * powers))
        parts = (rewards_part, index, factor)
        self._value_targets_cache = (key, parts)
        return parts

    def value_targets(self, td_steps: int) -> np.ndarray:
        """Return the n-step value target of every state ``0 .. len(history)``, bootstrapped
        from the search values (`value_target_parts` with `root_values`).

        Returns:
            `[len(history) + 1]` float64 targets; the entry for the end state is 0 unless the
            episode was truncated (then it is the final search value).
        """
        rewards_part, index, factor = self.value_target_parts(td_steps)
        root_values = np.append(np.asarray(self.root_values, dtype=np.float64), 0.0)
        return rewards_part + factor * root_values[index]  # index -1 reads the 0 appended

    def returns_error(self) -> float:
        """Return the mean `|root value - observed return|` over the searched states.

        The observed return is the Monte Carlo one: every reward to the end of the episode,
        and the final search value where the episode was cut short (not in the pseudocode;
        a diagnostic of how far the search's values are from what the episode brought).
        """
        length = len(self.history)
        if length == 0:
            return float("nan")
        returns = self.value_targets(length + 1)[:length]
        return float(np.mean(np.abs(np.asarray(self.root_values[:length]) - returns)))

    def make_target(self, state_index: int, num_unroll_steps: int, td_steps: int) -> list[Target]:
        """Return the targets of `num_unroll_steps + 1` unroll steps from `state_index`.

        Pseudocode: `Game.make_target`, with its known off-by-one mended: the reward target
        of unroll step k is the reward of the action taken at step k - 1, and step 0 has no
        reward target. States past the end of a terminated episode are absorbing (value 0,
        reward 0, no policy loss). States past the end of a truncated episode are unknown:
        no loss at all there.
        """
        length = len(self.history)
        values = self.value_targets(td_steps)
        absorbing = self.terminal()
        uniform = np.full(self.action_space_size, 1.0 / self.action_space_size, np.float32)
        targets = []
        for current_index in range(state_index, state_index + num_unroll_steps + 1):
            known = current_index <= length
            value = values[current_index] if known else 0.0
            value_mask = 1.0 if known or absorbing else 0.0
            if current_index == state_index:
                reward, reward_mask = 0.0, 0.0
            elif current_index <= length:
                reward, reward_mask = self.rewards[current_index - 1], 1.0
            else:
                reward, reward_mask = 0.0, value_mask
            if current_index < len(self.child_visits):
                policy, policy_mask = self.child_visits[current_index], 1.0
            else:
                policy, policy_mask = uniform, 0.0
            targets.append(Target(value, reward, policy, value_mask, reward_mask, policy_mask))
        return targets

    def _players_of_states(self) -> np.ndarray:
        """Return the player index of every state ``0 .. len(history)``."""
        return np.arange(len(self.history) + 1) % self.num_players
