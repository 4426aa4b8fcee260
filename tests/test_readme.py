"""The README and docs/ hold: their examples work where they put them, their commands name
real options, their links lead somewhere, and the config table is the config's.

The worked examples live in ``docs/add_a_game.md`` and ``docs/swap_the_network.md``, which
the README's "Add a game" and "Swap the network" link to. A copy of the package gets the
files exactly as each page shows them (each python block starts with a comment naming its
file: a new file, or ``config.py (add at the end)``), then the page's own
``python muzero.py`` commands run in a subprocess to the end.

``python tests/test_readme.py`` prints the config table of ``docs/config.md``;
``python tests/test_readme.py --write`` puts it there.
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
DOCS = REPO_ROOT / "docs"
ADD_A_GAME = DOCS / "add_a_game.md"
SWAP_THE_NETWORK = DOCS / "swap_the_network.md"
CONFIG_PAGE = DOCS / "config.md"
#: Every markdown page whose links and commands are checked.
PAGES = [README, *sorted(DOCS.glob("*.md"))]
PACKAGE = ("muzero.py", "config.py", "game", "networks", "self_play", "training")


def section(heading: str, page: Path = README) -> str:
    """Return the text of a page under a ``## heading`` (to the next ``## ``)."""
    text = page.read_text()
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def python_blocks(page: Path) -> list[tuple[str, str]]:
    """Return ``(target, code)`` of each python block of a page; target is its first
    line's comment, e.g. ``game/corridor.py`` or ``config.py (add at the end)``."""
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    return [(code.splitlines()[0].lstrip("# ").strip(), code) for code in blocks]


def commands(text: str) -> list[list[str]]:
    """Return the ``python muzero.py ...`` command lines shown in a text."""
    found = re.findall(r"^(python muzero\.py [^\n#]*)", text, re.M)
    return [line.split()[1:] for line in found]


def install_examples(root: Path, page: Path) -> None:
    """Write a page's blocks into a copy of the package as the page says."""
    for target, code in python_blocks(page):
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
    targets = [t for t, _ in python_blocks(ADD_A_GAME) + python_blocks(SWAP_THE_NETWORK)]
    assert targets == [
        "game/corridor.py",
        "config.py (add at the end)",
        "networks/wide.py",
        "config.py (add at the end)",
    ]
    assert commands(ADD_A_GAME.read_text())[0] == ["muzero.py", "--game", "corridor"]
    assert commands(SWAP_THE_NETWORK.read_text())[0][:3] == [
        "muzero.py",
        "--game",
        "cartpole-wide",
    ]
    # The README's sections point at the worked examples, and show the same command.
    assert "(docs/add_a_game.md)" in section("Add a game")
    assert "(docs/swap_the_network.md)" in section("Swap the network")
    assert commands(section("Add a game"))[0] == commands(ADD_A_GAME.read_text())[0]


@pytest.mark.slow
def test_readme_add_a_game_trains_from_the_command_line(tmp_path):
    """The corridor, placed as README says, trains to the end and then walks it greedily."""
    root = copy_package(tmp_path / "copy")
    install_examples(root, ADD_A_GAME)
    train, evaluate = commands(ADD_A_GAME.read_text())[:2]
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
    install_examples(root, SWAP_THE_NETWORK)
    train = commands(SWAP_THE_NETWORK.read_text())[0]
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
    """Return the table of the config fields with the CartPole values (docs/config.md).

    ``python tests/test_readme.py`` prints it, ``--write`` puts it in docs/config.md; a test
    checks the page holds it as printed.
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


def write_fields_table() -> None:
    """Replace the table of docs/config.md (its lines starting with ``|``) by `fields_table`."""
    text = CONFIG_PAGE.read_text()
    start = text.index("| field | type | CartPole | meaning |")
    lines = text[start:].splitlines(keepends=True)
    rest = "".join(line for i, line in enumerate(lines) if i >= table_length(lines))
    CONFIG_PAGE.write_text(text[:start] + fields_table() + rest)


def table_length(lines: list[str]) -> int:
    """Return how many of `lines` form the markdown table they start with."""
    return next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))


def test_config_page_lists_every_config_field_as_the_config_has_it():
    assert fields_table() in CONFIG_PAGE.read_text(), "run python tests/test_readme.py --write"
    assert "(docs/config.md)" in README.read_text()


def slug(heading: str) -> str:
    """Return the anchor GitHub gives a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.*)$", page.read_text(), re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_pages_cite_only_files_in_the_repository(page):
    """Every relative link (and its anchor), and every markdown file a page names, is in
    the repository."""
    text = page.read_text()
    for link in re.findall(r"\]\(([^):]+)\)", text):  # relative links
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_relative_to(REPO_ROOT) and target.exists(), link
        if anchor:
            assert anchor in anchors(target), link
    for name in re.findall(r"[\w./-]+\.md\b", text):
        places = (page.parent / name, REPO_ROOT / name, DOCS / name)
        assert any(place.exists() for place in places), name


