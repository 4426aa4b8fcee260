"""MuZero's search policy: pUCT over every action (Schrittwieser et al., 2019, appendix B).

Dirichlet noise mixed into the root priors when exploring, the pUCT rule at every node,
an action sampled from the root's visit counts at a temperature, and the normalised visit
counts as the policy target. The formulas are `self_play.search_math`'s, which the
reference search (`self_play.mcts`) calls too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from self_play.policies.base import SearchPolicy
from self_play.search_math import (
    argmax_last,
    child_value,
    exploration_weight,
    masked_softmax,
    sample_actions,
    select_best,
    ucb_formula,
    visit_count_policy,
)

if TYPE_CHECKING:
    from self_play.batched_mcts import RootStatistics, Tree


class MuZeroPolicy(SearchPolicy):
    """The paper's search. Pseudocode: `add_exploration_noise`, `select_child`,
    `ucb_score`, `select_action`, `store_search_statistics`.

    Reads `dirichlet_alpha`, `root_exploration_fraction`, `pb_c_base`, `pb_c_init` and
    `num_simulations` of the config.
    """

    def __init__(self, config: Any):
        super().__init__(config)
        # A parent's exploration weight depends on its visit count only: one table a search.
        self.weights = exploration_weight(
            np.arange(config.num_simulations + 1), config.pb_c_base, config.pb_c_init
        )

    def root_prior(self, logits, legal, rng, add_noise) -> np.ndarray:
        """Return the softmax over the legal actions, with Dirichlet noise where asked.

        Pseudocode: `expand_node` and `add_exploration_noise`, one draw per root over its
        legal actions (paper appendix C: ``alpha`` and the exploration fraction).
        """
        priors = masked_softmax(logits, legal)
        frac = self.config.root_exploration_fraction
        for row in np.flatnonzero(add_noise):
            actions = np.flatnonzero(legal[row])
            noise = rng.dirichlet([self.config.dirichlet_alpha] * len(actions))
            priors[row, actions] = priors[row, actions] * (1 - frac) + noise * frac
        return priors

    def select_root(self, tree: Tree, nodes, trees) -> np.ndarray:
        """Return the pUCT choice at the roots, among their legal actions."""
        return self._puct(tree, nodes, trees, tree.illegal[nodes])

    def select_interior(self, tree: Tree, nodes, trees) -> np.ndarray:
        """Return the pUCT choice below the roots (every action is legal there)."""
        return self._puct(tree, nodes, trees, None)

    def _puct(self, tree: Tree, nodes, trees, illegal) -> np.ndarray:
        """Return the child of highest pUCT score of each node. Pseudocode: `select_child`.

        The value score is the child's `q` normalised by its tree's min-max statistics, 0
        for an unvisited child (`ucb_score`); ties go to the larger prior (`select_best`).
        """
        children = tree.children[nodes]
        visits = tree.visit_count[children]
        offset, scale = tree.offset[trees][:, None], tree.scale[trees][:, None]
        value_score = np.where(visits > 0, (tree.q[children] - offset) / scale, 0)
        priors = tree.prior[nodes]
        weight = self.weights[tree.visit_count[nodes]][:, None]
        scores = ucb_formula(weight, visits, priors, value_score)
        if illegal is not None:
            scores = scores + illegal
        return select_best(scores, priors)

    def act(self, roots: RootStatistics, rng, temperature) -> tuple[np.ndarray, np.ndarray]:
        """Sample each root's action by ``N(a)^(1/T)``; the target is ``N(a) / sum_b N(b)``.

        Pseudocode: `select_action` (its `softmax_sample`) and `store_search_statistics`.
        One draw a root, in order, where T > 0; where T = 0 the most visited action (ties: the
        larger action), no draw.
        """
        actions = argmax_last(roots.visit_counts)  # T = 0: the most visited action
        for row in np.flatnonzero(temperature != 0):
            actions[row] = sample_actions(roots.visit_counts[row][None], temperature[row], rng)[0]
        return actions, visit_count_policy(roots.visit_counts)

    def reference_root(self, network, observation, legal, to_play, rng, add_noise):
        """Run the reference search (`self_play.mcts`, the pseudocode) on one position."""
        from game import ActionHistory
        from self_play.batched_mcts import RootStatistics
        from self_play.mcts import search_root

        config = self.config
        history = ActionHistory([], config.action_space_size, config.num_players, to_play)
        root = search_root(config, network, observation, np.flatnonzero(legal).tolist(),
                           history, rng, add_noise)  # fmt: skip
        visits = np.zeros((1, len(legal)), dtype=np.int64)
        prior, child_q = np.zeros((1, len(legal))), np.zeros((1, len(legal)))
        for action, child in root.children.items():
            visits[0, action] = child.visit_count
            prior[0, action] = child.prior
            if child.visit_count:
                child_q[0, action] = child_value(child.reward, child.value(), self.config.discount,
                                                 child.to_play == root.to_play)  # fmt: skip
        raw_value = np.array([root.raw_value])
        return RootStatistics(visits, np.array([root.value()]), prior, child_q, raw_value,
                              np.zeros_like(prior), legal[None].copy())  # fmt: skip
