"""The README's examples run as written."""

import re
from pathlib import Path

import numpy as np

import muzero

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_namespace(heading: str) -> dict:
    """Execute the python block under a README heading; return its namespace."""
    text = README.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, f"README: {heading}", "exec"), namespace)
    return namespace


def test_readme_game_example_trains():
    namespace = readme_namespace("Add a game")
    config = namespace["make_corridor_config"](
        training_steps=6, num_simulations=4, batch_size=16, training_steps_per_iteration=3
    )
    game = config.new_game(seed=0)
    for _ in range(5):
        game.apply(1)
    assert game.terminal() and game.rewards == [0, 0, 0, 0, 1.0]
    network = muzero.muzero(config)
    assert network.training_steps() == 6


def test_readme_network_example_builds_and_infers():
    config = readme_namespace("Swap the network")["config"]
    network = config.new_network()
    assert type(network).__name__ == "WideNetwork"
    out = network.initial_inference(np.zeros((3, 4), dtype=np.float32))
    nxt = network.recurrent_inference(out.hidden_state, np.array([0, 1, 0]))
    assert out.hidden_state.shape == (3, 32) and nxt.policy_logits.shape == (3, 2)
    assert np.all(np.isfinite(nxt.value))


def test_readme_lists_every_config_field():
    import dataclasses

    from config import MuZeroConfig

    text = README.read_text()
    for field in dataclasses.fields(MuZeroConfig):
        assert f"| `{field.name}` |" in text, field.name
