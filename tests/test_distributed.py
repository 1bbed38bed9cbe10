"""torch_neuron.distributed on real process groups of 2–4 local gloo processes, as torchrun starts them.

The spec: every rank returns the one-process fit (engine="loop") of the shards concatenated in rank
order, within 1e-12 in float64, the same bits on every rank, for uneven and empty shards, batches that
straddle shards, many neurons, shuffle and history; bad input on one rank is the same ValueError on
every rank, within seconds. Starting processes costs seconds here, so each group runs many cases:
the workers save their answers and this process checks them. Processes meet through a FileStore in
tmp_path (no port), collectives time out after 20 s, and every process of a group is killed when
one fails or the group overruns its deadline.
"""

import datetime
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from reference import B_100, W_100
from torch.nn.parallel import DistributedDataParallel

import torch_neuron as tn
from torch_neuron import distributed
from torch_neuron import functional as F

ROOT = Path(__file__).resolve().parents[1]
COLLECTIVE_TIMEOUT = datetime.timedelta(seconds=20)
N = 51  # samples of the synthetic cases: shards of 0 to 31, batches of 1, 7 and 40 (more than most shards)


# --- the harness -------------------------------------------------------------------------------------------------


def run_group(tmp_path, world, worker, *args, deadline=240):
    """worker(rank, world, *args) on `world` local gloo processes → each rank's return value, in rank order."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"  # Windows: spawn
    multiprocessing.set_forkserver_preload(
        ["torch", "torch_neuron.distributed"]
    )  # torch imported once, not per process
    ctx = mp.start_processes(
        _process, args=(world, str(tmp_path), worker, args), nprocs=world, join=False, start_method=method
    )
    end = time.monotonic() + deadline
    try:
        while not ctx.join(timeout=1):  # join raises, and ends the others, when a process fails
            assert time.monotonic() < end, f"the group of {world} overran {deadline} s"
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(world)]


def _process(rank, world, folder, worker, args):
    torch.set_num_threads(1)  # the cores shared out, as torchrun does (OMP_NUM_THREADS=1)
    dist.init_process_group(
        "gloo", store=dist.FileStore(f"{folder}/store", world), rank=rank, world_size=world, timeout=COLLECTIVE_TIMEOUT
    )
    try:
        out = worker(rank, world, *args)
    finally:
        dist.destroy_process_group()
    torch.save(out, f"{folder}/rank{rank}.pt")


def data(n=N, x_lead=(), y_lead=(), seed=0):
    """x uniform in [−½, ½), y = 2x + 1 + noise: stable at lr 1 for every batch size."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(*x_lead, n, generator=g, dtype=torch.float64) - 0.5
    noise = torch.randn(*y_lead, n, generator=g, dtype=torch.float64)
    return x, 2 * x + 1 + 0.1 * noise


def shard(t, splits, rank):
    lo = sum(splits[:rank])
    return t[..., lo : lo + splits[rank]]


def case(splits, batch_size, shuffle=False, history=False, epochs=5, x_lead=(), y_lead=(), lr=1.0, w=1.0, chunks=None):
    return dict(
        splits=splits,
        batch_size=batch_size,
        shuffle=shuffle,
        history=history,
        epochs=epochs,
        x_lead=x_lead,
        y_lead=y_lead,
        lr=lr,
        w=w,
        chunks=chunks,
    )


def settings(c):
    lr = torch.tensor(c["lr"], dtype=torch.float64) if isinstance(c["lr"], list) else c["lr"]
    w = torch.tensor(c["w"], dtype=torch.float64) if isinstance(c["w"], list) else c["w"]
    return dict(w=w, epochs=c["epochs"], lr=lr, batch_size=c["batch_size"], history=c["history"])


