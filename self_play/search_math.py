"""The formulas of the search, written once for scalars and numpy arrays alike.

Both the reference search (`self_play.mcts`, one node at a time) and the batched search
(`self_play.batched_mcts`, `[B, A]` arrays) call these, so they compute the same numbers.
"""

from __future__ import annotations

import numpy as np


def exploration_weight(parent_visits, pb_c_base: float, pb_c_init: float):
    """Return ``(pb_c_init + log((N_parent + pb_c_base + 1) / pb_c_base)) * sqrt(N_parent)``.

    The part of the pUCT exploration term that depends on the parent only (see `ucb_formula`).
    """
    pb_c = np.log((parent_visits + pb_c_base + 1.0) / pb_c_base) + pb_c_init
    return pb_c * np.sqrt(parent_visits)


def ucb_formula(weight, child_visits, prior, value_score):
    """Return the pUCT score of children. Pseudocode: `ucb_score`; paper appendix B, eq. (2).

    ``score = Q_normalised + P * sqrt(N_parent) / (1 + N_child) *
    (pb_c_init + log((N_parent + pb_c_base + 1) / pb_c_base))``

    Args:
        weight: `exploration_weight` of the parent (scalar or `[B, 1]`).
        child_visits, prior, value_score: per child (scalar or `[B, A]`); `value_score` is
            the normalised value of a visited child and 0 for an unvisited one.
    """
    return weight / (child_visits + 1.0) * prior + value_score


def normalization(minimum, maximum):
    """Return ``(offset, scale)`` with ``normalize(v) = (v - offset) / scale``.

    Pseudocode: `MinMaxStats.normalize`: ``(v - min) / (max - min)`` once a range is known
    (``max > min``); before that values pass unchanged, which ``(v - 0) / 1`` does exactly.
    """
    known = maximum > minimum
    return np.where(known, minimum, 0.0), np.where(known, maximum - minimum, 1.0)


def normalize(value, minimum, maximum):
    """Map values into [0, 1] by the min-max statistics. Pseudocode: `MinMaxStats.normalize`."""
    offset, scale = normalization(minimum, maximum)
    return (value - offset) / scale


def child_value(reward, value, discount: float, same_player):
    """Return a child's value seen from its parent: ``reward + discount * (+-value)``.

    `reward` belongs to the player who moved (the parent's player); `value` to the child's
    player to play, so it changes sign when the player changes (the two-player deviation
    from the pseudocode that docs/deviations.md lists).
    """
    if same_player is True:  # one player: no sign to choose
        return reward + discount * value
    return reward + discount * np.where(same_player, value, -value)


def masked_softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Return priors: the softmax of `[..., A]` logits over the legal actions (0 elsewhere).

    Pseudocode: the policy of `expand_node`.
    """
    logits = np.where(legal, np.asarray(logits, dtype=np.float64), -np.inf)
    exponentials = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def argmax_last(scores: np.ndarray) -> np.ndarray:
    """Return the index of the largest score along the last axis; ties go to the LARGER index.

    This is the pseudocode's tie rule: `max` over ``(score, action, child)`` tuples prefers
    the larger action among equal scores.
    """
    scores = np.asarray(scores)
    size = scores.shape[-1]
    # argmax over a contiguous reversed copy is faster than over the reversed view.
    return size - 1 - np.ascontiguousarray(scores[..., ::-1]).argmax(axis=-1)


def select_best(scores: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """Return the index of the best child along the last axis: the highest score.

    Ties go to the child with the larger prior, then to the larger action. The pseudocode's
    `max` over ``(score, action, child)`` goes straight to the larger action; with that rule
    the first simulation at every root (where all scores are 0, as ``sqrt(N_parent) = 0``)
    always starts with the last action, a bias that self-play then feeds back into the
    policy. Preferring the larger prior lets the (noised) prior make that choice instead.
    """
    scores = np.asarray(scores)
    best = scores == scores.max(axis=-1, keepdims=True)
    return argmax_last(np.where(best, priors, -np.inf))


def visit_policy(visit_counts: np.ndarray, temperature: float) -> np.ndarray:
    """Return the distribution ``N(a)^(1/T) / sum_b N(b)^(1/T)`` over `[..., A]` counts.

    Pseudocode: `softmax_sample` in `select_action` (T from
    `visit_softmax_temperature_fn`). T = 0 puts all mass on `argmax_last` of the counts.
    """
    counts = np.asarray(visit_counts, dtype=np.float64)
    if temperature == 0:
        best = argmax_last(counts)
        return np.eye(counts.shape[-1])[best]
    # Dividing by the largest count first keeps counts ** (1 / T) finite for small T.
    scaled = (counts / np.maximum(counts.max(axis=-1, keepdims=True), 1.0)) ** (1.0 / temperature)
    return scaled / scaled.sum(axis=-1, keepdims=True)


def sample_actions(
    visit_counts: np.ndarray, temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """Sample one action per row of `[B, A]` visit counts at `temperature`."""
    policy = visit_policy(visit_counts, temperature)
    if temperature == 0:
        return argmax_last(policy)
    cumulative = np.cumsum(policy, axis=-1)
    draws = rng.random((policy.shape[0], 1)) * cumulative[:, -1:]
    return np.minimum((cumulative <= draws).sum(axis=-1), policy.shape[-1] - 1)


def visit_count_policy(visit_counts: np.ndarray) -> np.ndarray:
    """Return the `[..., A]` float32 visit distribution ``N(a) / sum_b N(b)`` (0 for no visits).

    Pseudocode: `Game.store_search_statistics`, the policy target of MuZero's search.
    """
    counts = np.asarray(visit_counts, dtype=np.float32)
    return counts / np.maximum(counts.sum(axis=-1, keepdims=True), np.float32(1.0))
