"""Save and load a Neuron's state_dict {'w', 'b'}: written atomically, read without running any code."""

import contextlib
import errno
import os
import pickle
import re
import secrets
import warnings
from typing import Any

import torch

from ..neuron import Neuron


class ModelFileError(ValueError):
    """The file is missing, unreadable, damaged, or not a Neuron's state_dict."""


def save(neuron: Neuron, path: str | os.PathLike[str]) -> None:
    """Write neuron.state_dict() to path with torch.save, atomically: a crash leaves the old file or the new one.

    The bytes go to a temporary file in the same folder, are fsync'ed, then os.replace'd over path
    (a rename is atomic within one file system). Tensors are saved on the CPU, so any machine can read them.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    state = {k: v.detach().cpu() for k, v in neuron.state_dict().items()}
    # os.open with 0o666 (not mkstemp's 0o600) so the file gets the permissions the umask gives any new file
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:  # name the file asked for, not the temporary one
        raise type(e)(e.errno, e.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    # makes the rename itself durable on POSIX; Windows cannot open a folder, and needs nothing here
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(path: str | os.PathLike[str], *, device: Any = None, dtype: torch.dtype | None = None) -> Neuron:
    """A Neuron from a file written by save: read with torch.load(weights_only=True), then checked.

    The file must hold exactly {'w', 'b'}, each a finite 0-dim floating tensor; anything else
    raises ModelFileError with one line saying why. dtype defaults to the file's, device to the CPU.
    weights_only=True unpickles tensors and plain containers only, so a hostile file cannot run code.
    """
    path = os.fspath(path)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles it then refuses: the error says enough
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the model file ({e.strerror or e})") from None
    except pickle.UnpicklingError as e:
        raise ModelFileError(f"{path}: not a model file: {_refused(e)}") from None
    except Exception as e:  # zip, pickle and torch errors of a damaged file come in many types
        raise ModelFileError(f"{path}: not a model file: it is truncated or corrupt ({_first_line(e)})") from None
    w, b = _check_state(state, path)
    neuron = Neuron(device=device, dtype=dtype or w.dtype)
    neuron.load_state_dict({"w": w, "b": b})
    return neuron


def _check_state(state: Any, path: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(state, dict):
        raise ModelFileError(
            f"{path}: not a Neuron's state_dict: it holds a {type(state).__name__}, not a dict of w and b"
        )
    keys = sorted(map(str, state))
    if keys != ["b", "w"]:
        raise ModelFileError(f"{path}: not a Neuron's state_dict: its keys are {keys}, not ['b', 'w']")
    for key in ("w", "b"):
        t = state[key]
        if not torch.is_tensor(t):
            raise ModelFileError(f"{path}: {key} is a {type(t).__name__}, not a tensor")
        if t.dim() != 0:
            raise ModelFileError(f"{path}: {key} has shape {tuple(t.shape)}, not a 0-dim tensor (one number)")
        if not t.is_floating_point():
            raise ModelFileError(f"{path}: {key} is {t.dtype}, not a floating-point tensor")
        if not bool(torch.isfinite(t)):
            raise ModelFileError(f"{path}: {key} is {t.item()}, not a finite number")
    return state["w"], state["b"]


def _refused(error: BaseException) -> str:
    # torch's message spans many lines; keep the part that names what was refused
    found = re.search(r"unsupported GLOBAL (\S+)", str(error))
    what = (
        f"it asks for the Python object {found[1]}" if found else "it holds something other than tensors, or is damaged"
    )
    return f"{what}, which weights-only loading refuses (nothing in it was run)"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
