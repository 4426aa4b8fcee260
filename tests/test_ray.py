"""Self-play actors on Ray (`config.num_actors >= 1`): weights versions, restarts, whole runs.

Each test starts its own Ray (a local one, or a simulated cluster) and ends it; a test that
runs `muzero.py` in a child process also checks that no process of its session is left.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import muzero
from self_play.ray_actors import ActorError, SelfPlayActors, games_per_actor, ray_environment
from tests.test_muzero import read_rows, tiny_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from memory import session_processes  # noqa: E402  (benchmarks/memory.py)

ray_environment()
ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]


# The test's process id, inherited by the processes Ray starts (and kept when an actor
# imports this module again).
os.environ.setdefault("MUZERO_TEST_PROCESS", str(os.getpid()))


def network_failing_in_an_actor(config):
    """A network factory that works in the test's process and fails in a Ray actor."""
    from networks.factories import make_fully_connected_network

    if os.environ["MUZERO_TEST_PROCESS"] != str(os.getpid()):
        raise RuntimeError("no network in this actor")
    return make_fully_connected_network(config)


def perturbed(weights, seed):
    rng = np.random.default_rng(seed)
    return [w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype) for w in weights]


@pytest.fixture
def local_ray():
    """A local Ray of 3 CPUs that the pools join (and do not end); ended after the test."""
    # The actors import the project, and this module (pytest imports it as `test_ray`).
    paths = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    folder = tempfile.mkdtemp(prefix="muzero-ray-test-")
    environment = {"PYTHONPATH": paths, "TF_CPP_MIN_LOG_LEVEL": "2"}
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
             _temp_dir=folder, runtime_env={"env_vars": environment})  # fmt: skip
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