def shown_commands(text: str) -> list[str]:
    """Return the command lines of a page: each line of its plain code blocks (continuation
    lines joined), and each inline ``python benchmarks/...`` or ``python muzero.py ...``
    outside them; a leading ``taskset -c N`` left out."""
    lines = []
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    for language, block in blocks:
        if language:
            continue
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            lines.append(line.split(" # ")[0].strip())
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`([^`]+)`", prose):
        span = " ".join(span.split())
        if re.match(r"(taskset -c \S+ )?python (benchmarks/|muzero\.py )", span):
            lines.append(span)
    lines = [re.sub(r"^taskset -c \S+ ", "", line) for line in lines]
    return [line for line in lines if line.startswith("python ")]


def options(words: list[str]) -> list[str]:
    return [word.strip("[]").split("=")[0] for word in words if word.strip("[").startswith("--")]


def documented_games() -> set[str]:
    """Return the game names the worked examples add to `GAMES`."""
    code = "".join(code for _, code in python_blocks(ADD_A_GAME) + python_blocks(SWAP_THE_NETWORK))
    return set(re.findall(r'GAMES\["([^"]+)"\]', code))


def check_command(line: str) -> None:
    """Assert that a ``python muzero.py`` or ``python benchmarks/NAME.py`` line names a
    script that exists, options it defines, and a game the command line knows."""
    from config import config_factory

    words = line.split()
    if words[:1] != ["python"] or len(words) < 2:  # "-- ...": a command left unsaid
        return
    script, rest = words[1], words[2:]
    if "--" in rest:  # benchmarks/memory.py ... -- COMMAND: the command is checked as well
        cut = rest.index("--")
        check_command(" ".join(rest[cut + 1 :]))
        rest = rest[:cut]
    if script in ("-m", "-c") or not script.endswith(".py"):
        return
    source = REPO_ROOT / script
    assert source.exists(), line
    defined = source.read_text()
    if script.startswith("benchmarks/"):  # and the benchmark modules it imports
        for name in re.findall(r"^(?:from|import) (\w+)", defined, re.M):
            if (REPO_ROOT / "benchmarks" / f"{name}.py").exists():
                defined += (REPO_ROOT / "benchmarks" / f"{name}.py").read_text()
    for option in set(options(rest)) - {"--help"}:  # argparse's own
        assert f'"{option}"' in defined, f"{option} of {line!r} is not defined in {script}"
    if script == "muzero.py" and "--game" in rest:
        game = rest[rest.index("--game") + 1]
        if game not in documented_games():
            config_factory(game)  # raises KeyError for a game the command line refuses


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_pages_show_only_commands_that_exist(page):
    """Each ``python muzero.py`` and ``python benchmarks/...`` line of a code block names a
    script in the repository, options it defines and a game it knows."""
    shown = shown_commands(page.read_text())
    if page == README:
        assert len(shown) >= 10, shown
    for line in shown:
        check_command(line)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    if sys.argv[1:] == ["--write"]:
        write_fields_table()
    else:
        print(fields_table(), end="")
