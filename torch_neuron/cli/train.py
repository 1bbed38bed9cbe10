"""What `torch-neuron train` fits: the data (bundled, a CSV file, or this rank's part of it under torchrun),
fitted in memory or streamed, and what the command reports of it (loss, n, time, points to draw).

A --csv or --parquet file is streamed in chunks through fit_chunks (memory per chunk, whatever the
file's size) unless the fit needs every sample at once: --shuffle (a new order each epoch), --engine
loop or autograd, --animate. Under torchrun each rank reads its own part (a CSV byte range aligned to
record starts, data/csv_split.py; Parquet row groups) and the fit is torch_neuron.distributed's.
"""

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from typing import NamedTuple

import torch
import torch.distributed as dist

import torch_neuron as tn

from .. import distributed
from .. import functional as F
from ..data import csv_split
from ..data.diabetes import feature_index
from ..data.stream import Reservoir, Stream, open_file
from ..training import History
from ..training.moments import Moments

SLOW_ENGINES, SLOW_STEPS = ("loop", "autograd"), 20_000  # ~1 s and more: worth a progress bar
PLOT_POINTS = 20_000  # --plot of a streamed file or a sharded fit draws a uniform sample of this many rows


class TrainReport(NamedTuple):
    """A fit as train reports it: w, b, the loss after it, n, the history, the points to draw, the time."""

    w: torch.Tensor
    b: torch.Tensor
    loss: float
    n: int
    history: History | None
    x: torch.Tensor  # every sample, or a uniform sample of them (PLOT_POINTS) when streamed or sharded
    y: torch.Tensor
    seconds: float
    names: tuple
    how: str = ""  # how the file was read ('csv, ';'-separated (sniffed), utf-8'); "" for the bundled data


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[tuple[torch.device, int, int | None]]:
    """(device, rank, world): (device, 0, None) in one process. Under torchrun: the default process group,
    made here and ended on the way out, and the CUDA device of this process's local rank."""
    if not distributed.launched():
        yield device, 0, None
        return
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    made = distributed.init(device)
    try:
        yield device, dist.get_rank(), dist.get_world_size()
    finally:
        if made:
            dist.destroy_process_group()


