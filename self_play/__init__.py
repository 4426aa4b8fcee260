"""Self-play: the search and the games it plays.

The one search entry is `search`::

    from self_play import search
    output = search(config, network, observations, legal_actions, to_play, rng, add_noise,
                    temperature)
    output.action        # [B] the actions to play
    output.policy        # [B, A] the policy targets (MuZero: normalised visit counts)
    output.visit_counts  # [B, A] root visit counts
    output.root_value    # [B] root values, for the player to play

`config.search_policy` names the search policy (`self_play.policies.SEARCH_POLICIES`:
``"muzero"``, the paper's pUCT search), `config.search` the batched search
(`self_play.batched_mcts`, ``"batched"``) or the reference one (`self_play.mcts`, the
pseudocode, ``"reference"``). `search_games` searches games' current states.

Modules: `mcts` (the reference search: `Node`, `run_mcts`, `select_child`, `ucb_score`,
`expand_node`, `backpropagate`, `add_exploration_noise`, `select_action`), `batched_mcts`
(the batched tree), `policies`, `seam` (`search`, `search_games`), `selfplay`
(`play_game`, `SelfPlay`, `run_selfplay`), `arena` (evaluation), `ray_actors` (self-play on
Ray). The names below are loaded when first used, so that importing the numpy search does
not load TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every public name of the package and the module that defines it.
_EXPORTS = {
    "search": "self_play.seam",
    "search_games": "self_play.seam",
    "SearchOutput": "self_play.seam",
    "SEARCH_POLICIES": "self_play.policies",
    "SearchPolicy": "self_play.policies",
    "register_search_policy": "self_play.policies",
    "MinMaxStats": "self_play.mcts",
    "Node": "self_play.mcts",
    "add_exploration_noise": "self_play.mcts",
    "backpropagate": "self_play.mcts",
    "expand_node": "self_play.mcts",
    "root_visit_counts": "self_play.mcts",
    "run_mcts": "self_play.mcts",
    "search_root": "self_play.mcts",
    "select_action": "self_play.mcts",
    "select_child": "self_play.mcts",
    "ucb_score": "self_play.mcts",
    "Actor": "self_play.selfplay",
    "SelfPlay": "self_play.selfplay",
    "play_game": "self_play.selfplay",
    "run_selfplay": "self_play.selfplay",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'self_play' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
