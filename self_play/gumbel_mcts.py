"""The reference Gumbel MuZero search: one game and one node at a time, in plain Python.

Danihelka et al., "Policy improvement by planning with Gumbel" (ICLR 2022): Gumbel-Top-k
and Sequential Halving at the root (section 3, Algorithm 2), completed Q-values with the
mixed value (eq. 10, appendix D eq. 33), ``sigma`` (eq. 8), the improved policy as the
target (eq. 11) and the deterministic selection below the root (section 5, eq. 14). The
rules are written here again, as loops over a node's children, beside `self_play.mcts` (whose
`Node` and `backpropagate` they reuse); `self_play.policies.gumbel` is the batched version,
tested equal to this one. Ties go to the smaller action everywhere, as there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from game import ActionHistory
from self_play.mcts import MinMaxStats, Node, backpropagate
from self_play.search_math import child_value

if TYPE_CHECKING:
    from config import MuZeroConfig
    from networks import Network, NetworkOutput
    from self_play.batched_mcts import RootStatistics


class GumbelNode(Node):
    """A `self_play.mcts.Node` that keeps the network's logit of the action into it."""

    __slots__ = ("logit",)

    def __init__(self, prior: float, logit: float):
        super().__init__(prior)
        self.logit = logit


def expand(node: Node, to_play, actions: list[int], output: NetworkOutput) -> None:
    """Expand `node` with a B = 1 inference: children for `actions`, priors a softmax over
    them, each child keeping its logit; the node keeps the network's value."""
    node.to_play = to_play
    node.hidden_state = output.hidden_state[0]
    node.reward = float(output.reward[0])
    node.raw_value = float(output.value[0])
    logits = {a: float(output.policy_logits[0][a]) for a in actions}
    top = max(logits.values())
    exponentials = {a: math.exp(logit - top) for a, logit in logits.items()}
    total = sum(exponentials.values())
    for action in sorted(actions):
        node.children[action] = GumbelNode(exponentials[action] / total, logits[action])


def q_value(config: MuZeroConfig, node: Node, child: Node) -> float:
    """Return a visited child's Q-value seen from `node`: ``r + discount * (+-value)``."""
    return float(child_value(child.reward, child.value(), config.discount,
                             child.to_play == node.to_play))  # fmt: skip


def completed_q_values(config: MuZeroConfig, node: Node) -> dict[int, float]:
    """Return ``completedQ`` of each child: its Q-value if visited, else ``v_mix``."""
    visited = {a: c for a, c in node.children.items() if c.visit_count > 0}
    total_visits = sum(c.visit_count for c in node.children.values())
    weights = {a: max(c.prior, np.finfo(np.float64).tiny) for a, c in visited.items()}
    mean_q = 0.0
    if visited:
        mean_q = sum(weights[a] * q_value(config, node, c) for a, c in visited.items())
        mean_q /= sum(weights.values())
    mixed = (node.raw_value + total_visits * mean_q) / (1 + total_visits)
    return {a: q_value(config, node, c) if a in visited else mixed
            for a, c in node.children.items()}  # fmt: skip


def sigma_values(config: MuZeroConfig, node: Node) -> dict[int, float]:
    """Return ``sigma(completedQ)`` of each child, completedQ min-max rescaled to [0, 1]."""
    completed = completed_q_values(config, node)
    low, high = min(completed.values()), max(completed.values())
    most_visits = max(c.visit_count for c in node.children.values())
    scale = (config.gumbel_c_visit + most_visits) * config.gumbel_c_scale
    return {a: scale * (q - low) / max(high - low, 1e-8) for a, q in completed.items()}


def improved_policy(config: MuZeroConfig, node: Node) -> dict[int, float]:
    """Return ``pi' = softmax(logits + sigma(completedQ))`` over the node's children."""
    sigmas = sigma_values(config, node)
    scores = {a: c.logit + sigmas[a] for a, c in node.children.items()}
    top = max(scores.values())
    exponentials = {a: math.exp(score - top) for a, score in scores.items()}
    total = sum(exponentials.values())
    return {a: e / total for a, e in exponentials.items()}


def best(actions, score: dict[int, float]) -> int:
    """Return the action of highest score (ties: the smaller action)."""
    return max(sorted(actions), key=lambda a: (score[a], -a))


def select_interior(config: MuZeroConfig, node: Node) -> int:
    """Return ``argmax_a pi'(a) - N(a) / (1 + sum_b N(b))`` (eq. 14)."""
    policy = improved_policy(config, node)
    total = sum(c.visit_count for c in node.children.values())
    return best(node.children, {a: policy[a] - c.visit_count / (1 + total)
                                for a, c in node.children.items()})  # fmt: skip


def root_scores(config: MuZeroConfig, root: Node, gumbel: np.ndarray) -> dict[int, float]:
    """Return ``g(a) + logits(a) + sigma(completedQ(a))`` of each root action."""
    sigmas = sigma_values(config, root)
    return {a: float(gumbel[a]) + c.logit + sigmas[a] for a, c in root.children.items()}


