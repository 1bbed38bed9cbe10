"""The reference numbers in tests/reference.py are what the outside oracles compute, not what the package prints."""

import numpy as np
import pytest
import reference as ref


def test_the_plain_python_loop_gives_the_reference_numbers(bmi, python_loop):
    xs, ys = bmi[0].tolist(), bmi[1].tolist()
    assert python_loop(xs, ys, epochs=1) == (ref.W_1, ref.B_1)
    w, b = python_loop(xs, ys, epochs=100)
    assert (w, b) == (ref.W_100, ref.B_100)
    assert w * 0.18 + b == ref.PREDICT_018


def test_scikit_learn_sgd_regressor_gives_the_reference_numbers(bmi):
    sklearn = pytest.importorskip("sklearn.linear_model")
    reg = sklearn.SGDRegressor(
        loss="squared_error",
        penalty=None,
        learning_rate="constant",
        eta0=1.0,
        max_iter=100,
        tol=None,
        shuffle=False,
        average=False,
    )
    reg.fit(bmi[0].numpy()[:, None], bmi[1].numpy(), coef_init=np.array([1.0]), intercept_init=np.array([1.0]))
    assert (reg.coef_[0], reg.intercept_[0]) == (ref.W_100, ref.B_100)
