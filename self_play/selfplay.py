"""Self-play: games played by search with the latest network, saved to the replay buffer.

Pseudocode: `run_selfplay`, `play_game`. `play_game` is the pseudocode's one-game loop on the
reference search. `SelfPlay` keeps `num_parallel_games` games in flight and searches all of
them with one batched search per move (or, with ``config.search == "reference"``, with the
reference search one game after another); a finished game is saved and replaced at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from config import MuZeroConfig
from game import AbstractGame
from networks import Network, SharedStorage
from self_play.batched_mcts import SearchConfig, SearchResult, run_batched_mcts
from self_play.mcts import (
    Node,
    add_exploration_noise,
    expand_node,
    root_visit_counts,
    run_mcts,
    select_action,
)
from self_play.search_math import sample_actions


def search_reference(
    config: MuZeroConfig,
    network: Network,
    games: list[AbstractGame],
    add_noise: np.ndarray,
    rng: np.random.Generator,
) -> SearchResult:
    """Search each game's current state with the reference search, one after another."""
    counts, values = [], []
    for game, noise in zip(games, add_noise):
        root = Node(0)
        observation = game.make_image(-1)
        expand_node(
            root, game.to_play(), game.legal_actions(), network.initial_inference(observation[None])
        )
        if noise:
            add_exploration_noise(config, root, rng)
        run_mcts(config, root, game.action_history(), network)
        counts.append(root_visit_counts(root, config.action_space_size))
        values.append(root.value())
    return SearchResult(np.array(counts), np.array(values))


def legal_mask(games: list[AbstractGame], action_space_size: int) -> np.ndarray:
    """Return the `[len(games), action_space_size]` mask of each game's legal actions."""
    legal = np.zeros((len(games), action_space_size), dtype=bool)
    for row, game in enumerate(games):
        legal[row, game.legal_actions()] = True
    return legal


def search_games(
    config: MuZeroConfig,
    network: Network,
    games: list[AbstractGame],
    add_noise: np.ndarray,
    rng: np.random.Generator,
) -> SearchResult:
    """Search the current state of every game with the search `config.search` names."""
    if config.search == "reference":
        return search_reference(config, network, games, add_noise, rng)
    return run_batched_mcts(
        SearchConfig.from_config(config),
        network,
        np.stack([game.make_image(-1) for game in games]),
        legal_mask(games, config.action_space_size),
        np.array([game.to_play().index for game in games]),
        games[0].num_players,
        rng,
        add_noise,
    )


def play_game(
    config: MuZeroConfig, network: Network, rng: np.random.Generator, explore: bool = True
) -> AbstractGame:
    """Play one game with the reference search. Pseudocode: `play_game`.

    With `explore` False there is no root noise and moves are greedy (temperature 0).
    """
    game = config.new_game(seed=int(rng.integers(2**31)))
    while not game.ended() and len(game.history) < config.max_moves:
        root = Node(0)
        observation = game.make_image(-1)
        expand_node(
            root, game.to_play(), game.legal_actions(), network.initial_inference(observation[None])
        )
        if explore:
            add_exploration_noise(config, root, rng)
        run_mcts(config, root, game.action_history(), network)
        action = select_action(
            config, len(game.history), root, network, rng, temperature=None if explore else 0.0
        )
        game.store_search_statistics(
            root_visit_counts(root, config.action_space_size), root.value()
        )
        game.apply(action)
    if not game.terminal():
        # Cut short: search the final state too, so its value can be bootstrapped.
        result = search_reference(config, network, [game], np.zeros(1, bool), rng)
        game.store_search_statistics(result.visit_counts[0], float(result.root_values[0]))
    return game


@dataclass
class SelfPlayStats:
    """What one call of `SelfPlay.play` did."""

    moves: int = 0
    simulations: int = 0
    seconds: float = 0.0
    finished: list[AbstractGame] = field(default_factory=list)


class SelfPlay:
    """`num_parallel_games` games in flight, advanced one move at a time by one search.

    Pseudocode: `run_selfplay` (its actors become the parallel games of one process).

    Args:
        config: the run's config.
        rng: the source of game seeds, root noise and action sampling.
        explore: root noise and the temperature schedule (False: no noise, greedy moves).
        num_games: games in flight (default `config.num_parallel_games`).
        restart: start a new game in the place of each finished one (False: play these
            `num_games` games only; `games` empties as they finish).
    """

    def __init__(
        self,
        config: MuZeroConfig,
        rng: np.random.Generator,
        explore: bool = True,
        num_games: int | None = None,
        restart: bool = True,
    ):
        self.config = config
        self.rng = rng
        self.explore = explore
        self.restart = restart
        self.games = [self._new_game() for _ in range(num_games or config.num_parallel_games)]

    def _new_game(self) -> AbstractGame:
        return self.config.new_game(seed=int(self.rng.integers(2**31)))

    def play(self, network: Network, num_moves: int) -> SelfPlayStats:
        """Advance the games until `num_moves` moves were played; return finished games.

        A game ends when terminal, truncated or at `max_moves`. One cut short is searched
        once more at its final state (no move played) so its value can be bootstrapped.
        """
        stats = SelfPlayStats()
        start = time.perf_counter()
        config = self.config
        while stats.moves < num_moves and self.games:
            cut = np.array(
                [game.ended() or len(game.history) >= config.max_moves for game in self.games]
            )
            add_noise = ~cut if self.explore else np.zeros(len(self.games), dtype=bool)
            result = search_games(config, network, self.games, add_noise, self.rng)
            stats.simulations += len(self.games) * config.num_simulations
            actions = self._select_actions(network, result.visit_counts)
            playing = []
            for slot, game in enumerate(self.games):
                game.store_search_statistics(
                    result.visit_counts[slot], float(result.root_values[slot])
                )
                if not cut[slot]:
                    game.apply(int(actions[slot]))
                    stats.moves += 1
                if cut[slot] or game.terminal():
                    stats.finished.append(game)
                    if self.restart:
                        playing.append(self._new_game())
                else:
                    playing.append(game)
            self.games = playing
        stats.seconds = time.perf_counter() - start
        return stats

    def _select_actions(self, network: Network, visit_counts: np.ndarray) -> np.ndarray:
        """Pseudocode: `select_action` for every game (temperature by move number)."""
        actions = np.zeros(len(self.games), dtype=np.int64)
        for slot, game in enumerate(self.games):
            temperature = 0.0
            if self.explore:
                temperature = self.config.visit_softmax_temperature(
                    len(game.history), network.training_steps()
                )
            actions[slot] = sample_actions(visit_counts[slot][None], temperature, self.rng)[0]
        return actions


def run_selfplay(
    config: MuZeroConfig,
    storage: SharedStorage,
    replay_buffer,
    selfplay: SelfPlay,
    num_moves: int,
) -> SelfPlayStats:
    """Play `num_moves` moves with the latest network; save finished games.

    Pseudocode: `run_selfplay` (one bounded round of it, so the main loop can alternate).
    """
    stats = selfplay.play(storage.latest_network(), num_moves)
    for game in stats.finished:
        replay_buffer.save_game(game)
    return stats
