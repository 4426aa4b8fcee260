"""Bad values for every settable field are refused on the command line before a run starts.

Each field of each built-in game is set, through ``--set FIELD=VALUE``, to an empty value,
zero, a negative number, NaN, infinity and a value of the wrong type. Every one must exit
with status 2, print one line naming the field, and leave no run folder behind, except the
few values a field really accepts (listed below with the reason).
"""

from __future__ import annotations

import pytest

import muzero
from config import GAMES

BAD_VALUES = ("", "0", "-1", "nan", "inf", "-inf", "abc", "1.5", "1e400")

#: Values that are valid for a field, with why; everything else in BAD_VALUES must be refused.
ACCEPTED = {
    # 0 is a meaningful setting of these fields.
    ("seed", "0"): "seed 0 is a seed",
    ("min_replay_moves", "0"): "train from the first saved game",
    ("pb_c_init", "0"): "no prior term in the UCB",
    ("weight_decay", "0"): "no L2",
    ("value_loss_weight", "0"): "an ablation: no value loss",
    ("root_exploration_fraction", "0"): "no root noise",
    ("momentum", "0"): "plain SGD",
    ("residual_blocks", "0"): "a tower of no blocks",
    ("residual_head_units", "0"): "a linear head",
    ("residual_prediction_blocks", "0"): "the paper's f: heads on the hidden state",
    ("evaluation_interval", "0"): "no periodic evaluation",
    ("priority_alpha", "0"): "every priority alike: positions drawn uniformly",
    ("priority_beta", "0"): "no importance-sampling correction",
    ("target_update_interval", "0"): "no target network: bootstrap from the stored search values",
    ("reanalyse_fraction", "0"): "no Reanalyze",
    ("num_actors", "0"): "no Ray actors: self-play in the main process",
    ("actor_calls_in_flight", "0"): "the actors wait while the learner trains",
    ("replay_memory_mb", "0"): "no cap on the replay's memory but window_size",
    ("actor_gpus", "0"): "actors search on CPUs",
    ("learner_cpus", "0"): "no CPUs kept for the learner",
    ("gumbel_scale", "0"): "no Gumbel noise: a deterministic Gumbel search",
    ("gumbel_c_visit", "0"): "sigma without the visit offset",
    ("replay_ratio", "0"): "the ratio training_steps_per_iteration gives",
    ("consistency_loss_weight", "0"): "no consistency loss (MuZero)",
    ("value_prefix_horizon", "0"): "each step's reward (MuZero)",
    ("off_policy_tau", "0"): "td_steps for every game (MuZero)",
    # 1.5 is a fine float for these (it is refused for every int and for bounded floats).
    ("pb_c_base", "1.5"): "",
    ("pb_c_init", "1.5"): "",
    ("dirichlet_alpha", "1.5"): "",
    ("lr_init", "1.5"): "",
    ("actor_cpus", "1.5"): "",
    ("actor_gpus", "1.5"): "",
    ("learner_cpus", "1.5"): "",
    ("weight_decay", "1.5"): "",
    ("value_loss_weight", "1.5"): "",
    ("priority_alpha", "1.5"): "",
    ("gumbel_scale", "1.5"): "",
    ("gumbel_c_visit", "1.5"): "",
    ("gumbel_c_scale", "1.5"): "",
    ("replay_ratio", "1.5"): "",
    ("consistency_loss_weight", "1.5"): "",
    ("off_policy_tau", "1.5"): "",
}


def settable(game: str) -> dict[str, type]:
    return GAMES[game]().settable_fields()


def cases():
    seen = set()
    for game in GAMES:
        for field, kind in settable(game).items():
            for value in BAD_VALUES:
                if kind is bool and value == "0":
                    continue  # "0" is false, a valid boolean
                key = (field, value)
                if key in ACCEPTED or key in seen:
                    continue
                seen.add(key)
                yield pytest.param(game, field, value, id=f"{game}-{field}={value}")


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """Every test here expects a refusal: a value wrongly accepted fails at once, not later."""

    def refuse(*args, **kwargs):
        raise AssertionError("the run started: the value was accepted")

    monkeypatch.setattr(muzero, "muzero", refuse)


@pytest.mark.parametrize("game,field,value", list(cases()))
def test_bad_value_of_every_settable_field_is_refused(tmp_path, capsys, game, field, value):
    results = tmp_path / "results"
    status = muzero.main(
        ["--game", game, "--results-dir", str(results), "--no-progress",
         "--set", f"{field}={value}"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2, f"{field}={value!r} was accepted"
    assert err.startswith("muzero.py: error:") and len(err.strip().splitlines()) == 1, err
    assert field in err, err
    assert not results.exists(), "a refused run must not create its folder"


def test_the_accepted_values_are_accepted():
    """The exceptions above are real: each builds a config (so the list cannot hide a bug)."""
    for (field, value), _ in ACCEPTED.items():
        for game in GAMES:
            fields = settable(game)
            if field in fields:
                overrides = muzero.parse_overrides([f"{field}={value}"], GAMES[game]())
                GAMES[game](**overrides)
                break


def test_a_field_the_network_does_not_read_is_refused(tmp_path, capsys):
    results = tmp_path / "results"
    status = muzero.main(["--results-dir", str(results), "--set", "residual_channels=8"])
    err = capsys.readouterr().err
    assert status == 2 and "residual_channels" in err and "does not apply" in err
    assert not results.exists()
    status = muzero.main(["--game", "tictactoe", "--results-dir", str(results),
                          "--set", "hidden_layers=64"])  # fmt: skip
    assert status == 2 and "hidden_layers" in capsys.readouterr().err


def test_augment_symmetries_needs_a_game_with_symmetries(tmp_path, capsys):
    results = tmp_path / "results"
    status = muzero.main(["--results-dir", str(results), "--set", "augment_symmetries=true"])
    err = capsys.readouterr().err
    assert status == 2 and "augment_symmetries" in err and "no symmetries" in err


def test_a_seed_numpy_cannot_take_is_refused_before_the_run(tmp_path, capsys):
    results = tmp_path / "results"
    status = muzero.main(["--results-dir", str(results), "--seed", str(2**32)])
    err = capsys.readouterr().err
    assert status == 2 and "seed must be an integer in [0, 2**32)" in err
    assert not results.exists()


def test_a_run_json_with_a_field_of_the_wrong_kind_is_refused_in_words(tmp_path, capsys):
    (tmp_path / "run.json").write_text(
        '{"game": "cartpole", "overrides": {"discount": "x", "hidden_layers": "ab"}}'
    )
    status = muzero.main(["evaluate", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    (tmp_path / "run.json").write_text('{"game": "cartpole", "overrides": {"nosuch": 1}}')
    assert muzero.main(["evaluate", str(tmp_path)]) == 2
    assert "run.json sets nosuch" in capsys.readouterr().err


def test_the_games_own_shape_is_not_settable(tmp_path, capsys):
    results = tmp_path / "results"
    for field in ("num_players", "action_space_size"):
        status = muzero.main(["--game", "tictactoe", "--results-dir", str(results),
                              "--set", f"{field}=1"])  # fmt: skip
        err = capsys.readouterr().err
        assert status == 2 and f"unknown field {field!r}" in err, err
    assert not results.exists()


def test_a_search_policy_that_is_not_registered_names_the_registered_ones(tmp_path, capsys):
    results = tmp_path / "results"
    status = muzero.main(["--results-dir", str(results), "--set", "search_policy=alphazero"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "search_policy must be one of" in err and "gumbel" in err and "muzero" in err, err
    assert "got 'alphazero'" in err, err
    assert not results.exists()
