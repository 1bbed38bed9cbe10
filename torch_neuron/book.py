"""The source text's fit, as written: plain Python floats, no torch. The reference every engine is held to
(tests/test_reference.py holds it equal to scikit-learn's SGDRegressor, bit for bit)."""

from collections.abc import Iterable


def book_fit(
    xs: Iterable[float], ys: Iterable[float], epochs: int = 100, w: float = 1.0, b: float = 1.0
) -> list[tuple[float, float]]:
    """The book's loop (lr = 1) over the samples xs, ys → [(w, b) after each epoch]."""
    trajectory = []
    for _ in range(epochs):
        for x_i, y_i in zip(xs, ys):
            y_hat = x_i * w + b  # forpass
            err = -(y_i - y_hat)
            w_grad, b_grad = x_i * err, 1 * err  # backprop
            w -= w_grad
            b -= b_grad
        trajectory.append((w, b))
    return trajectory