def _fits(rank, world, cases):
    """Each case's distributed fit of this rank's shard → (w, b, history, bytes sent) per case."""
    out = []
    for c in cases:
        x, y = data(sum(c["splits"]), c["x_lead"], c["y_lead"])
        xs, ys = shard(x, c["splits"], rank), shard(y, c["splits"], rank)
        if c["chunks"] is None:
            r = distributed.fit(xs, ys, shuffle=c["shuffle"], seed=3, **settings(c))
        else:  # the shard in pieces of c["chunks"] samples, streamed
            k = c["chunks"]
            pieces = [(xs[..., i : i + k], ys[..., i : i + k]) for i in range(0, xs.shape[-1], k)]
            r = distributed.fit_chunks(iter(pieces), n=xs.shape[-1], dtype=torch.float64, **settings(c))
        out.append((r.w, r.b, r.history and tuple(r.history), distributed.traffic.bytes))
    return out


def reference(c):
    """The one-process loop on all the data."""
    x, y = data(sum(c["splits"]), c["x_lead"], c["y_lead"])
    r = tn.fit(x, y, shuffle=c["shuffle"], seed=3, engine="loop", **settings(c))
    return r.w, r.b, r.history and tuple(r.history)


def assert_like_the_loop(results, cases):
    """Every rank's answer is the first rank's bit for bit, and the loop's within 1e-12 (relative)."""
    for i, c in enumerate(cases):
        first = results[0][i]
        for rank, answers in enumerate(results):
            for got, want in zip(_tensors(answers[i][:3]), _tensors(first[:3])):
                assert torch.equal(got, want), (c, rank)
        for got, want in zip(_tensors(first[:3]), _tensors(reference(c))):
            assert got.shape == want.shape, c
            if want.numel():  # a history of 0 epochs is empty
                assert (got - want).abs().max() <= 1e-12 * max(1.0, want.abs().max()), (c, (got - want).abs().max())


def _tensors(answer):
    w, b, history = answer
    return [w, b] + list(history or [])


# --- fits: 2, 3 and 4 ranks --------------------------------------------------------------------------------------

BATCHES = [1, 7, 40]  # one sample, a batch that straddles shards, a batch bigger than a shard


def exact_cases(splits):
    return [case(splits, m, shuffle) for m in BATCHES for shuffle in (False, True)]


@pytest.mark.slow
def test_two_ranks_fit_the_book_and_equal_the_loop_and_send_what_the_model_says(tmp_path, bmi):
    cases = exact_cases([26, 25]) + [
        case([26, 25], 7, history=True, epochs=9),
        # bytes sent: without shuffle independent of n and of the epochs; with shuffle, O(n) per epoch
        case([260, 250], 7, epochs=5),
        case([26, 25], 7, epochs=50),
        case([26, 25], 7, shuffle=True, epochs=5),
        case([260, 250], 7, shuffle=True, epochs=5),
        case([26, 25], 7, shuffle=True, epochs=10),
    ]
    results = run_group(tmp_path, 2, _book_and_fits, cases)
    assert_like_the_loop([r[1] for r in results], cases)
    for book in (r[0] for r in results):  # the book's 100 epochs on bmi, in two halves
        assert book == pytest.approx((W_100, B_100), rel=1e-12)
    sent = [answer[3] for answer in results[0][1]]
    assert sent[7] == sent[8] == sent[2] > 0  # n ×10 or epochs ×10: the same bytes
    assert sent[2] < 1000  # a status and three maps: no sample moves
    shuffled_5, shuffled_5_big, shuffled_10 = sent[9:12]
    assert shuffled_5_big > 4 * shuffled_5 and shuffled_10 > 1.5 * shuffled_5  # samples move every epoch


def _book_and_fits(rank, world, cases):
    x, y = tn.load_diabetes().data[:, 2], tn.load_diabetes().target
    half = slice(0, 221) if rank == 0 else slice(221, 442)
    book = distributed.fit(x[half], y[half])
    return (book.w.item(), book.b.item()), _fits(rank, world, cases)


