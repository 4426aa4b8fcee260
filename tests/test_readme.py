"""The README's examples work where the README puts them, as a user would place them.

A copy of the package gets the files exactly as README shows them (each python block of
"Add a game" and "Swap the network" starts with a comment naming its file: a new file, or
``config.py (add at the end)``), then the section's own ``python muzero.py`` commands run in
a subprocess to the end.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
PACKAGE = ("muzero.py", "config.py", "game", "networks", "self_play", "training")


def section(heading: str) -> str:
    """Return the README text under a ``## heading`` (to the next ``## ``)."""
    text = README.read_text()
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def python_blocks(heading: str) -> list[tuple[str, str]]:
    """Return ``(target, code)`` of each python block of a section; target is its first
    line's comment, e.g. ``game/corridor.py`` or ``config.py (add at the end)``."""
    blocks = re.findall(r"```python\n(.*?)```", section(heading), re.S)
    return [(code.splitlines()[0].lstrip("# ").strip(), code) for code in blocks]


def commands(heading: str) -> list[list[str]]:
    """Return the ``python muzero.py ...`` command lines shown in a section."""
    found = re.findall(r"^(python muzero\.py [^\n#]*)", section(heading), re.M)
    return [line.split()[1:] for line in found]


def install_examples(root: Path, heading: str) -> None:
    """Write a section's blocks into a copy of the package as README says."""
    for target, code in python_blocks(heading):
        if target == "config.py (add at the end)":
            with open(root / "config.py", "a") as handle:
                handle.write("\n\n" + code)
        else:
            assert re.fullmatch(r"[a-z_]+/[a-z_]+\.py", target), target
            assert not (root / target).exists(), f"{target} would overwrite a package file"
            (root / target).write_text(code)


def copy_package(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for name in PACKAGE:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(source, destination / name)
    return destination


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_readme_blocks_name_their_files():
    targets = [t for t, _ in python_blocks("Add a game") + python_blocks("Swap the network")]
    assert targets == [
        "game/corridor.py",
        "config.py (add at the end)",
        "networks/wide.py",
        "config.py (add at the end)",
    ]
    assert commands("Add a game")[0] == ["muzero.py", "--game", "corridor"]
    assert commands("Swap the network")[0][:3] == ["muzero.py", "--game", "cartpole-wide"]


@pytest.mark.slow
def test_readme_add_a_game_trains_from_the_command_line(tmp_path):
    """The corridor, placed as README says, trains to the end and then walks it greedily."""
    root = copy_package(tmp_path / "copy")
    install_examples(root, "Add a game")
    train, evaluate = commands("Add a game")[:2]
    done = run(root, *train, "--no-progress")
    assert "Traceback" not in done.stderr
    (run_dir,) = (root / "results" / "corridor").iterdir()
    assert (run_dir / "weights.npz").exists() and (run_dir / "learning_curve.png").exists()
    evaluate = [str(run_dir) if part.startswith("results/") else part for part in evaluate]
    out = run(root, *evaluate).stdout
    mean = float(re.search(r"mean return ([-\d.]+)", out).group(1))
    # Cell 5 is reached in every greedy episode (the config's docstring promises it).
    assert mean == 1.0, out


@pytest.mark.slow
def test_readme_swap_the_network_trains_from_the_command_line(tmp_path):
    root = copy_package(tmp_path / "copy")
    install_examples(root, "Swap the network")
    train = commands("Swap the network")[0]
    run(root, *train, "--no-progress", "--training-steps", "20", "--set", "min_replay_moves=200")
    (run_dir,) = (root / "results" / "cartpole-wide").iterdir()
    with np.load(run_dir / "weights.npz", allow_pickle=False) as weights:
        shapes = [weights[name].shape for name in weights.files]
    assert (4, 128) in shapes and (128, 128) in shapes  # the wide trunk, not the default 64


def field_docs() -> dict[str, str]:
    """Return the first sentence-paragraph of each `MuZeroConfig` field's docstring."""
    tree = ast.parse((REPO_ROOT / "config.py").read_text())
    (body,) = [
        n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MuZeroConfig"
    ]
    docs = {}
    for statement, following in zip(body, body[1:]):
        if isinstance(statement, ast.AnnAssign) and isinstance(following, ast.Expr):
            text = " ".join(following.value.value.split())
            docs[statement.target.id] = text.replace("|", "\\|")
    return docs


def fields_table() -> str:
    """Return README's table of the config fields with the CartPole values.

    ``python tests/test_readme.py`` prints it; a test checks README holds it as printed.
    """
    from config import GAMES, make_cartpole_config, make_minatar_config

    config = make_cartpole_config()
    settable = config.settable_fields()
    games = [game() for game in GAMES.values()] + [make_minatar_config()]  # an image game
    anywhere = {name for game in games for name in game.settable_fields()}
    docs = field_docs()
    lines = ["| field | type | CartPole | meaning |", "| --- | --- | --- | --- |"]
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if callable(value) and not isinstance(value, type):
            shown = getattr(value, "__name__", None) or type(value).__name__
        elif isinstance(value, type):
            shown = value.__name__
        else:
            shown = value
        kind = field.type.replace("|", "\\|")
        if field.name not in anywhere:
            kind = f"{kind} (not settable)"
        elif field.name not in settable:
            kind = f"{kind} (not used by CartPole)"
        lines.append(f"| `{field.name}` | {kind} | `{shown}` | {docs[field.name]} |")
    return "\n".join(lines) + "\n"


def test_readme_lists_every_config_field_as_the_config_has_it():
    assert fields_table() in README.read_text(), "run python tests/test_readme.py, paste its table"


def test_readme_cites_only_files_in_the_repository():
    """Every relative link, and every markdown file README names, is in the repository."""
    text = README.read_text()
    assert "../" not in text
    for path in re.findall(r"\]\(([^)#:]+)\)", text):  # relative links
        assert (REPO_ROOT / path).exists(), path
    for name in re.findall(r"[\w./-]+\.md\b", text):
        assert (REPO_ROOT / name).exists() or (REPO_ROOT / "docs" / name).exists(), name


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    print(fields_table(), end="")
