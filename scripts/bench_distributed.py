"""The distributed case of scripts/bench.py: torch_neuron.distributed.fit on `world` local CPU processes (gloo).

    python scripts/bench_distributed.py     # bytes each rank sends per fit (distributed.traffic), the README's cases

Each rank keeps its contiguous shard of the same synthetic data, waits at a barrier, then times its
`distributed.fit` with torch.utils.benchmark.Timer; a repeat's time is the slowest rank's. The
processes meet through a FileStore in a fresh temporary folder: no port is opened.
"""

import importlib
import importlib.util
import json
import os
import statistics
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.benchmark import Timer


def synthetic(n, dtype=torch.float64, seed=0):
    """x ~ N(0, 0.05²) like the scaled bmi, y = 900x + 150 + 50·noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dtype=dtype, generator=g) * 0.05
    return x, 900 * x + 150 + 50 * torch.randn(n, dtype=dtype, generator=g)


def _worker(rank, world, folder, n, epochs, repeats, module):
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))  # the cores shared out, as in a real run
    dist.init_process_group("gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world)
    try:
        fit = importlib.import_module(module).fit
        x, y = synthetic(n)
        lo, hi = rank * n // world, (rank + 1) * n // world
        x, y = x[lo:hi].clone(), y[lo:hi].clone()  # this rank's shard only: the full data is freed
        call = lambda: fit(
            x,
            y,
            w=1.0,
            b=1.0,
            epochs=epochs,
            lr=1.0,
            batch_size=1,
            shuffle=False,  # noqa: E731
            seed=0,
            history=False,
        )
        timer = Timer("call()", globals={"call": call}, num_threads=torch.get_num_threads())
        times = []
        for _ in range(repeats):  # a fixed count on every rank: an adaptive one could leave a rank waiting
            dist.barrier()
            times.append(timer.timeit(number=1).median)  # Timer.timeit warms up twice before its timed call
        slowest = torch.tensor(times, dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        result = call()
        if rank == 0:
            Path(folder, "result.json").write_text(
                json.dumps(
                    dict(times=slowest.tolist(), w=float(result.w), b=float(result.b), threads=torch.get_num_threads())
                )
            )
    finally:
        dist.destroy_process_group()


def measure(n, epochs, world, repeats=3, module="torch_neuron.distributed"):
    """dict(times, w, b, threads): the slowest rank's time of each repeat, and the fitted w, b."""
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_worker, args=(world, folder, n, epochs, repeats, module), nprocs=world, join=True)
        return json.loads(Path(folder, "result.json").read_text())


def rows(n, epochs, repeats):
    """bench.py's rows (as dicts): distributed.fit on 1 and on 2 processes, or one row saying why not."""
    if importlib.util.find_spec("torch_neuron.distributed") is None:
        return [
            dict(
                id="dist/skipped@cpu",
                workload="dist",
                what="torch_neuron.distributed.fit",
                device="cpu",
                note="skipped: torch_neuron/distributed.py does not exist yet",
            )
        ]
    out = []
    for p in (1, 2):
        row = dict(
            id=f"dist/{p}proc@cpu",
            workload="dist",
            device="cpu",
            what=f"distributed.fit, {p} process{'es' * (p > 1)} (gloo)",
        )
        try:
            r = measure(n, epochs, p, repeats)
        except Exception as e:  # whatever failed in a spawned process: its last line (the child's error), go on
            row["error"] = [line for line in f"{type(e).__name__}: {e}".splitlines() if line.strip()][-1][:200]
        else:
            row.update(
                median_s=statistics.median(r["times"]),
                calls=len(r["times"]),
                result=[r["w"], r["b"]],
                note=f"{r['threads']} torch thread(s) a process",
            )
        out.append(row)
    if all(r.get("median_s") for r in out):
        out[1]["note"] += f"; speed-up over 1 process: {out[0]['median_s'] / out[1]['median_s']:.2f}×"
    return out


def _traffic_worker(rank, world, folder, n, epochs, neurons, shuffle):
    dist.init_process_group("gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world)
    try:
        from torch_neuron import distributed

        x, y = synthetic(n)
        lo, hi = rank * n // world, (rank + 1) * n // world
        lr = torch.linspace(0.1, 1.0, neurons, dtype=torch.float64) if neurons > 1 else 1.0
        distributed.fit(x[lo:hi], y[lo:hi], epochs=epochs, lr=lr, shuffle=shuffle)
        sent = torch.tensor([float(distributed.traffic.bytes)], dtype=torch.float64)
        dist.all_reduce(sent, op=dist.ReduceOp.MAX)
        if rank == 0:
            Path(folder, "sent").write_text(str(int(sent.item())))
    finally:
        dist.destroy_process_group()


def traffic(n, epochs, world, neurons=1, shuffle=False):
    """The most bytes any rank sent during one distributed.fit (as counted by distributed.traffic)."""
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_traffic_worker, args=(world, folder, n, epochs, neurons, shuffle), nprocs=world, join=True)
        return int(Path(folder, "sent").read_text())


if __name__ == "__main__":
    for n, epochs, world, neurons, shuffle in [
        (1_000_000, 100, 2, 1, False),
        (1_000_000, 100, 4, 1, False),
        (1_000, 100, 2, 1_000, False),
        (100_000, 10, 2, 1, True),
    ]:
        print(
            f"n={n:,}, epochs={epochs}, ranks={world}, neurons={neurons:,}, shuffle={shuffle}: "
            f"{traffic(n, epochs, world, neurons, shuffle):,} bytes sent per rank"
        )