@pytest.mark.slow
def test_three_ranks_with_an_empty_shard_many_neurons_chunks_and_bad_input(tmp_path):
    splits = [20, 0, 31]
    cases = exact_cases(splits) + [
        # neurons: x per feature (4), y shared, one lr per row of a sweep (2, 1) → (2, 4) neurons
        case(splits, 7, x_lead=(4,), lr=[[1.0], [0.5]], history=True),
        case(splits, 40, shuffle=True, x_lead=(4,), y_lead=(4,), w=[0.0, 1.0, 2.0, 3.0], history=True),
        case(splits, 7, chunks=6, history=True),
        case(splits, 1, chunks=5),
        case([0, 25, 26], 40, chunks=4),
    ]
    results = run_group(tmp_path, 3, _fits_then_failures, cases)
    assert_like_the_loop([r[0] for r in results], cases)
    failures = [r[1] for r in results]
    for i, (expected, words) in enumerate(FAILURES):
        kinds = {rank[i][0] for rank in failures}
        messages = {rank[i][1] for rank in failures}
        assert kinds == {expected} and len(messages) == 1, (i, failures)  # every rank: the same error
        message = messages.pop()
        for word in words:
            assert word in message, message
        assert max(rank[i][2] for rank in failures) < 5  # seconds: agreed on at once, no timeout waited out


FAILURES = [
    ("ValueError", ["rank 1 of 3", "NaN or inf"]),
    ("ValueError", ["rank 2 of 3", "different lengths"]),
    ("ValueError", ["rank 2", "other settings"]),
    ("ValueError", ["rank 0 of 3", "lr must be"]),
    ("TypeError", ["rank 1 of 3", "iterable of (x, y) pairs"]),  # fit_chunks, n a function: the error is sent
]


def _fits_then_failures(rank, world, cases):
    fits = _fits(rank, world, cases)
    x, y = data(30)
    bad = [  # (x, y, kwargs) of this rank for each failure
        (
            x[rank::3].clone().index_fill_(0, torch.tensor([2]), float("nan")) if rank == 1 else x[rank::3],
            y[rank::3],
            {},
        ),
        (x[rank::3], y[rank::3][:-1] if rank == 2 else y[rank::3], {}),
        (x[rank::3], y[rank::3], dict(epochs=7 if rank == 2 else 5)),
        (x[rank::3], y[rank::3], dict(lr=0.0 if rank == 0 else 1.0)),
    ]
    chunks = 42 if rank == 1 else [(x[rank::3], y[rank::3])]
    calls = [lambda xs=xs, ys=ys, kw=kw: distributed.fit(xs, ys, **kw) for xs, ys, kw in bad]
    calls.append(lambda: distributed.fit_chunks(chunks, n=lambda: 10, batch_size=2))
    out = []
    for call in calls:
        start = time.monotonic()
        try:
            call()
            out.append(("no error", "", 0.0))
        except Exception as e:
            out.append((type(e).__name__, str(e), time.monotonic() - start))
    return fits, out


@pytest.mark.slow
def test_four_ranks_uneven_and_empty_shards_and_history(tmp_path):
    cases = exact_cases([5, 17, 0, 29]) + [
        case([5, 17, 0, 29], 7, shuffle=True, history=True, epochs=8, x_lead=(3,)),
        case([0, 0, 0, 51], 7, history=True),
        case([51, 0, 0, 0], 40, shuffle=True),
        case([13, 13, 13, 12], 3, epochs=0, history=True),
    ]
    assert_like_the_loop(run_group(tmp_path, 4, _fits, cases), cases)


# --- the conventional path: DistributedDataParallel ---------------------------------------------------------------


