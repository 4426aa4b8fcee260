import numpy as np
import pytest
import tensorflow.experimental.numpy as tnp

from networks.transforms import (
    h,
    h_inverse,
    logits_to_scalar,
    scalar_to_support,
    scale_hidden_state,
    support_to_scalar,
)

# h(x) = sign(x) (sqrt(|x| + 1) - 1) + 0.001 x, worked out by hand.
HAND_TABLE = [
    (0.0, 0.0),
    (3.0, 1.003),
    (8.0, 2.008),
    (-15.0, -3.015),
    (99.0, 9.099),
    (0.44, 0.2 + 0.00044),
]


@pytest.mark.parametrize("x, expected", HAND_TABLE)
def test_h_matches_hand_table(x, expected):
    assert h(x) == pytest.approx(expected, abs=1e-12)
    assert h_inverse(expected) == pytest.approx(x, abs=1e-9)


def test_h_round_trip_over_many_magnitudes():
    x = np.concatenate([-np.logspace(-4, 5, 200), [0.0], np.logspace(-4, 5, 200)])
    np.testing.assert_allclose(h_inverse(h(x)), x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h(h_inverse(x / 100)), x / 100, rtol=1e-9, atol=1e-9)


def test_two_hot_splits_mass_between_neighbours():
    # h(3) = 1.003: 0.997 on support value 1, 0.003 on support value 2.
    probs = scalar_to_support(3.0, 5)
    expected = np.zeros(11)
    expected[5 + 1], expected[5 + 2] = 0.997, 0.003
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    # h(-15) = -3.015: 0.985 on -3, 0.015 on -4.
    probs = scalar_to_support(-15.0, 5)
    expected = np.zeros(11)
    expected[5 - 3], expected[5 - 4] = 0.985, 0.015
    np.testing.assert_allclose(probs, expected, atol=1e-6)


def test_two_hot_clips_to_the_support_and_keeps_shape():
    probs = scalar_to_support(np.array([[1e6, -1e6], [0.0, 2.0]]), 3)
    assert probs.shape == (2, 2, 7)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    assert probs[0, 0, -1] == pytest.approx(1.0) and probs[0, 1, 0] == pytest.approx(1.0)
    assert probs[1, 0, 3] == pytest.approx(1.0)


def test_support_round_trip():
    x = np.linspace(-300, 300, 61)
    np.testing.assert_allclose(support_to_scalar(scalar_to_support(x, 20), 20), x, atol=1e-3)


def test_logits_to_scalar_of_uniform_logits_is_zero():
    assert logits_to_scalar(np.zeros((3, 21)), 10) == pytest.approx(np.zeros(3))


def test_min_max_scaling_by_hand_and_same_in_tensorflow():
    hidden = np.array([[1.0, 2.0, 3.0], [-4.0, 0.0, 4.0], [5.0, 5.0, 5.0]], dtype=np.float32)
    expected = np.array([[0, 0.5, 1], [0, 0.5, 1], [0, 0, 0]], dtype=np.float32)
    np.testing.assert_allclose(scale_hidden_state(hidden, "min_max"), expected)
    np.testing.assert_allclose(
        np.asarray(scale_hidden_state(tnp.asarray(hidden), "min_max", xp=tnp)), expected
    )
    np.testing.assert_allclose(scale_hidden_state(hidden, "tanh"), np.tanh(hidden))


def test_support_without_transform_is_the_value_itself():
    # Board games: -1, 0, 1 are loss, draw, win; no h.
    np.testing.assert_allclose(scalar_to_support(np.array([1.0, -1.0, 0.25]), 1, False), [
        [0, 0, 1], [1, 0, 0], [0, 0.75, 0.25],
    ])  # fmt: skip
    probabilities = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_allclose(support_to_scalar(probabilities, 1, transform=False), [0.3])
    assert support_to_scalar(probabilities, 1) > 0.3  # h_inverse stretches it
    logits = np.log(probabilities)
    np.testing.assert_allclose(logits_to_scalar(logits, 1, transform=False), [0.3])
