"""The command line of `muzero.py`: usage errors in process, one real run in a subprocess."""

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import muzero
from config import make_cartpole_config
from training import LOSS_NAMES

REPO_ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_main(capsys, *argv):
    """Call `muzero.main` in process; return (exit status, stdout, stderr)."""
    status = muzero.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def train_usage_error(tmp_path, capsys, *argv):
    """Run a training command that must be refused; return its stderr."""
    results = tmp_path / "results"
    status, _, err = run_main(capsys, "--results-dir", results, "--no-progress", *argv)
    assert status == 2, err
    assert err.startswith("muzero.py: error:")
    assert len(err.strip().splitlines()) == 1, "a usage error is one line, not a traceback"
    assert not results.exists(), "a refused run must not create its folder"
    return err


def test_unknown_game_names_the_valid_games(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--game", "nope")
    assert "'nope'" in err and "cartpole" in err


def test_unknown_field_lists_the_valid_fields(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--set", "nosuchfield=1")
    assert "nosuchfield" in err
    assert "valid fields" in err
    for name in ("num_simulations", "batch_size", "discount", "seed"):
        assert name in err


def test_value_of_the_wrong_type_names_field_and_type(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--set", "num_simulations=abc")
    assert "num_simulations" in err and "int" in err


def test_out_of_range_value_names_the_field(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--set", "num_simulations=0")
    assert "num_simulations" in err


def test_invalid_choice_names_the_field_and_the_choices(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--set", "search=fast")
    assert "search" in err and "batched" in err and "reference" in err


def test_setting_without_a_value_is_refused(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--set", "batch_size")
    assert "batch_size" in err and "FIELD=VALUE" in err


def test_zero_training_steps_is_refused(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--training-steps", "0")
    assert "training_steps" in err


def test_later_setting_is_checked_too(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--set", "batch_size=8", "--set", "td_steps=-3")
    assert "td_steps" in err


def test_argparse_errors_exit_with_status_2(capsys):
    assert muzero.main(["--training-steps", "many"]) == 2
    assert "--training-steps" in capsys.readouterr().err


def test_results_dir_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    status, _, err = run_main(
        capsys, "--results-dir", blocker / "results", "--no-progress", "--training-steps", "1"
    )
    assert status == 2
    assert "cannot create the run folder" in err and str(blocker) in err
    assert len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


def test_negative_seed_is_a_usage_error(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--seed", "-1", "--training-steps", "1")
    assert "seed" in err


def test_evaluate_a_folder_that_is_not_a_run(tmp_path, capsys):
    not_a_run = tmp_path / "just_a_folder"
    not_a_run.mkdir()
    (not_a_run / "notes.txt").write_text("hello")
    status, out, err = run_main(capsys, "evaluate", not_a_run, "--episodes", "1")
    assert status == 2
    assert "cannot load the run" in err and str(not_a_run) in err
    assert out == ""


def test_evaluate_a_missing_folder(tmp_path, capsys):
    status, _, err = run_main(capsys, "evaluate", tmp_path / "missing")
    assert status == 2 and "cannot load the run" in err


def test_evaluate_a_run_without_weights(tmp_path, capsys):
    run_dir = tmp_path / "crashed_run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"game": "cartpole", "overrides": {}}))
    status, _, err = run_main(capsys, "evaluate", run_dir)
    assert status == 2 and "weights.npz" in err


def test_evaluate_needs_a_positive_episode_count(tmp_path, capsys):
    status, _, err = run_main(capsys, "evaluate", tmp_path, "--episodes", "0")
    assert status == 2 and "--episodes" in err


def test_parse_overrides_converts_to_the_field_types():
    overrides = muzero.parse_overrides(
        ["num_simulations=8", "discount= 0.9", "hidden_layers=32,16", "search=reference"],
        make_cartpole_config(),
    )
    assert overrides == {
        "num_simulations": 8,
        "discount": 0.9,
        "hidden_layers": (32, 16),
        "search": "reference",
    }
    assert type(overrides["num_simulations"]) is int and type(overrides["discount"]) is float


@pytest.mark.parametrize(
    "text, expected", [("1", True), ("true", True), ("Yes", True), ("off", False), ("0", False)]
)
def test_parse_value_of_a_bool(text, expected):
    assert muzero.parse_value("flag", text, bool) is expected


@pytest.mark.parametrize(
    "text, kind", [("maybe", bool), ("1.5", int), ("x", float), ("a,b", tuple)]
)
def test_parse_value_refuses_naming_the_field(text, kind):
    with pytest.raises(muzero.UsageError, match="flag"):
        muzero.parse_value("flag", text, kind)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def run_script(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "muzero.py", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_train_then_evaluate_end_to_end(tmp_path, capsys):
    """What a user does: train a short run, find its files, evaluate it."""
    results = tmp_path / "results"
    train = run_script(
        "--game",
        "cartpole",
        "--training-steps",
        20,
        "--results-dir",
        results,
        "--no-progress",
        "--set",
        "num_simulations=8",
        "--set",
        "selfplay_moves_per_iteration=100",
        "--set",
        "min_replay_moves=100",
        "--set",
        "training_steps_per_iteration=5",
        "--set",
        "batch_size=32",
        "--set",
        "log_interval=5",
    )
    assert train.returncode == 0, train.stderr
    runs = list((results / "cartpole").iterdir())
    assert len(runs) == 1
    run_dir = runs[0]
    assert re.fullmatch(r"\d{8}-\d{6}", run_dir.name)
    assert str(run_dir) in train.stdout

    rows = read_csv(run_dir / "metrics.csv")
    assert [int(row["training_step"]) for row in rows] == [5, 10, 15, 20]
    for row in rows:
        for name in LOSS_NAMES:
            assert math.isfinite(float(row[name])), (name, row)
        assert float(row["learning_rate"]) > 0

    png = run_dir / "learning_curve.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100

    with np.load(run_dir / "weights.npz") as weights:
        assert len(weights.files) > 0
        assert all(np.all(np.isfinite(weights[name])) for name in weights.files)

    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["num_simulations"] == 8
    assert saved["training_steps"] == 20 and saved["batch_size"] == 32
    info = json.loads((run_dir / "run.json").read_text())
    assert info["game"] == "cartpole" and info["overrides"]["num_simulations"] == 8

    evaluate = run_script("evaluate", run_dir, "--episodes", 2)
    assert evaluate.returncode == 0, evaluate.stderr
    assert "mean return" in evaluate.stdout
    assert "2 greedy episodes" in evaluate.stdout
    assert muzero.main(["evaluate", str(run_dir), "--random-opening", "2"]) == 2
    assert "--random-opening is for two-player games" in capsys.readouterr().err


def test_a_run_loads_with_the_values_it_was_trained_with(tmp_path):
    """config.json's values win over the game's current defaults; run.json's overrides win
    over both; a field the run predates takes its default."""
    from config import make_connect4_config
    from training.run_files import save_run_info

    trained = make_connect4_config(residual_channels=4, residual_prediction_blocks=0, seed=3)
    saved = trained.to_dict()
    del saved["residual_head_units"]  # as if the run were older than this field
    save_run_info(tmp_path, saved, {"game": "connect4", "overrides": {"num_simulations": 7}})
    config = muzero.load_run_config(tmp_path)
    assert (config.residual_channels, config.residual_prediction_blocks) == (4, 0)
    assert config.seed == 3 and config.num_simulations == 7
    assert config.residual_head_units == make_connect4_config().residual_head_units
    assert config.observation_shape == (6, 7, 3)

    saved["residual_channels"] = -4
    save_run_info(tmp_path, saved, {"game": "connect4", "overrides": {}})
    with pytest.raises(muzero.UsageError, match="residual_channels"):
        muzero.load_run_config(tmp_path)


@pytest.mark.parametrize("minutes", ["0", "-1", "nan", "inf"])
def test_bad_max_minutes_is_refused(tmp_path, capsys, minutes):
    err = train_usage_error(tmp_path, capsys, "--max-minutes", minutes)
    assert "--max-minutes" in err


@pytest.mark.parametrize("frames", ["0", "-5"])
def test_a_frame_limit_that_is_not_positive_is_refused(tmp_path, capsys, frames):
    assert "--max-frames must be positive" in train_usage_error(tmp_path, capsys,
                                                                "--max-frames", frames)  # fmt: skip


def test_a_frame_limit_below_the_replays_minimum_is_refused_in_one_line(tmp_path, capsys):
    err = train_usage_error(tmp_path, capsys, "--max-frames", "999")
    assert "--max-frames 999 is below min_replay_moves (1000)" in err


def test_a_frame_limit_stops_the_command_lines_run(tmp_path, capsys):
    status, out, err = run_main(capsys, "--results-dir", tmp_path, "--no-progress", *TINY,
                                "--set", "training_steps=1000", "--set", "num_parallel_games=4",
                                "--max-frames", "240")  # fmt: skip
    assert status == 0, err
    assert "frame limit: stopped after 240 frames" in out
    (run_dir,) = (tmp_path / "cartpole").iterdir()
    with open(run_dir / "metrics.csv") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert int(last["moves"]) == 240 and 0 < int(last["training_step"]) < 1000


# ----- a quiet, complete command line ------------------------------------------------------

TF_NOISE = ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "I0000", "W0000")

TINY = ("--set", "num_simulations=4", "--set", "selfplay_moves_per_iteration=60",
        "--set", "min_replay_moves=60", "--set", "training_steps_per_iteration=5",
        "--set", "batch_size=16", "--set", "log_interval=5",
        "--set", "checkpoint_interval=5")  # fmt: skip


def assert_quiet(stderr: str) -> None:
    for noise in TF_NOISE:
        assert noise not in stderr, stderr


def test_help_lists_the_commands_and_the_defaults():
    done = run_script("--help")
    assert done.returncode == 0
    assert_quiet(done.stderr)
    assert done.stderr == ""
    for text in ("evaluate RUN_DIR", "play RUN_DIR", "(default: cartpole)", "(default: results)",
                 "MountainCar-v0", "--resume"):  # fmt: skip
        assert text in done.stdout, text
    evaluate = run_script("evaluate", "--help")
    assert "(default: 10)" in evaluate.stdout and "(default: random)" in evaluate.stdout


def test_an_error_is_one_line_without_tensorflow_noise(tmp_path):
    done = run_script("evaluate", tmp_path / "missing")
    assert done.returncode == 2
    assert done.stderr == f"muzero.py: error: cannot load the run in {tmp_path / 'missing'}: " \
        "no such folder\n"  # fmt: skip


def test_evaluate_names_what_is_missing_in_words(tmp_path, capsys):
    status, _, err = run_main(capsys, "evaluate", tmp_path)
    assert status == 2 and "it has no run.json" in err and "Error(" not in err
    (tmp_path / "run.json").write_text("{not json")
    status, _, err = run_main(capsys, "evaluate", tmp_path)
    assert status == 2 and "run.json is not valid JSON" in err


@pytest.mark.slow
def test_gymnasium_ids_train_from_the_command_line(tmp_path):
    results = tmp_path / "results"
    done = run_script("--game", "MountainCar-v0", "--training-steps", 5, "--results-dir",
                      results, "--no-progress", *TINY)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_quiet(done.stderr)
    (run_dir,) = (results / "MountainCar-v0").iterdir()
    assert [int(row["training_step"]) for row in read_csv(run_dir / "metrics.csv")] == [5]
    assert json.loads((run_dir / "run.json").read_text())["game"] == "MountainCar-v0"
    evaluate = run_script("evaluate", run_dir, "--episodes", 1)
    assert evaluate.returncode == 0 and "mean return -200.0" in evaluate.stdout


@pytest.mark.parametrize(
    "game,message",
    [
        (
            "NoSuchGame-v0",
            "not a built-in game (cartpole, cartpole-efficientzero, connect4, tictactoe) nor a "
            "registered",
        ),
        ("Pendulum-v1", "the action space must be Discrete"),
        ("FrozenLake-v1", "observations must be a flat vector"),
    ],
)
def test_gymnasium_ids_that_cannot_train_are_refused(tmp_path, capsys, game, message):
    err = train_usage_error(tmp_path, capsys, "--game", game)
    assert game in err and message in err


def test_evaluate_refuses_an_opponent_for_a_one_player_game(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"game": "cartpole", "overrides": {}}))
    config = make_cartpole_config()
    from training.metrics import RunLog

    RunLog(run_dir, 10, tensorboard=False).save_weights(config.new_network().get_weights())
    status, _, err = run_main(capsys, "evaluate", run_dir, "--opponent", "minimax")
    assert status == 2 and "--opponent is for two-player games" in err


def test_ctrl_c_while_starting_exits_130_without_a_traceback(tmp_path):
    import signal
    import time

    env = {**os.environ, "MPLBACKEND": "Agg"}
    process = subprocess.Popen(
        [sys.executable, "muzero.py", "--results-dir", str(tmp_path), "--no-progress"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(0.5)  # inside the imports (TensorFlow takes seconds to load)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err


def test_resume_extends_a_finished_run(tmp_path, capsys):
    results = tmp_path / "results"
    status, _, err = run_main(capsys, "--results-dir", results, "--no-progress",
                              "--training-steps", 5, *TINY)  # fmt: skip
    assert status == 0, err
    (run_dir,) = (results / "cartpole").iterdir()
    status, _, err = run_main(capsys, "--resume", run_dir, "--no-progress")
    assert status == 2 and "is finished (5 of 5 steps)" in err and "--training-steps" in err
    status, _, err = run_main(capsys, "--resume", run_dir, "--training-steps", 5)
    assert status == 2 and "already at step 5" in err
    status, _, err = run_main(capsys, "--resume", run_dir, "--game", "tictactoe")
    assert status == 2 and "no --game with it" in err
    status, out, err = run_main(capsys, "--resume", run_dir, "--training-steps", 10,
                                "--no-progress")  # fmt: skip
    assert status == 0, err
    assert [int(row["training_step"]) for row in read_csv(run_dir / "metrics.csv")] == [5, 10]
    assert json.loads((run_dir / "run.json").read_text())["overrides"]["training_steps"] == 10
    assert json.loads((run_dir / "config.json").read_text())["training_steps"] == 10
    status, _, err = run_main(capsys, "--resume", run_dir, "--no-progress")
    assert status == 2 and "is finished (10 of 10 steps)" in err


@pytest.mark.slow
def test_a_warning_is_one_plain_line(tmp_path):
    results = tmp_path / "results"
    done = run_script("--results-dir", results, "--no-progress", "--training-steps", 10, *TINY)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (results / "cartpole").iterdir()
    newest = sorted((run_dir / "checkpoints").iterdir())[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    evaluate = run_script("evaluate", run_dir, "--episodes", 1)
    assert evaluate.returncode == 0, evaluate.stderr
    (line,) = evaluate.stderr.splitlines()
    assert line.startswith("muzero.py: warning: skipping a damaged checkpoint")
    assert newest.name in line and "UserWarning" not in line


@pytest.mark.parametrize("command", ["evaluate", "play", "train"])
def test_ctrl_c_in_any_command_exits_130(monkeypatch, capsys, command):
    def interrupted(argv, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(muzero, f"{command}_command", interrupted)
    argv = [] if command == "train" else [command, "somewhere"]
    assert muzero.main(argv) == 130
    assert capsys.readouterr().err == "interrupted\n"


# ----- evaluate and play search as the run did -----------------------------------------------


@pytest.fixture
def recording_policy(monkeypatch):
    """Register ``"recording"``, MuZero's search noting the simulations of every root it
    acts on; return that list (the policy is unregistered after the test)."""
    from self_play.policies import SEARCH_POLICIES, MuZeroPolicy, register_search_policy

    searched: list[int] = []

    class RecordingPolicy(MuZeroPolicy):
        def act(self, roots, rng, temperature):
            searched.extend(int(n) for n in roots.visit_counts.sum(axis=1))
            return super().act(roots, rng, temperature)

    monkeypatch.setitem(SEARCH_POLICIES, "recording", MuZeroPolicy)  # removed at the end
    register_search_policy("recording", RecordingPolicy)
    return searched


def untrained_run(run_dir: Path, game: str, **settings) -> Path:
    """A run folder of `game` whose saved config (config.json, not run.json's overrides) has
    `settings`, with the weights of a new network."""
    from config import GAMES
    from training.metrics import RunLog
    from training.run_files import save_run_info

    config = GAMES[game](**settings)
    save_run_info(run_dir, config.to_dict(), {"game": game, "overrides": {}})
    RunLog(run_dir, 10, tensorboard=False).save_weights(config.new_network().get_weights())
    return run_dir


@pytest.mark.parametrize("game", ["cartpole", "tictactoe"])
def test_evaluate_searches_as_the_run_did(tmp_path, capsys, recording_policy, game):
    run_dir = untrained_run(tmp_path, game, search_policy="recording", num_simulations=3)
    status, out, err = run_main(capsys, "evaluate", run_dir, "--episodes", 1)
    assert status == 0, err
    assert recording_policy and set(recording_policy) == {3}, "the run's policy, 3 simulations"
    recording_policy.clear()
    status, out, err = run_main(capsys, "evaluate", run_dir, "--episodes", 1, "--simulations", 5)
    assert status == 0, err
    assert recording_policy and set(recording_policy) == {5}


def test_play_searches_as_the_run_did(tmp_path, capsys, recording_policy):
    run_dir = untrained_run(tmp_path, "tictactoe", search_policy="recording", num_simulations=3)

    def end_of_input(prompt):
        raise EOFError

    assert muzero.play_command([str(run_dir), "--second"], read=end_of_input) == 0
    assert "MuZero plays" in capsys.readouterr().out
    assert recording_policy == [3]  # MuZero's first move, then the game is abandoned
    recording_policy.clear()
    assert muzero.play_command([str(run_dir), "--second", "--simulations", "6"],
                               read=end_of_input) == 0  # fmt: skip
    assert recording_policy == [6]


@pytest.mark.parametrize("command", ["evaluate", "play"])
@pytest.mark.parametrize("simulations", ["0", "-2"])
def test_simulations_must_be_positive(tmp_path, capsys, command, simulations):
    run_dir = untrained_run(tmp_path, "tictactoe")
    status, out, err = run_main(capsys, command, run_dir, "--simulations", simulations)
    assert status == 2 and out == ""
    assert err == f"muzero.py: error: --simulations must be positive, got {simulations}\n"
