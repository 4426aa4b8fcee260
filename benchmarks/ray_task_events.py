"""What Ray's task events cost in memory: a call made many times, with them and without.

    python benchmarks/ray_task_events.py [--calls 30000]

Ray records an event for every task and actor call and keeps them in its GCS process (up to
100,000 by default) for its dashboard and state API. A run's self-play actors answer a call
every few tenths of a second for an hour; `self_play/ray_actors.py` makes them with
``enable_task_events=False``. This script starts a local Ray of one CPU twice and calls a
trivial actor method `--calls` times each time (one call at a time, as the learner gathers
them), first with task events on (Ray's default), then off, and prints the memory (PSS) of
the ``gcs_server`` process and of the driver before and after; the last line is a JSON
object of the figures. Pin it to one core (``taskset -c 0``) on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import process_name, pss_kib  # noqa: E402


class Echo:
    def echo(self, value: int) -> int:
        return value


def gcs_mib() -> float:
    """The PSS of this machine's ``gcs_server`` processes, in MiB."""
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return sum(pss_kib(pid) for pid in pids if process_name(pid) == "gcs_server") / 1024


def measure(calls: int, task_events: bool) -> dict[str, float]:
    """Start a local Ray, make `calls` calls of one actor, return the memory before and after."""
    import logging

    import ray

    temp_dir = tempfile.mkdtemp(prefix="muzero-ray-events-")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir,
             logging_level=logging.WARNING)  # fmt: skip
    try:
        actor = ray.remote(num_cpus=1, enable_task_events=task_events)(Echo).remote()
        ray.get(actor.echo.remote(0))
        time.sleep(2)  # Ray's start-up settles
        gcs, driver = gcs_mib(), pss_kib(os.getpid()) / 1024
        start = time.perf_counter()
        for index in range(calls):
            ray.get(actor.echo.remote(index))
        seconds = time.perf_counter() - start
        time.sleep(3)  # the last events reach the GCS (reported every second)
        return {
            "gcs_before_mib": round(gcs, 1),
            "gcs_after_mib": round(gcs_mib(), 1),
            "driver_before_mib": round(driver, 1),
            "driver_after_mib": round(pss_kib(os.getpid()) / 1024, 1),
            "calls_per_s": round(calls / seconds, 1),
        }
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=30_000, help="calls in each Ray")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error(f"--calls must be at least 1, got {args.calls}")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token file in the home folder
    summary: dict[str, object] = {"calls": args.calls}
    for task_events in (True, False):
        figures = measure(args.calls, task_events)
        name = "on" if task_events else "off"
        summary[f"events_{name}"] = figures
        gcs = figures["gcs_after_mib"] - figures["gcs_before_mib"]
        driver = figures["driver_after_mib"] - figures["driver_before_mib"]
        print(f"task events {name:3}: gcs_server {figures['gcs_before_mib']:.1f} -> "
              f"{figures['gcs_after_mib']:.1f} MiB ({gcs:+.1f}), driver "
              f"{figures['driver_before_mib']:.1f} -> {figures['driver_after_mib']:.1f} MiB "
              f"({driver:+.1f}) after {args.calls:,} calls "
              f"({figures['calls_per_s']:,.0f}/s)")  # fmt: skip
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
