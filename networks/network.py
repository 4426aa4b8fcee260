"""The network interface of the pseudocode and a trainable base built from three Keras models.

Pseudocode: `NetworkOutput`, `Network.initial_inference`, `Network.recurrent_inference`.
Here both inference calls are batched: numpy in, numpy out, leading axis `B`.
"""

from __future__ import annotations

import abc
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from networks.transforms import logits_to_scalar, scale_hidden_state
from networks.value_prefix import build_value_prefix_model


class NetworkOutput(NamedTuple):
    """What one inference returns for a batch of `B` states. Pseudocode: `NetworkOutput`.

    Attributes:
        value: `[B]` expected return for the player to play.
        reward: `[B]` reward of the move that led here, for the player who made it (0 for
            `initial_inference`).
        policy_logits: `[B, A]` unnormalised log-probabilities of the actions.
        hidden_state: `[B, ...]` the model's state.
    """

    value: np.ndarray
    reward: np.ndarray
    policy_logits: np.ndarray
    hidden_state: np.ndarray


class NetworkSettings(NamedTuple):
    """What every MuZero network is built with, whatever its architecture: the game's sizes
    and how values are encoded. `BaseNetwork` takes these fields (by position or by name);
    the built-in architectures take one `NetworkSettings` beside their own sizes.

    Attributes:
        observation_shape: shape of one observation.
        action_space_size: `A`.
        value_support_size, reward_support_size: supports ``-n .. n`` of the categorical
            value and reward heads.
        hidden_state_scaling: ``"min_max"`` (paper) or ``"tanh"``.
        value_transform: decode values and rewards with `h_inverse`.
        value_prefix_horizon: 0, or EfficientZero's value prefix reset every this many
            steps (`networks.value_prefix`).
        value_prefix_lstm_size: units of the value prefix's LSTM.
        discount: the game's discount (the value prefix sums discounted rewards).
    """

    observation_shape: tuple[int, ...]
    action_space_size: int
    value_support_size: int
    reward_support_size: int
    hidden_state_scaling: str = "min_max"
    value_transform: bool = True
    value_prefix_horizon: int = 0
    value_prefix_lstm_size: int = 512
    discount: float = 1.0

    @classmethod
    def from_config(cls, config: Any) -> NetworkSettings:
        """Return the settings of a config (any object with attributes of these names; one
        without a field that has a default gets the default)."""
        defaults = cls._field_defaults
        return cls(*(getattr(config, name, defaults.get(name)) if name in defaults
                     else getattr(config, name) for name in cls._fields))  # fmt: skip


class Network(abc.ABC):
    """What self-play needs of a network: batched inference and a training-step count."""

    @abc.abstractmethod
    def initial_inference(self, observations: np.ndarray) -> NetworkOutput:
        """Represent `[B, *observation_shape]` observations and predict from them."""

    @abc.abstractmethod
    def recurrent_inference(self, hidden_states: np.ndarray, actions: np.ndarray) -> NetworkOutput:
        """Advance `[B, ...]` hidden states by `[B]` actions and predict from the results."""

    @abc.abstractmethod
    def training_steps(self) -> int:
        """Return how many training steps produced these weights."""


