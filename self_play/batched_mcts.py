"""The batched search: `B` trees searched in lockstep, one network call per simulation.

Same algorithm as the reference search (`self_play.mcts`), with the trees held as a struct
of numpy arrays (in the spirit of mctx's `Tree`). Every simulation adds exactly one node to
every tree, so simulation `s` creates node `s + 1` and all trees have the same node count.
The formulas are the shared ones of `self_play.search_math`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from networks import Network
from self_play.search_math import (
    child_value,
    exploration_weight,
    masked_softmax,
    normalization,
    select_best,
    ucb_formula,
)


@dataclass
class SearchConfig:
    """The search settings of `MuZeroConfig` the batched search reads."""

    num_simulations: int
    discount: float
    pb_c_base: float
    pb_c_init: float
    dirichlet_alpha: float
    root_exploration_fraction: float
    known_min: float
    known_max: float

    @classmethod
    def from_config(cls, config) -> SearchConfig:
        bounds = config.known_bounds
        return cls(
            config.num_simulations,
            config.discount,
            config.pb_c_base,
            config.pb_c_init,
            config.dirichlet_alpha,
            config.root_exploration_fraction,
            bounds.min if bounds else np.inf,
            bounds.max if bounds else -np.inf,
        )


@dataclass
class Tree:
    """`B` search trees of `N` nodes over `A` actions, as a struct of arrays.

    Logically every field is `[B, N, ...]`; it is stored flattened to `[B * N + 1, ...]`:
    node `n` of tree `b` is row ``b * N + n`` (the root of tree `b` is row ``b * N``), and
    the last row, `null`, is a node that is never visited and stands for every child not
    yet expanded, so looking children up needs no masks.

    Attributes:
        children: `[B*N+1, A]` row of each child, `null` if not expanded.
        parent: `[B*N+1]` row of the parent (-1 for a root).
        prior: `[B*N+1, A]` prior of each child (root priors include the noise).
        illegal: `[B*N+1, A]` 0 for a child that may be selected, -inf for an illegal
            action at a root (deeper in the tree every action is legal).
        visit_count: `[B*N+1]` visits of each node.
        value_sum: `[B*N+1]` sum of backed-up values, for the node's player to play.
        reward: `[B*N+1]` predicted reward of the move into the node.
        q: `[B*N+1]` the node's value seen from its parent, ``reward + discount * (+-value)``,
            kept up to date by `_backward` (the value `ucb_score` normalises).
        to_play: `[B*N+1]` player to play at the node.
        hidden_state: `[B*N+1, *H]` hidden state of the node.
        minimum, maximum: `[B]` min-max statistics of each tree.
    """

    children: np.ndarray
    parent: np.ndarray
    prior: np.ndarray
    illegal: np.ndarray
    visit_count: np.ndarray
    value_sum: np.ndarray
    reward: np.ndarray
    q: np.ndarray
    to_play: np.ndarray
    hidden_state: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @property
    def null(self) -> int:
        return len(self.visit_count) - 1

    def value(self, nodes: np.ndarray) -> np.ndarray:
        """Return the mean value of `nodes` (0 if unvisited). Pseudocode: `Node.value`."""
        return self.value_sum[nodes] / np.maximum(self.visit_count[nodes], 1)

    @classmethod
    def new(cls, config: SearchConfig, batch: int, num_actions: int, hidden_shape) -> Tree:
        rows = batch * (config.num_simulations + 1) + 1
        return cls(
            children=np.full((rows, num_actions), rows - 1, dtype=np.int64),
            parent=np.full(rows, -1, dtype=np.int64),
            prior=np.zeros((rows, num_actions)),
            illegal=np.zeros((rows, num_actions)),
            visit_count=np.zeros(rows, dtype=np.int64),
            value_sum=np.zeros(rows),
            reward=np.zeros(rows),
            q=np.zeros(rows),
            to_play=np.zeros(rows, dtype=np.int64),
            hidden_state=np.zeros((rows, *hidden_shape), dtype=np.float32),
            minimum=np.full(batch, config.known_min, dtype=np.float64),
            maximum=np.full(batch, config.known_max, dtype=np.float64),
        )


@dataclass
class SearchResult:
    """Root statistics of a batched search: `visit_counts` `[B, A]`, `root_values` `[B]`."""

    visit_counts: np.ndarray
    root_values: np.ndarray


def run_batched_mcts(
    config: SearchConfig,
    network: Network,
    observations: np.ndarray,
    legal_actions: np.ndarray,
    to_play: np.ndarray,
    num_players: int,
    rng: np.random.Generator | None = None,
    add_noise: np.ndarray | None = None,
) -> SearchResult:
    """Search `B` positions at once: the pseudocode's root expansion, noise and `run_mcts`.

    Args:
        config: search settings (`SearchConfig.from_config`).
        network: answers one batched inference per simulation.
        observations: `[B, *observation_shape]` root observations.
        legal_actions: `[B, A]` bool, the legal moves at each root.
        to_play: `[B]` player to play at each root.
        num_players: players alternate ``0 .. num_players - 1`` along a search path.
        rng: source of the root noise (needed when any `add_noise`).
        add_noise: `[B]` bool, which roots get Dirichlet noise (None: none).

    Returns:
        Root visit counts and root values, as the reference search computes them.
    """
    root_output = network.initial_inference(observations)
    legal = np.asarray(legal_actions, dtype=bool)
    batch, num_actions = legal.shape
    tree = Tree.new(config, batch, num_actions, root_output.hidden_state.shape[1:])
    roots = np.arange(batch) * (config.num_simulations + 1)
    tree.hidden_state[roots] = root_output.hidden_state
    tree.to_play[roots] = to_play
    tree.prior[roots] = masked_softmax(root_output.policy_logits, legal)
    tree.illegal[roots] = np.where(legal, 0.0, -np.inf)
    if add_noise is not None and np.any(add_noise):
        _add_exploration_noise(config, tree, roots[np.asarray(add_noise, dtype=bool)], rng)
    # With one player the sign never flips: skip the comparisons of `to_play`.
    single_player = num_players == 1
    # A parent's exploration weight depends on its visit count only: one table per search.
    weights = exploration_weight(
        np.arange(config.num_simulations + 1), config.pb_c_base, config.pb_c_init
    )

    for simulation in range(config.num_simulations):
        leaves = roots + simulation + 1
        parents, actions = _simulate(config, tree, roots, weights)
        output = network.recurrent_inference(tree.hidden_state[parents], actions)
        _expand(tree, parents, actions, leaves, output, num_players)
        _backward(config, tree, leaves, output.value, single_player)

    return SearchResult(tree.visit_count[tree.children[roots]], tree.value(roots))


def _add_exploration_noise(config, tree: Tree, roots: np.ndarray, rng) -> None:
    """Mix Dirichlet noise into the legal priors of `roots`.

    Pseudocode: `add_exploration_noise`, one draw per root over its legal actions.
    """
    frac = config.root_exploration_fraction
    for root in roots:
        legal = np.flatnonzero(tree.illegal[root] == 0)
        noise = rng.dirichlet([config.dirichlet_alpha] * len(legal))
        tree.prior[root, legal] = tree.prior[root, legal] * (1 - frac) + noise * frac


def _simulate(config: SearchConfig, tree: Tree, roots: np.ndarray, weights: np.ndarray):
    """Descend every tree from its root by `select_child` to a child not yet expanded.

    Pseudocode: the selection loop of `run_mcts`, with `select_child` and `ucb_score`.

    Args:
        weights: `exploration_weight` of every visit count a parent can have.

    Returns:
        `[B]` row of each new leaf's parent and `[B]` action leading to the leaf.
    """
    batch = len(roots)
    parents = np.zeros(batch, dtype=np.int64)
    actions = np.zeros(batch, dtype=np.int64)
    active = np.arange(batch)  # trees still descending
    positions = np.arange(batch)
    nodes = roots.copy()  # their current node
    null = tree.null
    # The min-max statistics only change in `_backward`: fix the normalisation per tree now.
    offset, scale = normalization(tree.minimum[:, None], tree.maximum[:, None])
    while active.size:
        children = tree.children[nodes]
        visits = tree.visit_count[children]
        value_score = np.where(visits > 0, (tree.q[children] - offset[active]) / scale[active], 0)
        priors = tree.prior[nodes]
        weight = weights[tree.visit_count[nodes]][:, None]
        scores = ucb_formula(weight, visits, priors, value_score) + tree.illegal[nodes]
        chosen = select_best(scores, priors)
        child = children[positions[: len(nodes)], chosen]
        # Written for every tree still descending; the last write is the leaf's.
        parents[active] = nodes
        actions[active] = chosen
        deeper = child != null
        active, nodes = active[deeper], child[deeper]
    return parents, actions


def _expand(tree: Tree, parents, actions, leaves, output, num_players: int) -> None:
    """Attach the new leaves with the network's prediction. Pseudocode: `expand_node`."""
    tree.children[parents, actions] = leaves
    tree.parent[leaves] = parents
    tree.to_play[leaves] = (tree.to_play[parents] + 1) % num_players
    tree.hidden_state[leaves] = output.hidden_state
    tree.reward[leaves] = output.reward
    tree.prior[leaves] = masked_softmax(output.policy_logits, True)


def _backward(config: SearchConfig, tree: Tree, leaves, leaf_values, single_player: bool):
    """Back the leaf values up to the roots. Pseudocode: `backpropagate`."""
    active = np.arange(len(leaves))  # trees whose walk has not passed the root
    nodes = leaves
    values = np.asarray(leaf_values, dtype=np.float64)
    while active.size:
        value_sum = tree.value_sum[nodes] + values
        visit_count = tree.visit_count[nodes] + 1
        tree.value_sum[nodes] = value_sum
        tree.visit_count[nodes] = visit_count
        parents = tree.parent[nodes]
        if single_player:
            same_player = True
        else:
            same_player = (parents < 0) | (tree.to_play[parents] == tree.to_play[nodes])
        reward = tree.reward[nodes]
        q = child_value(reward, value_sum / visit_count, config.discount, same_player)
        tree.q[nodes] = q
        tree.maximum[active] = np.maximum(tree.maximum[active], q)
        tree.minimum[active] = np.minimum(tree.minimum[active], q)
        values = child_value(reward, values, config.discount, same_player)
        up = parents >= 0
        active, nodes, values = active[up], parents[up], values[up]
