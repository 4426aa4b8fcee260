"""Configuration: `MuZeroConfig` and one `make_<game>_config()` per game.

Pseudocode: `MuZeroConfig`, `KnownBounds`, `visit_softmax_temperature_fn`,
`make_board_game_config`, `make_atari_config` (paper appendix "Pseudocode"). Fields that the
pseudocode does not have are marked "(not in the pseudocode)". Each field's check stands
next to it (`checked`); the built-in networks are made in `networks.factories` and the
environments probed in `game.environments`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from game import AbstractGame, CartPole
from game.connect4 import Connect4
from game.environments import (
    is_image_game,
    probe_flat_environment,
    register_image_environments,
    support_size_for,
)
from game.opponents import OPPONENTS
from game.tictactoe import TicTacToe
from networks import BaseNetwork
from networks.factories import (
    ARCHITECTURE_FIELDS,
    make_fully_connected_network,
    make_image_network,
    make_residual_network,
)


@dataclass(frozen=True)
class KnownBounds:
    """Known lower and upper bounds of values, to normalise them in the search."""

    min: float
    max: float


class StepTemperature:
    """Visit-count temperature falling in steps with training progress.

    Pseudocode: `visit_softmax_temperature_fn` of `make_atari_config` (1.0, then 0.5 after
    50% of training, then 0.25 after 75%), with the thresholds given as fractions.

    Args:
        temperatures: the temperature of each phase.
        fractions: the fraction of `training_steps` at which each later phase starts.
    """

    def __init__(self, temperatures=(1.0, 0.5, 0.25), fractions=(0.5, 0.75)):
        if len(temperatures) != len(fractions) + 1:
            raise ValueError("StepTemperature needs one more temperature than fractions")
        self.temperatures = tuple(temperatures)
        self.fractions = tuple(fractions)

    def __call__(self, num_moves: int, training_steps: int, total_steps: int) -> float:
        progress = training_steps / max(total_steps, 1)
        phase = sum(progress >= fraction for fraction in self.fractions)
        return self.temperatures[phase]

    def __repr__(self) -> str:
        return f"StepTemperature({self.temperatures}, {self.fractions})"


class MovesTemperature:
    """Temperature 1 for the first `moves` moves of a game, then 0 (greedy).

    Pseudocode: `visit_softmax_temperature` of `make_board_game_config`.
    """

    def __init__(self, moves: int):
        self.moves = moves

    def __call__(self, num_moves: int, training_steps: int, total_steps: int) -> float:
        return 1.0 if num_moves < self.moves else 0.0

    def __repr__(self) -> str:
        return f"MovesTemperature({self.moves})"


# ----- the checks of single fields ----------------------------------------------------------

#: A field's check: ``check(name, value)`` raises `ValueError` naming the field.
Check = Callable[[str, Any], None]


def checked(*checks: Check, **options: Any) -> Any:
    """Return a dataclass field (`options` as `dataclasses.field`'s: ``default=...``) whose
    value `MuZeroConfig.validate` passes through `checks`, in order."""
    return field(metadata={"checks": checks}, **options)


def positive_int(name: str, value: Any) -> None:
    """An integer >= 1 (a bool is an int to Python, never to the config)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def non_negative_int(name: str, value: Any) -> None:
    """An integer >= 0, not a bool."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def seed_int(name: str, value: Any) -> None:
    """An integer in [0, 2**32): Keras seeds numpy's global generator too, which takes 32
    bits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")


def finite_number(name: str, value: Any) -> None:
    """An int or float, not NaN or infinite, not a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def boolean(name: str, value: Any) -> None:
    """True or False (not 1, 0 or a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def number_where(test: Callable[[float], bool], condition: str) -> Check:
    """Return the check of a number that passes `test`, refused as "must be `condition`".

    Only the range is tested: a field that must also be finite lists `finite_number` too
    (before this, or after it where NaN is to be named as out of range).
    """

    def check(name: str, value: Any) -> None:
        if not (isinstance(value, (int, float)) and test(value)):
            raise ValueError(f"{name} must be {condition}, got {value!r}")

    return check


positive_number = number_where(lambda x: x > 0 and math.isfinite(x), "a positive number")
greater_than_zero = number_where(lambda x: x > 0, "> 0")
at_least_zero = number_where(lambda x: x >= 0, ">= 0")
fraction = number_where(lambda x: 0.0 <= x <= 1.0, "in [0, 1]")
rate = number_where(lambda x: 0.0 < x <= 1.0, "in (0, 1]")


def one_of(*choices: str) -> Check:
    """Return the check of a value that is one of `choices`."""

    def check(name: str, value: Any) -> None:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")

    return check


def given(name: str, value: Any) -> None:
    """Not None (a factory the config cannot run without)."""
    if value is None:
        raise ValueError(f"{name} must be given, got None")


def positive_sizes(name: str, value: tuple[int, ...]) -> None:
    """A non-empty shape of sizes >= 1."""
    if not value or min(value) < 1:
        raise ValueError(f"{name} must be positive sizes, got {value}")


def positive_widths(name: str, value: tuple[int, ...]) -> None:
    """A non-empty list of layer widths >= 1."""
    if not value or any(width < 1 for width in value):
        raise ValueError(f"{name} must be positive widths, got {value}")


def three_block_counts(name: str, value: tuple[int, ...]) -> None:
    """Block counts >= 0 at the downsampling's three resolutions."""
    if len(value) != 3 or min(value) < 0:
        raise ValueError(f"{name} must be 3 block counts >= 0, got {value}")


def ordered_bounds(name: str, value: Any) -> None:
    """None, or a `KnownBounds` whose min lies below its max."""
    if value is None:
        return
    if not isinstance(value, KnownBounds):
        raise ValueError(f"{name} must be a KnownBounds or None, got {value!r}")
    if not value.min < value.max:
        raise ValueError(f"{name} must have min < max, got {value}")


def distinct_opponents(name: str, value: Any) -> None:
    """Distinct names of `game.opponents.OPPONENTS` (none at all is allowed)."""
    names = tuple(value) if isinstance(value, (tuple, list)) else None
    if names is None or any(n not in OPPONENTS for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{name} must be distinct names of {', '.join(OPPONENTS)}; got {value!r}")


def search_policy_name(name: str, value: Any) -> None:
    """A key of `self_play.policies.SEARCH_POLICIES`.

    Imported here, when a config is checked, so that importing `config` does not import
    self-play (which imports `config`).
    """
    from self_play.policies import SEARCH_POLICIES

    one_of(*SEARCH_POLICIES)(name, value)


def image_stacked_frames(game_name: str, value: Any) -> int:
    """Return `value` if it is a valid `stacked_frames` of an image game, else raise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"stacked_frames must be >= 1 for {game_name}, an image game; got {value!r}"
        )
    return value


def _game_class(game_factory: Any) -> Any:
    """Return the class a game factory builds: itself, or the function of a partial."""
    return getattr(game_factory, "func", game_factory)


#: The fields `__post_init__` turns into tuples of ints (a JSON list or a list works too).
_INT_TUPLE_FIELDS = ("observation_shape", "hidden_layers", "downsample_blocks")


@dataclass(frozen=True)
class MuZeroConfig:
    """Everything a run needs; validated at construction (`ValueError` names the field).

    Frozen: a changed config is a new one, ``dataclasses.replace(config, field=value)``,
    validated like the first.
    """

    # --- the game ---
    game_name: str
    """Name of the game in `GAMES` (not in the pseudocode)."""
    action_space_size: int = checked(positive_int)
    """Number of actions `A`."""
    observation_shape: tuple[int, ...] = checked(positive_sizes)
    """Shape of one observation from `make_image` (not in the pseudocode)."""
    max_moves: int = checked(positive_int)
    """Moves after which an episode is cut (truncated, so it is bootstrapped)."""
    discount: float = checked(rate, finite_number)
    """Discount of rewards, in (0, 1]."""
    game_factory: Callable[..., AbstractGame] = checked(given, repr=False, default=None)
    """Builds a new game: ``game_factory(discount=..., seed=...)`` (not in the pseudocode)."""
    num_players: int = checked(positive_int, default=1)
    """Players of the game, taking turns: 1 (single-agent games), 2 (board games). Must be
    the game class's `num_players` where the factory is a class (not in the pseudocode)."""
    stacked_frames: int = checked(non_negative_int, default=0)
    """Image games: frames per observation, each with the action that led to it as a plane
    (paper, Atari: 32). Every frame is stored once, as uint8; the stacks are built when a
    state is searched or sampled (`game.frames`). 0: observations are stored as the game's
    `make_image` returns them."""

    # --- self-play ---
    num_actors: int = checked(non_negative_int, default=0)
    """Self-play actors of the pseudocode, each a process on Ray playing its share of the
    `num_parallel_games` games for the learner, the main process (`self_play.ray_actors`).
    0: self-play and training alternate in one process and Ray is not started (the paper:
    350 actors on Atari)."""
    actor_calls_in_flight: int = checked(non_negative_int, default=0)
    """Ray: calls each actor has queued while the learner trains (each
    `selfplay_moves_per_iteration / num_actors` moves). 0: none, the actors play each
    iteration's moves with the newest weights and wait, as self-play without actors does;
    >= 1: they play on while the learner trains, with weights an iteration older, and this
    bounds how far they run ahead and the memory their waiting results take (not in the
    pseudocode)."""
    actor_cpus: float = checked(finite_number, greater_than_zero, default=1.0)
    """Ray: CPUs each actor asks for; its TensorFlow uses that many threads (at least 1)."""
    actor_gpus: float = checked(finite_number, at_least_zero, default=0.0)
    """Ray: GPUs each actor asks for (0: the actors search on CPUs)."""
    learner_cpus: float = checked(finite_number, at_least_zero, default=1.0)
    """Ray: CPUs the learner (the main process) keeps on its machine: no actor is placed on
    them, and its TensorFlow uses that many threads (at least 1). 0: none kept, and its
    TensorFlow's threads are its default."""
    num_parallel_games: int = checked(positive_int, default=16)
    """Games self-play keeps in flight, searched in lockstep (not in the pseudocode). With
    actors, split between them (no more actors than games): the number of actors changes
    how fast self-play runs, not how many games it has in flight."""
    search: str = checked(one_of("batched", "reference"), default="batched")
    """``"batched"`` (B games in lockstep) or ``"reference"`` (the pseudocode, one by one)."""
    search_policy: str = checked(search_policy_name, default="muzero")
    """The member of the MuZero family that searches, by its name in
    `self_play.policies.SEARCH_POLICIES`: ``"muzero"`` is the paper's (pUCT over every
    action, Dirichlet noise at the root, the visit counts as the policy target);
    ``"gumbel"`` is Gumbel MuZero (Danihelka et al., 2022: Gumbel-Top-k and Sequential
    Halving at the root, an improved policy from completed Q-values as the target; it
    improves on the prior with as few as 2 simulations)."""
    gumbel_scale: float = checked(finite_number, at_least_zero, default=1.0)
    """Gumbel MuZero: scale of the Gumbel noise ``g`` added to the root logits when exploring
    (mctx: ``gumbel_scale``); 0: a deterministic search. Searches without exploration
    (evaluation) add none."""
    max_considered_actions: int = checked(positive_int, default=16)
    """Gumbel MuZero: actions the root considers, ``m`` of the paper (the top ``m`` of
    ``g + logits``; mctx: ``max_num_considered_actions``, 16)."""
    gumbel_c_visit: float = checked(finite_number, at_least_zero, default=50.0)
    """Gumbel MuZero: ``c_visit`` of ``sigma(q) = (c_visit + max_b N(b)) * c_scale * q``
    (paper eq. 8; mctx's ``maxvisit_init``, 50)."""
    gumbel_c_scale: float = checked(positive_number, finite_number, default=0.1)
    """Gumbel MuZero: ``c_scale`` of ``sigma`` (paper eq. 8; mctx's ``value_scale``, 0.1)."""
    dirichlet_alpha: float = checked(positive_number, finite_number, default=0.25)
    """Concentration of the root exploration noise."""
    root_exploration_fraction: float = checked(finite_number, fraction, default=0.25)
    """Weight of the noise in the root priors."""
    num_simulations: int = checked(positive_int, default=50)
    """Simulations per search."""
    pb_c_base: float = checked(positive_number, finite_number, default=19652.0)
    """UCB: base of the exploration term's slow growth."""
    pb_c_init: float = checked(finite_number, at_least_zero, default=1.25)
    """UCB: initial exploration weight."""
    known_bounds: KnownBounds | None = checked(ordered_bounds, default=None)
    """Known value bounds; None: learned min-max statistics."""
    visit_softmax_temperature_fn: Callable[[int, int, int], float] = field(
        default_factory=StepTemperature
    )
    """``fn(num_moves, training_steps, total_training_steps) -> T``; T = 0 is argmax."""

    # --- training ---
    training_steps: int = checked(positive_int, default=10_000)
    """Training steps of the run."""
    checkpoint_interval: int = checked(positive_int, default=100)
    """Training steps between saves of the network to the shared storage / disk."""
    window_size: int = checked(positive_int, default=1000)
    """Games kept in the replay buffer."""
    replay_memory_mb: int = checked(non_negative_int, default=0)
    """Cap on the memory the stored games take, in MiB; the oldest games leave first, the
    newest always stays (0: no cap but `window_size`; not in the pseudocode)."""
    batch_size: int = checked(positive_int, default=128)
    """Positions per training batch."""
    num_unroll_steps: int = checked(positive_int, default=5)
    """Steps K the dynamics is unrolled in training."""
    td_steps: int = checked(positive_int, default=10)
    """Steps n of the n-step value targets."""
    weight_decay: float = checked(finite_number, at_least_zero, default=1e-4)
    """L2 coefficient added to the loss."""
    momentum: float = checked(finite_number, fraction, default=0.9)
    """SGD momentum."""
    optimizer: str = checked(one_of("sgd", "adam"), default="sgd")
    """``"sgd"`` (the pseudocode, with momentum) or ``"adam"`` (not in the pseudocode)."""
    lr_init: float = checked(positive_number, finite_number, default=0.05)
    """Initial learning rate."""
    lr_decay_rate: float = checked(finite_number, rate, default=0.1)
    """Learning rate multiplies by this every `lr_decay_steps`."""
    lr_decay_steps: int = checked(positive_int, default=350_000)
    """Steps of one `lr_decay_rate` decay (applied continuously)."""
    value_loss_weight: float = checked(finite_number, at_least_zero, default=1.0)
    """Weight of the value loss (paper appendix H uses 0.25 for Reanalyze)."""
    prioritized_replay: bool = checked(boolean, default=False)
    """Draw positions by priority (paper appendix G, for Atari): ``P(i) = p_i^alpha /
    sum_k p_k^alpha``, new positions at the largest priority so far, refreshed with
    ``|v - z|`` of each training step, losses scaled by importance weights. False: a game
    uniformly, then a position in it (the pseudocode; the paper's board games)."""
    priority_alpha: float = checked(finite_number, at_least_zero, default=1.0)
    """Priority exponent alpha (paper appendix G: 1)."""
    priority_beta: float = checked(finite_number, fraction, default=1.0)
    """Importance-weight exponent: ``w_i = (N P(i))^-beta``, divided by the batch's largest
    (paper appendix G: 1)."""
    target_update_interval: int = checked(non_negative_int, default=0)
    """Training steps between copies of the trained weights into a target network whose
    values bootstrap the n-step value targets, made when a batch is sampled (MuZero
    Reanalyze, paper appendix H, which gives no interval). 0: bootstrap from the search
    values stored with the game (the pseudocode)."""
    reanalyse_fraction: float = checked(finite_number, fraction, default=0.0)
    """Fraction of each batch whose policy targets come from a new search of the stored
    states with the latest network, one batched search for the whole batch (MuZero
    Reanalyze, paper appendix H: 0.8, with value_loss_weight 0.25 and td_steps 5). Needs a
    target network (`target_update_interval`) for its value targets."""
    augment_symmetries: bool = checked(boolean, default=False)
    """Train each sampled position under a random symmetry of the game (its `symmetries()`;
    AlphaGo Zero's augmentation, not in MuZero)."""
    consistency_loss_weight: float = checked(finite_number, at_least_zero, default=0.0)
    """Weight of EfficientZero's temporal consistency loss (Ye et al., 2021, section 4.1;
    paper: 2; not in MuZero): the hidden state the dynamics predicts for each unroll step
    is pulled towards the representation of the observation seen there (stop-gradient on
    that branch; SimSiam's projection and predictor heads; negative cosine similarity). 0:
    none, and no heads are built (`training.consistency`)."""
    consistency_projection_size: int = checked(positive_int, default=1024)
    """Units of each layer of the consistency projection (EfficientZero, Atari: 1024)."""
    consistency_predictor_size: int = checked(positive_int, default=512)
    """Units of the hidden layer of the consistency predictor (EfficientZero, Atari: 512)."""
    value_prefix_horizon: int = checked(non_negative_int, default=0)
    """EfficientZero's value prefix (Ye et al., 2021, section 4.2; paper: 5; not in MuZero):
    the reward head predicts the discounted sum of the rewards since the unroll (or the
    search) started, with an LSTM reset every this many steps, and the search takes each
    step's reward as the difference of the prefixes (`networks.value_prefix`). One-player
    games only. 0: each step's reward, as MuZero."""
    value_prefix_lstm_size: int = checked(positive_int, default=512)
    """Units of the value prefix's LSTM (EfficientZero, Atari: 512)."""
    off_policy_tau: float = checked(finite_number, at_least_zero, default=0.0)
    """EfficientZero's off-policy correction (Ye et al., 2021, section 4.3; paper: 0.3; not
    in MuZero): the n-step value targets of a stored game look ``l = clip(td_steps -
    floor(age / (off_policy_tau * training_steps)), 1, td_steps)`` moves ahead instead of
    `td_steps`, `age` the training steps since the game entered the replay buffer, so the
    games of an older policy bootstrap sooner (`training.targets.horizons_by_age`). 0:
    `td_steps` for every game."""
    bootstrap_search: bool = checked(boolean, default=False)
    """Bootstrap the n-step value targets from the root value of a fresh search of the
    state bootstrapped from (EfficientZero section 4.3: "the root value of the MCTS"), the
    run's search without noise, with the target network where there is one
    (`target_update_interval`), else the latest weights; one batched search per batch (not
    in MuZero). False: the target network's value, or the stored search value."""
    jit_compile: bool = checked(boolean, default=False)
    """Compile the training step with XLA (not in the pseudocode): on CPU it trains the
    Connect Four network ~1.6x faster, but the numbers differ in the last bits from the
    plain graph and the first step compiles for 10-20 s."""

    # --- acting and learning in one process (not in the pseudocode) ---
    selfplay_moves_per_iteration: int = checked(positive_int, default=200)
    """Moves of self-play (all parallel games together) between training phases."""
    training_steps_per_iteration: int = checked(positive_int, default=10)
    """Training steps between self-play phases (read when `replay_ratio` is 0)."""
    replay_ratio: float = checked(finite_number, at_least_zero, default=0.0)
    """Training steps per self-play move (frame; all games together), the replay ratio of
    EfficientZero and LightZero (not in the pseudocode). Each phase takes the steps the
    iteration's moves earned (fractions carry over to the next phase). 0: the ratio follows
    from `training_steps_per_iteration` per `selfplay_moves_per_iteration` moves."""
    min_replay_moves: int = checked(at_least_zero, default=500)
    """Moves in the replay buffer before training starts."""

    # --- network ---
    network_factory: Callable[[MuZeroConfig], BaseNetwork] = checked(
        given, repr=False, default=None
    )
    """Builds the network from this config (not in the pseudocode)."""
    value_support_size: int = checked(positive_int, default=300)
    """Value support ``-n .. n`` (paper: 300)."""
    reward_support_size: int = checked(positive_int, default=300)
    """Reward support ``-n .. n`` (paper: 300)."""
    value_transform: bool = checked(boolean, default=True)
    """Squash values and rewards with h before the support (paper, Atari); False: encode them
    as they are (board games: the support -1, 0, 1 is loss, draw, win)."""
    hidden_state_size: int = checked(positive_int, default=64)
    """Width of the hidden state (fully connected networks)."""
    hidden_layers: tuple[int, ...] = checked(positive_widths, default=(64,))
    """Hidden layer widths of each model (fully connected networks)."""
    hidden_state_scaling: str = checked(one_of("min_max", "tanh"), default="min_max")
    """``"min_max"`` to [0, 1] (paper) or ``"tanh"`` (seed research code)."""
    residual_channels: int = checked(positive_int, default=32)
    """Planes of the hidden state and convolutions (residual networks)."""
    residual_blocks: int = checked(at_least_zero, default=2)
    """Residual blocks of the representation and dynamics towers (residual networks)."""
    residual_head_units: int = checked(at_least_zero, default=64)
    """Width of the hidden dense layer of the value and reward heads (residual networks; 0:
    none, a linear head)."""
    residual_prediction_blocks: int = checked(at_least_zero, default=1)
    """Residual blocks of the prediction tower (residual networks; 0: the policy and value
    heads read the hidden state directly, as the paper's f)."""
    downsample: bool = checked(boolean, default=False)
    """Image networks: the representation first downsamples by 16 (paper, Atari: 96 x 96 to
    6 x 6, `networks.residual._downsample`)."""
    downsample_blocks: tuple[int, ...] = checked(three_block_counts, default=(2, 3, 3))
    """Image networks: residual blocks at the downsampling's three resolutions (paper: 2, 3,
    3)."""

    # --- run ---
    seed: int = checked(seed_int, default=0)
    """Seed of every random generator of the run."""
    log_interval: int = checked(positive_int, default=10)
    """Training steps between rows of the metrics CSV."""
    evaluation_interval: int = checked(non_negative_int, default=0)
    """Training steps between evaluations of a two-player run (not in the pseudocode): the
    network plays greedy games in both seats against each of `evaluation_opponents` at the
    end of each training phase that passes a multiple of this (the multiple itself when
    `training_steps_per_iteration` divides it), and the metrics row of that step holds the
    outcomes. 0: none. Evaluation uses its own random generators and leaves the weights
    alone, so the training is the same with it and without it."""
    evaluation_games: int = checked(positive_int, default=10)
    """Games per seat and opponent of one evaluation."""
    evaluation_opponents: tuple[str, ...] = checked(
        distinct_opponents, default=("random", "expert")
    )
    """Opponents of the evaluation (`game.opponents.make_opponent`: ``random``, ``minimax``,
    ``expert``); one the game has none of is left out."""

    def __post_init__(self) -> None:
        for name in _INT_TUPLE_FIELDS:
            value = getattr(self, name)
            try:
                # Frozen: the one change a config makes to itself, before it is checked.
                object.__setattr__(self, name, tuple(int(x) for x in value))
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a sequence of integers, got {value!r}") from None
        self.validate()

    # The pseudocode's `MuZeroConfig.new_game` / `new_network`.
    def new_game(self, seed: int | None = None) -> AbstractGame:
        """Return a new game (`seed` seeds its environment)."""
        return self.game_factory(discount=self.discount, seed=seed)

    def new_network(self) -> BaseNetwork:
        """Return a new network with fresh weights."""
        return self.network_factory(self)

    def visit_softmax_temperature(self, num_moves: int, training_steps: int) -> float:
        """Return the temperature for a move (see `visit_softmax_temperature_fn`)."""
        return self.visit_softmax_temperature_fn(num_moves, training_steps, self.training_steps)

    def validate(self) -> None:
        """Raise `ValueError` naming the first field whose value is out of range.

        Each field's own checks (`checked`, beside the field) run first, in the order of the
        fields; then the checks that relate several fields, which can rely on each field
        being valid on its own.
        """
        for item in dataclasses.fields(self):
            for check in item.metadata.get("checks", ()):
                check(item.name, getattr(self, item.name))
        # A game class (or a partial of one) says how many players it has; a factory that
        # is no class leaves it to the config.
        game_class = _game_class(self.game_factory)
        players = getattr(game_class, "num_players", None)
        if isinstance(players, int) and self.num_players != players:
            raise ValueError(
                f"num_players must be {players}, the players of {game_class.__name__}; "
                f"got {self.num_players!r}"
            )
        if self.value_prefix_horizon and self.num_players != 1:
            raise ValueError(
                f"value_prefix_horizon is for one-player games; {self.game_name} has "
                f"{self.num_players} players"
            )
        if self.evaluation_interval and self.num_players != 2:
            raise ValueError(
                f"evaluation_interval is for two-player games; {self.game_name} has "
                f"{self.num_players} player(s)"
            )
        if is_image_game(game_class):
            image_stacked_frames(self.game_name, self.stacked_frames)
        if self.reanalyse_fraction and not self.target_update_interval:
            raise ValueError(
                "reanalyse_fraction needs a target network for its value targets: set "
                "target_update_interval too"
            )
        if self.num_actors > self.num_parallel_games:
            raise ValueError(
                f"num_parallel_games must be >= num_actors ({self.num_actors}): the games in "
                f"flight are split between the actors, got {self.num_parallel_games!r}"
            )
        if self.augment_symmetries and not callable(getattr(self.game_factory, "symmetries", None)):
            raise ValueError(
                "augment_symmetries needs a game_factory with symmetries() (a game class); "
                f"got {self.game_factory!r}"
            )
        if self.augment_symmetries and not self.game_factory.symmetries():
            raise ValueError(f"augment_symmetries: {self.game_name} has no symmetries to use")

    def settable_fields(self) -> dict[str, type]:
        """Return the fields `--set FIELD=VALUE` may change, with their declared types.

        Plain numbers, strings, booleans and `hidden_layers` (a tuple of ints); not the
        game's own shape (`game_name`, `action_space_size`, `observation_shape`,
        `num_players`).
        """
        declared = {"int": int, "float": float, "str": str, "bool": bool, "tuple[int, ...]": tuple}
        fixed = {"game_name", "action_space_size", "observation_shape", "num_players"}
        return {
            item.name: declared[item.type]
            for item in dataclasses.fields(self)
            if item.type in declared and item.name not in fixed | set(self.unused_fields())
        }

    def unused_fields(self) -> dict[str, str]:
        """Return the fields this config's game or network never reads, with the reason.

        The sizes of the built-in fully connected network mean nothing to the residual one
        and the other way round (a custom `network_factory` may read any of them); the
        periodic evaluation means nothing to a one-player game.
        """
        unused: dict[str, str] = {}
        if self.num_players == 1:
            reason = f"{self.game_name} is a one-player game: there is no opponent to evaluate"
            unused.update(dict.fromkeys(("evaluation_interval", "evaluation_games"), reason))
        if not is_image_game(_game_class(self.game_factory)):
            unused["stacked_frames"] = f"{self.game_name} does not observe stacks of image frames"
        own = ARCHITECTURE_FIELDS.get(self.network_factory)
        for factory, names in ARCHITECTURE_FIELDS.items():
            if own is not None and factory is not self.network_factory:
                reason = (
                    f"{self.game_name} uses {self.network_factory.__name__}, not {factory.__name__}"
                )
                unused.update(dict.fromkeys(set(names) - set(own), reason))
        return unused

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain values (callables by their repr), for saving."""
        out = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, KnownBounds):
                value = {"min": value.min, "max": value.max}
            elif isinstance(value, tuple):
                value = list(value)
            elif callable(value):
                value = getattr(value, "__qualname__", None) or repr(value)
            out[item.name] = value
        return out


def make_cartpole_config(**overrides: Any) -> MuZeroConfig:
    """Return the config of CartPole-v1: 19 seeds of 20 reach a greedy mean of 475 (README).

    Rewards are 1 per step, so with discount 0.997 values reach ~300; supports of 20 cover
    h(300) ~ 17. The recipe, checked on seeds 0-4 (docs/experiments.md has the runs):

    - 40 training steps per 400 frames of self-play (4 times the old ratio: training steps
      cost little beside the search), 10,000 of them, and the learning rate decayed to a
      tenth by the last step, so the last network is not still moving fast;
    - a target network for the value bootstraps (appendix H), so the n-step targets do not
      read search values that are tens of thousands of frames stale;
    - prioritized replay over positions (paper appendix G), in the runs that were checked;
      its effect alone is mixed (without it self-play held 475 sooner on the seeds
      measured; at 8,000 steps it helped one seed's greedy return and hurt another's);
    - with ``search_policy="gumbel"``, 15,000 steps (`CARTPOLE_GUMBEL_RECIPE`);
    - no L2 term: with Adam, `weight_decay * w` is rescaled like every gradient, and with the
      importance weights of prioritized replay shrinking the data losses (their mean is
      ~0.07) it decayed the weights faster than the data moved them (runs stayed at a
      return of ~25 with 1e-4).
    """
    settings: dict[str, Any] = dict(
        game_name="cartpole",
        action_space_size=2,
        observation_shape=(4,),
        max_moves=500,
        discount=0.997,
        game_factory=CartPole,
        network_factory=make_fully_connected_network,
        num_parallel_games=16,
        dirichlet_alpha=0.25,
        num_simulations=50,
        training_steps=10_000,
        checkpoint_interval=1000,
        window_size=500,
        batch_size=128,
        num_unroll_steps=5,
        td_steps=50,
        optimizer="adam",
        lr_init=0.005,
        lr_decay_rate=0.1,
        lr_decay_steps=10_000,
        weight_decay=0.0,
        value_loss_weight=0.25,
        prioritized_replay=True,
        target_update_interval=100,
        selfplay_moves_per_iteration=400,
        training_steps_per_iteration=40,
        min_replay_moves=1000,
        value_support_size=20,
        reward_support_size=5,
        hidden_state_size=32,
        hidden_layers=(64,),
        visit_softmax_temperature_fn=StepTemperature((1.0, 0.5, 0.25), (0.5, 0.75)),
        # Read by search_policy="gumbel" only. With the paper's scale of 1, Gumbel-4 on seeds
        # 0-4 ended at greedy means of 500.0, 498.3, 312.7, 160.1 and 494.0: Gumbel's only
        # exploration is `g`, and once the prior is sharp self-play visits few states. At 2,
        # seeds 0-5 end at 490.7, 500, 500, 500, 453.5 and 500 (docs/gumbel.md). Gumbel's
        # runs also train longer: CARTPOLE_GUMBEL_RECIPE.
        gumbel_scale=2.0,
    )
    if overrides.get("search_policy") == "gumbel":
        settings.update(CARTPOLE_GUMBEL_RECIPE)
    settings.update(overrides)
    return MuZeroConfig(**settings)


#: What `make_cartpole_config` changes for ``search_policy="gumbel"`` (fields given to it win).
#: 15,000 training steps, the learning rate decayed over them: at 10,000, Gumbel-4's seeds
#: 0-4 ended at 500.0, 327.5, 209.0, 497.5 and 500.0 (two had not yet learned to hold 475
#: in self-play); at 15,000 every seed ended at 500.0 (docs/gumbel.md, 2026-12-07).
CARTPOLE_GUMBEL_RECIPE: dict[str, Any] = dict(training_steps=15_000, lr_decay_steps=15_000)


#: EfficientZero's recipe on CartPole (`make_cartpole_efficientzero_config`; docs/efficientzero.md
#: has the runs): a training step per two frames, the learning rate decayed and the
#: temperature lowered over the 5,000 steps that 10,000 frames earn (seeds 0-4 at 500.0,
#: 500.0, 408.8, 493.6, 500.0; over 10,000 steps, 499.9, 500.0, 471.3, 327.7, 500.0; at one
#: step per frame, seeds 1-4 ended at 259-385), 8 games of 100
#: moves between phases and training from the 500th frame, so the first games count; the
#: consistency loss at the paper's weight with heads sized for a 32-unit hidden state; the
#: value prefix reset every 5 steps; the off-policy correction at the paper's tau.
CARTPOLE_EFFICIENTZERO_RECIPE: dict[str, Any] = dict(
    game_name="cartpole-efficientzero",
    replay_ratio=0.5,
    training_steps=5_000,
    lr_decay_steps=5_000,
    num_parallel_games=8,
    selfplay_moves_per_iteration=100,
    min_replay_moves=500,
    consistency_loss_weight=2.0,
    consistency_projection_size=128,
    consistency_predictor_size=64,
    value_prefix_horizon=5,
    value_prefix_lstm_size=64,
    off_policy_tau=0.3,
)


def make_cartpole_efficientzero_config(**overrides: Any) -> MuZeroConfig:
    """Return CartPole-v1's config with EfficientZero's changes at a replay ratio of 0.5
    (`CARTPOLE_EFFICIENTZERO_RECIPE` over `make_cartpole_config`; fields given to it win):
    ``python muzero.py --game cartpole-efficientzero --max-frames 10000``."""
    return make_cartpole_config(**{**CARTPOLE_EFFICIENTZERO_RECIPE, **overrides})


def make_gym_config(env_id: str, **overrides: Any) -> MuZeroConfig:
    """Return a config for any gymnasium environment with discrete actions and flat observations.

    The spaces are read from the environment; every other field starts from the CartPole
    settings (its ``gumbel_scale`` of 2 too, measured on CartPole only) and can be
    overridden, e.g. ``make_gym_config("Acrobot-v1", discount=0.99)``.

    The reward and value supports follow the environment's scale: a few seeded random
    episodes (`game.environments.reward_scales`) give the largest ``|reward|`` of a step and
    ``|return|`` of an episode (or the environment's `reward_threshold`, if larger), and each
    support is made wide enough for twice that after the squashing `h` (`support_size_for`),
    never narrower than CartPole's (5 for rewards, 20 for values). LunarLander-v3, whose
    crash costs 100 in one step and whose random episodes lose up to 461, gets supports of
    14 and 31.
    """
    import functools

    from game import GymGame

    probe = probe_flat_environment(env_id)
    settings: dict[str, Any] = dict(
        game_name=env_id,
        action_space_size=probe.action_space_size,
        observation_shape=(probe.observation_size,),
        max_moves=probe.max_steps,
        game_factory=functools.partial(GymGame, env_id),
        reward_support_size=support_size_for(probe.largest_reward, 5),
        value_support_size=support_size_for(probe.largest_return, 20),
    )
    settings.update(overrides)
    return make_cartpole_config(**settings)


#: `make_atari_config` presets: the paper's sizes, and a small one a CPU can train.
ATARI_PRESETS: dict[str, dict[str, Any]] = {
    # Paper (pseudocode `make_atari_config`, appendices E-G): 32 frames, 256 planes, 16
    # blocks, 50 simulations, batches of 1024, n = 10, SGD 0.05 decayed by 10x every 350k
    # steps, 1M steps, prioritized replay with alpha = beta = 1.
    "paper": dict(
        stacked_frames=32,
        residual_channels=256,
        residual_blocks=16,
        downsample_blocks=(2, 3, 3),
        num_simulations=50,
        batch_size=1024,
        training_steps=1_000_000,
        checkpoint_interval=1000,
        # 125,000 sequences of 200 moves (appendix D); the window counts games here.
        window_size=125_000,
        num_actors=350,
        num_parallel_games=350,  # one game per actor, as the pseudocode's actors
    ),
    # A CPU: 4 frames, 32 planes, 1 block per stage and tower, 16 simulations, batches of
    # 32, Adam; the same pipeline (96 x 96 RGB, action planes, downsampling to 6 x 6).
    "small": dict(
        stacked_frames=4,
        residual_channels=32,
        residual_blocks=1,
        downsample_blocks=(1, 1, 1),
        num_simulations=16,
        batch_size=32,
        training_steps=10_000,
        checkpoint_interval=500,
        window_size=50,
        num_parallel_games=4,
        optimizer="adam",
        lr_init=0.001,
        lr_decay_steps=10_000,
        selfplay_moves_per_iteration=200,
        training_steps_per_iteration=10,
        min_replay_moves=1000,
    ),
}


def make_atari_config(env_id: str = "ALE/Breakout-v5", preset: str = "small",
                      **overrides: Any) -> MuZeroConfig:  # fmt: skip
    """Return the config of an Atari game (any ALE id). Pseudocode: `make_atari_config`.

    As the paper: the full 18 actions, every action repeated 4 times (`atari_preprocessing`:
    the last two frames max-pooled, 96 x 96 RGB, up to 30 random no-ops at the start, rewards
    not clipped, a lost life not the end), episodes cut at 27,000 moves (108,000 frames),
    discount 0.997, Dirichlet alpha 0.25, temperature 1, 0.5, 0.25 over the run, value and
    reward supports of 601 through `h`, the observation of the last `stacked_frames` frames
    and the actions that led to them, the downsampling residual network. `preset` sizes the
    rest: ``"paper"`` (the paper's) or ``"small"`` (a CPU's), see `ATARI_PRESETS`.
    """
    import functools

    from game.frames import stack_shape
    from game.image_game import ImageGame, atari_preprocessing

    if preset not in ATARI_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(ATARI_PRESETS)}; got {preset!r}")
    register_image_environments(env_id)
    import gymnasium as gym

    if env_id not in gym.envs.registry:
        raise ValueError(f"{env_id}: not an ALE environment id (such as ALE/Breakout-v5)")
    settings: dict[str, Any] = dict(ATARI_PRESETS[preset])
    settings.update(overrides)
    stacked = image_stacked_frames(env_id, settings["stacked_frames"])
    game_factory = functools.partial(
        ImageGame, env_id, wrap=atari_preprocessing, stacked_frames=stacked, frameskip=1,
        repeat_action_probability=0.0, full_action_space=True,
        max_num_frames_per_episode=108_000,
    )  # fmt: skip
    defaults: dict[str, Any] = dict(
        game_name=env_id,
        action_space_size=18,
        observation_shape=stack_shape((96, 96, 3), stacked),
        max_moves=27_000,
        discount=0.997,
        game_factory=game_factory,
        network_factory=make_image_network,
        dirichlet_alpha=0.25,
        td_steps=10,
        num_unroll_steps=5,
        lr_init=0.05,
        lr_decay_rate=0.1,
        lr_decay_steps=350_000,
        weight_decay=1e-4,
        momentum=0.9,
        value_support_size=300,
        reward_support_size=300,
        residual_head_units=0,
        residual_prediction_blocks=0,
        downsample=True,
        prioritized_replay=True,
        priority_alpha=1.0,
        priority_beta=1.0,
        visit_softmax_temperature_fn=StepTemperature((1.0, 0.5, 0.25), (0.5, 0.75)),
    )
    defaults.update(settings)
    return MuZeroConfig(**defaults)


def make_minatar_config(env_id: str = "MinAtar/Breakout-v1", **overrides: Any) -> MuZeroConfig:
    """Return the config of a MinAtar game (Young & Tian, 2019): 10 x 10 Atari-like games of
    binary planes, one per kind of object, through the Atari image path (frames stored once
    as uint8, stacked with their action planes, the residual image network, one plane per
    action for the dynamics) at a size this CPU trains within an hour.

    MinAtar's own settings stay: sticky actions (0.1), difficulty ramping, no frame skip,
    ids ``-v1`` with the minimal action set (``-v0``: all 6). The MinAtar paper's baselines
    use discount 0.99, as here.
    """
    import functools

    from game.environments import make_environment
    from game.frames import stack_shape
    from game.image_game import ImageGame

    register_image_environments(env_id)
    env = make_environment(env_id)
    frame_shape = tuple(env.observation_space.shape)
    actions = int(env.action_space.n)
    env.close()
    stacked = image_stacked_frames(env_id, overrides.get("stacked_frames", 2))
    settings: dict[str, Any] = dict(
        game_name=env_id,
        action_space_size=actions,
        observation_shape=stack_shape(frame_shape, stacked),
        max_moves=5000,
        discount=0.99,
        game_factory=functools.partial(ImageGame, env_id, stacked_frames=stacked),
        network_factory=make_image_network,
        stacked_frames=stacked,
        num_parallel_games=16,
        dirichlet_alpha=0.25,
        num_simulations=25,
        # A step of batch 64 costs ~0.11 s on one core and 400 moves of self-play ~1.8 s:
        # ~16,500 steps (30 per 400 moves) and ~220,000 frames fit in an hour. Batch 128 and
        # 20 steps per 400 moves gave half the updates; 16 planes, 1.8x the frames and steps
        # but less per frame (docs/experiments.md).
        training_steps=20_000,
        checkpoint_interval=1000,
        window_size=1000,
        batch_size=64,
        num_unroll_steps=5,
        td_steps=10,
        optimizer="adam",
        lr_init=0.002,
        lr_decay_rate=0.1,
        lr_decay_steps=20_000,
        weight_decay=0.0,
        value_loss_weight=0.25,
        prioritized_replay=True,
        target_update_interval=100,
        selfplay_moves_per_iteration=400,
        training_steps_per_iteration=30,
        min_replay_moves=2000,
        value_support_size=30,
        reward_support_size=5,
        residual_channels=32,
        residual_blocks=1,
        residual_head_units=32,
        residual_prediction_blocks=0,
        # The paper's temperatures, falling sooner (at 20% and 40% of the steps, not 50% and
        # 75%): a stray move loses the ball, and games played closer to the policy reach
        # the later, faster part of the game. Greedy 12.1 and 17.5 after the hour, seeds 0
        # and 1, against 8.0 for seed 0 with the paper's schedule (docs/experiments.md).
        visit_softmax_temperature_fn=StepTemperature((1.0, 0.5, 0.25), (0.2, 0.4)),
    )
    settings.update(overrides)
    return MuZeroConfig(**settings)


#: EfficientZero's recipe on MinAtar (`make_minatar_efficientzero_config`; not yet run to
#: 100,000 frames: a 2-minute probe's costs put that budget at about 40 minutes of one core),
#: for a budget of 100,000 frames in an hour of one core: 0.15 training steps
#: per frame (15,000 steps at 100,000 frames, the learning rate decayed and the temperature
#: lowered over them), the consistency loss at the paper's weight with heads sized for a
#: 10 x 10 x 32 hidden state, the value prefix reset every 5 steps (its LSTM after a 1 x 1
#: convolution to 16 planes), the off-policy correction at the paper's tau.
MINATAR_EFFICIENTZERO_RECIPE: dict[str, Any] = dict(
    replay_ratio=0.15,
    training_steps=15_000,
    lr_decay_steps=15_000,
    consistency_loss_weight=2.0,
    consistency_projection_size=256,
    consistency_predictor_size=128,
    value_prefix_horizon=5,
    value_prefix_lstm_size=64,
    off_policy_tau=0.3,
)


def make_minatar_efficientzero_config(env_id: str = "MinAtar/Breakout-v1",
                                      **overrides: Any) -> MuZeroConfig:  # fmt: skip
    """Return a MinAtar game's config with EfficientZero's changes
    (`MINATAR_EFFICIENTZERO_RECIPE` over `make_minatar_config`; fields given to it win):
    ``python benchmarks/minatar_games.py --efficientzero --max-frames 100000``."""
    return make_minatar_config(env_id, **{**MINATAR_EFFICIENTZERO_RECIPE, **overrides})


def make_board_game_config(
    game_name: str,
    action_space_size: int,
    observation_shape: tuple[int, ...],
    max_moves: int,
    dirichlet_alpha: float,
    lr_init: float,
    game_factory: Callable[..., AbstractGame],
    temperature_moves: int,
    **overrides: Any,
) -> MuZeroConfig:
    """Return a two-player board game config. Pseudocode: `make_board_game_config`.

    As the pseudocode: discount 1, Monte Carlo value targets (``td_steps = max_moves``),
    values known to lie in [-1, 1], temperature 1 for the first moves then 0, and a
    Dirichlet alpha per game; sizes (simulations, batch, network) scaled down to one machine.
    """
    settings: dict[str, Any] = dict(
        game_name=game_name,
        action_space_size=action_space_size,
        observation_shape=observation_shape,
        max_moves=max_moves,
        discount=1.0,
        game_factory=game_factory,
        num_players=2,
        network_factory=make_residual_network,
        dirichlet_alpha=dirichlet_alpha,
        num_simulations=50,
        td_steps=max_moves,
        num_unroll_steps=5,
        known_bounds=KnownBounds(-1.0, 1.0),
        visit_softmax_temperature_fn=MovesTemperature(temperature_moves),
        lr_init=lr_init,
        optimizer="adam",
        lr_decay_rate=0.1,
        lr_decay_steps=20_000,
        value_support_size=1,
        reward_support_size=1,
        value_transform=False,
        num_parallel_games=64,
        batch_size=128,
        window_size=3000,
        # 10 games per seat and opponent every 1000 steps: ~2% of tic-tac-toe's training time
        # (2-3.5 s an evaluation) and 2-3% of Connect Four's (6-12 s, against depth 2).
        evaluation_interval=1000,
        evaluation_games=10,
    )
    settings.update(overrides)
    return MuZeroConfig(**settings)


def make_tictactoe_config(**overrides: Any) -> MuZeroConfig:
    """Return the tic-tac-toe config (see README for what it reaches)."""
    settings: dict[str, Any] = dict(
        max_moves=9,
        dirichlet_alpha=0.3,
        lr_init=0.003,
        residual_channels=32,
        residual_blocks=1,
        residual_head_units=0,
        value_transform=True,
        training_steps=6000,
        checkpoint_interval=500,
        selfplay_moves_per_iteration=200,
        training_steps_per_iteration=10,
        min_replay_moves=500,
        num_simulations=40,
        # The board's eight symmetries: without them seeds 0-3 lost 1-6 games of 100 moving
        # second to the perfect player, each a missed block late in the game (benchmark
        # `tictactoe.py`'s every-line check); with them seeds 1 and 2 lost no line at all.
        augment_symmetries=True,
        # Read by search_policy="gumbel" only. With the paper's scale 1, Gumbel-16 self-play
        # reached too few positions once the prior was sharp: seed 0 lost 9 of 94 lines moving
        # second to the perfect player, 2 of 83 at scale 2; at 3 seeds 0-2 lose none
        # (docs/gumbel.md).
        gumbel_scale=3.0,
    )
    settings.update(overrides)
    return make_board_game_config(
        "tictactoe", 9, (3, 3, 3), game_factory=TicTacToe, temperature_moves=6, **settings
    )


def make_connect4_config(**overrides: Any) -> MuZeroConfig:
    """Return the Connect Four config (see README for what it reaches)."""
    settings: dict[str, Any] = dict(
        max_moves=42,
        dirichlet_alpha=0.3,
        lr_init=0.003,
        residual_channels=32,
        residual_blocks=1,
        training_steps=16_000,
        checkpoint_interval=1000,
        num_simulations=50,
        selfplay_moves_per_iteration=200,
        training_steps_per_iteration=10,
        min_replay_moves=1000,
        augment_symmetries=True,
        num_actors=1,
        actor_calls_in_flight=1,  # self-play goes on while the learner trains (README)
        jit_compile=True,
        # Alpha-beta of depth 4 ("expert") takes 0.07 s a move on average, up to 0.2 s: 20
        # games of 10-20 of its moves would cost 5-9% of the training; depth 2, 5 ms a move.
        evaluation_opponents=("random", "minimax"),
    )
    settings.update(overrides)
    return make_board_game_config(
        "connect4", 7, (6, 7, 3), game_factory=Connect4, temperature_moves=10, **settings
    )


#: Game name -> config factory; `python muzero.py --game NAME` looks games up here.
GAMES: dict[str, Callable[..., MuZeroConfig]] = {
    "cartpole": make_cartpole_config,
    "cartpole-efficientzero": make_cartpole_efficientzero_config,
    "tictactoe": make_tictactoe_config,
    "connect4": make_connect4_config,
}


def config_factory(game: str) -> Callable[..., MuZeroConfig]:
    """Return the config factory of a game in `GAMES` or of a registered gymnasium id.

    Raises:
        KeyError: `game` is neither (the message names the built-in games).
    """
    if game in GAMES:
        return GAMES[game]
    import functools

    if game.startswith("ALE/"):
        return functools.partial(make_atari_config, game)
    if game.startswith("MinAtar/"):
        return functools.partial(make_minatar_config, game)

    import gymnasium as gym

    if game in gym.envs.registry:
        return functools.partial(make_gym_config, game)
    raise KeyError(
        f"unknown game {game!r}: not a built-in game ({', '.join(sorted(GAMES))}) nor a "
        "registered gymnasium environment id (such as MountainCar-v0)"
    )
