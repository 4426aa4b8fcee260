"""The training targets of drawn positions, vectorised over a batch. Pseudocode: `make_target`.

The pseudocode's `Game.make_target` makes the targets of one position, one unroll step at a
time. Here the replay window's states lie end to end in flat arrays (`FlatWindow`, rebuilt
by `ReplayBuffer` when its games change), so the targets of a whole batch are gathered by
indexing them: no loop over positions, and no state of its own (a pure function of the
window, the drawn rows and the values to bootstrap from).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class FlatWindow(NamedTuple):
    """The window's states end to end (`R` rows: states ``0 .. T`` of every game, `G` games),
    so a batch is gathered by indexing. Observations stay in the game records.

    Attributes:
        offsets: `[G]` first row of each game.
        lengths: `[G]` moves `T` of each game.
        terminal: `[G]` bool: the game ended by the rules (its end state is absorbing).
        game: `[R]` the game of each row (``0 .. G - 1``).
        state: `[R]` the state of each row in its game.
        action: `[R]` action taken at the state, -1 at the end state.
        reward_in: `[R]` reward of the move into the state (0 at state 0).
        value_rewards: `[R]` the discounted rewards of the n-step value target.
        bootstrap: `[R]` row whose value the n-step target bootstraps from, -1 for none.
        bootstrap_factor: `[R]` the discount that value is scaled by.
        root_value: `[R]` search value, 0 where not searched.
        policy: `[R, A]` float32 search policy target, uniform where not searched.
        searched: `[R]` bool: the state was searched.
        priority: `[R]` ``priority ** alpha``, 0 at each end state (never drawn).
    """

    offsets: np.ndarray
    lengths: np.ndarray
    terminal: np.ndarray
    game: np.ndarray
    state: np.ndarray
    action: np.ndarray
    reward_in: np.ndarray
    value_rewards: np.ndarray
    bootstrap: np.ndarray
    bootstrap_factor: np.ndarray
    root_value: np.ndarray
    policy: np.ndarray
    searched: np.ndarray
    priority: np.ndarray


class Targets(NamedTuple):
    """The targets of `N` drawn positions unrolled `K` steps, as scalars.

    Attributes:
        unroll_rows: `[N, K + 1]` row of the state at each unroll step (the end state's
            past the end of the game).
        searched: `[N, K + 1]` bool: the step's state was searched, so it has a policy
            target of its own (Reanalyze searches exactly these again).
        values: `[N, K + 1]` float64 n-step value targets (0 past the end).
        rewards: `[N, K + 1]` float64 reward of the move into each step (0 at step 0 and
            past the end).
        policies: `[N, K + 1, A]` float32 search policy targets (uniform where not
            searched).
        masks: `[N, K + 1, 3]` float32: which of the value, reward and policy losses apply.
        actions: `[N, K]` int64 actions taken from each step (random past the end).
    """

    unroll_rows: np.ndarray
    searched: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    policies: np.ndarray
    masks: np.ndarray
    actions: np.ndarray


def unroll_rows(flat: FlatWindow, rows: np.ndarray, num_unroll_steps: int) -> np.ndarray:
    """Return the `[N, K + 1]` rows of the states `rows` unroll through (`K` steps).

    Past the end of a game every step stays at its end state's row.
    """
    games = flat.game[rows]
    length = flat.lengths[games][:, None]
    index = flat.state[rows][:, None] + np.arange(num_unroll_steps + 1)
    return flat.offsets[games][:, None] + np.minimum(index, length)


def stored_bootstrap_values(flat: FlatWindow, bootstrap: np.ndarray) -> np.ndarray:
    """Return the stored search value at each of the `bootstrap` rows (0 where -1).

    Pseudocode: the ``root_values[bootstrap_index]`` of `make_target`.
    """
    values = np.zeros(bootstrap.shape)
    has = bootstrap >= 0
    values[has] = flat.root_value[bootstrap[has]]
    return values


def horizons_by_age(age: np.ndarray, td_steps: int, tau: float, training_steps: int) -> np.ndarray:
    """Return the `n` of the n-step value targets of games `age` training steps old.

    EfficientZero's off-policy correction (Ye et al., 2021, section 4.3): ``l = clip(k -
    floor(age / (tau * T_total)), 1, k)``, `k` the config's `td_steps` and `T_total` its
    `training_steps`, so the horizon shrinks by one move every ``tau * T_total`` steps of
    age (paper: tau = 0.3). The paper's code counts the age in collected transitions; here
    it is counted in training steps since the game entered the replay buffer, the unit of
    `T_total` (the two agree at EfficientZero's replay ratio of one step per transition).

    Args:
        age: training steps since each game was saved (>= 0).
        td_steps: `k`.
        tau: `off_policy_tau` (> 0).
        training_steps: `T_total`.

    Returns:
        int64 horizons in ``1 .. td_steps``, shaped as `age`.
    """
    shrink = np.floor(np.asarray(age, dtype=np.float64) / (tau * training_steps))
    return np.clip(td_steps - shrink.astype(np.int64), 1, td_steps)


def value_target_parts_at(
    flat: FlatWindow, steps: np.ndarray, horizons: np.ndarray, discount: float, num_players: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the n-step value targets' parts of the rows `steps`, each `n` its `horizons`.

    `AbstractGame.value_target_parts` for a horizon of each row's own, at sampling time
    (the off-policy correction, `horizons_by_age`): ``z = rewards_part + factor *
    v[bootstrap]`` with ``rewards_part = sum_{i < n} sign_i discount^i r_{t+i}`` up to the
    end of the game, and the bootstrap at state ``t + n`` (the final state at the latest
    where the episode was cut short and that state searched; none past the end of an
    episode that ended by the rules). With two players each term is seen from the player to
    play at `t`. With every horizon `td_steps` this is the stored ``value_rewards``,
    ``bootstrap`` and ``bootstrap_factor`` (to rounding).

    Args:
        flat: the replay window's arrays.
        steps: rows (any shape; each at or before its game's end state).
        horizons: `n` of each row (broadcast to `steps`), >= 1.
        discount: the game's discount.
        num_players: players, alternating each move.

    Returns:
        float64 rewards parts, int64 bootstrap rows (-1 for none) and float64 factors, each
        shaped as `steps`.
    """
    steps = np.asarray(steps, dtype=np.int64)
    horizons = np.broadcast_to(np.asarray(horizons, dtype=np.int64), steps.shape)
    games = flat.game[steps]
    state, length = flat.state[steps], flat.lengths[games]
    first = flat.offsets[games]
    last = first + length  # each game's end state
    cut_short = flat.searched[last]
    boot = state + horizons
    boot = np.where(cut_short, np.minimum(boot, length), boot)
    has = boot <= length
    has[has] = flat.searched[(first + boot)[has]]
    moves = np.minimum(boot, length) - state  # rewards summed: up to the end at most
    ahead = np.arange(int(horizons.max()) if horizons.size else 0)
    # reward_in of the row after state t + i: the reward of the move from t + i.
    rewards = flat.reward_in[np.minimum(steps[..., None] + 1 + ahead, last[..., None])]
    weights = np.where(ahead < moves[..., None], discount**ahead, 0.0)
    distance = boot - state
    if num_players > 1:  # a move by the other player counts negatively
        weights = weights * np.where(ahead % num_players == 0, 1.0, -1.0)
        signs = np.where(distance % num_players == 0, 1.0, -1.0)
    else:
        signs = np.ones(steps.shape)
    rewards_part = np.sum(weights * rewards, axis=-1)
    factor = np.where(has, signs * discount ** distance.astype(np.float64), 0.0)
    return rewards_part, np.where(has, first + boot, -1), factor


def make_target(
    flat: FlatWindow,
    rows: np.ndarray,
    num_unroll_steps: int,
    action_space_size: int,
    bootstrap_values: np.ndarray,
    random_actions: np.ndarray,
    steps: np.ndarray | None = None,
    value_parts: tuple[np.ndarray, np.ndarray] | None = None,
) -> Targets:
    """Return the targets of the positions at `rows`, each unrolled `K` steps.

    Pseudocode: `make_target` (value, reward and policy of each unroll step) and the history
    slice of `sample_batch` (the actions), for a whole batch at once. Past the end of the
    episode the value and reward are 0 and the policy uniform; the value and reward losses
    apply there only when the episode ended by the rules (an absorbing state), the policy
    loss never; there is no reward target at step 0 (no move led there).

    Args:
        flat: the replay window's arrays.
        rows: `[N]` rows of the drawn positions.
        num_unroll_steps: `K`.
        action_space_size: `A`.
        bootstrap_values: `[N, K + 1]` value at the row each step's n-step target
            bootstraps from (``flat.bootstrap[unroll_rows(...)]``; 0 where there is none):
            the stored search values (`stored_bootstrap_values`) or a target network's.
        random_actions: `[N, K]` actions to take past the end of the episode (drawn
            uniformly, as the pseudocode's history slice leaves them to the model).
        steps: `unroll_rows(flat, rows, num_unroll_steps)` where the caller has them
            already (None: computed here).
        value_parts: `[N, K + 1]` rewards parts and bootstrap factors of the value targets
            where they are not the stored ones (`value_target_parts_at`; None: the window's
            ``value_rewards`` and ``bootstrap_factor``).
    """
    games = flat.game[rows]
    start = flat.state[rows]
    length = flat.lengths[games][:, None]
    # State index of every unroll step, and its row (the end state's past the end).
    beyond = start[:, None] + np.arange(num_unroll_steps + 1) > length
    if steps is None:
        steps = unroll_rows(flat, rows, num_unroll_steps)
    absorbing = flat.terminal[games][:, None]

    if value_parts is None:
        value_parts = (flat.value_rewards[steps], flat.bootstrap_factor[steps])
    values = value_parts[0] + value_parts[1] * bootstrap_values
    values = np.where(beyond, 0.0, values)
    rewards = np.where(beyond, 0.0, flat.reward_in[steps])
    rewards[:, 0] = 0.0
    searched = flat.searched[steps] & ~beyond
    policies = flat.policy[steps]
    policies[~searched] = 1.0 / action_space_size
    known = np.where(beyond, absorbing, True).astype(np.float32)
    reward_masks = known.copy()
    reward_masks[:, 0] = 0.0  # no reward target at step 0: no move led there
    masks = np.stack([known, reward_masks, searched.astype(np.float32)], axis=-1)

    # Past the end of an episode the actions are random (pseudocode: the history slice).
    action_index = start[:, None] + np.arange(num_unroll_steps)
    actions = flat.action[flat.offsets[games][:, None] + np.minimum(action_index, length)]
    actions = np.where(actions < 0, random_actions, actions)
    return Targets(steps, searched, values, rewards, policies, masks, actions)
