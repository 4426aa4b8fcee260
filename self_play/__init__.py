"""Self-play: the reference search of the pseudocode, the batched search, and the game loop."""

from self_play.batched_mcts import SearchConfig, SearchResult, run_batched_mcts
from self_play.mcts import (
    MinMaxStats,
    Node,
    add_exploration_noise,
    backpropagate,
    expand_node,
    root_visit_counts,
    run_mcts,
    select_action,
    select_child,
    ucb_score,
)
from self_play.selfplay import SelfPlay, play_game, run_selfplay, search_games

__all__ = [
    "MinMaxStats",
    "Node",
    "SearchConfig",
    "SearchResult",
    "SelfPlay",
    "add_exploration_noise",
    "backpropagate",
    "expand_node",
    "play_game",
    "root_visit_counts",
    "run_batched_mcts",
    "run_mcts",
    "run_selfplay",
    "search_games",
    "select_action",
    "select_child",
    "ucb_score",
]
