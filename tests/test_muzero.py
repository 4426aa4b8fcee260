"""Smoke runs of the main loop `muzero.muzero` in process: it trains, logs and is seeded."""

import csv
import math

import pytest

import muzero
from config import make_cartpole_config
from training import LOSS_NAMES


def tiny_config(seed, **overrides):
    settings = dict(
        seed=seed,
        training_steps=12,
        log_interval=4,
        training_steps_per_iteration=4,
        selfplay_moves_per_iteration=40,
        min_replay_moves=40,
        num_simulations=4,
        num_parallel_games=4,
        batch_size=8,
        num_unroll_steps=3,
        td_steps=5,
        hidden_state_size=8,
        hidden_layers=(16,),
        value_support_size=5,
        reward_support_size=3,
    )
    settings.update(overrides)
    return make_cartpole_config(**settings)


def read_rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tiny runs: seed 0 twice, seed 1 once; each gives (network, run folder)."""
    out = {}
    for name, seed in (("first", 0), ("again", 0), ("other", 1)):
        run_dir = tmp_path_factory.mktemp(f"run_{name}")
        out[name] = (muzero.muzero(tiny_config(seed), run_dir), run_dir)
    return out


def test_run_trains_the_requested_steps_and_writes_its_record(runs):
    network, run_dir = runs["first"]
    assert network.training_steps() == 12
    rows = read_rows(run_dir)
    assert [int(row["training_step"]) for row in rows] == [4, 8, 12]
    for row in rows:
        for name in LOSS_NAMES:
            assert math.isfinite(float(row[name])), (name, row)
        assert int(row["moves"]) >= 40
    assert (run_dir / "weights.npz").stat().st_size > 0
    assert (run_dir / "learning_curve.png").exists()


def test_same_seed_gives_the_same_run(runs):
    first, again = read_rows(runs["first"][1])[0], read_rows(runs["again"][1])[0]
    for name in ("games", "moves", "episode_return", *LOSS_NAMES):
        if name == "total":
            # A float32 sum of the step losses that TensorFlow may associate differently in
            # two traces of the update step within one process: equal to float32 rounding.
            assert float(first[name]) == pytest.approx(float(again[name]), rel=1e-6), name
        else:
            assert first[name] == again[name], name


def test_other_seed_gives_another_run(runs):
    first, other = read_rows(runs["first"][1])[0], read_rows(runs["other"][1])[0]
    assert [first[name] for name in LOSS_NAMES] != [other[name] for name in LOSS_NAMES]


def test_run_without_a_folder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    network = muzero.muzero(tiny_config(0, training_steps=4))
    assert network.training_steps() == 4
    assert list(tmp_path.iterdir()) == []


def test_concurrent_training_trains_deterministically(tmp_path):
    """Training in a background thread: the steps asked for, the same run twice."""
    rows = []
    for name in ("first", "again"):
        run_dir = tmp_path / name
        network = muzero.muzero(tiny_config(0, concurrent_training=True), run_dir)
        assert network.training_steps() == 12
        rows.append(read_rows(run_dir))
    assert [int(row["training_step"]) for row in rows[0]] == [4, 8, 12]
    for first, again in zip(*rows):
        for name in ("games", "moves", *LOSS_NAMES):
            assert float(first[name]) == pytest.approx(float(again[name]), rel=1e-6), name


def test_concurrent_selfplay_acts_with_the_weights_from_before_the_steps(monkeypatch):
    """Each round of self-play acts with a copy of the weights as the previous round's
    training left them, while this round's steps run on the trained network."""
    import numpy as np

    from self_play import SelfPlay
    from training import Trainer

    seen, after_step = [], {}
    play, update = SelfPlay.play, Trainer.update_weights

    def recording_play(self, network, num_moves):
        seen.append((id(network), [w.copy() for w in network.get_weights()]))
        return play(self, network, num_moves)

    def recording_update(self, batch):
        losses = update(self, batch)
        after_step[self.network.steps] = self.network.get_weights()
        return losses

    monkeypatch.setattr(SelfPlay, "play", recording_play)
    monkeypatch.setattr(Trainer, "update_weights", recording_update)
    trained = muzero.muzero(tiny_config(0, concurrent_training=True))
    actors = {actor for actor, _ in seen}
    assert len(actors) == 1 and id(trained) not in actors  # one copy, never the trained net

    def same(a, b):
        return all(np.array_equal(x, y) for x, y in zip(a, b))

    # Rounds before training act with the initial weights; then 4 steps run per round, and
    # the round during steps 9-12 acts with the weights after step 8.
    used = [next((s for s in (4, 8, 12) if same(w, after_step[s])), 0) for _, w in seen]
    assert used[-3:] == [0, 4, 8] and set(used[:-3]) == {0}, used
    assert same(seen[0][1], seen[-3][1])  # "0" really is the initial weights
