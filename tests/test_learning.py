"""Learning, checked by learning: short CartPole training must beat random play by far."""

import numpy as np
import pytest

import muzero
from config import make_cartpole_config


@pytest.mark.slow
def test_cartpole_learns_to_balance():
    # A random policy lasts ~22 steps; always pushing one way ~9. The default recipe over
    # 40% of its steps (40,000 frames), its learning rate decayed over them.
    config = make_cartpole_config(training_steps=4000, lr_decay_steps=4000, seed=0)
    network = muzero.muzero(config)
    returns = muzero.evaluate(config, network, episodes=10, seed=1)
    assert np.mean(returns) > 100, returns
