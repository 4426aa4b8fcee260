"""Run one benchmark script for several seeds, some at a time, and sum up the spread.

Used by ``cartpole.py --seeds 0-4`` and ``board_game.py ... --seeds 0-2``: each seed runs in
its own process (the same script with ``--seed S``), ``--jobs`` of them at once (default:
one per core), each pinned to its own share of the cores (one core each by default; all
of them with ``--jobs 1``, for runs whose actors need several), and the last line each
prints (a JSON object) is collected. ``--simulations-sweep`` (`parse_sweep`, `cell_argv`) runs
that for each search policy at each number of simulations; `markdown_table` prints the
table of a sweep or an ablation.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: The search policies (`config.search_policy`) a ``--simulations-sweep`` compares.
SWEEP_POLICIES = ("muzero", "gumbel")


def parse_seeds(text: str) -> list[int]:
    """Turn ``"0-4"`` or ``"0,2,5"`` (or a mix, ``"0-2,7"``) into a list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                first, last = part.split("-", 1)
                seeds.extend(range(int(first), int(last) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise SystemExit(f"--seeds: {text!r} is not a list of seeds such as 0-4 or 0,2,5") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise SystemExit(f"--seeds: {text!r} must name distinct seeds >= 0")
    return seeds


def run_seeds(
    script: str, seeds: Sequence[int], argv: Sequence[str], jobs: int | None = None
) -> list[dict]:
    """Run ``script --seed S *argv`` for every seed, ``jobs`` at once; return their JSON lines.

    Each child's output goes to stderr as it finishes (its JSON line included), so a long run
    shows progress; a child that fails stops nothing else and is reported by its seed.
    """
    return run_variants(script, seeds, [argv], jobs)[0]


def run_variants(
    script: str,
    seeds: Sequence[int],
    variants: Sequence[Sequence[str]],
    jobs: int | None = None,
    labels: Sequence[str] | None = None,
) -> list[list[dict]]:
    """`run_seeds` for each of `variants` (the options of one recipe each), every run of every
    variant in one pool of ``jobs``, so that no core idles while a variant's last seed runs;
    return, a list per variant, the JSON lines in seed order. A child's progress line on
    stderr names its variant by `labels`. An interruption (Ctrl-C) starts no further run."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    jobs = jobs or len(cores) or os.cpu_count() or 1
    free_cores: queue.Queue[set[int] | None] = queue.Queue()
    share = len(cores) // jobs
    for slot in range(jobs):
        # Each child is pinned to cores of its own: no two seeds share a core.
        free_cores.put(set(cores[slot * share : (slot + 1) * share]) if share else None)

    def one(seed: int, argv: Sequence[str], label: str) -> dict:
        command = [sys.executable, script, "--seed", str(seed), *argv]
        core = free_cores.get()
        try:
            child = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            if core is not None:  # at once, before the child starts any process of its own
                os.sched_setaffinity(child.pid, core)
            out, err = child.communicate()
        finally:
            free_cores.put(core)
        sys.stderr.write(f"--- {label}seed {seed} (exit {child.returncode})\n{out}")
        if child.returncode != 0:
            sys.stderr.write(err[-2000:])
            return {"seed": seed, "failed": child.returncode}
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {"seed": seed, "failed": "no JSON line"}

    names = [f"{label}: " for label in labels] if labels else [""] * len(variants)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            [pool.submit(one, seed, argv, name) for seed in seeds]
            for argv, name in zip(variants, names)
        ]
        try:
            return [[future.result() for future in row] for row in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the queued runs never start
            raise


def spread(values: Sequence[float]) -> str:
    """``median M (min A, max B)`` of some figures, the way README quotes a spread."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return f"median {median:.1f} (min {ordered[0]:.1f}, max {ordered[-1]:.1f})"


def strip_option(argv: Sequence[str], *names: str) -> list[str]:
    """``argv`` without the options `names` (each with its value): the parent's options
    minus its own."""
    out: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item in names:
            skip = True
        elif not any(item.startswith(name + "=") for name in names):
            out.append(item)
    return out


def run_and_report(
    script: str,
    seeds: Sequence[int],
    argv: Sequence[str],
    jobs: int | None,
    describe: Callable[[dict], str],
) -> tuple[list[dict], list[dict]]:
    """Run `script` for every seed (`run_seeds`, without the parent's own seed options) and
    print a line per seed, ``describe(result)`` or FAILED; return all results and the ones
    that finished."""
    results = run_seeds(script, seeds, strip_option(argv, "--seeds", "--jobs", "--seed"), jobs)
    return results, print_seed_lines(results, describe)


def run_and_report_variants(
    script: str,
    seeds: Sequence[int],
    variants: Mapping[str, Sequence[str]],
    jobs: int | None,
    describe: Callable[[dict], str],
    summarise: Callable[[list[dict]], Any],
) -> list[tuple[list[dict], Any]]:
    """`run_and_report` for each of `variants` (a name and the options of one recipe), all
    their runs in one pool (`run_variants`); then for each variant in turn its name (as
    ``=== name``), its seed lines and ``summarise(the runs that finished)``, which prints the
    variant's spread. Return per variant all its results and what `summarise` returned
    (None where no run finished)."""
    options = [strip_option(argv, "--seeds", "--jobs", "--seed") for argv in variants.values()]
    reported = []
    for name, results in zip(variants, run_variants(script, seeds, options, jobs, list(variants))):
        print(f"=== {name}")
        done = print_seed_lines(results, describe)
        reported.append((results, summarise(done) if done else None))
    return reported


def print_seed_lines(results: Sequence[dict], describe: Callable[[dict], str]) -> list[dict]:
    """Print a line per seed of `results`, ``describe(result)`` or FAILED; return the results
    that finished."""
    for r in results:
        line = f"FAILED (exit {r['failed']})" if "failed" in r else describe(r)
        print(f"seed {r['seed']}: {line}")
    return [r for r in results if "failed" not in r]


def parse_sweep(policies: str, budgets: str, known: Collection[str]) -> list[tuple[str, int]]:
    """Return the cells of a ``--simulations-sweep``: each of `policies` (comma-separated
    names, each one of `known`) with each of `budgets` (comma-separated simulations)."""
    names = [name.strip() for name in policies.split(",")]
    unknown = [name for name in names if name not in known]
    if unknown or len(set(names)) != len(names):
        raise SystemExit(f"--policies: {policies!r} must name distinct search policies of "
                         f"{', '.join(sorted(known))}")  # fmt: skip
    try:
        counts = [int(part) for part in budgets.split(",")]
    except ValueError:
        raise SystemExit(f"--budgets: {budgets!r} is not a list such as 4,8,16") from None
    if min(counts) < 1 or len(set(counts)) != len(counts):
        raise SystemExit(f"--budgets: {budgets!r} must name distinct positive simulations")
    return [(name, count) for name in names for count in counts]


def cell_argv(argv: Sequence[str], policy: str, simulations: int) -> list[str]:
    """Return the options of one sweep cell's runs: the parent's without its sweep options,
    then ``--set search_policy=P --set num_simulations=N`` (after any of the parent's own
    ``--set``, so these win)."""
    kept = strip_option([item for item in argv if item != "--simulations-sweep"],
                        "--policies", "--budgets")  # fmt: skip
    return [*kept, "--set", f"search_policy={policy}", "--set", f"num_simulations={simulations}"]


def median_range(values: Sequence[float], digits: int | None = None) -> str:
    """A table cell of some figures over seeds: ``median (min-max)``, "-" for none. With
    `digits` None a whole number is shown whole (and a median between two, to one digit)."""
    if not values:
        return "-"

    def number(value: float) -> str:
        if digits is None:
            return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        return f"{value:,.{digits}f}"

    return f"{number(statistics.median(values))} ({number(min(values))}-{number(max(values))})"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a markdown table (after a blank line): `header`, then `rows` of cells."""
    print("\n| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
