"""Images: frame stacks with action planes, uint8 storage, the downsampling network."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest

from config import MuZeroConfig, StepTemperature
from game.frames import latest_stack, stack_frames, stack_shape
from game.image_game import ImageGame, to_frame
from networks import NetworkSettings
from networks.factories import make_image_network
from networks.residual import ResidualNetwork
from self_play import SelfPlay, search_games
from tests.test_cli import TINY, assert_quiet, read_csv, run_script
from training import ReplayBuffer
from training.checkpoint import pack, unpack


class ImageToy(gym.Env):
    """8 x 8 RGB frames that show the step (red) and the last action (green); reward 1 for
    action ``t % 3``; the episode ends after 5 to 9 moves (by the seed)."""

    observation_space = gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.integers(5, 10))
        return self.frame(0), {}

    def frame(self, action):
        image = np.zeros((8, 8, 3), np.uint8)
        image[..., 0] = 20 * self.t
        image[..., 1] = 50 * action
        image[0, 0, 2] = 255
        return image

    def step(self, action):
        reward = float(action == self.t % 3)
        self.t += 1
        return self.frame(action), reward, self.t >= self.length, False, {}


if "ImageToy-v0" not in gym.envs.registry:  # once, though other tests import this module
    gym.register("ImageToy-v0", entry_point=ImageToy)


def toy_config(stacked=3, **overrides):
    settings = dict(
        game_name="ImageToy-v0", action_space_size=3, observation_shape=(8, 8, stacked * 4),
        max_moves=20, discount=0.99, stacked_frames=stacked,
        game_factory=functools.partial(ImageGame, "ImageToy-v0", stacked_frames=stacked),
        network_factory=make_image_network, num_parallel_games=4, num_simulations=5,
        batch_size=64, num_unroll_steps=3, td_steps=4, value_support_size=5,
        reward_support_size=2, residual_channels=8, residual_blocks=1, residual_head_units=0,
        residual_prediction_blocks=0, visit_softmax_temperature_fn=StepTemperature(),
    )  # fmt: skip
    settings.update(overrides)
    return MuZeroConfig(**settings)


def test_a_stack_of_a_scripted_episode_by_hand():
    # Frame t is all 10 * t; moves 2, 0, 1, 2 of 3 actions; stacks of 3 frames of 1 channel.
    frames = np.stack([np.full((2, 2, 1), 10 * t, np.uint8) for t in range(5)])
    actions = [2, 0, 1, 2]
    led_by = np.array([-1, *actions])
    stacks = stack_frames(frames, led_by, [0, 1, 2, 4], stacked=3, num_actions=3)
    assert stacks.shape == (4, 2, 2, 6) == (4, 2, 2) + stack_shape((2, 2, 1), 3)[2:]
    # Per slot, oldest first: (frame / 255, action that led to it / 3); padding is zeros.
    expected = {
        0: [(0, 0), (0, 0), (0, 0)],  # before the start twice, then frame 0 (no action)
        1: [(0, 0), (0, 0), (10, 2 / 3)],
        2: [(0, 0), (10, 2 / 3), (20, 0 / 3)],
        4: [(20, 0), (30, 1 / 3), (40, 2 / 3)],
    }
    for row, state in enumerate([0, 1, 2, 4]):
        slots = [(value / 255, plane) for value, plane in expected[state]]
        np.testing.assert_allclose(stacks[row, 1, 0], np.ravel(slots), atol=1e-7)
        assert (stacks[row] == stacks[row, :1, :1]).all()  # every pixel alike
    # A game being played reads only its last frames, and agrees.
    for state in range(5):
        np.testing.assert_array_equal(
            latest_stack(list(frames), actions, state, 3, 3),
            stack_frames(frames, led_by, [state], 3, 3)[0],
        )


def test_frames_are_uint8_and_binary_planes_become_0_or_255():
    planes = np.zeros((10, 10, 4), bool)
    planes[2, 3, 1] = True
    frame = to_frame(planes)
    assert frame.dtype == np.uint8 and frame[2, 3, 1] == 255 and frame.sum() == 255
    assert to_frame(np.zeros((4, 5), np.uint8)).shape == (4, 5, 1)
    with pytest.raises(ValueError, match="uint8 or bool"):
        to_frame(np.zeros((2, 2, 3), np.float32))


@pytest.fixture(scope="module")
def played():
    config = toy_config()
    network = config.new_network()
    games = SelfPlay(config, np.random.default_rng(0)).play(network, 60).finished
    return config, network, games


def test_the_image_game_observes_its_stack_and_stores_each_frame_once(played):
    config, _, games = played
    game = games[0]
    assert all(frame.dtype == np.uint8 and frame.shape == (8, 8, 3) for frame in game.observations)
    assert len(game.observations) == len(game.history) + 1
    image = game.make_image(2)  # frames 0, 1, 2 with the actions that led to them
    assert image.shape == config.observation_shape
    np.testing.assert_allclose(image[0, 1, [0, 4, 8]], [0, 20 / 255, 40 / 255], atol=1e-7)
    np.testing.assert_allclose(image[0, 1, [3, 7, 11]], [0, *np.array(game.history[:2]) / 3])
    np.testing.assert_allclose(image[0, 1, [1, 5, 9]], np.array([0, *game.history[:2]]) * 50 / 255)


def test_replay_keeps_uint8_frames_and_samples_the_games_own_stacks(played):
    config, _, games = played
    replay = ReplayBuffer(config)
    for game in games:
        replay.save_game(game)
    record = replay.buffer[0]
    assert record.observations.dtype == np.uint8 and record.observations.shape[1:] == (8, 8, 3)
    float_bytes = sum(len(r.observations) * 4 * np.prod(config.observation_shape)
                      for r in replay.buffer)  # fmt: skip
    frame_bytes = sum(r.observations.nbytes for r in replay.buffer)
    assert frame_bytes * 16 == float_bytes  # 4 bytes -> 1, and 12 planes -> 3
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(1))
    assert batch.observations.dtype == np.float32
    for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
        expected = games[game_id].make_image(int(position))
        np.testing.assert_array_equal(batch.observations[row], expected)


def test_uint8_frames_round_trip_through_a_checkpoint(played):
    config, _, games = played
    replay = ReplayBuffer(config)
    for game in games[:5]:
        replay.save_game(game)
    restored = ReplayBuffer(config)
    restored.load_state_dict(unpack(pack(replay.state_dict())))
    for before, after in zip(replay.buffer, restored.buffer):
        assert after.observations.dtype == np.uint8
        np.testing.assert_array_equal(before.observations, after.observations)
    rng = np.random.default_rng(3)
    first = replay.sample_batch(3, config.td_steps, rng)
    again = restored.sample_batch(3, config.td_steps, np.random.default_rng(3))
    np.testing.assert_array_equal(first.observations, again.observations)


def test_batched_search_equals_the_reference_on_an_image_network(played):
    config, network, games = played
    unfinished = []
    for game in games[:6]:
        fresh = config.new_game(seed=1)
        for action in game.history[:3]:
            fresh.apply(action)
        unfinished.append(fresh)
    batched = search_games(config, network, unfinished)
    reference = search_games(toy_config(search="reference"), network, unfinished)
    np.testing.assert_array_equal(batched.visit_counts, reference.visit_counts)
    np.testing.assert_allclose(batched.root_value, reference.root_value, atol=1e-6)


def conv(cin, cout, k=3):
    return k * k * cin * cout


def block(c):  # two 3x3 convolutions and two batch norms (4 numbers per channel each)
    return 2 * conv(c, c) + 2 * 4 * c


def head(c, cells, outputs):  # a 1x1 convolution to 2 planes, batch norm, a dense layer
    return conv(c, 2, 1) + 4 * 2 + (2 * cells + 1) * outputs


def test_paper_size_atari_network_downsamples_96_to_6_with_the_papers_parameter_count():
    network = ResidualNetwork(
        NetworkSettings((96, 96, 128), 18, 300, 300), channels=256, blocks=16, head_units=0,
        prediction_blocks=0, action_planes="one_hot", downsample=True,
        downsample_blocks=(2, 3, 3),
    )  # fmt: skip
    assert network.representation.output_shape[1:] == (6, 6, 256)
    sizes = [layer.output.shape[1] for layer in network.representation.layers]
    assert list(dict.fromkeys(sizes)) == [96, 48, 24, 12, 6]  # the resolutions, in order
    representation = (
        conv(128, 128) + 4 * 128 + 2 * block(128) + conv(128, 256) + 4 * 256
        + 3 * block(256) + 3 * block(256)  # the two poolings have no parameters
        + conv(256, 256) + 4 * 256 + 16 * block(256)
    )  # fmt: skip
    dynamics = conv(256 + 18, 256) + 4 * 256 + 16 * block(256) + head(256, 36, 601)
    prediction = head(256, 36, 18) + head(256, 36, 601)
    assert network.representation.count_params() == representation
    assert network.dynamics.count_params() == dynamics
    assert network.prediction.count_params() == prediction
    assert representation + dynamics + prediction == 47_254_012


@pytest.mark.slow
@pytest.mark.parametrize("game", ["MinAtar/Breakout-v1", "ALE/Breakout-v5"])
def test_image_games_train_checkpoint_and_evaluate_from_the_command_line(tmp_path, game):
    results = tmp_path / "results"
    done = run_script(
        "--game", game, "--training-steps", 5, "--results-dir", results, "--no-progress",
        *TINY, "--set", "max_moves=60", "--set", "num_parallel_games=2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_quiet(done.stderr)
    assert "A.L.E" not in done.stderr and "Stella" not in done.stderr  # no ALE banner
    (run_dir,) = (results / game).iterdir()
    assert [int(row["training_step"]) for row in read_csv(run_dir / "metrics.csv")] == [5]
    assert sorted(path.name for path in (run_dir / "checkpoints").iterdir()) == [
        "checkpoint-000000005.npz"
    ]
    evaluate = run_script("evaluate", run_dir, "--episodes", 2, "--render")
    assert evaluate.returncode == 0, evaluate.stderr
    assert "2 greedy episodes: mean return" in evaluate.stdout
    assert (run_dir / "episode.gif").read_bytes()[:6] == b"GIF89a"


def test_the_paper_preset_has_the_pseudocodes_atari_values():
    from config import make_atari_config

    config = make_atari_config("ALE/Pong-v5", preset="paper")
    expected = dict(
        action_space_size=18, max_moves=27_000, discount=0.997, dirichlet_alpha=0.25,
        num_simulations=50, batch_size=1024, td_steps=10, num_actors=350, lr_init=0.05,
        lr_decay_steps=350_000, lr_decay_rate=0.1, training_steps=1_000_000,
        checkpoint_interval=1000, num_unroll_steps=5, weight_decay=1e-4, momentum=0.9,
        optimizer="sgd", value_support_size=300, reward_support_size=300,
        num_parallel_games=350, stacked_frames=32, observation_shape=(96, 96, 128),
        residual_channels=256, residual_blocks=16, downsample=True, downsample_blocks=(2, 3, 3),
        prioritized_replay=True, priority_alpha=1.0, priority_beta=1.0,
    )  # fmt: skip
    assert {name: getattr(config, name) for name in expected} == expected
    temperatures = [config.visit_softmax_temperature(0, step) for step in (0, 500_000, 750_000)]
    assert temperatures == [1.0, 0.5, 0.25]
    small = make_atari_config("ALE/Pong-v5", stacked_frames=8)
    assert small.observation_shape == (96, 96, 32) and small.game_factory.keywords[
        "stacked_frames"] == 8  # fmt: skip


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--game", "ALE/NoSuchGame-v5"], "not an ALE environment id"),
        (
            ["--game", "MinAtar/Breakout-v1", "--set", "stacked_frames=0"],
            "stacked_frames must be >= 1",
        ),
        (
            ["--game", "MinAtar/Breakout-v1", "--set", "downsample_blocks=1,2"],
            "downsample_blocks must be 3 block counts",
        ),
        (["--game", "MinAtar/Breakout-v1", "--set", "stacked_frames=-1"], "stacked_frames"),
        (["--set", "stacked_frames=4"], "does not observe stacks of image frames"),
    ],
)
def test_bad_image_settings_are_refused_in_one_line(tmp_path, capsys, argv, message):
    import muzero

    results = tmp_path / "results"
    status = muzero.main([*argv, "--results-dir", str(results), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not results.exists()
