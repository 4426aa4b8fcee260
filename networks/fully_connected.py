"""A fully connected MuZero network for vector observations, with a numpy copy for self-play."""

from __future__ import annotations

import keras
import numpy as np

from networks.network import BaseNetwork, NetworkSettings
from networks.transforms import scale_hidden_state


def _mlp(inputs, units: tuple[int, ...], name: str):
    """Apply ReLU dense layers to `inputs`."""
    x = inputs
    for index, width in enumerate(units):
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_{index}")(x)
    return x


class FullyConnectedNetwork(BaseNetwork):
    """Representation, dynamics and prediction as small multi-layer perceptrons.

    Value and reward output layers start at zero, so a new network predicts 0 for both.
    Self-play calls a numpy copy of the weights (`_NumpyMirror`): for networks this small a
    TensorFlow call costs many times more in overhead than the arithmetic. The copy computes the
    same numbers as the Keras models and refreshes whenever `weights_version` changes.

    Args:
        settings: the sizes every network shares (`NetworkSettings`); the observations are
            flat, ``(D,)``.
        hidden_state_size: width of the hidden state.
        hidden_layers: widths of the hidden layers of each of the three models.
        numpy_inference: use the numpy copy for inference (False: the compiled Keras path).
    """

    def __init__(
        self,
        settings: NetworkSettings,
        hidden_state_size: int = 64,
        hidden_layers: tuple[int, ...] = (64,),
        numpy_inference: bool = True,
    ):
        self.hidden_state_size = hidden_state_size
        self.hidden_layers = tuple(hidden_layers)
        self.numpy_inference = numpy_inference
        super().__init__(*settings)
        self._mirror: _NumpyMirror | None = None

    def build_representation(self) -> keras.Model:
        observations = keras.Input(self.observation_shape, name="observation")
        x = keras.layers.Flatten()(observations)
        x = _mlp(x, self.hidden_layers, "representation")
        hidden = keras.layers.Dense(self.hidden_state_size, name="representation_out")(x)
        return keras.Model(observations, hidden, name="representation")

    def build_dynamics(self) -> keras.Model:
        hidden = keras.Input((self.hidden_state_size,), name="hidden_state")
        action = keras.Input((self.action_space_size,), name="action")
        x = keras.layers.Concatenate()([hidden, action])
        x = _mlp(x, self.hidden_layers, "dynamics")
        next_hidden = keras.layers.Dense(self.hidden_state_size, name="dynamics_out")(x)
        reward = keras.layers.Dense(
            2 * self.reward_support_size + 1, kernel_initializer="zeros", name="reward_out"
        )(x)
        return keras.Model([hidden, action], [next_hidden, reward], name="dynamics")

    def build_prediction(self) -> keras.Model:
        hidden = keras.Input((self.hidden_state_size,), name="hidden_state")
        x = _mlp(hidden, self.hidden_layers, "prediction")
        policy = keras.layers.Dense(self.action_space_size, name="policy_out")(x)
        value = keras.layers.Dense(
            2 * self.value_support_size + 1, kernel_initializer="zeros", name="value_out"
        )(x)
        return keras.Model(hidden, [policy, value], name="prediction")

    def _numpy(self) -> _NumpyMirror:
        if self._mirror is None or self._mirror.version != self.weights_version:
            self._mirror = _NumpyMirror(self)
        return self._mirror

    def initial_inference_logits(self, observations: np.ndarray):
        if not self.numpy_inference:
            return super().initial_inference_logits(observations)
        mirror = self._numpy()
        x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
        hidden = mirror.scale(mirror.run("representation", x))
        return (hidden, *mirror.predict(hidden))

    def recurrent_inference_logits(self, hidden_states: np.ndarray, actions: np.ndarray):
        if not self.numpy_inference:
            return super().recurrent_inference_logits(hidden_states, actions)
        mirror = self._numpy()
        trunk = mirror.run("dynamics", np.asarray(hidden_states, dtype=np.float32), actions)
        hidden = mirror.scale(mirror.dense("dynamics_out", trunk))
        reward_logits = mirror.dense("reward_out", trunk)
        return (hidden, reward_logits, *mirror.predict(hidden))

    def value_prefix_logits(self, hidden: np.ndarray, state_h: np.ndarray, state_c: np.ndarray):
        if not self.numpy_inference:
            return super().value_prefix_logits(hidden, state_h, state_c)
        return self._numpy().value_prefix(hidden, state_h, state_c)


class _NumpyMirror:
    """Float32 numpy copies of a `FullyConnectedNetwork`'s dense layers, by layer name."""

    def __init__(self, network: FullyConnectedNetwork):
        self.version = network.weights_version
        self.network = network
        self.layers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for model in (network.representation, network.dynamics, network.prediction):
            for layer in model.layers:
                if isinstance(layer, keras.layers.Dense):
                    kernel, bias = layer.get_weights()
                    self.layers[layer.name] = (kernel, bias)
        self.depth = len(network.hidden_layers)
        self.lstm = None
        if network.value_prefix is not None:  # EfficientZero's value prefix head
            cell = network.value_prefix.get_layer("value_prefix_lstm")
            self.lstm = [np.asarray(w, np.float32) for w in cell.get_weights()]
            self.layers["value_prefix_out"] = tuple(
                network.value_prefix.get_layer("value_prefix_out").get_weights()
            )

    def dense(self, name: str, x: np.ndarray) -> np.ndarray:
        kernel, bias = self.layers[name]
        return x @ kernel + bias

    def run(self, prefix: str, x: np.ndarray, actions: np.ndarray | None = None) -> np.ndarray:
        """Apply the ReLU hidden layers of one model, then (for the representation) its head.

        With `actions`, `x` is the hidden state and the first layer's input is
        ``concat(x, one_hot(actions))``: its product with the kernel is computed as
        ``x @ kernel[:H] + kernel[H + action]`` (the same sum, without the one-hot).
        """
        for index in range(self.depth):
            name = f"{prefix}_{index}"
            if index == 0 and actions is not None:
                kernel, bias = self.layers[name]
                width = x.shape[1]
                x = x @ kernel[:width] + kernel[width:][np.asarray(actions)] + bias
                x = np.maximum(x, 0.0)
                continue
            x = np.maximum(self.dense(name, x), 0.0)
        return self.dense("representation_out", x) if prefix == "representation" else x

    def scale(self, hidden: np.ndarray) -> np.ndarray:
        return scale_hidden_state(hidden, self.network.hidden_state_scaling)

    def value_prefix(self, hidden: np.ndarray, state_h: np.ndarray, state_c: np.ndarray):
        """The value prefix head in numpy: one step of Keras's `LSTMCell` (gates input,
        forget, cell, output; sigmoid and tanh), a ReLU, the dense prefix logits."""
        kernel, recurrent, bias = self.lstm
        x = np.asarray(hidden, np.float32).reshape(len(hidden), -1)
        gates = x @ kernel + np.asarray(state_h, np.float32) @ recurrent + bias
        i, f, g, o = np.split(gates, 4, axis=1)
        next_c = _sigmoid(f) * state_c + _sigmoid(i) * np.tanh(g)
        next_h = _sigmoid(o) * np.tanh(next_c)
        return self.dense("value_prefix_out", np.maximum(next_h, 0.0)), next_h, next_c

    def predict(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        trunk = self.run("prediction", hidden)
        return self.dense("policy_out", trunk), self.dense("value_out", trunk)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # = 1 / (1 + exp(-x)), without overflow
