"""Gumbel MuZero's search policy (Danihelka, Guez, Schrittwieser and Silver, "Policy
improvement by planning with Gumbel", ICLR 2022).

At the root: Gumbel noise ``g`` added once to the prior logits, the top ``m`` actions of
``g + logits`` considered (Gumbel-Top-k, section 3), and Sequential Halving (Karnin et al.,
2013; the paper's section 3.2 and Algorithm 2) spending the simulations on them, keeping at
the end of each phase the better half by ``g + logits + sigma(completedQ)``. The action
played is the winner by that score (no temperature, no Dirichlet noise: ``g`` is the
exploration). The policy target is the improved policy ``softmax(logits + sigma(completedQ))``
(section 4, eq. 11), which improves on the prior for any number of simulations. Below the
root the deterministic selection of section 5 (eq. 14) picks the action whose improved
policy most exceeds its share of the visits.

The formulas are written once here for `[..., A]` arrays and named as in the paper; the
batched search runs `GumbelPolicy`, and the reference search (`self_play.gumbel_mcts`, node
by node) writes the same rules in plain Python, the specification the batched one is tested
against. The reference implementation is mctx's ``gumbel_muzero_policy``
(``mctx/_src/policies.py``, ``action_selection.py``, ``qtransforms.py``,
``seq_halving.py``); where this module differs from it, the docstring says so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from self_play.policies.base import SearchPolicy
from self_play.search_math import masked_softmax

if TYPE_CHECKING:
    from self_play.batched_mcts import RootStatistics, Tree

#: The smallest range of completed Q-values rescaled to [0, 1] (mctx's ``epsilon``).
RESCALE_EPSILON = 1e-8


def sequential_halving(num_considered: int, num_simulations: int) -> tuple[list[int], list[int]]:
    """Return Sequential Halving's schedule: for each simulation `s`, the number ``k_s`` of
    actions still considered and the visits ``v_s`` each of them has had before it.

    With ``m = num_considered`` and ``n = num_simulations``: ``ceil(log2 m)`` phases; in a
    phase of ``k`` actions each gets ``max(1, floor(n / (ceil(log2 m) * k)))`` more visits,
    one round after another; then ``k`` halves (never below 2) and the phases go on until the
    `n` simulations are spent (the paper's section 3.2; mctx's
    ``get_sequence_of_considered_visits``). With ``m = 1`` every simulation visits the one
    action. Example, ``(m, n) = (4, 16)``: 4 actions 2 visits each, then 2 actions 4 more
    each; ``v = 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5``.
    """
    if num_considered <= 1:
        return [1] * num_simulations, list(range(num_simulations))
    phases = math.ceil(math.log2(num_considered))
    sizes: list[int] = []
    visits: list[int] = []
    size, done = num_considered, 0
    while len(sizes) < num_simulations:
        for _ in range(max(1, num_simulations // (phases * size))):
            sizes += [size] * size
            visits += [done] * size
            done += 1
        size = max(2, size // 2)
    return sizes[:num_simulations], visits[:num_simulations]


def mixed_value(raw_value: np.ndarray, q: np.ndarray, visits: np.ndarray,
                prior: np.ndarray) -> np.ndarray:  # fmt: skip
    """Return ``v_mix``, the paper's estimate of a node's value (appendix D, eq. 33):

    ``v_mix = (v_hat + (sum_b N(b)) * sum_{a: N(a)>0} pi(a) q(a) / sum_{a: N(a)>0} pi(a))
    / (1 + sum_b N(b))``

    the network's value `raw_value` (``v_hat``) mixed with the prior-weighted mean of the
    visited children's Q-values; ``v_hat`` alone before any child is visited. Priors are
    floored at the smallest float so that a visited child of prior 0 still counts (mctx).

    Args:
        raw_value: `[...]` the network's value of each node, for its player to play.
        q, visits, prior: `[..., A]` each child's Q-value seen from the node (only read where
            visited), visit count and prior.
    """
    visited = visits > 0
    weights = np.where(visited, np.maximum(prior, np.finfo(np.float64).tiny), 0.0)
    total_weight = weights.sum(axis=-1)
    weighted_q = (weights * np.where(visited, q, 0.0)).sum(axis=-1) / np.where(
        total_weight > 0, total_weight, 1.0
    )
    total_visits = visits.sum(axis=-1)
    return (raw_value + total_visits * weighted_q) / (total_visits + 1)


def completed_q(raw_value: np.ndarray, q: np.ndarray, visits: np.ndarray,
                prior: np.ndarray) -> np.ndarray:  # fmt: skip
    """Return ``completedQ(a)``: ``q(a)`` for a visited child, ``v_mix`` for the others
    (paper eq. 10 with the mixed value of appendix D). Arguments as `mixed_value`'s."""
    fill = mixed_value(raw_value, q, visits, prior)[..., None]
    return np.where(visits > 0, q, fill)


