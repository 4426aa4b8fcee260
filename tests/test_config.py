import dataclasses
import json
import math

import pytest

from config import (
    GAMES,
    KnownBounds,
    MovesTemperature,
    MuZeroConfig,
    StepTemperature,
    finite_number,
    make_cartpole_config,
    make_connect4_config,
    make_tictactoe_config,
)
from game.connect4 import Connect4
from game.opponents import OPPONENTS

# One bad value per case; the `ValueError` must name the field it is about.
BAD_VALUES = [
    ("num_simulations", 0),
    ("num_simulations", -5),
    ("batch_size", 0),
    ("batch_size", 1.5),  # a float where an int is required
    ("batch_size", True),  # a bool is an int to Python, never to the config
    ("training_steps", -1),
    ("training_steps", 0),
    ("window_size", 0),
    ("td_steps", 0),
    ("num_unroll_steps", 0),
    ("num_parallel_games", 0),
    ("max_moves", False),
    ("log_interval", 0),
    ("hidden_state_size", 0),
    ("value_support_size", 0),
    ("selfplay_moves_per_iteration", 0),
    ("training_steps_per_iteration", 0),
    ("replay_ratio", -0.5),
    ("replay_ratio", math.inf),
    ("discount", 0),
    ("discount", 1.5),
    ("discount", -0.5),
    ("discount", math.nan),
    ("dirichlet_alpha", 0),
    ("pb_c_base", 0),
    ("lr_init", 0),
    ("lr_init", -0.1),
    ("lr_init", math.inf),
    ("lr_decay_rate", 0),
    ("root_exploration_fraction", 2),
    ("root_exploration_fraction", -0.1),
    ("momentum", 1.5),
    ("pb_c_init", -1.0),
    ("weight_decay", -1e-4),
    ("value_loss_weight", math.nan),
    ("min_replay_moves", -1),
    ("search", "fast"),
    ("optimizer", "rmsprop"),
    ("hidden_state_scaling", "x"),
    ("hidden_layers", (64, 0)),
    ("observation_shape", (0,)),
    ("known_bounds", KnownBounds(1.0, 1.0)),
    ("known_bounds", KnownBounds(2.0, -2.0)),
    ("residual_prediction_blocks", -1),
    ("jit_compile", "yes"),
    ("value_transform", 1),
    ("augment_symmetries", None),
    ("search_policy", "nosuch"),
    ("num_players", 0),
    ("num_players", 2),  # CartPole is a one-player game
    ("evaluation_opponents", ("random", "random")),
    ("evaluation_opponents", "random"),  # a name, not a tuple of names
    ("known_bounds", (-1.0, 1.0)),  # not a KnownBounds
    ("discount", "0.9"),  # a string, even of a number
]


@pytest.mark.parametrize(
    "field, value", BAD_VALUES, ids=[f"{field}={value!r}" for field, value in BAD_VALUES]
)
def test_bad_value_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        make_cartpole_config(**{field: value})


@pytest.mark.parametrize(
    "field, value",
    [
        ("discount", 1.0),
        ("discount", 1),
        ("root_exploration_fraction", 0.0),
        ("root_exploration_fraction", 1.0),
        ("min_replay_moves", 0),
        ("weight_decay", 0.0),
        ("known_bounds", KnownBounds(-1.0, 1.0)),
        ("search", "reference"),
        ("optimizer", "sgd"),
        ("hidden_state_scaling", "tanh"),
    ],
)
def test_values_at_the_edges_are_accepted(field, value):
    assert getattr(make_cartpole_config(**{field: value}), field) == value


def test_missing_factories_are_refused():
    with pytest.raises(ValueError, match="network_factory"):
        make_cartpole_config(network_factory=None)
    with pytest.raises(ValueError, match="game_factory"):
        make_cartpole_config(game_factory=None)


def test_every_field_but_the_free_ones_has_its_check_beside_it():
    """A field's check is declared with the field (`checked`); validate runs them all."""
    free = {"game_name", "visit_softmax_temperature_fn"}  # any name, any schedule
    for item in dataclasses.fields(MuZeroConfig):
        checks = item.metadata.get("checks", ())
        assert bool(checks) != (item.name in free), item.name
        if item.type == "float":  # NaN and infinity are refused for every float field
            assert finite_number in checks, item.name