@pytest.mark.slow
def test_ddp_averages_the_ranks_gradients_a_different_algorithm_than_the_exact_fit(tmp_path):
    """Neuron under DDP: the averaged gradient of the ranks' mini-batches is the one-process gradient of their
    union, so a DDP epoch is mini-batch SGD with batch = ranks × local batch, not the book's sequential fit."""
    results = run_group(tmp_path, 2, _ddp)
    x, y = data(8)
    err = -(y - (x * 1.0 + 1.0))
    w_grad, b_grad = F.backprop(x, err)
    close = lambda a, b, rtol: torch.testing.assert_close(torch.stack(a), torch.stack(b), rtol=rtol, atol=0)  # noqa: E731
    for grads, stepped, epoch, exact in results:
        close(grads, (w_grad.mean(), b_grad.mean()), 1e-14)
        close(stepped, F.sgd_step(1.0, 1.0, x, y, 0.5), 1e-14)
        # an epoch with one sample per rank per step = batch 2 over the samples interleaved rank by rank
        interleaved = torch.stack((x[:4], x[4:]), 1).reshape(-1), torch.stack((y[:4], y[4:]), 1).reshape(-1)
        batch2 = tn.fit(*interleaved, epochs=1, lr=0.5, batch_size=2, engine="loop")
        close(epoch, (batch2.w, batch2.b), 1e-13)
        sequential = tn.fit(x, y, epochs=1, lr=0.5, engine="loop")  # what distributed.fit returns
        close(exact, (sequential.w, sequential.b), 1e-13)
        assert (torch.stack(epoch) - torch.stack(exact)).abs().max() > 1e-3


def _ddp(rank, world):
    x, y = data(8)
    xs, ys = x[4 * rank : 4 * rank + 4], y[4 * rank : 4 * rank + 4]  # rank r: samples 4r … 4r+3
    model = DistributedDataParallel(tn.Neuron(dtype=torch.float64))
    F.squared_error(ys, model(xs)).mean().backward()
    grads = (model.module.w.grad.clone(), model.module.b.grad.clone())
    torch.optim.SGD(model.parameters(), lr=0.5).step()
    stepped = (model.module.w.detach().clone(), model.module.b.detach().clone())

    model = DistributedDataParallel(tn.Neuron(dtype=torch.float64))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for i in range(4):  # one epoch, one sample per rank per step
        opt.zero_grad()
        F.squared_error(ys[i : i + 1], model(xs[i : i + 1])).mean().backward()
        opt.step()
    epoch = (model.module.w.detach().clone(), model.module.b.detach().clone())
    exact = distributed.fit(xs, ys, epochs=1, lr=0.5)
    return grads, stepped, epoch, (exact.w, exact.b)


@pytest.mark.cuda
def test_cuda_shards_over_gloo_equal_the_loop(tmp_path):
    cases = [case([30, 21], m, shuffle) for m in (1, 7) for shuffle in (False, True)]
    results = run_group(tmp_path, 2, _cuda_fits, cases)
    for rank in results:
        for (w, b), c in zip(rank, cases):
            want = reference(c)
            assert abs(w - want[0].item()) <= 1e-12 * max(1, abs(want[0].item())) and abs(b - want[1].item()) <= 1e-11


def _cuda_fits(rank, world, cases):
    out = []
    for c in cases:
        x, y = (shard(t, c["splits"], rank).cuda() for t in data(sum(c["splits"])))
        r = distributed.fit(x, y, shuffle=c["shuffle"], seed=3, **settings(c))
        out.append((r.w.item(), r.b.item()))
    return out


# --- the command line under torchrun -----------------------------------------------------------------------------