def sigma(completed: np.ndarray, visits: np.ndarray, legal: np.ndarray | bool,
          c_visit: float, c_scale: float) -> np.ndarray:  # fmt: skip
    """Return ``sigma(completedQ) = (c_visit + max_b N(b)) * c_scale * completedQ``, with
    completedQ first rescaled to [0, 1] over the node's legal children (paper eq. 8;
    mctx's ``qtransform_completed_by_mix_value``). 0 for illegal children.

    The rescaling is min-max over the node's own children, ``(Q - min) / max(max - min,
    1e-8)``, as mctx does (its illegal root actions take part in its min and max, at
    ``v_mix``; here only legal actions do). All equal values rescale to 0.

    Args:
        completed: `[..., A]` completed Q-values.
        visits: `[..., A]` visit counts of the children.
        legal: `[..., A]` bool, or True where every child is legal (below the root).
    """
    legal = np.broadcast_to(legal, completed.shape)
    low = np.where(legal, completed, np.inf).min(axis=-1, keepdims=True)
    high = np.where(legal, completed, -np.inf).max(axis=-1, keepdims=True)
    rescaled = np.where(legal, (completed - low) / np.maximum(high - low, RESCALE_EPSILON), 0.0)
    return (c_visit + visits.max(axis=-1, keepdims=True)) * c_scale * rescaled


def log_prior(prior: np.ndarray) -> np.ndarray:
    """Return the logits of `prior` up to a constant a row, ``log pi`` (-inf where 0).

    A softmax and an argmax of ``logits + x`` equal those of ``log pi + x``, so the tree
    keeps priors only."""
    with np.errstate(divide="ignore"):
        return np.log(prior)


def first_argmax(scores: np.ndarray) -> np.ndarray:
    """Return the index of the largest score along the last axis; ties go to the SMALLER
    index (numpy's and mctx's argmax, the tie rule of every choice of Gumbel MuZero here)."""
    return np.argmax(scores, axis=-1)


