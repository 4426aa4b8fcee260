"""The batched search: `B` trees searched in lockstep, one network call per simulation.

The search is shaped like mctx's (`mctx/_src/search.py`): a struct-of-arrays `Tree`, a
`RootOutput` of the root's inference, a recurrent function that gives every new edge its
`reward`, `discount`, `prior_logits` and `value`, and a search policy
(`self_play.policies.SearchPolicy`) that sets the root's priors, selects an action at the
root and at interior nodes, and turns the root's statistics into an action and a policy
target. `run_batched_search` -> `_simulate` -> `_expand` -> `_backward` (mctx: `search`,
`simulate`, `expand`, `backward`) are the same for every policy.

Every simulation adds exactly one node to every tree, so simulation `s` creates node
``s + 1`` and all trees have the same node count. The formulas are the shared ones of
`self_play.search_math`, so the search equals the reference search (`self_play.mcts`) that
the pseudocode defines. This module needs numpy only (no TensorFlow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from self_play.search_math import masked_softmax, normalization

if TYPE_CHECKING:
    from self_play.policies import SearchPolicy


class RootOutput(NamedTuple):
    """The root's inference (mctx: `RootFnOutput`).

    Attributes:
        prior_logits: `[B, A]` policy logits at each root.
        value: `[B]` the network's value of each root, for the player to play.
        hidden_state: `[B, *H]` hidden state of each root.
    """

    prior_logits: np.ndarray
    value: np.ndarray
    hidden_state: np.ndarray


class RecurrentOutput(NamedTuple):
    """What the recurrent function gives each new edge (mctx: `RecurrentFnOutput`).

    Attributes:
        reward: `[B]` reward of the move into the new node, for the player who made it.
        discount: `[B]` factor of the new node's value seen from its parent: the config's
            discount, negated where the player to play changes (two players), so that a
            child's value from its parent is always ``reward + discount * value``.
        prior_logits: `[B, A]` policy logits at the new node.
        value: `[B]` the network's value of the new node, for its player to play.
    """

    reward: np.ndarray
    discount: np.ndarray
    prior_logits: np.ndarray
    value: np.ndarray


#: ``recurrent_fn(hidden_states [B, *H], actions [B]) -> (RecurrentOutput, hidden [B, *H])``.
RecurrentFn = Callable[[np.ndarray, np.ndarray], tuple[RecurrentOutput, np.ndarray]]


class RootStatistics(NamedTuple):
    """What a search knows of its roots' children when it ends, for the policy to act on.

    Attributes:
        visit_counts: `[B, A]` int64 visits of each root child.
        value: `[B]` each root's mean backed-up value, for the player to play.
        prior: `[B, A]` the root priors searched with (noise included, 0 for illegal).
        child_q: `[B, A]` each visited child's value seen from the root,
            ``reward + discount * value`` (0 for unvisited children).
        raw_value: `[B]` the network's value of each root, for the player to play.
        noise: `[B, A]` the noise the policy drew for the root's actions beside their
            priors (`SearchPolicy.root_noise`: Gumbel MuZero's ``g``; 0 for MuZero, whose
            Dirichlet noise is in `prior`).
        legal: `[B, A]` bool, the legal actions at each root.
    """

    visit_counts: np.ndarray
    value: np.ndarray
    prior: np.ndarray
    child_q: np.ndarray
    raw_value: np.ndarray
    noise: np.ndarray
    legal: np.ndarray


@dataclass
class Tree:
    """`B` search trees of `N` nodes over `A` edges each, as a struct of arrays.

    Logically every field is `[B, N, ...]`; it is stored flattened to `[B * N + 1, ...]`:
    node `n` of tree `b` is row ``b * N + n`` (the root of tree `b` is row ``b * N``), and
    the last row, `null`, is a node that is never visited and stands for every child not
    yet expanded, so looking children up needs no masks.

    A node's edges are its `A` slots. Today slot `a` is action `a` for every node; the seam
    leaves room for a node's own set of actions and for a second kind of node, without
    building them. A sampled search would add a ``child_action`` field mapping each node's
    `K` slots to the actions it sampled, feed ``child_action[parents, slots]`` (float
    vectors for continuous actions) to the recurrent function instead of the slots, and
    return its policy target over the root's sampled actions (`RootStatistics` and
    `SearchOutput` then gain the root's actions, and `store_search_statistics` stores
    them). Chance nodes would add a ``kind`` field (decision or chance), a recurrent function
    per kind (dynamics from a decision node, afterstate dynamics into a chance node), and a
    selection rule for chance nodes beside the policy's `select_root` and `select_interior`.
    `raw_value` (the network's value of every node), `root_noise` and
    `RootStatistics.child_q` are kept for policies that mix them into their choices and
    targets, as Gumbel MuZero's completed Q-values do (`self_play.policies.gumbel`).

    Attributes:
        children: `[B*N+1, A]` row of each child, `null` if not expanded.
        parent: `[B*N+1]` row of the parent (-1 for a root).
        prior: `[B*N+1, A]` prior of each child (root priors include the noise).
        illegal: `[B*N+1, A]` 0 for a child that may be selected, -inf for an illegal
            action at a root (deeper in the tree every action is legal).
        visit_count: `[B*N+1]` visits of each node.
        value_sum: `[B*N+1]` sum of backed-up values, for the node's player to play.
        raw_value: `[B*N+1]` the network's value of each node, for its player to play.
        reward: `[B*N+1]` predicted reward of the move into the node.
        discount: `[B*N+1]` discount of the edge into the node (`RecurrentOutput.discount`;
            a root's is the config's discount, for its min-max statistics).
        q: `[B*N+1]` the node's value seen from its parent, ``reward + discount * value``,
            kept up to date by `_backward` (the value `ucb_score` normalises).
        hidden_state: `[B*N+1, *H]` hidden state of the node.
        minimum, maximum: `[B]` min-max statistics of each tree (pseudocode: `MinMaxStats`).
        offset, scale: `[B]` each tree's normalisation ``(q - offset) / scale``, refreshed
            after every backward pass (`search_math.normalization`).
        root_noise: `[B, A]` the policy's `root_noise` of each tree's root actions (mctx:
            ``extra_data.root_gumbel``).
    """

    children: np.ndarray
    parent: np.ndarray
    prior: np.ndarray
    illegal: np.ndarray
    visit_count: np.ndarray
    value_sum: np.ndarray
    raw_value: np.ndarray
    reward: np.ndarray
    discount: np.ndarray
    q: np.ndarray
    hidden_state: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    root_noise: np.ndarray

    @property
    def null(self) -> int:
        return len(self.visit_count) - 1

    def value(self, nodes: np.ndarray) -> np.ndarray:
        """Return the mean value of `nodes` (0 if unvisited). Pseudocode: `Node.value`."""
        return self.value_sum[nodes] / np.maximum(self.visit_count[nodes], 1)

    @classmethod
    def new(cls, batch: int, num_nodes: int, num_actions: int, hidden_shape,
            known_min: float, known_max: float) -> Tree:  # fmt: skip
        """Return `batch` empty trees of `num_nodes` nodes (bounds: `inf, -inf` if unknown)."""
        rows = batch * num_nodes + 1
        minimum = np.full(batch, known_min, dtype=np.float64)
        maximum = np.full(batch, known_max, dtype=np.float64)
        offset, scale = normalization(minimum, maximum)
        return cls(
            children=np.full((rows, num_actions), rows - 1, dtype=np.int64),
            parent=np.full(rows, -1, dtype=np.int64),
            prior=np.zeros((rows, num_actions)),
            illegal=np.zeros((rows, num_actions)),
            visit_count=np.zeros(rows, dtype=np.int64),
            value_sum=np.zeros(rows),
            raw_value=np.zeros(rows),
            reward=np.zeros(rows),
            discount=np.zeros(rows),
            q=np.zeros(rows),
            hidden_state=np.zeros((rows, *hidden_shape), dtype=np.float32),
            minimum=minimum,
            maximum=maximum,
            offset=offset,
            scale=scale,
            root_noise=np.zeros((batch, num_actions)),
        )

    def root_statistics(self, roots: np.ndarray) -> RootStatistics:
        """Return the statistics of the children of `roots` (`[B]` rows)."""
        children = self.children[roots]
        visits = self.visit_count[children]
        child_q = np.where(visits > 0, self.q[children], 0.0)
        legal = np.isfinite(self.illegal[roots])
        return RootStatistics(visits, self.value(roots), self.prior[roots], child_q,
                              self.raw_value[roots], self.root_noise, legal)  # fmt: skip


def run_batched_search(
    policy: SearchPolicy,
    root: RootOutput,
    recurrent_fn: RecurrentFn,
    legal_actions: np.ndarray,
    rng: np.random.Generator | None = None,
    add_noise: np.ndarray | None = None,
) -> RootStatistics:
    """Search `B` roots at once: the root's priors, then `num_simulations` simulations.

    Pseudocode: the root expansion and noise of `play_game`, then `run_mcts` (mctx:
    `search`). The policy draws its `root_noise` first, then its `root_prior`. The settings
    come from `policy.config` (`num_simulations`, `discount`, `known_bounds`).

    Args:
        policy: sets the root priors and selects actions (`self_play.policies`).
        root: the root's inference.
        recurrent_fn: the model's step from a node along an edge.
        legal_actions: `[B, A]` bool, the legal moves at each root.
        rng: the source of root noise (needed when any `add_noise`).
        add_noise: `[B]` bool, which roots get the policy's exploration noise (None: none).

    Returns:
        The statistics of the roots' children.
    """
    config = policy.config
    legal = np.asarray(legal_actions, dtype=bool)
    batch, num_actions = legal.shape
    num_nodes = config.num_simulations + 1
    bounds = config.known_bounds
    known_min, known_max = (bounds.min, bounds.max) if bounds else (np.inf, -np.inf)
    tree = Tree.new(batch, num_nodes, num_actions, root.hidden_state.shape[1:], known_min,
                    known_max)  # fmt: skip
    roots = np.arange(batch) * num_nodes
    tree.hidden_state[roots] = root.hidden_state
    tree.raw_value[roots] = root.value
    tree.discount[roots] = config.discount
    tree.illegal[roots] = np.where(legal, 0.0, -np.inf)
    add_noise = np.zeros(batch, bool) if add_noise is None else np.asarray(add_noise, bool)
    tree.root_noise = policy.root_noise(legal, rng, add_noise)
    tree.prior[roots] = policy.root_prior(root.prior_logits, legal, rng, add_noise)

    for simulation in range(config.num_simulations):
        leaves = roots + simulation + 1
        parents, actions = _simulate(policy, tree, roots)
        output, hidden_state = recurrent_fn(tree.hidden_state[parents], actions)
        _expand(tree, parents, actions, leaves, output, hidden_state)
        _backward(tree, leaves, output.value)
    return tree.root_statistics(roots)


def _simulate(policy: SearchPolicy, tree: Tree, roots: np.ndarray):
    """Descend every tree from its root to a child not yet expanded.

    Pseudocode: the selection loop of `run_mcts`; the policy's `select_root` picks the
    edge at the root, its `select_interior` below it (mctx: `simulate`).

    Returns:
        `[B]` row of each new leaf's parent and `[B]` action leading to the leaf.
    """
    batch = len(roots)
    parents = np.zeros(batch, dtype=np.int64)
    actions = np.zeros(batch, dtype=np.int64)
    trees = np.arange(batch)  # the trees still descending
    nodes = roots.copy()  # their current node
    chosen = policy.select_root(tree, nodes, trees)
    while True:
        child = tree.children[nodes, chosen]
        # Written for every tree still descending; the last write is the leaf's.
        parents[trees] = nodes
        actions[trees] = chosen
        deeper = child != tree.null
        trees, nodes = trees[deeper], child[deeper]
        if not trees.size:
            return parents, actions
        chosen = policy.select_interior(tree, nodes, trees)


def _expand(tree: Tree, parents, actions, leaves, output: RecurrentOutput, hidden_state) -> None:
    """Attach the new leaves with the model's prediction. Pseudocode: `expand_node`."""
    tree.children[parents, actions] = leaves
    tree.parent[leaves] = parents
    tree.hidden_state[leaves] = hidden_state
    tree.reward[leaves] = output.reward
    tree.discount[leaves] = output.discount
    tree.raw_value[leaves] = output.value
    tree.prior[leaves] = masked_softmax(output.prior_logits, True)  # all legal inside


def _backward(tree: Tree, leaves: np.ndarray, leaf_values) -> None:
    """Back the leaf values up to the roots. Pseudocode: `backpropagate` (mctx: `backward`).

    Walking up, a value becomes its parent's by ``reward + discount * value`` with each
    edge's own discount (negative where the player changes: the two-player deviation that
    docs/deviations.md lists). The min-max statistics take every node's `q` on the way.
    """
    trees = np.arange(len(leaves))  # the trees whose walk has not passed the root
    nodes = leaves
    values = np.asarray(leaf_values, dtype=np.float64)
    while trees.size:
        value_sum = tree.value_sum[nodes] + values
        visit_count = tree.visit_count[nodes] + 1
        tree.value_sum[nodes] = value_sum
        tree.visit_count[nodes] = visit_count
        reward, discount = tree.reward[nodes], tree.discount[nodes]
        q = reward + discount * (value_sum / visit_count)
        tree.q[nodes] = q
        tree.maximum[trees] = np.maximum(tree.maximum[trees], q)
        tree.minimum[trees] = np.minimum(tree.minimum[trees], q)
        values = reward + discount * values
        parents = tree.parent[nodes]
        up = parents >= 0
        trees, nodes, values = trees[up], parents[up], values[up]
    tree.offset, tree.scale = normalization(tree.minimum, tree.maximum)
