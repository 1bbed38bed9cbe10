"""The source text's fit, as written: plain Python floats, no torch. The reference every engine is held to
(tests/test_reference.py holds it equal to scikit-learn's SGDRegressor, bit for bit)."""


def book_fit(xs, ys, epochs=100, w=1.0, b=1.0):
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