def torchrun(world, *argv, cwd):
    """python -m torch.distributed.run --standalone (a free port, never a fixed one) … -m torch_neuron."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(world),
        "-m",
        "torch_neuron",
        *map(str, argv),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TORCH_NEURON_TIMEOUT="30")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def one_process(*argv, cwd):
    return subprocess.run(
        [sys.executable, "-m", "torch_neuron", *map(str, argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


@pytest.fixture
def csv_file(tmp_path):
    """3,001 lines: a header, then id,x,y rows with CRLF line ends (x, y as in `data`)."""
    x, y = data(3000)
    lines = ["id,x,y"] + [f"s{i},{a!r},{b!r}" for i, (a, b) in enumerate(zip(x.tolist(), y.tolist()))]
    path = tmp_path / "data.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def assert_same_run(sharded, single, world):
    assert sharded.pop("world_size") == world and "world_size" not in single
    for key in ("w", "b", "loss"):
        assert sharded.pop(key) == pytest.approx(single.pop(key), rel=1e-12)
    for key in ("seconds", "save", "plot"):
        sharded.pop(key), single.pop(key)
    assert sharded == single


@pytest.mark.slow
def test_train_under_torchrun_streams_each_ranks_bytes_and_prints_the_one_process_json(tmp_path, csv_file):
    argv = ["train", "--csv", csv_file, "--x", "x", "--y", "y", "--batch-size", "7", "--epochs", "20", "--json"]
    done = torchrun(2, *argv, "--save", "model.pt", "--plot", "fit.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1  # rank 0 alone prints
    sharded = json.loads(done.stdout)
    single = json.loads(one_process(*argv, cwd=tmp_path).stdout)
    saved = torch.load(tmp_path / "model.pt")
    assert (saved["w"].item(), saved["b"].item()) == (sharded["w"], sharded["b"])
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"
    assert_same_run(sharded, single, 2)
    assert single["n"] == 3000


@pytest.mark.slow
def test_train_under_torchrun_shuffled_in_memory_equals_the_one_process_shuffle(tmp_path, csv_file):
    argv = [
        "train",
        "--csv",
        csv_file,
        "--x",
        "1",
        "--y",
        "y",
        "--shuffle",
        "--seed",
        "5",
        "--batch-size",
        "3",
        "--epochs",
        "4",
        "--json",
    ]
    done = torchrun(3, *argv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_same_run(json.loads(done.stdout), json.loads(one_process(*argv, cwd=tmp_path).stdout), 3)


@pytest.mark.slow
def test_bad_data_in_one_ranks_part_is_one_error_line_naming_rank_line_and_column(tmp_path, csv_file):
    lines = csv_file.read_bytes().split(b"\r\n")
    lines[2900] = b"s2899,0.1,"  # near the end: rank 1's part
    csv_file.write_bytes(b"\r\n".join(lines))
    start = time.monotonic()
    done = torchrun(2, "train", "--csv", csv_file, "--x", "x", "--y", "y", "--save", "model.pt", cwd=tmp_path)
    assert time.monotonic() - start < 60
    assert done.returncode != 0 and done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("torch-neuron: error:")]
    assert errors == [f"torch-neuron: error: rank 1 of 2: {csv_file}, line 2901, column 'y': '' is not a finite number"]
    assert not (tmp_path / "model.pt").exists()  # nothing written


# --- files shared out across ranks: CSV byte ranges, Parquet row groups --------------------------------------------

FILE_CASES = [(block, group, m) for block in (None, 1, 64) for group, m in ((1, 1), (7, 7), (50, 40))]


def _write_files(folder, n=60):
    """The same n rows as CSV (quoted cells with line breaks across any cut, a blank row, CRLF) and as Parquet
    files of several row-group sizes → (x, y) of the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, y = data(n)
    rows = [f'{a!r},"n{i}\r\nsee ""{i}""",{b!r}' for i, (a, b) in enumerate(zip(x.tolist(), y.tolist()))]
    rows.insert(n // 2, ",,")
    (folder / "rows.csv").write_bytes(("x,note,y\r\n" + "\r\n".join(rows) + "\r\n").encode())
    for group in {g for _, g, _ in FILE_CASES}:
        pq.write_table(
            pa.table({"x": x.numpy(), "y": y.numpy()}), folder / f"rows{group}.parquet", row_group_size=group
        )
    return x, y


def _file_fits(rank, world, folder):
    """Each case's sharded fit of csv_chunks and parquet_chunks (shard=True) → (w, b, rows here) per case."""
    from torch_neuron.data import csv_chunks, csv_reader, parquet_chunks

    out = []
    for block, group, m in FILE_CASES:
        csv_reader.BLOCK_BYTES = block or 4 << 20
        for stream in (
            csv_chunks(f"{folder}/rows.csv", "x", "y", shard=True),
            parquet_chunks(f"{folder}/rows{group}.parquet", 0, "y", shard=True),
        ):
            r = distributed.fit_chunks(
                stream, n=stream.count_rows if m > 1 else None, epochs=5, lr=0.5, batch_size=m, dtype=torch.float64
            )
            out.append((r.w.item(), r.b.item(), stream.count))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 3])