def simulate(config: MuZeroConfig, network: Network, root: Node, action: int,
             action_history: ActionHistory) -> None:  # fmt: skip
    """Run one simulation through the root action `action`: descend by `select_interior`,
    expand the leaf, back its value up (as `self_play.mcts.run_mcts` does)."""
    history = action_history.clone()
    history.add_action(action)
    node = root.children[action]
    search_path = [root, node]
    while node.expanded():
        action = select_interior(config, node)
        history.add_action(action)
        node = node.children[action]
        search_path.append(node)
    output = network.recurrent_inference(search_path[-2].hidden_state[None],
                                         np.array([history.last_action()]))  # fmt: skip
    expand(node, history.to_play(), history.action_space(), output)
    backpropagate(search_path, float(output.value[0]), history.to_play(), config.discount,
                  MinMaxStats(None))  # fmt: skip


def sequential_halving_search(config: MuZeroConfig, network: Network, root: Node,
                              gumbel: np.ndarray, history: ActionHistory) -> None:  # fmt: skip
    """Spend `num_simulations` on the root by Sequential Halving over Gumbel-Top-m.

    The top ``m = min(max_considered_actions, legal actions)`` actions by ``g + logits``;
    ``max(1, ceil(log2 m))`` phases; in a phase of ``k`` actions, ``max(1, floor(n /
    (phases * k)))`` rounds, each visiting every remaining action once (the best first by
    the score of the moment); then the best ``max(2, k // 2)`` stay, until the budget ends.
    """
    budget = config.num_simulations
    considered = min(config.max_considered_actions, len(root.children))
    phases = math.ceil(math.log2(considered)) if considered > 1 else 1
    scores = root_scores(config, root, gumbel)
    remaining = sorted(root.children, key=lambda a: (-scores[a], a))[:considered]
    spent = 0
    while spent < budget:
        size = len(remaining)
        for _ in range(max(1, budget // (phases * size))):
            this_round = list(remaining)
            while this_round and spent < budget:
                action = best(this_round, root_scores(config, root, gumbel))
                this_round.remove(action)
                simulate(config, network, root, action, history)
                spent += 1
        scores = root_scores(config, root, gumbel)
        remaining = sorted(remaining, key=lambda a: (-scores[a], a))[: max(2, size // 2)]


def gumbel_search(config: MuZeroConfig, network: Network, observation: np.ndarray,
                  legal_actions: list[int], to_play: int, rng: np.random.Generator | None,
                  add_noise: bool) -> tuple[int, np.ndarray, Node, np.ndarray]:  # fmt: skip
    """Search one position; return the action, the `[A]` policy target, the root and ``g``.

    ``g = gumbel_scale * Gumbel(0, 1)``, one draw of `A` values, where `add_noise` (0
    otherwise). The action: of the most visited root actions, the best by ``g + logits +
    sigma(completedQ)``; the target: ``softmax(logits + sigma(completedQ))`` over the legal
    actions (0 elsewhere).
    """
    num_actions = config.action_space_size
    history = ActionHistory([], num_actions, config.num_players, to_play)
    gumbel = np.zeros(num_actions)
    if add_noise and config.gumbel_scale > 0:
        gumbel = config.gumbel_scale * rng.gumbel(size=num_actions)
    root = Node(0)
    expand(root, history.to_play(), legal_actions, network.initial_inference(observation[None]))
    sequential_halving_search(config, network, root, gumbel, history)
    most = max(c.visit_count for c in root.children.values())
    scores = root_scores(config, root, gumbel)
    action = best([a for a, c in root.children.items() if c.visit_count == most], scores)
    target = np.zeros(num_actions, dtype=np.float32)
    for a, p in improved_policy(config, root).items():
        target[a] = p
    return action, target, root, gumbel


def gumbel_reference_root(config: MuZeroConfig, network: Network, observation: np.ndarray,
                          legal: np.ndarray, to_play: int, rng: np.random.Generator | None,
                          add_noise: bool) -> RootStatistics:  # fmt: skip
    """Run `gumbel_search` and return its root's statistics as a batch of one (what
    ``config.search = "reference"`` gives the policy to act on)."""
    from self_play.batched_mcts import RootStatistics

    actions = np.flatnonzero(legal).tolist()
    _, _, root, gumbel = gumbel_search(config, network, observation, actions, to_play, rng,
                                       add_noise)  # fmt: skip
    visits = np.zeros((1, len(legal)), dtype=np.int64)
    prior, child_q = np.zeros((1, len(legal))), np.zeros((1, len(legal)))
    for action, child in root.children.items():
        visits[0, action] = child.visit_count
        prior[0, action] = child.prior
        if child.visit_count:
            child_q[0, action] = q_value(config, root, child)
    return RootStatistics(visits, np.array([root.value()]), prior, child_q,
                          np.array([root.raw_value]), gumbel[None], legal[None].copy())  # fmt: skip
