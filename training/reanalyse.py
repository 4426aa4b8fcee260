"""MuZero Reanalyze (paper appendix H): a target network for the value targets, and a fresh
search of stored states for the policy targets.

Not in the pseudocode, whose targets come from the values and visits stored when a game
was played. With `target_update_interval` the n-step value targets bootstrap from a target
network's value of the stored observation, the network a copy of the trained weights taken
every that many steps; with `reanalyse_fraction` the policy targets of that fraction of
each batch come from a new search of the stored states with the latest weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from networks import Network
from self_play import search
from training.targets import Targets, stored_bootstrap_values

if TYPE_CHECKING:
    from training.replay_buffer import ReplayBuffer


class Reanalyser:
    """Own the target network and the search that makes fresh policy targets.

    Args:
        config: reads `target_update_interval`, `reanalyse_fraction`, `batch_size` and what
            `self_play.search` reads (the search policy, `num_simulations`, `num_players`...).
        network: the trained network; its latest weights search the stored states again.
        target_network: the network whose values bootstrap the value targets. None: with
            `config.target_update_interval` a new copy of `network`, refreshed every that
            many steps (`note_training_step`); without, none (the stored search values).
    """

    def __init__(self, config: Any, network: Network, target_network: Network | None = None):
        self.config = config
        self.network = network
        self.target_network: Network | None = target_network
        if target_network is None and config.target_update_interval:
            self.target_network = config.new_network()
            self.update_target_network()

    # ----- the target network -------------------------------------------------------------
    def update_target_network(self) -> None:
        """Copy the trained weights (and their step count) into the target network."""
        self.target_network.set_weights(self.network.get_weights())
        self.target_network.steps = self.network.steps

    def note_training_step(self) -> None:
        """Refresh the target network if the trained network's step ends an interval."""
        interval = self.config.target_update_interval
        if interval and self.network.steps % interval == 0:
            self.update_target_network()

    def state_dict(self) -> dict[str, Any]:
        """Return the target network's weights and step (None without one), as a
        checkpoint holds them (``target_weights``, ``target_step``)."""
        target = self.target_network
        return {
            "target_weights": None if target is None else target.get_weights(),
            "target_step": None if target is None else target.steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the target network from a checkpoint's ``target_weights`` and
        ``target_step`` (what `state_dict` returned); nothing without a target network."""
        if self.target_network is not None:
            self.target_network.set_weights(state["target_weights"])
            self.target_network.steps = int(state["target_step"])

    def bootstrap_values(self, replay: ReplayBuffer, bootstrap: np.ndarray) -> np.ndarray:
        """Return the value at each bootstrap row (0 where -1): with `bootstrap_search` the
        root value of a fresh search of the stored state (`search_values`); otherwise the
        target network's value of the stored observation, or without one the stored search
        value.

        Args:
            replay: the buffer the rows index (`ReplayBuffer.flatten`).
            bootstrap: `[N, K + 1]` rows the n-step value targets bootstrap from.

        Returns:
            `[N, K + 1]` float64 values.
        """
        if self.target_network is None and not self.config.bootstrap_search:
            return stored_bootstrap_values(replay.flatten(), bootstrap)
        values = np.zeros(bootstrap.shape)
        has = bootstrap >= 0
        # Each state once: positions drawn close together bootstrap from the same rows.
        unique, inverse = np.unique(bootstrap[has], return_inverse=True)
        if not len(unique):
            return values
        if self.config.bootstrap_search:
            states = replay.stored_states(unique)
            fresh = self.search_values(states.observations, states.legal, states.to_play)
        else:
            fresh = self.target_network.initial_inference(replay.observations(unique)).value
        values[has] = np.asarray(fresh, dtype=np.float64).reshape(-1)[inverse]
        return values

    def search_values(
        self, observations: np.ndarray, legal: np.ndarray, to_play: np.ndarray
    ) -> np.ndarray:
        """Return the root values, for the player to play, of one search (no noise) of `B`
        stored states: the run's search with the target network where there is one, else
        with the latest weights (`bootstrap_search`; EfficientZero section 4.3).

        Returns:
            `[B]` float64 root values.
        """
        network = self.network if self.target_network is None else self.target_network
        output = search(self.config, network, observations, legal, to_play)
        return np.asarray(output.root_value, dtype=np.float64)

    # ----- the fresh search ---------------------------------------------------------------
    def reanalyse(self, replay: ReplayBuffer, targets: list[Targets]) -> None:
        """Replace, in place, the policy targets of the searched unroll states of the first
        ``round(reanalyse_fraction * batch_size)`` positions of every batch's `targets` by
        one batched search of them all (`search_policies`).

        Paper appendix H (MuZero Reanalyze): the search is run again on stored states with
        the latest parameters, for fresh policy targets. A search costs mostly its number
        of simulations, not its number of states, so all the batches go in one.
        """
        count = int(round(self.config.reanalyse_fraction * self.config.batch_size))
        if not count:
            return
        rows = np.concatenate([batch.unroll_rows[:count] for batch in targets])
        searched = np.concatenate([batch.searched[:count] for batch in targets])
        unique, inverse = np.unique(rows[searched], return_inverse=True)
        if not len(unique):
            return
        states = replay.stored_states(unique)
        fresh = self.search_policies(states.observations, states.legal, states.to_play)[inverse]
        taken = 0
        for batch in targets:
            mask = batch.searched[:count]
            number = int(mask.sum())
            batch.policies[:count][mask] = fresh[taken : taken + number]
            taken += number

    def search_policies(
        self, observations: np.ndarray, legal: np.ndarray, to_play: np.ndarray
    ) -> np.ndarray:
        """Return the policy targets of one search (no noise) of `B` stored states with the
        latest network: the run's search policy's targets (MuZero: the normalised visit
        counts). Every search of Reanalyze goes through here.

        Args:
            observations: `[B, *observation_shape]` float32 observations.
            legal: `[B, A]` bool legal actions.
            to_play: `[B]` player to play.

        Returns:
            `[B, A]` float32 policy targets.
        """
        output = search(self.config, self.network, observations, legal, to_play)
        return np.asarray(output.policy, dtype=np.float32)
