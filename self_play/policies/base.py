"""What the search seam asks of a search policy, a member of the MuZero family."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from self_play.batched_mcts import RootStatistics, Tree


class SearchPolicy(abc.ABC):
    """The parts of a search that differ between MuZero, Gumbel MuZero and their kin.

    Shaped like mctx's policies (`mctx/_src/policies.py`): the batched search
    (`self_play.batched_mcts.run_batched_search`) calls `root_noise` and `root_prior` once,
    `select_root` and `select_interior` at every step down the trees, and the search entry
    (`self_play.search`) calls `act` on the roots' statistics for the action to play
    and the policy target to train on. A policy is made for one search from the run's config
    (`self_play.policies.make_search_policy`), so it may precompute what a search needs.

    A policy registered at run time (`register_search_policy`) is known to this process
    only: Ray actors (`num_actors` >= 1) import the package afresh, so a policy they run
    must have its entry in `SEARCH_POLICIES` itself.

    Args:
        config: the run's config (the policy reads its own settings from it).
    """

    def __init__(self, config: Any):
        self.config = config

    def root_noise(self, legal: np.ndarray, rng: np.random.Generator | None,
                   add_noise: np.ndarray) -> np.ndarray:  # fmt: skip
        """Return the `[B, A]` noise the policy keeps beside the root priors, drawn once a
        search before `root_prior` (Gumbel MuZero's ``g``); by default none (zeros, no draw).

        Args:
            legal: `[B, A]` bool legal actions.
            rng: the source of exploration noise.
            add_noise: `[B]` bool, the roots that explore.
        """
        return np.zeros(legal.shape)

    @abc.abstractmethod
    def root_prior(self, logits: np.ndarray, legal: np.ndarray, rng: np.random.Generator | None,
                   add_noise: np.ndarray) -> np.ndarray:  # fmt: skip
        """Return the `[B, A]` priors of the roots (0 for illegal actions).

        Args:
            logits: `[B, A]` the network's policy logits at the roots.
            legal: `[B, A]` bool legal actions.
            rng: the source of exploration noise.
            add_noise: `[B]` bool, the roots that explore.
        """

    @abc.abstractmethod
    def select_interior(self, tree: Tree, nodes: np.ndarray, trees: np.ndarray) -> np.ndarray:
        """Return the `[M]` edge to descend from each of `nodes` (`[M]` rows of `tree`,
        interior nodes of the trees `trees`)."""

    @abc.abstractmethod
    def select_root(self, tree: Tree, nodes: np.ndarray, trees: np.ndarray) -> np.ndarray:
        """Return the `[B]` edge to descend from each root (`nodes`, of the trees `trees`),
        never an illegal one (``tree.illegal[nodes]`` is -inf there)."""

    @abc.abstractmethod
    def act(self, roots: RootStatistics, rng: np.random.Generator | None,
            temperature: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Return the `[B]` actions to play and the `[B, A]` float32 policy targets.

        Args:
            roots: what the search found at the roots.
            rng: the source of any sampling of the action.
            temperature: `[B]` the acting temperature of each root (0: greedy).
        """

    def reference_root(self, network: Any, observation: np.ndarray, legal: np.ndarray,
                       to_play: int, rng: np.random.Generator | None,
                       add_noise: bool) -> RootStatistics:  # fmt: skip
        """Search one position node by node (``config.search == "reference"``) and return
        its statistics as a batch of one: the specification the batched search is tested
        against. A policy without one cannot run with ``search = "reference"``."""
        raise NotImplementedError(f"{type(self).__name__} has no reference search")
