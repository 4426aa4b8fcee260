"""Games seen through images: Atari (ALE) and MinAtar, observed as the paper's frame stacks.

Each frame is stored once, as uint8 (`observations`); `make_image` builds the stack of the
last `stacked_frames` frames and the actions that led to them (`game.frames`) when a state
is searched, and the replay buffer builds the stacks of sampled states the same way.
"""

from __future__ import annotations

import numpy as np

from game.frames import latest_stack
from game.gym_game import GymGame


def to_frame(observation) -> np.ndarray:
    """Return an observation as a `[H, W, C]` uint8 frame: uint8 images as they are, binary
    planes (MinAtar's bool) as 0 or 255, a `[H, W]` image with one channel."""
    frame = np.asarray(observation)
    if frame.dtype == bool:
        frame = frame.astype(np.uint8) * np.uint8(255)
    elif frame.dtype != np.uint8:
        raise ValueError(f"image observations must be uint8 or bool, got {frame.dtype}")
    return frame[..., None] if frame.ndim == 2 else frame


class ImageGame(GymGame):
    """A single-player gymnasium game with image observations (see `GymGame`).

    Args:
        env_id, discount, seed, wrap, env_kwargs: as `GymGame`.
        stacked_frames: frames (with their actions) per observation; the paper's Atari: 32.
    """

    def __init__(
        self,
        env_id: str,
        discount: float,
        seed: int | None = None,
        wrap=None,
        stacked_frames: int = 32,
        **env_kwargs,
    ):
        self.stacked_frames = stacked_frames
        super().__init__(env_id, discount, seed, wrap, **env_kwargs)

    def observe(self, observation) -> None:
        """Record the frame, once, as uint8."""
        self.observations.append(to_frame(observation))

    def render_rgb(self) -> np.ndarray | None:
        """Return the environment's RGB picture as uint8, enlarged to at least 160 pixels a
        side (MinAtar draws 10 x 10 floats)."""
        import warnings

        with warnings.catch_warnings():  # gymnasium's checker on MinAtar's render metadata
            warnings.simplefilter("ignore")
            picture = super().render_rgb()
        if picture is None:
            return None
        picture = np.asarray(picture)
        if picture.dtype != np.uint8:
            picture = (np.clip(picture, 0.0, 1.0) * 255).astype(np.uint8)
        scale = max(1, -(-160 // min(picture.shape[:2])))
        return picture.repeat(scale, axis=0).repeat(scale, axis=1)

    def make_image(self, state_index: int) -> np.ndarray:
        """Return the stack of the frames up to `state_index` and the actions that led to them."""
        return latest_stack(
            self.observations, self.history, state_index, self.stacked_frames,
            self.action_space_size,
        )  # fmt: skip


def atari_preprocessing(env):
    """Wrap an ALE environment made with ``frameskip=1`` as the paper plays Atari.

    Every action is repeated 4 times and the last two frames max-pooled (gymnasium's
    `AtariPreprocessing`, the usual DQN practice; the paper names only the repeat), frames are
    resized to 96 x 96 RGB, and an episode starts with up to 30 random no-ops (the paper's
    evaluation uses 30 random no-op starts, Table S1). Rewards are not clipped and a lost
    life does not end the episode.
    """
    from gymnasium.wrappers import AtariPreprocessing

    return AtariPreprocessing(
        env, noop_max=30, frame_skip=4, screen_size=96, terminal_on_life_loss=False,
        grayscale_obs=False, scale_obs=False,
    )  # fmt: skip
