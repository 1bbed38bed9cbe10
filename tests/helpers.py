"""Small helpers shared by the engine and training tests."""

import torch

F64 = torch.float64


def assert_rel(actual, expected, rtol):
    """max|actual − expected| ≤ rtol·max|expected|."""
    err, scale = (actual - expected).abs().max().item(), expected.abs().max().item()
    assert err <= rtol * scale, f"max error {err:.3g} > {rtol:g} x {scale:.3g}"


def random_data(seed, *shape, x_scale=0.2, y_scale=100.0):
    """x uniform in ±x_scale, y = 150 + 900·x + noise (float64, seeded): the book's data in miniature."""
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.rand(*shape, generator=g, dtype=F64) - 1) * x_scale
    return x, 150 + 900 * x + y_scale * torch.randn(*shape, generator=g, dtype=F64)
