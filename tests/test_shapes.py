"""shapes.broadcast_shapes is torch.broadcast_shapes, without its per-call cost."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_neuron.shapes import broadcast_shapes

shape = st.lists(st.sampled_from([0, 1, 1, 2, 3]), max_size=4).map(tuple)


@settings(max_examples=500, deadline=None)
@given(shapes=st.lists(shape, min_size=1, max_size=5))
def test_broadcast_shapes_agrees_with_torch(shapes):
    try:
        want = torch.broadcast_shapes(*shapes)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="do not broadcast"):
            broadcast_shapes(*shapes)
    else:
        got = broadcast_shapes(*shapes)
        assert got == want and isinstance(got, torch.Size)