def fit_for_train(
    args: argparse.Namespace, dtype: torch.dtype, device: torch.device, engine: str, rank: int, world: int | None
) -> TrainReport:
    """Read the data (all of it, or this rank's part under torchrun) and fit it, in memory or streamed."""
    settings = dict(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size)
    in_memory = _file(args)[0] is None or args.shuffle or engine != "scan" or bool(args.animate)
    if world and engine != "scan":
        raise ValueError(f"--engine {engine} runs in one process; under torchrun the fit is the sharded scan")
    if world and args.animate:
        raise ValueError("--animate runs in one process, not under torchrun")
    names, source, how = _data(args, dtype, device, in_memory, rank, world)  # under torchrun: agreed on
    want_history = bool(args.plot or args.animate)

    if world is None and in_memory:  # the book's way: Neuron.fit on every sample
        x, y = source
        n = x.shape[0]
        steps = -(-n // args.batch_size) * args.epochs if args.batch_size > 0 else 0
        progress = not (args.quiet or args.json) and engine in SLOW_ENGINES and steps >= SLOW_STEPS
        neuron = tn.Neuron(device=device, dtype=dtype)
        start = time.perf_counter()
        history = neuron.fit(
            x,
            y,
            shuffle=args.shuffle,
            seed=args.seed,
            engine=engine,
            history=want_history,
            progress=progress,
            **settings,
        )
        seconds = time.perf_counter() - start  # fit ends in a host sync (its finiteness check): the time is real
        with torch.no_grad():
            loss = F.mean_loss(x, y, neuron.w, neuron.b).item()
        return TrainReport(neuron.w.detach(), neuron.b.detach(), loss, n, history, x, y, seconds, names, how)

    start = time.perf_counter()
    if world is None:  # a file streamed through fit_chunks: the time includes reading it
        result = tn.fit_chunks(source, history=want_history, dtype=dtype, device=device, **settings)
        moments, sample = source.moments, source.sample.rows
    elif in_memory:  # this rank's samples in memory (a shuffled order moves them between ranks)
        x, y = source
        result = distributed.fit(x, y, shuffle=args.shuffle, seed=args.seed, history=want_history, **settings)
        reservoir = Reservoir(PLOT_POINTS if args.plot else 0, args.seed + rank)
        reservoir.add(x, y)
        moments = distributed.gather_moments(Moments.of(x, y) if len(x) else None, device=device)
        sample = reservoir.rows
    else:  # this rank's byte range streamed; batches of more than one sample need its row count first
        count = source.count_rows if args.batch_size > 1 else None
        result = distributed.fit_chunks(source, n=count, history=want_history, dtype=dtype, device=device, **settings)
        moments = distributed.gather_moments(source.moments, device=device)
        sample = source.sample.rows
    seconds = time.perf_counter() - start
    if world and args.plot:  # the sample of the whole data: the smallest keys of every rank's sample
        sample = distributed.Comm().gather_rows(sample)
        sample = sample[sample[:, 0].argsort()[:PLOT_POINTS]]
    history = None
    if want_history:
        assert result.history is not None  # asked for (history=True), so every fit returns one
        history = History(result.history.w, result.history.b, moments.loss(result.history.w, result.history.b))
    x, y = (sample[:, k].to(device=device, dtype=dtype) for k in (1, 2))
    return TrainReport(
        result.w, result.b, moments.loss(result.w, result.b).item(), moments.n, history, x, y, seconds, names, how
    )


def _file(args):
    """(path, is it Parquet) of the data file asked for; (None, False) for the bundled data."""
    parquet = getattr(args, "parquet", None)
    return (parquet, True) if parquet is not None else (args.csv, False)


def _data(args, dtype, device, in_memory, rank, world):
    """((x name, y name), data, how the file is read): x, y tensors (this rank's contiguous part under torchrun),
    or a data.stream.Stream of the file's chunks. Under torchrun a rank that cannot open or read its part stops
    every rank, at once, with the same one-line error."""
    path, parquet = _file(args)
    if path is None:
        ds = tn.load_diabetes()
        i = feature_index(args.feature, ds.feature_names)
        x, y = ds.data[:, i], ds.target
        if world:
            x, y = x.tensor_split(world)[rank], y.tensor_split(world)[rank]
        return (
            (ds.feature_names[i], "target"),
            (x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)),
            "",
        )
    error, source, indices, report = None, None, None, [0, -1, -1, 0, 0]
    try:
        if world and path == "-":
            raise ValueError("--csv - (standard input) runs in one process: under torchrun give a file path")
        source = open_file(path, parquet=parquet, encoding=args.encoding, delimiter=args.delimiter)
        indices = source.columns([args.x, args.y])
        if world and not parquet:
            report = csv_split.report(source, rank, world)  # my range's quotes and record starts
    except distributed.ERRORS as e:
        if not world:
            raise
        error = e
    part = None
    if world:
        comm = distributed.Comm()
        reports = comm.agree(error, report)  # raises on every rank if any rank failed
        part = source.groups(rank, world) if parquet else csv_split.assign(source, reports, rank)
    stream = Stream(
        source,
        indices,
        part,
        dtype=dtype,
        device=device,
        sample=PLOT_POINTS if args.plot else 0,
        seed=args.seed + rank,
        empty_ok=bool(world),
        moments=not in_memory,
        threads=1,
    )
    if not in_memory:
        return stream.names, stream, source.describe()
    error = data = None
    try:
        data = stream.read()
    except distributed.ERRORS as e:
        if not world:
            raise
        error = e
    if world:
        distributed.check_all(error)
    return stream.names, data, source.describe()
