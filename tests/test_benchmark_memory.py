"""`benchmarks/memory.py`: it counts the memory of a command's processes, children included,
and its growth figure is a least-squares slope."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from memory import growth  # noqa: E402  (benchmarks/memory.py)


def test_growth_by_hand():
    # 100, 110, 120 MiB at minutes 0, 5, 10: 2 MiB a minute, 20 per 10 minutes.
    figures = growth([0.0, 5.0, 10.0], [100.0, 110.0, 120.0])
    assert figures["mib_per_10_minutes"] == pytest.approx(20.0)
    assert (figures["low_mib"], figures["high_mib"], figures["last_mib"]) == (100, 120, 120)
    assert growth([0.0, 1.0], [50.0, 50.0])["mib_per_10_minutes"] == pytest.approx(0.0)


def test_a_child_of_the_command_is_counted_and_its_status_returned():
    # The command starts a child that holds 200 MiB of written pages, then exits with 3.
    child = "import time; b = bytearray(200 * 2**20); time.sleep(3)"
    command = (
        f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}]); sys.exit(3)"
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "memory.py"), "--interval", "0.5", "--",
         sys.executable, "-c", command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == 3
    assert 200 <= summary["high_mib"] < 400
    assert max(part["high_mib"] for part in summary["by_process"].values()) >= 200
