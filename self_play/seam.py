"""The search seam, the one search entry: every search of the package (self-play,
evaluation, the arena, Reanalyze, the benchmarks) goes through `search`.

`config.search_policy` names the member of the MuZero family that searches
(`self_play.policies`), `config.search` whether the batched search (`B` positions in
lockstep, `self_play.batched_mcts`) or the reference search (the pseudocode, one position
after another, `self_play.mcts`) runs it. Both return the same `SearchOutput`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from self_play.batched_mcts import RecurrentFn, RecurrentOutput, RootOutput, run_batched_search
from self_play.policies import make_search_policy

if TYPE_CHECKING:
    from game import AbstractGame


class SearchOutput(NamedTuple):
    """What a search of `B` positions returns (mctx: `PolicyOutput`).

    Attributes:
        action: `[B]` int64 action to play at each position (the policy's choice at the
            temperature asked for).
        policy: `[B, A]` float32 policy target to train on (MuZero: the normalised visit
            counts); `AbstractGame.store_search_statistics` stores it.
        visit_counts: `[B, A]` int64 visits of each root child.
        root_value: `[B]` each root's mean backed-up value, for the player to play.
    """

    action: np.ndarray
    policy: np.ndarray
    visit_counts: np.ndarray
    root_value: np.ndarray


def search(
    config: Any,
    network: Any,
    observations: np.ndarray,
    legal_actions: np.ndarray,
    to_play: np.ndarray,
    rng: np.random.Generator | None = None,
    add_noise: np.ndarray | None = None,
    temperature: np.ndarray | float = 0.0,
) -> SearchOutput:
    """Search `B` positions with the run's search policy; return the actions and targets.

    Pseudocode: the search and `select_action` of `play_game`.

    Args:
        config: the run's `MuZeroConfig` (`search_policy`, `search`, `num_simulations`, ...).
        network: answers batched `initial_inference` and `recurrent_inference`.
        observations: `[B, *observation_shape]` root observations.
        legal_actions: `[B, A]` bool, the legal moves at each root.
        to_play: `[B]` player to play at each root.
        rng: the source of root noise and of sampled actions (needed when any `add_noise`
            or temperature is not 0).
        add_noise: `[B]` bool, the roots that explore (None: none).
        temperature: `[B]` or one acting temperature (0: the greedy action).
    """
    policy = make_search_policy(config)
    legal = np.asarray(legal_actions, dtype=bool)
    batch = len(legal)
    add_noise = np.zeros(batch, bool) if add_noise is None else np.asarray(add_noise, bool)
    if config.search == "reference":
        rows = [policy.reference_root(network, observation, row_legal, int(player), rng, noise)
                for observation, row_legal, player, noise
                in zip(observations, legal, to_play, add_noise)]  # fmt: skip
        roots = type(rows[0])(*(np.concatenate(field) for field in zip(*rows)))
    else:
        output = network.initial_inference(observations)
        root = RootOutput(output.policy_logits, output.value, output.hidden_state)
        recurrent_fn = network_recurrent_fn(network, config.discount, config.num_players, batch)
        roots = run_batched_search(policy, root, recurrent_fn, legal, rng, add_noise)
    temperatures = np.broadcast_to(np.asarray(temperature, dtype=np.float64), (batch,))
    action, target = policy.act(roots, rng, temperatures)
    return SearchOutput(action, target, roots.visit_counts, roots.value)


def network_recurrent_fn(network: Any, discount: float, num_players: int,
                         batch: int) -> RecurrentFn:  # fmt: skip
    """Return the recurrent function of a MuZero network for `batch` trees (mctx:
    `recurrent_fn`).

    Players alternate with every move, so with two players every edge changes the player to
    play and its discount is negated (see `RecurrentOutput.discount`).
    """
    discounts = np.full(batch, -discount if num_players > 1 else discount)

    def recurrent_fn(hidden_states: np.ndarray, actions: np.ndarray):
        output = network.recurrent_inference(hidden_states, actions)
        edge = RecurrentOutput(output.reward, discounts, output.policy_logits, output.value)
        return edge, output.hidden_state

    return recurrent_fn


def legal_mask(games: list[AbstractGame], action_space_size: int) -> np.ndarray:
    """Return the `[len(games), action_space_size]` mask of each game's legal actions."""
    legal = np.zeros((len(games), action_space_size), dtype=bool)
    for row, game in enumerate(games):
        legal[row, game.legal_actions()] = True
    return legal


def search_games(
    config: Any,
    network: Any,
    games: list[AbstractGame],
    rng: np.random.Generator | None = None,
    add_noise: np.ndarray | None = None,
    temperature: np.ndarray | float = 0.0,
) -> SearchOutput:
    """Search the current state of every game (see `search`)."""
    return search(
        config,
        network,
        np.stack([game.make_image(-1) for game in games]),
        legal_mask(games, config.action_space_size),
        np.array([game.to_play().index for game in games]),
        rng,
        add_noise,
        temperature,
    )