def test_the_config_is_frozen_and_replace_validates_the_new_one():
    config = make_cartpole_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_simulations = 3
    changed = dataclasses.replace(config, num_simulations=3)
    assert changed.num_simulations == 3 and config.num_simulations == 50
    assert dataclasses.replace(config) == config
    with pytest.raises(ValueError, match="num_simulations must be a positive integer, got 0"):
        dataclasses.replace(config, num_simulations=0)


def test_search_policy_is_a_name_of_the_registry():
    from self_play.policies import SEARCH_POLICIES

    assert make_cartpole_config().search_policy in SEARCH_POLICIES
    with pytest.raises(ValueError, match="search_policy must be one of muzero.*; got 'x'"):
        make_cartpole_config(search_policy="x")


def test_cartpoles_gumbel_recipe_trains_longer_and_given_fields_win():
    from config import make_gym_config

    assert (make_cartpole_config().training_steps, make_cartpole_config().lr_decay_steps) == (
        10_000, 10_000)  # fmt: skip
    gumbel = make_cartpole_config(search_policy="gumbel")
    assert (gumbel.training_steps, gumbel.lr_decay_steps) == (15_000, 15_000)
    given = make_cartpole_config(search_policy="gumbel", training_steps=300)
    assert (given.training_steps, given.lr_decay_steps) == (300, 15_000)
    assert make_cartpole_config(search_policy="muzero").training_steps == 10_000
    assert make_gym_config("CartPole-v1", search_policy="gumbel").training_steps == 15_000


def test_cartpoles_efficientzero_recipe_is_cartpole_with_its_changes_and_given_fields_win():
    from config import CARTPOLE_EFFICIENTZERO_RECIPE, make_cartpole_efficientzero_config

    recipe = make_cartpole_efficientzero_config()
    assert recipe.game_name == "cartpole-efficientzero"
    assert (recipe.replay_ratio, recipe.consistency_loss_weight, recipe.value_prefix_horizon,
            recipe.off_policy_tau) == (0.5, 2.0, 5, 0.3)  # fmt: skip
    plain = make_cartpole_config()
    changed = {field for field in CARTPOLE_EFFICIENTZERO_RECIPE}
    for field in dataclasses.fields(plain):
        if field.name not in changed and field.name != "visit_softmax_temperature_fn":
            assert getattr(recipe, field.name) == getattr(plain, field.name), field.name
    given = make_cartpole_efficientzero_config(replay_ratio=0.5, seed=3)
    assert (given.replay_ratio, given.seed, given.value_prefix_horizon) == (0.5, 3, 5)


def test_minatars_efficientzero_recipe_is_minatar_with_its_changes_and_given_fields_win():
    from config import (
        MINATAR_EFFICIENTZERO_RECIPE,
        make_minatar_config,
        make_minatar_efficientzero_config,
    )

    recipe = make_minatar_efficientzero_config("MinAtar/Breakout-v1")
    assert (recipe.replay_ratio, recipe.training_steps, recipe.lr_decay_steps,
            recipe.consistency_loss_weight, recipe.value_prefix_horizon,
            recipe.off_policy_tau) == (0.15, 15_000, 15_000, 2.0, 5, 0.3)  # fmt: skip
    plain = make_minatar_config("MinAtar/Breakout-v1")
    for field in dataclasses.fields(plain):
        if field.name not in MINATAR_EFFICIENTZERO_RECIPE and field.name not in (
            "visit_softmax_temperature_fn", "game_factory"):  # fmt: skip
            assert getattr(recipe, field.name) == getattr(plain, field.name), field.name
    given = make_minatar_efficientzero_config("MinAtar/Breakout-v1", replay_ratio=0.2, seed=3)
    assert (given.replay_ratio, given.seed, given.value_prefix_horizon) == (0.2, 3, 5)


def test_num_players_is_the_games_and_set_by_the_game_factories():
    assert make_cartpole_config().num_players == 1
    assert make_tictactoe_config().num_players == make_connect4_config().num_players == 2
    assert "num_players" not in make_tictactoe_config().settable_fields()  # the game's own
    with pytest.raises(ValueError, match=r"^num_players must be 2, the players of TicTacToe"):
        make_tictactoe_config(num_players=1)
    # A factory that is not a game class leaves the count to the config.
    config = make_connect4_config(augment_symmetries=False)
    config = dataclasses.replace(config, game_factory=lambda **kw: Connect4())
    assert config.num_players == 2 and config.evaluation_interval > 0
    with pytest.raises(ValueError, match="evaluation_interval is for two-player games"):
        dataclasses.replace(config, num_players=1)


