"""What the configs learn from gymnasium environments before a run: spaces, reward scales.

`make_gym_config` reads a flat environment's spaces and the scale of its rewards
(`probe_flat_environment`), `make_atari_config` and `make_minatar_config` make gymnasium
know the image ids first (`register_image_environments`); every environment made here is
refused in one line naming it when gymnasium cannot make it (`make_environment`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from game.image_game import ImageGame

#: Random episodes `probe_flat_environment` plays to see the scale of an environment's rewards.
PROBE_EPISODES = 5

#: Steps of an episode (and of a probe episode) where the environment sets no time limit.
DEFAULT_MAX_STEPS = 1000


def make_environment(env_id: str, **env_kwargs: Any) -> gym.Env:
    """Return ``gymnasium.make(env_id, **env_kwargs)``.

    Raises:
        ValueError: gymnasium cannot make it (a missing extra such as box2d, an unknown id);
            the message names the id and gymnasium's reason.
    """
    try:
        return gym.make(env_id, **env_kwargs)
    except Exception as error:  # whatever gymnasium raises, the user gets one line
        raise ValueError(f"{env_id}: gymnasium cannot make it ({error})") from None


def reward_scales(
    env: gym.Env, episodes: int = PROBE_EPISODES, max_steps: int = DEFAULT_MAX_STEPS
) -> tuple[float, float]:
    """Return the largest ``|reward|`` and ``|return|`` of a few random episodes of `env`.

    Seeded (0, 1, ...), so a config is the same every time it is built. The largest
    return also counts the environment's `reward_threshold` (the return it calls solved),
    since random play rarely shows how much a good policy earns.
    """
    largest_reward, largest_return = 0.0, 0.0
    env.action_space.seed(0)
    for episode in range(episodes):
        env.reset(seed=episode)
        total = 0.0
        for _ in range(max_steps):
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            largest_reward = max(largest_reward, abs(float(reward)))
            total += float(reward)
            largest_return = max(largest_return, abs(total))
            if terminated or truncated:
                break
    threshold = env.spec.reward_threshold if env.spec is not None else None
    if threshold is not None:
        largest_return = max(largest_return, abs(float(threshold)))
    return largest_reward, max(largest_return, largest_reward)


def support_size_for(scale: float, minimum: int) -> int:
    """Return the support size ``n`` (bins ``-n .. n`` of h-squashed values, paper appendix F)
    that holds values up to twice `scale`, at least `minimum`."""
    from networks.transforms import h  # lazily: the games do not need TensorFlow

    return max(minimum, math.ceil(float(h(2.0 * scale))))


class FlatEnvironment(NamedTuple):
    """What `probe_flat_environment` finds out about an environment.

    Attributes:
        action_space_size: its number of discrete actions.
        observation_size: the length of its flat observations.
        max_steps: its time limit, `DEFAULT_MAX_STEPS` where it has none.
        largest_reward, largest_return: as `reward_scales`.
    """

    action_space_size: int
    observation_size: int
    max_steps: int
    largest_reward: float
    largest_return: float


def probe_flat_environment(env_id: str) -> FlatEnvironment:
    """Make `env_id`, check it has discrete actions and flat observations, and measure it.

    Raises:
        ValueError: gymnasium cannot make it, or its spaces are not ones `GymGame` trains
            with (the message names the id and the space).
    """
    env = make_environment(env_id)
    try:
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise ValueError(f"{env_id}: the action space must be Discrete, got {env.action_space}")
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(
                f"{env_id}: observations must be a flat vector (a 1-D Box), got {space}"
            )
        time_limit = env.spec.max_episode_steps if env.spec is not None else None
        max_steps = time_limit or DEFAULT_MAX_STEPS
        largest_reward, largest_return = reward_scales(env, max_steps=max_steps)
        return FlatEnvironment(
            action_space_size=int(env.action_space.n),
            observation_size=int(np.prod(space.shape)),
            max_steps=max_steps,
            largest_reward=largest_reward,
            largest_return=largest_return,
        )
    finally:
        env.close()


def is_image_game(game_class: Any) -> bool:
    """Return whether a game factory builds games that observe stacks of stored frames."""
    return isinstance(game_class, type) and issubclass(game_class, ImageGame)


def register_image_environments(env_id: str) -> None:
    """Make gymnasium know the ALE (``ALE/...``) or MinAtar (``MinAtar/...``) ids."""
    if env_id.startswith("ALE/"):
        import ale_py  # lazily: an optional package, for ALE ids only

        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no start-up banner
        gym.register_envs(ale_py)
    elif env_id.startswith("MinAtar/") and env_id not in gym.envs.registry:
        from minatar.gym import register_envs  # lazily: optional, for MinAtar ids only

        register_envs()