def test_csv_ranges_and_parquet_row_groups_fit_as_the_rows_in_memory(tmp_path, world):
    x, y = _write_files(tmp_path)
    results = run_group(tmp_path, world, _file_fits, str(tmp_path))
    for i, (block, group, m) in enumerate(FILE_CASES):
        want = tn.fit(x, y, epochs=5, lr=0.5, batch_size=m, engine="loop")
        for k in (2 * i, 2 * i + 1):  # the CSV, then the Parquet file
            assert {r[k][:2] for r in results} == {results[0][k][:2]}  # every rank: the same bits
            w, b, _ = results[0][k]
            assert w == pytest.approx(want.w.item(), rel=1e-12) and b == pytest.approx(want.b.item(), rel=1e-12)
            assert sum(r[k][2] for r in results) == len(x)  # each row read by one rank
        assert all(r[2 * i][2] > 0 for r in results)  # the CSV is shared out, not read by rank 0 alone


@pytest.mark.slow
def test_train_parquet_under_torchrun_prints_the_one_process_json(tmp_path):
    _write_files(tmp_path)
    argv = ["train", "--parquet", tmp_path / "rows7.parquet", "--x", "x", "--y", "y", "--batch-size", "7", "--json"]
    done = torchrun(3, *argv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_same_run(json.loads(done.stdout), json.loads(one_process(*argv, cwd=tmp_path).stdout), 3)
    done = torchrun(2, "train", "--csv", "-", "--x", "x", "--y", "y", cwd=tmp_path)
    assert (
        done.returncode != 0 and "torch-neuron: error: rank 0 of 2: --csv - (standard input) runs in one" in done.stderr
    )


# --- the front door on several ranks: the same rules as torch_neuron.fit ----------------------------------------


def test_the_sharded_fits_follow_the_front_doors_rules(tmp_path):
    """On 2 ranks: NumPy float64 shards fit in float64 (promotion, not the default dtype), float64 chunks too,
    a rank without chunks takes the others' dtype, w and b are keyword-only, a (batch, 1) shard is refused on
    every rank alike; the fits equal tn.fit of the whole data."""
    results = run_group(tmp_path, 2, _front_door)
    x, y = data(30)
    want = tn.fit(x, y, epochs=3, lr=0.5, engine="loop")
    for got in results:
        assert got["dtypes"] == ["torch.float64", "torch.float64", "torch.float64"]
        for w, b in got["fits"]:
            assert abs(w - want.w.item()) <= 1e-12 * abs(want.w.item()) and abs(b - want.b.item()) <= 1e-12 * abs(
                want.b.item()
            )
        assert got["positional"] == "TypeError"
        assert got["column"][0] == "ValueError" and "squeeze(-1)" in got["column"][1]
    assert results[0]["column"][1] == results[1]["column"][1]  # one error, said alike on every rank


def _front_door(rank, world):
    x, y = data(30)
    lo, hi = rank * 30 // world, (rank + 1) * 30 // world
    xs, ys = x[lo:hi].numpy(), y[lo:hi].numpy()
    out = {"dtypes": [], "fits": []}
    r = distributed.fit(xs, ys, epochs=3, lr=0.5)
    c = distributed.fit_chunks([(xs[:4], ys[:4]), (xs[4:], ys[4:])], epochs=3, lr=0.5)
    # rank 1 holds no chunks: it learns the dtype from rank 0 (the whole data on rank 0)
    e = distributed.fit_chunks([(x.numpy(), y.numpy())] if rank == 0 else [], epochs=3, lr=0.5)
    for result in (r, c, e):
        out["dtypes"].append(str(result.w.dtype))
        out["fits"].append((result.w.item(), result.b.item()))
    try:
        distributed.fit(xs, ys, 1.0, 1.0)  # type: ignore[misc]
        out["positional"] = "no error"
    except TypeError:
        out["positional"] = "TypeError"
    try:
        distributed.fit(xs[:, None] if rank == 1 else xs, ys[:, None] if rank == 1 else ys, epochs=1)
        out["column"] = ("no error", "")
    except Exception as err:
        out["column"] = (type(err).__name__, str(err))
    return out
