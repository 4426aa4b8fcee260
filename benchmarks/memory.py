"""Run a command and sample the memory of all its processes (Ray's included) as it runs.

    python benchmarks/memory.py [--interval 30] [--after-minutes 10] -- COMMAND [ARGS ...]
    python benchmarks/memory.py --after-minutes 10 -- \\
        python benchmarks/connect4.py --seed 0 --max-minutes 55

The command runs in a session of its own; every ``--interval`` seconds the proportional
set size (PSS: shared pages divided among the processes sharing them, so the sum is the
memory the run takes) of every process of that session is summed. Prints one line per
sample (minutes, MiB, processes), then, from the first sample at ``--after-minutes`` (once
the replay buffer is full) to the end: the lowest, highest and last total and the growth
per 10 minutes of a least-squares line, then the last size and growth of each process name
(the driver's ``python``, ``ray::SelfPlayWorker``, ``gcs_server`` ...); the last line is a
JSON object of the figures.
Exits with the command's status; Ctrl-C is passed on to the command.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def session_processes(session: int) -> list[int]:
    """The processes whose session is `session`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session:
                    pids.append(int(entry.name))
            except OSError:
                continue  # ended meanwhile
    return pids


def pss_kib(pid: int) -> int:
    """The process's proportional set size in KiB (its resident size where PSS is not
    reported); 0 if it ended."""
    for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}") as lines:
                for line in lines:
                    if line.startswith(field):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0


def process_name(pid: int) -> str:
    """The process's name (``ray::SelfPlayWorker``, ``raylet``, ``python`` ...)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def growth(minutes: list[float], mib: list[float]) -> dict:
    """Lowest, highest and last of `mib`, and the slope of its least-squares line per 10
    minutes."""
    slope = float(np.polyfit(minutes, mib, 1)[0]) * 10 if len(minutes) >= 2 else float("nan")
    return dict(samples=len(mib), low_mib=min(mib), high_mib=max(mib), last_mib=mib[-1],
                mib_per_10_minutes=slope)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument(
        "--after-minutes",
        type=float,
        default=0.0,
        help="the growth from this minute on (once the buffer is full)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS ...]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command: give it after --")
    if not args.interval > 0:
        parser.error(f"--interval {args.interval:g}: expected a positive number of seconds")
    child = subprocess.Popen(command, start_new_session=True)
    signal.signal(signal.SIGINT, lambda *_: os.killpg(child.pid, signal.SIGINT))
    start = time.monotonic()
    minutes: list[float] = []
    mib: list[float] = []
    by_name: list[dict[str, float]] = []  # each sample: MiB per process name
    counts: list[int] = []  # each sample: processes
    print("minutes  MiB  processes", flush=True)
    while child.poll() is None:
        pids = session_processes(child.pid)
        names: dict[str, float] = {}
        for pid in pids:
            name = process_name(pid)
            names[name] = names.get(name, 0.0) + pss_kib(pid) / 1024
        total = sum(names.values())
        by_name.append(names)
        counts.append(len(pids))
        minutes.append((time.monotonic() - start) / 60)
        mib.append(total)
        print(f"{minutes[-1]:7.1f}  {total:.0f}  {len(pids)}", flush=True)
        deadline = time.monotonic() + args.interval
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(min(1.0, args.interval))
    # From --after-minutes on, the samples with the run's usual number of processes: one
    # taken while Ray starts or ends (its processes going) is left out.
    later = [i for i, m in enumerate(minutes) if m >= args.after_minutes]
    usual = max(set(counts[i] for i in later), key=[counts[i] for i in later].count, default=0)
    kept = [i for i in later if counts[i] == usual]
    late = [(minutes[i], mib[i]) for i in kept]
    summary: dict = dict(
        benchmark="memory",
        command=command,
        status=child.returncode,
        after_minutes=args.after_minutes,
        minutes=minutes,
        mib=mib,
    )
    if late:
        figures = growth([m for m, _ in late], [v for _, v in late])
        summary.update(figures)
        # Which processes grew: each name's growth per 10 minutes over the same samples.
        names = sorted({name for i in kept for name in by_name[i]})
        summary["by_process"] = {
            name: growth([m for m, _ in late], [by_name[i].get(name, 0.0) for i in kept])
            for name in names
        }
        for name, part in sorted(summary["by_process"].items(),
                                 key=lambda item: -item[1]["last_mib"]):  # fmt: skip
            print(
                f"  {name}: last {part['last_mib']:.0f} MiB, "
                f"{part['mib_per_10_minutes']:+.1f} MiB per 10 minutes"
            )
        print(
            f"from minute {late[0][0]:.1f} to {late[-1][0]:.1f}: {figures['low_mib']:.0f}-"
            f"{figures['high_mib']:.0f} MiB, last {figures['last_mib']:.0f}, "
            f"{figures['mib_per_10_minutes']:+.1f} MiB per 10 minutes (least squares)"
        )
    print(json.dumps(summary))
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