def test_evaluation_opponents_are_the_names_of_the_opponents_module():
    for name in OPPONENTS:
        assert make_tictactoe_config(evaluation_opponents=(name,)).evaluation_opponents == (name,)
    with pytest.raises(ValueError, match="distinct names of random, minimax, expert"):
        make_tictactoe_config(evaluation_opponents=("perfect",))


@pytest.mark.parametrize("value", [-1, 1.5])
def test_bad_seed_is_refused(value):
    with pytest.raises(ValueError, match="seed"):
        make_cartpole_config(seed=value)


def test_games_registry():
    assert GAMES["cartpole"] is make_cartpole_config
    for name, factory in GAMES.items():
        assert factory().game_name == name


def test_lists_become_tuples():
    cfg = make_cartpole_config(observation_shape=[4], hidden_layers=[32, 16])
    assert cfg.observation_shape == (4,) and cfg.hidden_layers == (32, 16)


def test_to_dict_is_json_serialisable():
    cfg = make_cartpole_config(num_simulations=7, known_bounds=KnownBounds(0.0, 500.0))
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["game_name"] == "cartpole"
    assert data["num_simulations"] == 7
    assert data["hidden_layers"] == [64]
    assert data["known_bounds"] == {"min": 0.0, "max": 500.0}
    # Callables are saved by name, so a reader sees what built the run.
    assert data["game_factory"] == "CartPole"
    assert data["network_factory"] == "make_fully_connected_network"
    assert "StepTemperature" in data["visit_softmax_temperature_fn"]
    assert set(cfg.settable_fields()) <= set(data)


def test_to_dict_plain_values_rebuild_the_config():
    cfg = make_cartpole_config(batch_size=16, hidden_layers=(8, 8), search="reference")
    data = cfg.to_dict()
    overrides = {
        name: tuple(data[name]) if kind is tuple else data[name]
        for name, kind in cfg.settable_fields().items()
    }
    assert make_cartpole_config(**overrides).to_dict() == data


@pytest.mark.parametrize(
    "training_steps, expected",
    [(0, 1.0), (49, 1.0), (50, 0.5), (74, 0.5), (75, 0.25), (100, 0.25), (1000, 0.25)],
)
def test_step_temperature_of_the_atari_config(training_steps, expected):
    # Pseudocode: 1.0 below 50% of training, 0.5 below 75%, then 0.25.
    schedule = StepTemperature((1.0, 0.5, 0.25), (0.5, 0.75))
    assert schedule(num_moves=0, training_steps=training_steps, total_steps=100) == expected
    # The move number of the game plays no part.
    assert schedule(num_moves=400, training_steps=training_steps, total_steps=100) == expected


def test_step_temperature_custom_phases():
    schedule = StepTemperature((2.0, 1.0), (0.1,))
    assert schedule(0, 99, 1000) == 2.0
    assert schedule(0, 100, 1000) == 1.0
    # total_steps 0 must not divide by zero.
    assert schedule(0, 0, 0) == 2.0


def test_step_temperature_needs_one_more_temperature_than_fractions():
    with pytest.raises(ValueError):
        StepTemperature((1.0, 0.5), (0.5, 0.75))


@pytest.mark.parametrize("num_moves, expected", [(0, 1.0), (29, 1.0), (30, 0.0), (500, 0.0)])
def test_moves_temperature_of_the_board_game_config(num_moves, expected):
    # Pseudocode: temperature 1 for the first 30 moves, then greedy.
    schedule = MovesTemperature(30)
    assert schedule(num_moves, training_steps=0, total_steps=100) == expected
    assert schedule(num_moves, training_steps=100, total_steps=100) == expected


def test_config_temperature_uses_its_training_steps():
    cfg = make_cartpole_config(training_steps=1000)
    assert cfg.visit_softmax_temperature(num_moves=0, training_steps=499) == 1.0
    assert cfg.visit_softmax_temperature(num_moves=0, training_steps=500) == 0.5
    assert cfg.visit_softmax_temperature(num_moves=0, training_steps=750) == 0.25
    greedy_late = make_cartpole_config(visit_softmax_temperature_fn=MovesTemperature(3))
    assert greedy_late.visit_softmax_temperature(num_moves=3, training_steps=0) == 0.0


