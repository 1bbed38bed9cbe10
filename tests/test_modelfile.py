"""Model files: save writes a Neuron's state_dict atomically; load reads it back exactly and never runs code."""

import os
import pickle

import pytest
import torch
from reference import B_100 as BOOK_B
from reference import W_100 as BOOK_W
from torch import nn

import torch_neuron as tn
from torch_neuron.cli.modelfile import ModelFileError, load, save


class Payload:
    """Unpickling this runs os.mkdir(marker): the kind of file a model loader must refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "neuron.pt"
    save(tn.Neuron(BOOK_W, BOOK_B, dtype=torch.float64), path)
    return path


def test_round_trip_keeps_every_bit_and_the_dtype(saved, tmp_path):
    neuron = load(saved)
    assert (neuron.w.item(), neuron.b.item()) == (BOOK_W, BOOK_B)
    assert neuron.w.dtype == torch.float64 and neuron.w.device.type == "cpu"
    path32 = tmp_path / "f32.pt"
    save(tn.Neuron(0.1, -2.5, dtype=torch.float32), path32)
    n32 = load(path32)
    assert n32.w.dtype == torch.float32
    assert n32.w.item() == torch.tensor(0.1, dtype=torch.float32).item()


def test_load_converts_dtype_when_asked(saved):
    assert load(saved, dtype=torch.float32).w.dtype == torch.float32


def test_load_puts_the_neuron_on_the_device(saved, device):
    neuron = load(saved, device=device)
    assert neuron.w.device.type == device.type
    assert neuron.predict(torch.tensor([0.18], dtype=torch.float64, device=device)).item() == 0.18 * BOOK_W + BOOK_B


def test_the_file_is_a_plain_state_dict(saved):
    """Any PyTorch code reads it with torch.load(weights_only=True) and load_state_dict, no torch_neuron needed."""
    state = torch.load(saved, weights_only=True)
    assert sorted(state) == ["b", "w"] and state["w"].item() == BOOK_W
    tn.Neuron().load_state_dict(state)


def test_save_overwrites_and_leaves_no_temporary_file(saved, tmp_path):
    save(tn.Neuron(2.0, 3.0, dtype=torch.float64), saved)
    assert load(saved).w.item() == 2.0
    assert os.listdir(tmp_path) == ["neuron.pt"]


def test_a_save_that_fails_midway_keeps_the_old_file(saved, tmp_path, monkeypatch):
    """torch.save dies after writing some bytes: the old model is intact and no temporary file is left."""

    def dies_midway(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        save(tn.Neuron(-1.0, -1.0), saved)
    monkeypatch.undo()
    assert (load(saved).w.item(), load(saved).b.item()) == (BOOK_W, BOOK_B)
    assert os.listdir(tmp_path) == ["neuron.pt"]


def test_save_into_a_missing_folder_names_the_path(tmp_path):
    target = tmp_path / "no" / "such" / "m.pt"
    with pytest.raises(FileNotFoundError) as info:
        save(tn.Neuron(), target)
    assert info.value.filename == str(target)


def _write(path, content):
    path.write_bytes(content)
    return path


def _torch_saved(path, obj):
    torch.save(obj, path)
    return path


def _half_of_a_model(path):
    torch.save(tn.Neuron().state_dict(), path)
    data = path.read_bytes()
    return _write(path, data[: len(data) // 2])


BAD_FILES = {
    "missing": lambda p: p,
    "a folder": lambda p: (p.mkdir(), p)[1],
    "empty": lambda p: _write(p, b""),
    "text": lambda p: _write(p, b"w,b\n1,2\n"),
    "random bytes": lambda p: _write(p, bytes(range(256)) * 4),
    "truncated": _half_of_a_model,
    "a pickled float dict": lambda p: _write(p, pickle.dumps({"w": 1.0, "b": 2.0})),
    "a Linear's state_dict": lambda p: _torch_saved(p, nn.Linear(1, 1).state_dict()),
    "an extra key": lambda p: _torch_saved(p, {"w": torch.tensor(1.0), "b": torch.tensor(2.0), "c": torch.tensor(3.0)}),
    "a missing key": lambda p: _torch_saved(p, {"w": torch.tensor(1.0)}),
    "w of shape (1,)": lambda p: _torch_saved(p, {"w": torch.tensor([1.0]), "b": torch.tensor(2.0)}),
    "an integer w": lambda p: _torch_saved(p, {"w": torch.tensor(1), "b": torch.tensor(2.0)}),
    "a NaN b": lambda p: _torch_saved(p, {"w": torch.tensor(1.0), "b": torch.tensor(float("nan"))}),
    "a bare tensor": lambda p: _torch_saved(p, torch.tensor([1.0, 2.0])),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_is_one_clear_model_file_error(tmp_path, kind):
    path = BAD_FILES[kind](tmp_path / "model.pt")
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("writer", ["torch.save", "pickle protocol 2", "pickle default protocol"])
def test_loading_a_hostile_file_runs_no_code(tmp_path, writer):
    """The payload would create a folder when unpickled; load refuses it and the folder never appears."""
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    if writer == "torch.save":
        torch.save(Payload(str(marker)), path)
    else:
        protocol = 2 if writer == "pickle protocol 2" else pickle.DEFAULT_PROTOCOL
        path.write_bytes(pickle.dumps(Payload(str(marker)), protocol=protocol))
    with pytest.raises(ModelFileError, match="refuses"):
        load(path)
    assert not marker.exists()


def test_the_hostile_payload_is_real(tmp_path):
    """The control: plain unpickling of the same bytes does run the payload (so the test above can fail)."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Payload(str(marker))))
    assert marker.is_dir()


@pytest.mark.cuda
def test_a_cuda_neuron_saves_to_a_file_any_machine_reads(tmp_path):
    path = tmp_path / "cuda.pt"
    save(tn.Neuron(BOOK_W, BOOK_B, device="cuda", dtype=torch.float64), path)
    state = torch.load(path, weights_only=True)  # no map_location: the tensors were saved on the CPU
    assert state["w"].device.type == "cpu" and load(path).w.item() == BOOK_W