class BaseNetwork(Network):
    """A trainable MuZero network: representation h, dynamics g and prediction f.

    A subclass builds three Keras models:

    - `build_representation()`: observations `[B, *observation_shape]` -> hidden `[B, *H]`;
    - `build_dynamics()`: ``[hidden [B, *H], encoded action]`` -> ``[next hidden [B, *H],
      reward logits [B, 2 * reward_support_size + 1]]``;
    - `build_prediction()`: hidden `[B, *H]` -> ``[policy logits [B, A], value logits
      [B, 2 * value_support_size + 1]]``;

    and may override `encode_action` (default: one-hot `[B, A]`). Hidden states are scaled
    here (`scale_hidden_state`), after the representation and after every dynamics step.

    With `value_prefix_horizon` (EfficientZero's value prefix), a fourth model built here
    (`build_value_prefix`) predicts the prefix from each predicted hidden state with an
    LSTM, and the dynamics' own reward logits are not read. The search then holds, as each
    node's state, the hidden state flattened and followed by the LSTM's state, the node's
    prefix and its steps into the prefix's segment (`pack_state`); `recurrent_inference`
    returns the reward as the difference of the prefixes, so the search itself is the same.
    Inference is compiled once with fixed signatures (any batch size, no retracing). Value and
    reward logits are decoded with `logits_to_scalar`, through `h_inverse` unless
    `value_transform` is False.

    Args:
        *settings, **named: the fields of `NetworkSettings`, by position or by name (a
            subclass holding a `NetworkSettings` passes ``*settings``).
    """

    def __init__(self, *settings: Any, **named: Any):
        # One list of the shared arguments (`NetworkSettings`), not one per architecture.
        given = NetworkSettings(*settings, **named)
        self.observation_shape = tuple(given.observation_shape)
        self.action_space_size = given.action_space_size
        self.value_support_size = given.value_support_size
        self.reward_support_size = given.reward_support_size
        self.hidden_state_scaling = given.hidden_state_scaling
        self.value_transform = given.value_transform
        self.value_prefix_horizon = given.value_prefix_horizon
        self.value_prefix_lstm_size = given.value_prefix_lstm_size
        self.discount = given.discount
        self.representation = self.build_representation()
        self.dynamics = self.build_dynamics()
        self.prediction = self.build_prediction()
        self.hidden_shape = tuple(self.representation.output_shape[1:])
        self.value_prefix: keras.Model | None = None
        if self.value_prefix_horizon:
            self.value_prefix = self.build_value_prefix()
            lstm = tf.TensorSpec([None, self.value_prefix_lstm_size], tf.float32)
            self._value_prefix_fn = tf.function(
                self._value_prefix_graph,
                input_signature=[tf.TensorSpec([None, *self.hidden_shape], tf.float32), lstm,
                                 lstm],
            )  # fmt: skip
        self.steps = 0
        #: Bumped whenever the weights change, so cached copies of them know to refresh.
        self.weights_version = 0
        self._trace_count = 0
        self._initial_fn = tf.function(
            self._initial_graph,
            input_signature=[tf.TensorSpec([None, *self.observation_shape], tf.float32)],
        )
        self._recurrent_fn = tf.function(
            self._recurrent_graph,
            input_signature=[
                tf.TensorSpec([None, *self.hidden_shape], tf.float32),
                tf.TensorSpec([None], tf.int32),
            ],
        )

    # ----- what a subclass builds ---------------------------------------------------------
    @abc.abstractmethod
    def build_representation(self) -> keras.Model:
        """Return the representation model h."""

    @abc.abstractmethod
    def build_dynamics(self) -> keras.Model:
        """Return the dynamics model g."""

    @abc.abstractmethod
    def build_prediction(self) -> keras.Model:
        """Return the prediction model f."""

    def build_value_prefix(self) -> keras.Model:
        """Return the value prefix model (`networks.value_prefix.build_value_prefix_model`);
        built only with `value_prefix_horizon`."""
        return build_value_prefix_model(self.hidden_shape, self.value_prefix_lstm_size,
                                        self.reward_support_size)  # fmt: skip

    def encode_action(self, hidden_states: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """Encode `[B]` int actions for the dynamics model (default: one-hot `[B, A]`)."""
        del hidden_states
        return tf.one_hot(actions, self.action_space_size, dtype=tf.float32)

    # ----- differentiable pieces, shared by inference and training --------------------------
    def represent(self, observations: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Return scaled hidden states of `[B, *observation_shape]` observations."""
        hidden = self.representation(observations, training=training)
        return scale_hidden_state(hidden, self.hidden_state_scaling, xp=tnp)

    def dynamics_step(
        self, hidden_states: tf.Tensor, actions: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Return scaled next hidden states and reward logits."""
        encoded = self.encode_action(hidden_states, actions)
        hidden, reward_logits = self.dynamics([hidden_states, encoded], training=training)
        return scale_hidden_state(hidden, self.hidden_state_scaling, xp=tnp), reward_logits

    def predict(self, hidden_states: tf.Tensor, training: bool = False):
        """Return policy logits and value logits of hidden states."""
        policy_logits, value_logits = self.prediction(hidden_states, training=training)
        return policy_logits, value_logits

    def value_prefix_step(self, hidden_states: tf.Tensor, lstm_state: list[tf.Tensor],
                          training: bool = False):  # fmt: skip
        """Return the prefix logits of predicted hidden states and the LSTM's next state
        (``[h, c]``, each `[B, value_prefix_lstm_size]`; zeros at the unroll's start)."""
        logits, state_h, state_c = self.value_prefix([hidden_states, *lstm_state],
                                                     training=training)  # fmt: skip
        return logits, [state_h, state_c]

    def _value_prefix_graph(self, hidden_states, state_h, state_c):
        self._trace_count += 1
        logits, (state_h, state_c) = self.value_prefix_step(hidden_states, [state_h, state_c])
        return logits, state_h, state_c

    def _initial_graph(self, observations):
        self._trace_count += 1  # Runs only while tracing: counts (re)traces.
        hidden = self.represent(observations)
        policy_logits, value_logits = self.predict(hidden)
        return hidden, policy_logits, value_logits

    def _recurrent_graph(self, hidden_states, actions):
        self._trace_count += 1
        hidden, reward_logits = self.dynamics_step(hidden_states, actions)
        policy_logits, value_logits = self.predict(hidden)
        return hidden, reward_logits, policy_logits, value_logits

    # ----- the batched interface ------------------------------------------------------------
    def initial_inference_logits(self, observations: np.ndarray):
        """Return ``(hidden [B, *H], policy logits [B, A], value logits [B, V])`` as numpy.

        Subclasses may override this (and `recurrent_inference_logits`) with a faster path
        that computes the same numbers.
        """
        outputs = self._initial_fn(np.asarray(observations, dtype=np.float32))
        return tuple(output.numpy() for output in outputs)

    def recurrent_inference_logits(self, hidden_states: np.ndarray, actions: np.ndarray):
        """Return ``(hidden, reward logits, policy logits, value logits)`` as numpy."""
        outputs = self._recurrent_fn(
            np.asarray(hidden_states, dtype=np.float32), np.asarray(actions, dtype=np.int32)
        )
        return tuple(output.numpy() for output in outputs)

    def initial_inference(self, observations: np.ndarray) -> NetworkOutput:
        """Pseudocode: `Network.initial_inference`, batched (with a value prefix, the state
        returned is `pack_state`'s: a fresh LSTM state, prefix 0, 0 steps)."""
        hidden, policy_logits, value_logits = self.initial_inference_logits(observations)
        value = logits_to_scalar(value_logits, self.value_support_size, self.value_transform)
        if self.value_prefix is not None:
            zeros = np.zeros((len(hidden), self.value_prefix_lstm_size), np.float32)
            none = np.zeros(len(hidden), np.float32)
            hidden = self.pack_state(hidden, zeros, zeros, none, none)
        return NetworkOutput(value, np.zeros_like(value), policy_logits, hidden)

    def recurrent_inference(self, hidden_states: np.ndarray, actions: np.ndarray) -> NetworkOutput:
        """Pseudocode: `Network.recurrent_inference`, batched.

        With a value prefix, `hidden_states` are `pack_state`'s, and the reward is the
        difference of the child's and the parent's prefixes (`networks.value_prefix`); a
        child that ends a segment of `value_prefix_horizon` steps starts the next one (its
        LSTM state and prefix 0).
        """
        if self.value_prefix is None:
            hidden, reward_logits, policy_logits, value_logits = self.recurrent_inference_logits(
                hidden_states, actions
            )
            value = logits_to_scalar(value_logits, self.value_support_size, self.value_transform)
            reward = logits_to_scalar(reward_logits, self.reward_support_size,
                                      self.value_transform)  # fmt: skip
            return NetworkOutput(value, reward, policy_logits, hidden)
        parent, state_h, state_c, parent_prefix, steps = self.unpack_state(hidden_states)
        hidden, _, policy_logits, value_logits = self.recurrent_inference_logits(parent, actions)
        prefix_logits, state_h, state_c = self.value_prefix_logits(hidden, state_h, state_c)
        value = logits_to_scalar(value_logits, self.value_support_size, self.value_transform)
        prefix = logits_to_scalar(prefix_logits, self.reward_support_size, self.value_transform)
        reward = (prefix - parent_prefix) / self.discount**steps
        steps = steps + 1
        ends = steps >= self.value_prefix_horizon
        state_h[ends], state_c[ends], prefix[ends], steps[ends] = 0.0, 0.0, 0.0, 0
        return NetworkOutput(value, reward, policy_logits,
                             self.pack_state(hidden, state_h, state_c, prefix, steps))  # fmt: skip

    def value_prefix_logits(self, hidden: np.ndarray, state_h: np.ndarray, state_c: np.ndarray):
        """Return the prefix logits of predicted `[B, *H]` hidden states and the LSTM's
        next ``h`` and ``c`` (numpy; `value_prefix_step` in one compiled call). A subclass
        may answer it another way (the fully connected network: in numpy)."""
        outputs = self._value_prefix_fn(hidden, state_h, state_c)
        return tuple(output.numpy() for output in outputs)

    def pack_state(self, hidden, state_h, state_c, prefix, steps) -> np.ndarray:
        """Return `[B, S]` float32 search states of a value prefix network: each hidden
        state flattened, then the LSTM's `h` and `c`, the prefix so far and the steps into
        its segment (`unpack_state` reads them back)."""
        parts = [np.reshape(hidden, (len(hidden), -1)), state_h, state_c,
                 np.reshape(prefix, (-1, 1)), np.reshape(steps, (-1, 1))]  # fmt: skip
        return np.concatenate([np.asarray(part, np.float32) for part in parts], axis=1)

    def unpack_state(self, states: np.ndarray):
        """Return ``(hidden [B, *H], h, c, prefix [B] float64, steps [B] int64)`` of
        `pack_state`'s states."""
        states = np.asarray(states, np.float32)
        size, lstm = int(np.prod(self.hidden_shape)), self.value_prefix_lstm_size
        hidden = states[:, :size].reshape(len(states), *self.hidden_shape)
        state_h = states[:, size : size + lstm].copy()
        state_c = states[:, size + lstm : size + 2 * lstm].copy()
        prefix = states[:, size + 2 * lstm].astype(np.float64)
        steps = np.rint(states[:, size + 2 * lstm + 1]).astype(np.int64)
        return hidden, state_h, state_c, prefix, steps

    # ----- weights ----------------------------------------------------------------------------
    @property
    def models(self) -> tuple[keras.Model, ...]:
        """The models whose weights these are: representation, dynamics, prediction (and
        the value prefix model, when there is one)."""
        models = (self.representation, self.dynamics, self.prediction)
        return models if self.value_prefix is None else (*models, self.value_prefix)

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """Return the variables of all the models (`models`)."""
        return [variable for model in self.models for variable in model.trainable_variables]

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of all weights (representation, dynamics, prediction, then the
        value prefix model's when there is one)."""
        return [weight for model in self.models for weight in model.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Load weights given in the order of `get_weights`."""
        offset = 0
        for model in self.models:
            count = len(model.get_weights())
            model.set_weights(weights[offset : offset + count])
            offset += count
        if offset != len(weights):
            raise ValueError(f"expected {offset} weight arrays, got {len(weights)}")
        self.weights_changed()

    def weights_changed(self) -> None:
        """Note that the weights changed (training calls this after its updates)."""
        self.weights_version += 1

    def training_steps(self) -> int:
        """Return the training steps behind these weights."""
        return self.steps

    @property
    def trace_count(self) -> int:
        """Return how often the compiled inference functions were traced."""
        return self._trace_count