def test_settable_fields_are_plain_values_with_their_types():
    cfg = make_cartpole_config()
    fields = cfg.settable_fields()
    for name in fields:
        assert not callable(getattr(cfg, name)), name
    for name in (
        "game_factory",
        "network_factory",
        "visit_softmax_temperature_fn",
        "known_bounds",
        "game_name",
    ):
        assert name not in fields
    assert fields["num_simulations"] is int
    assert fields["discount"] is float
    assert fields["search"] is str
    assert fields["hidden_layers"] is tuple
    assert "seed" in fields and "log_interval" in fields


def test_settable_field_types_follow_the_declaration_not_the_value():
    assert make_cartpole_config(discount=1).settable_fields()["discount"] is float


def test_new_game_and_network_follow_the_config():
    cfg = make_cartpole_config(hidden_state_size=8, hidden_layers=(16,))
    game = cfg.new_game(seed=3)
    assert game.action_space_size == cfg.action_space_size
    assert cfg.new_network().training_steps() == 0


@pytest.mark.parametrize("name", sorted(GAMES))
def test_every_settable_field_of_every_game_can_be_overridden(name):
    """What `--set FIELD=VALUE` and reloading a run's config.json do, for every field."""
    config = GAMES[name]()
    for field in config.settable_fields():
        value = getattr(config, field)
        again = GAMES[name](**{field: value})
        assert getattr(again, field) == value, field
    assert GAMES[name](max_moves=7).max_moves == 7


def lander_class():
    """A gymnasium environment on LunarLander's scale: +10 a step, a crash of -100 in one
    step, solved at a return of 300."""
    import gymnasium as gym
    import numpy as np

    class Lander(gym.Env):
        observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(3, np.float32), {}

        def step(self, action):
            crash = bool(self.np_random.random() < 0.1)
            return np.zeros(3, np.float32), -100.0 if crash else 10.0, crash, False, {}

    return Lander


def test_gym_supports_follow_the_environments_reward_and_return_scale():
    import gymnasium as gym
    import numpy as np

    from config import make_gym_config
    from game.environments import PROBE_EPISODES
    from networks.transforms import scalar_to_support, support_to_scalar

    gym.register("tests/Lander-v0", entry_point=lander_class(), max_episode_steps=50,
                 reward_threshold=300.0, disable_env_checker=True)  # fmt: skip
    try:
        config = make_gym_config("tests/Lander-v0")
    finally:
        del gym.envs.registry["tests/Lander-v0"]
    assert PROBE_EPISODES == 5  # the supports below come from 5 seeded random episodes
    assert config.max_moves == 50  # the environment's time limit
    # |reward| up to 100, |return| up to 300 (the threshold): twice each after h.
    assert config.reward_support_size == 14  # h(200) = 13.4
    assert config.value_support_size == 25  # h(600) = 24.1
    rewards, values = np.array([-100.0, 10.0, 0.0]), np.array([-100.0, 300.0, 450.0])

    def round_trip(x, size):
        return support_to_scalar(scalar_to_support(x, size), size)

    np.testing.assert_allclose(round_trip(rewards, config.reward_support_size), rewards)
    np.testing.assert_allclose(round_trip(values, config.value_support_size), values)
    # CartPole's supports (5 and 20) would clip them: the crash would read as -34.6.
    assert round_trip(np.array([-100.0]), 5)[0] == pytest.approx(-34.6, abs=0.1)
    assert round_trip(np.array([450.0]), 20)[0] < 440


def test_an_environment_gymnasium_cannot_make_is_named_in_one_line():
    from config import make_gym_config
    from game.environments import make_environment

    with pytest.raises(ValueError, match=r"^NoSuch-v0: gymnasium cannot make it \("):
        make_environment("NoSuch-v0")
    with pytest.raises(ValueError, match=r"^NoSuch-v0: gymnasium cannot make it \("):
        make_gym_config("NoSuch-v0")


def test_an_image_game_needs_stacked_frames():
    from config import image_stacked_frames, make_minatar_config

    assert image_stacked_frames("MinAtar/Breakout-v1", 2) == 2
    with pytest.raises(ValueError, match="stacked_frames must be >= 1 for MinAtar/Breakout-v1"):
        make_minatar_config(stacked_frames=0)
    config = make_minatar_config()
    with pytest.raises(ValueError, match="stacked_frames must be >= 1 for MinAtar/Breakout-v1"):
        dataclasses.replace(config, stacked_frames=0)  # the same check after construction