def top_k_mask(scores: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Return the `[B, A]` mask of the `k[b]` best scores of each row (ties: smaller index).

    Scores of -inf rank last, so a row with fewer finite scores than `k` keeps them all
    and some -inf ones, which the caller masks."""
    order = np.argsort(-scores, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[-1])[None], axis=-1)
    return ranks < np.asarray(k)[:, None]


class GumbelPolicy(SearchPolicy):
    """Gumbel MuZero on the search seam (mctx: ``gumbel_muzero_policy``).

    Reads `num_simulations`, `gumbel_scale`, `max_considered_actions`, `gumbel_c_visit`
    and `gumbel_c_scale` of the config. The acting temperature is ignored: the Gumbel noise
    explores, and a search without exploration noise (evaluation) acts greedily by the
    score. Two players: every Q-value is seen from the player to play at its node, as in
    MuZero's search (the tree's `q` already is).
    """

    def __init__(self, config: Any):
        super().__init__(config)
        # Sequential Halving's schedule for every number of considered actions m.
        schedules = [sequential_halving(m, config.num_simulations)
                     for m in range(config.max_considered_actions + 1)]  # fmt: skip
        self.phase_size = np.array([sizes for sizes, _ in schedules], dtype=np.int64)
        self.phase_visits = np.array([visits for _, visits in schedules], dtype=np.int64)
        self.remaining: np.ndarray | None = None  # [B, A] the actions Sequential Halving keeps

    def root_noise(self, legal, rng, add_noise) -> np.ndarray:
        """Return ``g = gumbel_scale * Gumbel(0, 1)`` for each action of the exploring roots
        (one draw of `A` a root, in order), 0 elsewhere and when `gumbel_scale` is 0."""
        noise = np.zeros(legal.shape)
        if self.config.gumbel_scale > 0:
            for row in np.flatnonzero(add_noise):
                noise[row] = self.config.gumbel_scale * rng.gumbel(size=legal.shape[1])
        return noise

    def root_prior(self, logits, legal, rng, add_noise) -> np.ndarray:
        """Return the softmax over the legal actions: no Dirichlet noise (``g`` explores)."""
        return masked_softmax(logits, legal)

    def transformed_q(self, raw_value, q, visits, prior, legal) -> np.ndarray:
        """Return ``sigma(completedQ)`` of `[..., A]` children (see `sigma`)."""
        completed = completed_q(raw_value, q, visits, prior)
        return sigma(completed, visits, legal, self.config.gumbel_c_visit,
                     self.config.gumbel_c_scale)  # fmt: skip

    def _children(self, tree: Tree, nodes: np.ndarray, legal) -> tuple[np.ndarray, np.ndarray]:
        """Return the `[M, A]` visit counts and ``sigma(completedQ)`` of the children."""
        children = tree.children[nodes]
        visits = tree.visit_count[children]
        return visits, self.transformed_q(tree.raw_value[nodes], tree.q[children], visits,
                                          tree.prior[nodes], legal)  # fmt: skip

    def select_root(self, tree: Tree, nodes, trees) -> np.ndarray:
        """Return the root action of this simulation: Sequential Halving over Gumbel-Top-m.

        Simulation `s` (the root's visits so far) of a root with `m` considered actions
        first keeps the ``k_s`` best of the remaining actions by ``g + logits +
        sigma(completedQ)`` (at ``s = 0``, where sigma is the same for all, the top `m` of
        ``g + logits``: Gumbel-Top-k; later, the halving at each phase's start), then visits
        the best of those that have had ``v_s`` visits (`sequential_halving`). Which of a
        round's actions goes first changes nothing but the node numbering, as no rule below
        the root reads a sibling's subtree. mctx instead picks the next phase's actions one
        a simulation by the score then, with no set kept.
        """
        legal = np.isfinite(tree.illegal[nodes])
        visits, sigma_q = self._children(tree, nodes, legal)
        score = np.where(legal, tree.root_noise[trees] + log_prior(tree.prior[nodes]) + sigma_q,
                         -np.inf)  # fmt: skip
        simulation = tree.visit_count[nodes]
        if self.remaining is None or not simulation.any():
            self.remaining = legal.copy()
        considered = np.minimum(self.config.max_considered_actions, legal.sum(axis=-1))
        size = self.phase_size[considered, simulation]
        self.remaining &= top_k_mask(np.where(self.remaining, score, -np.inf), size)
        due = self.remaining & (visits == self.phase_visits[considered, simulation][:, None])
        return first_argmax(np.where(due, score, -np.inf))

    def select_interior(self, tree: Tree, nodes, trees) -> np.ndarray:
        """Return ``argmax_a (pi'(a) - N(a) / (1 + sum_b N(b)))`` with the improved policy
        ``pi' = softmax(logits + sigma(completedQ))`` (paper section 5, eq. 14; mctx:
        ``gumbel_muzero_interior_action_selection``)."""
        visits, sigma_q = self._children(tree, nodes, True)
        improved = masked_softmax(log_prior(tree.prior[nodes]) + sigma_q, True)
        return first_argmax(improved - visits / (1.0 + visits.sum(axis=-1, keepdims=True)))

    def act(self, roots: RootStatistics, rng, temperature) -> tuple[np.ndarray, np.ndarray]:
        """Play the winner; train on the improved policy ``softmax(logits + sigma(completedQ))``.

        The winner: of the most visited actions (the last phase's, which Sequential Halving
        left), the best by ``g + logits + sigma(completedQ)`` (mctx acts so too; with fewer
        simulations than considered actions, only visited actions can win). The target is
        over the legal actions (paper eq. 11).
        """
        visits = roots.visit_counts
        sigma_q = self.transformed_q(roots.raw_value, roots.child_q, visits, roots.prior,
                                     roots.legal)  # fmt: skip
        logits = log_prior(roots.prior)
        finalists = roots.legal & (visits == visits.max(axis=-1, keepdims=True))
        actions = first_argmax(np.where(finalists, roots.noise + logits + sigma_q, -np.inf))
        target = masked_softmax(logits + sigma_q, roots.legal).astype(np.float32)
        return actions, target

    def reference_root(self, network, observation, legal, to_play, rng, add_noise):
        """Run the reference Gumbel search (`self_play.gumbel_mcts`) on one position."""
        from self_play.gumbel_mcts import gumbel_reference_root

        return gumbel_reference_root(self.config, network, observation, legal, to_play, rng,
                                     add_noise)  # fmt: skip
