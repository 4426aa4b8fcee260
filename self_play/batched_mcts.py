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
    masked_softmax,
    normalize,
    select_best,
    ucb_formula,
)

UNEXPANDED = -1


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
            config.num_simulations, config.discount, config.pb_c_base, config.pb_c_init,
            config.dirichlet_alpha, config.root_exploration_fraction,
            bounds.min if bounds else np.inf, bounds.max if bounds else -np.inf,
        )  # fmt: skip


@dataclass
class Tree:
    """`B` search trees of `N` nodes over `A` actions.

    Attributes:
        children: `[B, N, A]` node index of each child, `UNEXPANDED` (-1) if not expanded.
        parent: `[B, N]` node index of the parent (-1 for the root, node 0).
        prior: `[B, N, A]` prior of each child (root priors include the noise).
        visit_count: `[B, N]` visits of each node.
        value_sum: `[B, N]` sum of backed-up values, for the node's player to play.
        reward: `[B, N]` predicted reward of the move into the node.
        to_play: `[B, N]` player to play at the node.
        hidden_state: `[B, N, *H]` hidden state of the node.
        root_legal: `[B, A]` legal actions at the root (all actions are legal deeper).
        minimum, maximum: `[B]` min-max statistics of each tree.
    """

    children: np.ndarray
    parent: np.ndarray
    prior: np.ndarray
    visit_count: np.ndarray
    value_sum: np.ndarray
    reward: np.ndarray
    to_play: np.ndarray
    hidden_state: np.ndarray
    root_legal: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    def value(self, rows: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Return the mean value of nodes (0 if unvisited), indexed by `rows`, `nodes`."""
        visits = self.visit_count[rows, nodes]
        return np.where(visits > 0, self.value_sum[rows, nodes] / np.maximum(visits, 1), 0.0)


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
    batch, num_actions = legal_actions.shape
    tree = _new_tree(config, batch, num_actions, root_output.hidden_state)
    rows = np.arange(batch)
    tree.root_legal = np.asarray(legal_actions, dtype=bool)
    tree.to_play[:, 0] = to_play
    tree.prior[:, 0] = masked_softmax(root_output.policy_logits, tree.root_legal)
    if add_noise is not None and np.any(add_noise):
        _add_exploration_noise(config, tree, np.asarray(add_noise, dtype=bool), rng)

    for simulation in range(config.num_simulations):
        leaf = simulation + 1
        parents, actions = _simulate(config, tree, rows)
        output = network.recurrent_inference(tree.hidden_state[rows, parents], actions)
        _expand(tree, rows, parents, actions, leaf, output, num_players)
        _backward(config, tree, rows, leaf, output.value)

    root_children = tree.children[:, 0]
    visits = np.where(
        root_children >= 0,
        tree.visit_count[rows[:, None], np.maximum(root_children, 0)],
        0,
    )
    return SearchResult(visits, tree.value(rows, np.zeros(batch, dtype=np.int64)))


def _new_tree(config: SearchConfig, batch: int, num_actions: int, root_hidden) -> Tree:
    nodes = config.num_simulations + 1
    hidden = np.zeros((batch, nodes, *root_hidden.shape[1:]), dtype=np.float32)
    hidden[:, 0] = root_hidden
    return Tree(
        children=np.full((batch, nodes, num_actions), UNEXPANDED, dtype=np.int64),
        parent=np.full((batch, nodes), -1, dtype=np.int64),
        prior=np.zeros((batch, nodes, num_actions)),
        visit_count=np.zeros((batch, nodes), dtype=np.int64),
        value_sum=np.zeros((batch, nodes)),
        reward=np.zeros((batch, nodes)),
        to_play=np.zeros((batch, nodes), dtype=np.int64),
        hidden_state=hidden,
        root_legal=np.ones((batch, num_actions), dtype=bool),
        minimum=np.full(batch, config.known_min, dtype=np.float64),
        maximum=np.full(batch, config.known_max, dtype=np.float64),
    )


def _add_exploration_noise(config, tree: Tree, which: np.ndarray, rng) -> None:
    """Mix Dirichlet noise into the legal root priors of the chosen trees.

    Pseudocode: `add_exploration_noise`, one draw per root over its legal actions.
    """
    frac = config.root_exploration_fraction
    for row in np.flatnonzero(which):
        legal = np.flatnonzero(tree.root_legal[row])
        noise = rng.dirichlet([config.dirichlet_alpha] * len(legal))
        tree.prior[row, 0, legal] = tree.prior[row, 0, legal] * (1 - frac) + noise * frac


def _ucb_scores(config: SearchConfig, tree: Tree, rows: np.ndarray, nodes: np.ndarray):
    """Return `[b, A]` UCB scores of the children of `nodes`. Pseudocode: `ucb_score`."""
    children = tree.children[rows, nodes]
    expanded = children >= 0
    safe = np.maximum(children, 0)
    child_visits = np.where(expanded, tree.visit_count[rows[:, None], safe], 0)
    values = child_value(
        tree.reward[rows[:, None], safe],
        tree.value_sum[rows[:, None], safe] / np.maximum(child_visits, 1),
        config.discount,
        tree.to_play[rows[:, None], safe] == tree.to_play[rows, nodes][:, None],
    )
    value_score = np.where(
        child_visits > 0,
        normalize(values, tree.minimum[rows, None], tree.maximum[rows, None]),
        0.0,
    )
    parent_visits = tree.visit_count[rows, nodes][:, None].astype(np.float64)
    scores = ucb_formula(parent_visits, child_visits, tree.prior[rows, nodes], value_score,
                         config.pb_c_base, config.pb_c_init)  # fmt: skip
    # Only legal actions exist at the root (expand_node creates no other children).
    legal = np.where((nodes == 0)[:, None], tree.root_legal[rows], True)
    return np.where(legal, scores, -np.inf)


def _simulate(config: SearchConfig, tree: Tree, rows: np.ndarray):
    """Descend every tree from its root by `select_child` to a child not yet expanded.

    Returns:
        `[B]` parent node of each new leaf and `[B]` action leading to it.
    """
    batch = len(rows)
    nodes = np.zeros(batch, dtype=np.int64)
    parents = np.zeros(batch, dtype=np.int64)
    actions = np.zeros(batch, dtype=np.int64)
    active = rows
    while active.size:
        scores = _ucb_scores(config, tree, active, nodes[active])
        chosen = select_best(scores, tree.prior[active, nodes[active]])
        child = tree.children[active, nodes[active], chosen]
        done = child == UNEXPANDED
        parents[active[done]] = nodes[active[done]]
        actions[active[done]] = chosen[done]
        nodes[active[~done]] = child[~done]
        active = active[~done]
    return parents, actions


def _expand(tree: Tree, rows, parents, actions, leaf: int, output, num_players: int) -> None:
    """Attach node `leaf` to every tree with the network's prediction. Pseudocode: `expand_node`."""
    tree.children[rows, parents, actions] = leaf
    tree.parent[:, leaf] = parents
    tree.to_play[:, leaf] = (tree.to_play[rows, parents] + 1) % num_players
    tree.hidden_state[:, leaf] = output.hidden_state
    tree.reward[:, leaf] = output.reward
    tree.prior[:, leaf] = masked_softmax(output.policy_logits, True)


def _backward(config: SearchConfig, tree: Tree, rows, leaf: int, leaf_values) -> None:
    """Back the leaf values up to the roots. Pseudocode: `backpropagate`."""
    nodes = np.full(len(rows), leaf, dtype=np.int64)
    values = np.asarray(leaf_values, dtype=np.float64)
    active = rows
    while active.size:
        node = nodes[active]
        tree.value_sum[active, node] += values[active]
        tree.visit_count[active, node] += 1
        parent = tree.parent[active, node]
        same_player = (parent < 0) | (
            tree.to_play[active, np.maximum(parent, 0)] == tree.to_play[active, node]
        )
        reward = tree.reward[active, node]
        q = child_value(reward, tree.value(active, node), config.discount, same_player)
        tree.maximum[active] = np.maximum(tree.maximum[active], q)
        tree.minimum[active] = np.minimum(tree.minimum[active], q)
        values[active] = child_value(reward, values[active], config.discount, same_player)
        nodes[active] = parent
        active = active[parent >= 0]