def wait_until_gone(session: int, seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := session_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.slow
def test_actors_take_only_newer_weights_and_replace_a_killed_actor(local_ray):
    config = tiny_config(0, num_actors=2)
    network = config.new_network()
    pool = SelfPlayActors(config, seed=1)
    try:
        # Two actors of one CPU, and one CPU kept for the learner: all 3 taken.
        assert ray.available_resources().get("CPU", 0) == 0
        assert pool.moves_per_call == 20  # 40 moves an iteration over 2 actors
        # The config's 4 games in flight, 2 in each actor (as many as a local run has).
        assert ray.get([actor.num_games.remote() for actor in pool._actors]) == [2, 2]
        # Their calls leave no task events: Ray's GCS would keep one for each call.
        assert all(actor._ray_enable_task_events is False for actor in pool._actors)
        stats = pool.play(network, 40)
        assert stats.moves >= 40 and stats.simulations > 0
        assert pool.version == 0
        # actor_calls_in_flight 0: each actor played its share with these weights, and
        # none plays while the learner trains.
        assert pool.versions == [0, 0] and not pool._in_flight
        # A new version is published once; an actor handed an older one keeps its own.
        network.set_weights(perturbed(network.get_weights(), 2))
        network.steps = 5
        pool.publish(network)
        pool.publish(network)
        assert pool.version == 5
        actor = pool._actors[0]
        version, _ = ray.get(actor.play.remote(5, [pool._weights], 4))
        assert version == 5
        stale = ray.put(perturbed(network.get_weights(), 3))
        version, _ = ray.get(actor.play.remote(3, [stale], 4))
        assert version == 5
        # The killed actor is replaced; the run's moves go on.
        before = pool.pids()
        os.kill(before[0], signal.SIGKILL)
        played = 0
        for _ in range(4):
            played += pool.play(network, 40).moves
        assert played >= 160
        assert pool.restarts == 1
        after = pool.pids()
        assert after[0] != before[0] and after[1] == before[1]
    finally:
        pool.close()
    assert ray.is_initialized()  # the pool joined this Ray: it leaves it running
    # and gave back what it took (Ray frees a killed actor's CPUs a moment later)
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 3


@pytest.mark.slow
def test_actors_ahead_of_the_learner_play_with_the_weights_before_its_training(local_ray):
    config = tiny_config(0, num_actors=1, actor_calls_in_flight=1)
    network = config.new_network()
    pool = SelfPlayActors(config, seed=1)
    try:
        pool.play(network, 40)
        assert pool.versions == [0]
        assert list(pool._in_flight.values()) == [0]  # it plays on while the learner trains
        network.set_weights(perturbed(network.get_weights(), 2))
        network.steps = 7
        pool.play(network, 40)
        assert pool.versions == [0]  # the call it had in flight, with the weights before
        pool.play(network, 40)
        assert pool.versions == [7]
    finally:
        pool.close()


@pytest.mark.slow
def test_an_actor_that_cannot_start_is_reported_in_one_line(local_ray):
    config = tiny_config(0, num_actors=1, network_factory=network_failing_in_an_actor)
    with pytest.raises(ActorError, match="actor 0 could not start: .*no network in this actor"):
        SelfPlayActors(config, seed=0)


def test_games_in_flight_are_split_between_the_actors():
    assert games_per_actor(16, 2) == [8, 8]
    assert games_per_actor(16, 3) == [6, 5, 5]
    assert games_per_actor(5, 5) == [1, 1, 1, 1, 1]
    assert games_per_actor(350, 350) == [1] * 350
    with pytest.raises(ValueError, match=r"num_parallel_games must be >= num_actors \(5\)"):
        tiny_config(0, num_actors=5)  # 4 games


def test_more_actors_than_cpus_is_refused(local_ray):
    config = tiny_config(0, num_actors=3)
    with pytest.raises(ActorError, match="learner_cpus=1 need 4 CPUs; the Ray cluster has 3"):
        SelfPlayActors(config, seed=0)
    config = tiny_config(0, num_actors=4, learner_cpus=0)
    with pytest.raises(ActorError, match="actor_cpus=1 need 4 CPUs; the Ray cluster has 3"):
        SelfPlayActors(config, seed=0)


def test_limit_threads_before_and_after_tensorflow_starts():
    script = (
        "import tensorflow as tf\n"
        "from self_play.ray_actors import limit_threads\n"
        "assert limit_threads(1)\n"
        "tf.constant(1.0) + 1.0\n"  # TensorFlow has started: the numbers are fixed
        "assert limit_threads(1) and not limit_threads(2)\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr


@pytest.mark.slow
def test_a_run_with_two_actors_trains_and_ends_its_ray(tmp_path):
    assert not ray.is_initialized()
    network = muzero.muzero(tiny_config(0, num_actors=2), tmp_path)
    assert network.training_steps() == 12
    rows = read_rows(tmp_path)
    assert [int(row["training_step"]) for row in rows] == [4, 8, 12]
    assert int(rows[-1]["moves"]) >= 3 * 40 and int(rows[-1]["games"]) > 0
    assert [row["actor_restarts"] for row in rows] == ["0", "0", "0"]
    assert not ray.is_initialized()
    # The actors play with the newest weights and their games are taken in the actors'
    # order: the seeded run repeats.
    again = muzero.muzero(tiny_config(0, num_actors=2), tmp_path / "again")
    for first, second in zip(network.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(first, second)
    columns = ("moves", "games", "episode_return", "episode_length")
    assert [[row[name] for name in columns] for row in read_rows(tmp_path / "again")] == [
        [row[name] for name in columns] for row in rows
    ]


@pytest.mark.slow
def test_a_run_on_a_two_node_cluster(tmp_path):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.add_node(num_cpus=1)
    try:
        cluster.wait_for_nodes()
        # A whole run joins the cluster by its address, and leaves it running.
        network = muzero.muzero(tiny_config(0, num_actors=2), tmp_path,
                                ray_address=cluster.address)  # fmt: skip
        assert network.training_steps() == 12
        assert not ray.is_initialized()
        # The learner keeps one of the head's 2 CPUs: one actor fits on each node.
        config = tiny_config(0, num_actors=2)
        pool = SelfPlayActors(config, seed=0, address=cluster.address)
        try:
            assert len(set(pool.node_ids())) == 2
            assert pool.play(config.new_network(), 40).moves >= 40
        finally:
            pool.close()
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.slow
def test_interrupted_ray_run_leaves_no_process_and_resumes(tmp_path):
    command = [sys.executable, str(ROOT / "muzero.py"), "--results-dir", str(tmp_path),
               "--no-progress", "--training-steps", "2000", "--set", "num_actors=2",
               "--set", "checkpoint_interval=10", "--set", "log_interval=10"]  # fmt: skip
    child = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        checkpoints = []
        while not checkpoints and time.monotonic() < deadline and child.poll() is None:
            time.sleep(1)
            checkpoints = list(tmp_path.glob("cartpole/*/checkpoints/*"))
        assert checkpoints, child.communicate(timeout=30)
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, err
    assert "checkpoint saved; continue with" in err
    assert wait_until_gone(child.pid) == []
    [run_dir] = tmp_path.glob("cartpole/*")
    resumed = subprocess.run(
        [sys.executable, str(ROOT / "muzero.py"), "--resume", str(run_dir), "--no-progress",
         "--training-steps", str(int(read_rows(run_dir)[-1]["training_step"]) + 20)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, start_new_session=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    assert "warning" not in resumed.stderr.lower() and "I0000" not in resumed.stderr


@pytest.mark.parametrize("actor_process,actors", [(True, 1), (False, 0)])
def test_a_run_saved_with_actor_process_loads_with_its_number_of_actors(
    tmp_path, actor_process, actors
):
    import json

    from config import make_cartpole_config

    saved = make_cartpole_config().to_dict()
    saved.pop("actor_calls_in_flight")
    saved.update(actor_process=actor_process, num_actors=1)  # 1: the old, unused default
    (tmp_path / "config.json").write_text(json.dumps(saved))
    (tmp_path / "run.json").write_text(json.dumps({"game": "cartpole", "overrides": {}}))
    assert muzero.load_run_config(tmp_path).num_actors == actors


def test_a_ray_address_without_actors_is_refused(tmp_path, capsys):
    status = muzero.main(["--results-dir", str(tmp_path / "results"), "--no-progress",
                          "--ray-address", "127.0.0.1:6379"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "--ray-address" in err and "num_actors" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "results").exists()
