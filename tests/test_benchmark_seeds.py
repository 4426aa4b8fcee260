"""The multi-seed runner of the benchmarks: seed lists, the spread, the children's options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from seeds import (  # noqa: E402
    cell_argv,
    median_range,
    parse_seeds,
    parse_sweep,
    run_and_report_variants,
    run_seeds,
    run_variants,
    spread,
    strip_option,
)


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,2,5") == [0, 2, 5]
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    for bad in ("", "a", "3,3", "-1", "2-x"):
        with pytest.raises(SystemExit):
            parse_seeds(bad)


def test_spread_is_median_and_range():
    assert spread([5, 1, 3]) == "median 3.0 (min 1.0, max 5.0)"
    assert spread([4, 1, 3, 10]) == "median 3.5 (min 1.0, max 10.0)"


def test_strip_option_removes_the_option_and_its_value_only():
    argv = ["--seed", "2", "--seeds", "0-4", "--jobs=2", "--set", "a=1"]
    assert strip_option(argv, "--seed") == ["--seeds", "0-4", "--jobs=2", "--set", "a=1"]
    assert strip_option(argv, "--jobs") == ["--seed", "2", "--seeds", "0-4", "--set", "a=1"]
    assert strip_option(argv, "--seeds", "--jobs", "--seed") == ["--set", "a=1"]


def test_run_seeds_gives_each_child_its_seed_and_the_options(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(
        "import argparse, json, sys\n"
        "p = argparse.ArgumentParser(); p.add_argument('--seed', type=int); p.add_argument('--x')\n"
        "a = p.parse_args()\n"
        "if a.seed == 2: sys.exit(3)\n"
        "print('some output'); print(json.dumps({'seed': a.seed, 'x': a.x}))\n"
    )
    results = run_seeds(str(script), [0, 1, 2], ["--x", "y"], jobs=2)
    assert results[:2] == [{"seed": 0, "x": "y"}, {"seed": 1, "x": "y"}]
    assert results[2] == {"seed": 2, "failed": 3}  # one failed child stops nothing else
    json.dumps(results)


def test_run_variants_runs_every_variant_in_one_pool_and_groups_the_results(tmp_path):
    # Each child marks its start, then waits (up to 20 s) until three children have started.
    # Two seeds a variant: only a pool shared by the variants has three running at once.
    script = tmp_path / "child.py"
    script.write_text(
        "import argparse, json, pathlib, time\n"
        "p = argparse.ArgumentParser(); p.add_argument('--seed', type=int); p.add_argument('--x')\n"
        "a = p.parse_args()\n"
        f"marks = pathlib.Path({str(tmp_path)!r})\n"
        "(marks / f'{a.x}{a.seed}.started').touch()\n"
        "deadline = time.time() + 20\n"
        "while len(list(marks.glob('*.started'))) < 3 and time.time() < deadline:\n"
        "    time.sleep(0.05)\n"
        "seen = len(list(marks.glob('*.started')))\n"
        "print(json.dumps({'seed': a.seed, 'x': a.x, 'seen': seen}))\n"
    )
    rows = run_variants(str(script), [0, 1], [["--x", "a"], ["--x", "b"]], jobs=3)
    assert [[(r["seed"], r["x"]) for r in row] for row in rows] == [
        [(0, "a"), (1, "a")],
        [(0, "b"), (1, "b")],
    ]
    # Variant by variant, a0 and a1 would run alone and see only each other.
    assert all(r["seen"] >= 3 for row in rows for r in row)


def test_each_variants_spread_follows_its_own_seed_lines(tmp_path, capsys):
    script = tmp_path / "child.py"
    script.write_text(
        "import argparse, json\n"
        "p = argparse.ArgumentParser(); p.add_argument('--seed', type=int); p.add_argument('--x')\n"
        "a = p.parse_args()\n"
        "print(json.dumps({'seed': a.seed, 'x': a.x}))\n"
    )

    def summarise(done):
        print(f"spread of {done[0]['x']}")
        return len(done)

    variants = {"first": ["--x", "a"], "second": ["--seeds", "0-1", "--x", "b"]}
    reported = run_and_report_variants(
        str(script), [0, 1], variants, 2, lambda r: f"x={r['x']}", summarise
    )
    assert capsys.readouterr().out.splitlines() == [
        "=== first", "seed 0: x=a", "seed 1: x=a", "spread of a",
        "=== second", "seed 0: x=b", "seed 1: x=b", "spread of b",
    ]  # fmt: skip
    assert [summary for _, summary in reported] == [2, 2]


def test_run_seeds_gives_each_job_its_own_share_of_the_cores(tmp_path):
    import os

    script = tmp_path / "child.py"
    script.write_text(
        "import argparse, json, os\n"
        "p = argparse.ArgumentParser(); p.add_argument('--seed', type=int)\n"
        "a = p.parse_args()\n"
        "print(json.dumps({'seed': a.seed, 'cores': sorted(os.sched_getaffinity(0))}))\n"
        "import time; time.sleep(1)\n"  # the two jobs below run at once
    )
    cores = sorted(os.sched_getaffinity(0))
    [alone] = run_seeds(str(script), [0], [], jobs=1)
    assert alone["cores"] == cores  # one job: all the cores (a run with actors needs them)
    if len(cores) >= 2:
        pair = run_seeds(str(script), [0, 1], [], jobs=2)
        shares = [set(r["cores"]) for r in pair]
        assert all(len(share) == len(cores) // 2 for share in shares)
        assert not shares[0] & shares[1]


def test_cartpole_ablation_runs_stop_when_held_and_get_their_settings():
    import cartpole  # benchmarks/cartpole.py

    argv = ["--seeds", "0-4", "--ablation", "--results-dir", "out", "--episodes", "5",
            "--set", "num_simulations=20"]  # fmt: skip
    assert cartpole.variant_argv(argv, ["prioritized_replay=false", "reanalyse_fraction=0"]) == [
        "--seeds", "0-4", "--results-dir", "out", "--set", "num_simulations=20",
        "--stop-when-held", "--episodes", "0",
        "--set", "prioritized_replay=false", "--set", "reanalyse_fraction=0",
    ]  # fmt: skip
    assert set(cartpole.ABLATION) == {
        f"PER {per}, Reanalyze {ra}" for per in ("on", "off") for ra in ("on", "off")
    }


def test_a_sweep_is_every_policy_at_every_budget_and_refuses_bad_lists():
    known = ("muzero", "gumbel")
    assert parse_sweep("muzero,gumbel", "2,16", known) == [
        ("muzero", 2), ("muzero", 16), ("gumbel", 2), ("gumbel", 16)
    ]  # fmt: skip
    for policies, budgets in [("muzero,alphazero", "4"), ("gumbel,gumbel", "4"),
                              ("gumbel", "4,x"), ("gumbel", "0,4"), ("gumbel", "4,4")]:  # fmt: skip
        with pytest.raises(SystemExit, match="--policies|--budgets"):
            parse_sweep(policies, budgets, known)


def test_a_sweep_cell_runs_the_parents_options_with_its_policy_and_budget_last():
    argv = ["--seeds", "0-4", "--simulations-sweep", "--policies", "gumbel", "--budgets=2,4",
            "--max-minutes", "5", "--set", "num_simulations=50"]  # fmt: skip
    assert cell_argv(argv, "gumbel", 4) == [
        "--seeds", "0-4", "--max-minutes", "5", "--set", "num_simulations=50",
        "--set", "search_policy=gumbel", "--set", "num_simulations=4",
    ]  # fmt: skip


def test_median_range_cells():
    assert median_range([]) == "-"
    assert median_range([3, 1, 2]) == "2 (1-3)"
    assert median_range([1, 2]) == "1.5 (1-2)"
    assert median_range([500.0, 480.25, 12_000.0], digits=1) == "500.0 (480.2-12,000.0)"


def test_the_sweep_table_counts_a_seed_that_never_held_in_the_median(capsys):
    import cartpole

    def run(frames, greedy):
        return {"frames_to_475": frames, "greedy_mean_return": greedy, "greedy_episodes": 100,
                "train_seconds": 60.0}  # fmt: skip

    runs = [run(1000, 500.0), run(None, 120.0), run(None, 300.0), {"seed": 3, "failed": 1}]
    cartpole.results_table(["search policy", "simulations"], [(["gumbel", "2"], runs)],
                           greedy=True)  # fmt: skip
    row = capsys.readouterr().out.strip().splitlines()[-1]
    # Of three finished seeds two never held 475: the median is "never"; the range is the
    # seed that held; the failed seed counts nowhere.
    assert row == "| gumbel | 2 | 300.0 (120.0-500.0) | never (1,000-1,000) | 1 of 3 | 60 (60-60) |"


def test_frames_to_hold_475_by_hand(tmp_path):
    import cartpole

    path = tmp_path / "episodes.csv"
    rows = [(100 * (i + 1), i, 500.0 if i >= 3 else 100.0, 1) for i in range(25)]
    path.write_text("frames,training_step,episode_return,episode_length\n"
                    + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows))  # fmt: skip
    # Episodes 0-2 return 100, the rest 500: the mean of 20 reaches 475 once at most one of
    # the 20 is a 100 (19 x 500 + 100 = 9,600 >= 9,500): the window of episodes 2..21.
    assert cartpole.frames_to_hold(path) == 2200
    assert cartpole.frames_to_hold(path, target=501) is None


def test_every_benchmark_imports():
    # Each script's imports, in one process: a name moved out from under a benchmark fails
    # here rather than when someone runs it.
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    code = (
        "import importlib.util, sys\n"
        f"sys.path[:0] = [{str(benchmarks)!r}, {str(benchmarks.parent)!r}]\n"
        f"for path in sorted(__import__('pathlib').Path({str(benchmarks)!r}).glob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location(path.stem + '_checked', path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=benchmarks.parent)
