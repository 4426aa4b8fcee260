"""The reference search: the final published pseudocode, one game and one node at a time.

Pseudocode: `Node`, `MinMaxStats`, `run_mcts`, `select_child`, `ucb_score`, `expand_node`,
`backpropagate`, `add_exploration_noise`, `select_action` (paper appendix "Pseudocode",
search in appendix B). This module is the specification the batched search is tested against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from game import ActionHistory, Player
from self_play.search_math import (
    child_value,
    exploration_weight,
    masked_softmax,
    normalize,
    sample_actions,
    select_best,
    ucb_formula,
)

if TYPE_CHECKING:
    from config import KnownBounds, MuZeroConfig
    from networks import Network, NetworkOutput


class MinMaxStats:
    """The range of values seen in the tree, to normalise them. Pseudocode: `MinMaxStats`."""

    def __init__(self, known_bounds: KnownBounds | None):
        self.maximum = known_bounds.max if known_bounds else -float("inf")
        self.minimum = known_bounds.min if known_bounds else float("inf")

    def update(self, value: float) -> None:
        self.maximum = max(self.maximum, value)
        self.minimum = min(self.minimum, value)

    def normalize(self, value: float) -> float:
        return float(normalize(value, self.minimum, self.maximum))


class Node:
    """A state in the search tree. Pseudocode: `Node`."""

    __slots__ = (
        "visit_count",
        "to_play",
        "prior",
        "value_sum",
        "children",
        "hidden_state",
        "reward",
        "raw_value",
    )

    def __init__(self, prior: float):
        self.visit_count = 0
        self.to_play = Player(0)
        self.prior = prior
        self.value_sum = 0.0
        self.children: dict[int, Node] = {}
        self.hidden_state: np.ndarray | None = None
        self.reward = 0.0
        # The network's value at expansion, for `to_play` (not in the pseudocode; Gumbel
        # MuZero's mixed value reads it).
        self.raw_value = 0.0

    def expanded(self) -> bool:
        return len(self.children) > 0

    def value(self) -> float:
        """Mean backed-up value, for `to_play`."""
        if self.visit_count == 0:
            return 0.0
        return self.value_sum / self.visit_count


def search_root(
    config: MuZeroConfig,
    network: Network,
    observation: np.ndarray,
    legal_actions: list[int],
    action_history: ActionHistory,
    rng: np.random.Generator | None,
    add_noise: bool,
) -> Node:
    """Search one position and return its root. Pseudocode: the search of `play_game`.

    ::

        root = Node(0)
        expand_node(root, to_play, legal_actions, network.initial_inference(observation))
        add_exploration_noise(config, root)  # self-play only
        run_mcts(config, root, action_history, network)
    """
    root = Node(0)
    expand_node(root, action_history.to_play(), legal_actions,
                network.initial_inference(observation[None]))  # fmt: skip
    if add_noise:
        add_exploration_noise(config, root, rng)
    run_mcts(config, root, action_history, network)
    return root


def run_mcts(
    config: MuZeroConfig, root: Node, action_history: ActionHistory, network: Network
) -> None:
    """Run `num_simulations` simulations from an expanded root. Pseudocode: `run_mcts`.

    Each simulation descends by `select_child` to a leaf, expands the leaf with one
    `recurrent_inference` and backs its value up the path.
    """
    min_max_stats = MinMaxStats(config.known_bounds)
    for _ in range(config.num_simulations):
        history = action_history.clone()
        node = root
        search_path = [node]
        while node.expanded():
            action, node = select_child(config, node, min_max_stats)
            history.add_action(action)
            search_path.append(node)
        # Inside the search tree we use the dynamics function to obtain the next hidden
        # state given an action and the previous hidden state.
        parent = search_path[-2]
        network_output = network.recurrent_inference(
            parent.hidden_state[None], np.array([history.last_action()])
        )
        expand_node(node, history.to_play(), history.action_space(), network_output)
        backpropagate(
            search_path,
            float(network_output.value[0]),
            history.to_play(),
            config.discount,
            min_max_stats,
        )


def select_child(config: MuZeroConfig, node: Node, min_max_stats: MinMaxStats) -> tuple[int, Node]:
    """Return the child with the highest UCB score (ties: larger prior, then larger action).

    Pseudocode: `select_child`.
    """
    actions = list(node.children)
    scores = np.array([ucb_score(config, node, node.children[a], min_max_stats) for a in actions])
    priors = np.array([node.children[a].prior for a in actions])
    # `actions` is sorted (expand_node inserts in order), so the tie rule of `select_best`
    # on positions is the rule on actions.
    action = actions[int(select_best(scores, priors))]
    return action, node.children[action]


def ucb_score(config: MuZeroConfig, parent: Node, child: Node, min_max_stats: MinMaxStats):
    """Return the pUCT score of `child`. Pseudocode: `ucb_score`; paper appendix B."""
    if child.visit_count > 0:
        value_score = min_max_stats.normalize(
            child_value(
                child.reward, child.value(), config.discount, child.to_play == parent.to_play
            )
        )
    else:
        value_score = 0.0
    weight = exploration_weight(parent.visit_count, config.pb_c_base, config.pb_c_init)
    return float(ucb_formula(weight, child.visit_count, child.prior, value_score))


def expand_node(
    node: Node, to_play: Player, actions: list[int], network_output: NetworkOutput
) -> None:
    """Expand `node` with the prediction of a B = 1 inference. Pseudocode: `expand_node`.

    Children are created for `actions` only, with priors from a softmax over them.
    """
    node.to_play = to_play
    node.hidden_state = network_output.hidden_state[0]
    node.reward = float(network_output.reward[0])
    node.raw_value = float(network_output.value[0])
    logits = np.asarray(network_output.policy_logits[0])
    legal = np.zeros(len(logits), dtype=bool)
    legal[list(actions)] = True
    priors = masked_softmax(logits, legal)
    for action in sorted(actions):
        node.children[action] = Node(float(priors[action]))


def backpropagate(
    search_path: list[Node],
    value: float,
    to_play: Player,
    discount: float,
    min_max_stats: MinMaxStats,
) -> None:
    """Back the leaf's value up the search path. Pseudocode: `backpropagate`.

    `value` is the leaf's value for `to_play` (the leaf's player). Walking up, it is turned
    into each node's own perspective: ``reward + discount * value``, with the sign of the
    value flipped at each change of player (the documented two-player deviation; the same
    as the pseudocode for one player).
    """
    if search_path[-1].to_play != to_play:
        value = -value
    for index in range(len(search_path) - 1, -1, -1):
        node = search_path[index]
        node.value_sum += value
        node.visit_count += 1
        same_player = index == 0 or search_path[index - 1].to_play == node.to_play
        min_max_stats.update(float(child_value(node.reward, node.value(), discount, same_player)))
        value = float(child_value(node.reward, value, discount, same_player))


def add_exploration_noise(config: MuZeroConfig, node: Node, rng: np.random.Generator) -> None:
    """Mix Dirichlet noise into the root priors. Pseudocode: `add_exploration_noise`."""
    actions = list(node.children)
    noise = rng.dirichlet([config.dirichlet_alpha] * len(actions))
    frac = config.root_exploration_fraction
    for action, n in zip(actions, noise):
        node.children[action].prior = node.children[action].prior * (1 - frac) + n * frac


def root_visit_counts(node: Node, action_space_size: int) -> np.ndarray:
    """Return the `[A]` visit counts of the root's children (0 for missing children)."""
    counts = np.zeros(action_space_size, dtype=np.int64)
    for action, child in node.children.items():
        counts[action] = child.visit_count
    return counts


def select_action(
    config: MuZeroConfig,
    num_moves: int,
    node: Node,
    network: Network,
    rng: np.random.Generator,
    temperature: float | None = None,
) -> int:
    """Sample an action by visit counts^(1/T). Pseudocode: `select_action`.

    T comes from `config.visit_softmax_temperature` unless given; T = 0 takes the most
    visited action (ties: the larger action).
    """
    if temperature is None:
        temperature = config.visit_softmax_temperature(num_moves, network.training_steps())
    counts = root_visit_counts(node, config.action_space_size)
    return int(sample_actions(counts[None], temperature, rng)[0])
