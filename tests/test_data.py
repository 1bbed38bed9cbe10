"""load_diabetes: the book's data shipped in the package, bit-equal to scikit-learn's; feature_index."""

import pytest
import torch

from torch_neuron import load_diabetes
from torch_neuron.data.diabetes import feature_index

NAMES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def test_shapes_dtypes_and_names(diabetes):
    assert diabetes.data.shape == (442, 10) and diabetes.target.shape == (442,)
    assert diabetes.data.dtype == diabetes.target.dtype == torch.float64
    assert diabetes.feature_names == NAMES


def test_columns_are_centred_and_scaled_to_unit_norm(diabetes):
    """scikit-learn's scaling: each column minus its mean, divided by std·√n, so Σx = 0 and Σx² = 1."""
    torch.testing.assert_close(diabetes.data.sum(0), torch.zeros(10, dtype=torch.float64), rtol=0, atol=1e-13)
    torch.testing.assert_close((diabetes.data**2).sum(0), torch.ones(10, dtype=torch.float64), rtol=1e-13, atol=0)


def test_target_is_the_whole_number_disease_progression(diabetes):
    assert torch.equal(diabetes.target, diabetes.target.round())
    assert 25 <= diabetes.target.min().item() and diabetes.target.max().item() <= 346


def test_each_call_returns_fresh_tensors():
    first = load_diabetes()
    first.data[0, 0] = 123.0
    assert load_diabetes().data[0, 0].item() != 123.0


def test_equal_to_sklearn_bit_for_bit(diabetes):
    datasets = pytest.importorskip("sklearn.datasets")
    sk = datasets.load_diabetes()
    assert torch.equal(diabetes.data, torch.from_numpy(sk.data))
    assert torch.equal(diabetes.target, torch.from_numpy(sk.target))
    assert diabetes.feature_names == tuple(sk.feature_names)


@pytest.mark.parametrize(
    "key, index", [("bmi", 2), ("age", 0), ("s6", 9), (" bmi ", 2), (2, 2), ("2", 2), (0, 0), (-1, 9), ("-10", 0)]
)
def test_feature_index_by_name_or_index(key, index):
    assert feature_index(key, NAMES) == index


@pytest.mark.parametrize(
    "key, message",
    [
        ("BMI", r"no column 'BMI': choose one of age, sex, bmi.* or an index 0\.\.9"),
        ("weight", r"no column 'weight'"),
        ("", r"no column ''"),
        (2.5, r"no column '2\.5'"),
        (10, r"column index 10 is out of range: there are 10 columns"),
        (-11, r"column index -11 is out of range"),
    ],
)
def test_feature_index_errors_name_the_column_and_the_choices(key, message):
    with pytest.raises(ValueError, match=message):
        feature_index(key, NAMES)
