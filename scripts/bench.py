#!/usr/bin/env python
"""Benchmark torch_neuron against the book's plain Python loop, scikit-learn and NumPy, in one run.

    python scripts/bench.py --markdown docs/bench/cpu.md --json docs/bench/cpu.json
    python scripts/bench.py --quick          # tiny sizes: checks the script in seconds, not the speed

Each row is timed by torch.utils.benchmark.Timer.blocked_autorange (warm-up, blocks of calls, CUDA
sync): the median over blocks, with its interquartile range. Slow peers run a fraction of the
workload, scaled linearly (the row says so). Peak memory comes from scripts/peak_memory.py in fresh
processes, the distributed case from scripts/bench_distributed.py in spawned ones.

--kernel picks where the CPU epoch maps run, as TORCH_NEURON_KERNEL does for users: auto (the default, what a
user gets: the compiled kernel, engines/cpu.py, for large work and torch ops below it), numba (the kernel for
every fit: the steady state of a process of many fits, Numba's import and cached code paid once) or eager.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.benchmark import Timer

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # runs from a checkout without installing
import bench_distributed  # noqa: E402
import peak_memory  # noqa: E402

import torch_neuron as tn  # noqa: E402
from torch_neuron.book import book_fit  # noqa: E402
from torch_neuron.engines import scan  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    epochs: int = 100
    synth_n: int = 1_000_000
    python_n: int = 10_000  # plain Python fits the first python_n synthetic samples, scaled up
    sklearn_n: int = 100_000  # SGDRegressor likewise
    loop_epochs: int = 10  # the loop engine fits the book's problem for this many epochs, scaled up
    autograd_epochs: int = 2
    neurons: int = 10_000
    separate: int = 20  # separate fits timed out of `neurons`, scaled up
    gpu_n: int = 100_000_000
    dist_n: int = 10_000_000
    memory_n: tuple = (1_000_000, 4_000_000)
    min_run_time: float = 1.0  # seconds of timed calls per row


QUICK = Sizes(
    synth_n=20_000,
    python_n=2_000,
    sklearn_n=5_000,
    loop_epochs=1,
    autograd_epochs=1,
    neurons=200,
    separate=4,
    gpu_n=1_000_000,
    dist_n=20_000,
    memory_n=(50_000, 100_000),
    min_run_time=0.02,
)


@dataclass(frozen=True)
class Case:
    """One row to time: call() does 1/scale of the workload on `device`."""

    workload: str
    name: str
    what: str
    call: Callable[[], object]
    device: str = "cpu"
    scale: float = 1.0
    note: str = ""
    whole: bool = True  # a whole fit of the workload, so comparable with plain Python and SGDRegressor
    bytes: int = 0  # read per call, for GB/s

    @property
    def id(self):
        return f"{self.workload}/{self.name}@{self.device}"


@dataclass
class Row:
    id: str
    workload: str
    what: str
    device: str
    note: str = ""
    whole: bool = True
    median_s: float | None = None  # for the whole workload: measured × scale
    iqr_s: float | None = None  # None with fewer than 4 blocks
    calls: int = 0
    gbps: float | None = None
    result: list | None = None  # (w, b) of an unscaled fit: every method should reach the same
    error: str | None = None


@dataclass(frozen=True)
class Target:
    """A goal: baseline's time / case's time ≥ at_least, or the case's time ≤ at_most seconds."""

    name: str
    case: str
    baseline: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def __post_init__(self):
        if (self.at_most is None) == (self.at_least is None) or (self.baseline is None) != (self.at_most is not None):
            raise ValueError(f"target {self.name!r}: give a baseline with at_least, or at_most alone")


TARGETS = (
    Target("book's default fit ≥ 50× plain Python", "book/fit@cpu", "book/python@cpu", at_least=50),
    Target("book's default fit ≥ 15× SGDRegressor", "book/fit@cpu", "book/sklearn@cpu", at_least=15),
    # against this machine's own copy of the data: clone's time ≥ 1/2.5 of the map's
    Target(
        "1M-sample epoch map ≤ 2.5× copying x and y once", "synth/epoch_map@cpu", "synth/clone@cpu", at_least=1 / 2.5
    ),
    # the same data at lr = 1e-7 keeps every map near I, far from subnormal numbers
    Target(
        "no subnormal slowdown: 1M epoch map at lr = 1 ≤ 1.5× at lr = 1e-7",
        "synth/epoch_map@cpu",
        "synth/epoch_map_tiny_lr@cpu",
        at_least=1 / 1.5,
    ),
    Target("1M × 100 default fit ≥ 300× SGDRegressor", "synth/fit@cpu", "synth/sklearn@cpu", at_least=300),
    Target(
        "10,000 neurons in one call ≥ 500× SGDRegressor, a fit per lr",
        "neurons/one_call@cpu",
        "neurons/sklearn@cpu",
        at_least=500,
    ),
    Target(
        "10,000 neurons in one call ≥ 20× separate fits", "neurons/one_call@cpu", "neurons/separate@cpu", at_least=20
    ),
    Target("CUDA epoch map at ≥ 50% of peak bandwidth", "gpu/epoch_map@cuda", "gpu/peak@cuda", at_least=0.5),
)

# GB/s by card name; the first match wins, so a name comes before its prefixes (A100 before A10)
PEAK_GBPS = (
    ("H200", 4800),
    ("H100 NVL", 3900),
    ("H100 PCIe", 2000),
    ("H100", 3350),
    ("A100-SXM4-80GB", 2039),
    ("A100 80GB PCIe", 1935),
    ("A100", 1555),
    ("V100", 900),
    ("L40", 864),
    ("L4", 300),
    ("A10", 600),
    ("T4", 320),
)


# ---- the code being timed ---------------------------------------------------------------------------------


def python_fit(xs, ys, epochs):
    """The source text's fit, as written (w = b = 1, no learning rate): torch_neuron.book."""
    return book_fit(xs, ys, epochs)[-1]


def sklearn_fit(X, y, epochs, lrs=(1.0,)):
    """SGDRegressor set up as the book's fit (tol=None: every epoch runs), once per lr; the last (w, b)."""
    from sklearn.linear_model import SGDRegressor

    for lr in lrs:
        m = SGDRegressor(
            loss="squared_error",
            penalty=None,
            learning_rate="constant",
            eta0=lr,
            max_iter=epochs,
            tol=None,
            shuffle=False,
        ).fit(X, y, coef_init=[1.0], intercept_init=[1.0])
    return m.coef_[0], m.intercept_[0]


def neuron_fit(x, y):
    """What the book's reader runs."""
    n = tn.Neuron(dtype=x.dtype, device=x.device)
    n.fit(x, y)
    return n.w, n.b


def package_fit(x, y, lrs=(1.0,), **kw):
    """torch_neuron.fit once per lr; the last (w, b)."""
    for lr in lrs:
        r = tn.fit(x, y, lr=lr, **kw)
    return r.w, r.b


def sweep_fit(x, y, w, lr):
    r = tn.fit(x, y, w=w, lr=lr)
    return r.w[-1], r.b[-1]  # the neuron with lr = 1, the book's


def clone(x, y):
    x.clone(), y.clone()  # returns None: a copy, not a fit with a result


def part(done, whole, unit):
    """A Case's scale and note when it runs `done` of `whole` (samples, epochs or fits)."""
    return dict(
        scale=whole / done, note="" if done == whole else f"{done:,} of {whole:,} {unit}, scaled ×{whole / done:,.4g}"
    )


def cases(s, devices):
    """Every row to time; a generator, so each workload's data is made when its rows come up."""
    d, E = tn.load_diabetes(), s.epochs
    for wl, (x, y) in (("book", (d.data[:, 2], d.target)), ("synth", bench_distributed.synthetic(s.synth_n))):
        n, X = x.shape[-1], x.numpy()[:, None]
        pn, sn = (n, n) if wl == "book" else (min(n, s.python_n), min(n, s.sklearn_n))
        yield Case(
            wl,
            "python",
            "plain Python loop (the source text)",
            partial(python_fit, x[:pn].tolist(), y[:pn].tolist(), E),
            **part(pn, n, "samples"),
        )
        yield Case(
            wl,
            "sklearn",
            "scikit-learn SGDRegressor.fit",
            partial(sklearn_fit, X[:sn], y[:sn].numpy(), E),
            **part(sn, n, "samples"),
        )
        yield Case(
            wl,
            "lstsq",
            "NumPy least squares (the optimum, for scale)",
            partial(np.linalg.lstsq, np.hstack([X, np.ones_like(X)]), y.numpy()),
            whole=False,
        )
        for dev in devices:
            xd, yd = x.to(dev), y.to(dev)
            yield Case(wl, "fit", "Neuron(dtype=torch.float64).fit(x, y)", partial(neuron_fit, xd, yd), dev)
            yield Case(wl, "tn_fit", "torch_neuron.fit(x, y)", partial(package_fit, xd, yd), dev)
            yield Case(
                wl,
                "epoch_map",
                "scan.epoch_map(x, y, 1.0, 1) alone",
                partial(scan.epoch_map, xd, yd, 1.0, 1),
                dev,
                whole=False,
                bytes=2 * xd.numel() * xd.element_size(),
            )
            if wl == "synth":
                yield Case(
                    wl,
                    "epoch_map_tiny_lr",
                    "scan.epoch_map(x, y, 1e-7, 1): every map near I",
                    partial(scan.epoch_map, xd, yd, 1e-7, 1),
                    dev,
                    whole=False,
                    bytes=2 * xd.numel() * xd.element_size(),
                )
                yield Case(
                    wl,
                    "clone",
                    "x.clone(); y.clone(), for scale (read + write)",
                    partial(clone, xd, yd),
                    dev,
                    whole=False,
                    bytes=2 * xd.numel() * xd.element_size(),
                )
            for engine, e in (("loop", s.loop_epochs), ("autograd", s.autograd_epochs)) if wl == "book" else ():
                yield Case(
                    wl,
                    engine,
                    f"torch_neuron.fit(x, y, engine={engine!r})",  # references, not for speed
                    partial(package_fit, xd, yd, engine=engine, epochs=e),
                    dev,
                    **part(e, E, "epochs"),
                )
    (x, y), N, k = (d.data[:, 2], d.target), s.neurons, s.separate
    lrs = torch.linspace(0.1, 1.0, N, dtype=torch.float64)
    some = lrs[torch.linspace(0, N - 1, k).round().long()].tolist()  # evenly spread, ending at lr = 1
    yield Case(
        "neurons",
        "sklearn",
        "SGDRegressor.fit, one per lr (eta0 = lr)",
        partial(sklearn_fit, x.numpy()[:, None], y.numpy(), E, some),
        **part(k, N, "fits"),
    )
    for dev in devices:
        xd, yd, lrd = x.to(dev), y.to(dev), lrs.to(dev)
        yield Case(
            "neurons",
            "one_call",
            f"torch_neuron.fit, {N:,} neurons (lr = 0.1 … 1) in one call",
            partial(sweep_fit, xd, yd, torch.ones_like(lrd), lrd),
            dev,
        )
        yield Case(
            "neurons",
            "separate",
            "torch_neuron.fit, one call per lr",
            partial(package_fit, xd, yd, some),
            dev,
            **part(k, N, "fits"),
        )
    if "cuda" in devices:
        x, y = (v.float().cuda() for v in bench_distributed.synthetic(s.gpu_n))
        yield Case(
            "gpu",
            "epoch_map",
            "scan.epoch_map(x, y, 1.0, 1), float32",
            partial(scan.epoch_map, x, y, 1.0, 1),
            "cuda",
            whole=False,
            bytes=8 * s.gpu_n,
        )
        yield Case(
            "gpu", "clone", "x.clone(), for scale (read + write)", x.clone, "cuda", whole=False, bytes=8 * s.gpu_n
        )


# ---- measuring --------------------------------------------------------------------------------------------


def run(case, min_run_time):
    """Time case.call with blocked_autorange; a failure (out of memory, divergence) becomes the row's error."""
    row = Row(case.id, case.workload, case.what, case.device, case.note, case.whole)
    try:
        out = case.call()  # also a first warm-up: one-off compiles and caches stay out of the timing
        m = Timer("call()", globals={"call": case.call}, num_threads=torch.get_num_threads()).blocked_autorange(
            min_run_time=min_run_time
        )
    except (RuntimeError, FloatingPointError, MemoryError) as e:
        row.error = f"{type(e).__name__}: {e}".splitlines()[0][:200]
        return row
    row.median_s, row.calls = m.median * case.scale, len(m.times) * m.number_per_run
    row.iqr_s = m.iqr * case.scale if len(m.times) >= 4 else None
    row.gbps = case.bytes / m.median / 1e9 if case.bytes else None
    if case.scale == 1 and isinstance(out, tuple) and len(out) == 2:
        row.result = [float(v.detach()) if torch.is_tensor(v) else float(v) for v in out]
    return row


def peak_row(device_name, nbytes):
    """The time to read nbytes at the card's peak bandwidth, from PEAK_GBPS: computed, not timed."""
    peak = next((gbps for name, gbps in PEAK_GBPS if name in device_name), None)
    return (
        []
        if peak is None
        else [
            Row(
                "gpu/peak@cuda",
                "gpu",
                f"x and y read once at the card's peak {peak:,} GB/s (computed)",
                "cuda",
                whole=False,
                median_s=nbytes / peak / 1e9,
                gbps=float(peak),
            )
        ]
    )


# ---- ratios, targets, report ------------------------------------------------------------------------------


def speedup(times, baseline, case):
    """times[baseline] / times[case]: how many times faster the case ran; None when either is missing."""
    a, b = times.get(baseline), times.get(case)
    return a / b if a and b else None


def verdict(target, times):
    """{"target", "value", "goal", "status"}; status is exactly "MET", "NOT MET" or "NOT MEASURED"."""
    if target.at_least is not None:
        value, goal = speedup(times, target.baseline, target.case), f"≥ {target.at_least:.3g}×"
        met = value is not None and value >= target.at_least
    else:
        value, goal = times.get(target.case), f"≤ {fmt_time(target.at_most)}"
        met = value is not None and value <= target.at_most
    return dict(
        target=target.name,
        value=value,
        goal=goal,
        status="NOT MEASURED" if value is None else "MET" if met else "NOT MET",
    )


def fmt_time(s):
    if s is None:
        return "—"
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:,.2f} s"


def fmt_ratio(v):
    return "—" if v is None else f"{v:,.3g}×"


def table(rows, times):
    out = [
        "| what | device | median | IQR | calls | × vs plain Python | × vs SGDRegressor | GB/s | note |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        vs = [speedup(times, f"{r.workload}/{b}@cpu", r.id) if r.whole else None for b in ("python", "sklearn")]
        gbps = "—" if r.gbps is None else f"{r.gbps:,.3g}"
        out.append(
            f"| {r.what} | {r.device} | {r.error or fmt_time(r.median_s)} | {fmt_time(r.iqr_s)} | {r.calls} "
            f"| {fmt_ratio(vs[0])} | {fmt_ratio(vs[1])} | {gbps} | {r.note} |"
        )
    return out


def code_version():
    """The checkout's commit, and whether files differ from it: which code these numbers are for."""
    git = partial(subprocess.run, capture_output=True, text=True, cwd=HERE.parent)
    try:
        head = git(["git", "rev-parse", "--short", "HEAD"]).stdout.strip()
        dirty = git(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except OSError:  # no git here
        head = ""
    return f"commit {head}" + (" with uncommitted changes" if dirty else "") if head else "not a git checkout"


def machine():
    cpu = platform.processor() or "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        numpy=np.__version__,
        python=platform.python_version(),
        load=os.getloadavg()[0],
        code=code_version(),
        gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        kernel=cpu_kernel(),
    )


def cpu_kernel():
    """Where the CPU epoch maps run: 'auto' (by the work), 'numba' (engines/cpu.py) or 'eager' (torch ops)."""
    if importlib.util.find_spec("numba") is None:
        return "eager"
    return os.environ.get("TORCH_NEURON_KERNEL", "auto")


def report(info, s, quick, rows, verdicts, memory, argv):
    times = {r.id: r.median_s for r in rows}
    titles = {
        "book": f"The book's problem: bmi → target, 442 samples × {s.epochs} epochs, float64",
        "synth": f"{s.synth_n:,} synthetic float64 samples × {s.epochs} epochs (x ~ N(0, 0.05²), "
        "y = 900x + 150 + 50·noise)",
        "neurons": f"{s.neurons:,} neurons (an lr sweep) on the book's problem: one call vs separate fits",
        "gpu": f"CUDA: {s.gpu_n:,} float32 samples, one epoch map",
        "dist": f"Distributed: {s.dist_n:,} float64 samples × {s.epochs} epochs, 1 vs 2 local processes",
    }
    lines = [
        f"# torch_neuron benchmark: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
        f"({info['threads']} threads), GPU: {info['gpu'] or 'none'}",
        "",
        f"Code: {info['code']}. Load average at the start: {info['load']:.1f}. "
        f"CPU kernel: {info.get('kernel', 'eager')}.",
        "",
        f"`python scripts/bench.py {' '.join(argv)}`: medians over blocked_autorange blocks "
        f"(min_run_time {s.min_run_time:g} s a row), IQR beside; a scaled row's times are multiplied up.",
    ]
    lines += ["", "**--quick: tiny sizes; this checks the script, not the speed.**"] if quick else []
    for wl, title in titles.items():
        mine = [r for r in rows if r.workload == wl]
        lines += ["", f"## {title}", ""] + table(mine, times) if mine else []
    lines += ["", "## Targets", "", "| target | measured | goal | status |", "|---|--:|---|---|"]
    lines += [
        f"| {v['target']} | {(fmt_ratio if '×' in v['goal'] else fmt_time)(v['value'])} | {v['goal']} "
        f"| **{v['status']}** |"
        for v in verdicts
    ]
    lines += ["", "## Peak memory of the default fit (scripts/peak_memory.py, a fresh process per size)", ""]
    lines += [f"- failed: {memory['error']}"] if "error" in memory else [f"- {t}" for t in peak_memory.describe(memory)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes and short timings (default: off)")
    ap.add_argument(
        "--device",
        choices=("cpu", "cuda", "all"),
        default="all",
        help="where the package runs; its peers always run on the CPU (default: all = cpu, and cuda when available)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH (default: none)")
    ap.add_argument("--markdown", metavar="PATH", help="also write the report as markdown to PATH (default: none)")
    ap.add_argument(
        "--kernel",
        choices=("auto", "numba", "eager"),
        default="auto",
        help="the CPU work: the package's default rule, always the compiled kernel, or torch ops (default: auto)",
    )
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available here")
    os.environ["TORCH_NEURON_KERNEL"] = args.kernel  # the fresh processes below inherit it
    devices = [d for d in ("cpu", "cuda") if args.device in (d, "all") and (d == "cpu" or torch.cuda.is_available())]
    s, info, rows = QUICK if args.quick else Sizes(), machine(), []
    for case in cases(s, devices):
        rows.append(run(case, s.min_run_time))
        print(f"  {case.id:<22} {rows[-1].error or fmt_time(rows[-1].median_s):>10}  {case.note}", file=sys.stderr)
    rows += peak_row(info["gpu"], 8 * s.gpu_n) if "cuda" in devices else []
    rows += [Row(**r) for r in bench_distributed.rows(s.dist_n, s.epochs, repeats=1 if args.quick else 3)]
    times = {r.id: r.median_s for r in rows}
    verdicts = [verdict(t, times) for t in TARGETS if t.case.endswith(tuple("@" + d for d in devices))]
    try:
        memory = peak_memory.measure(s.memory_n, s.epochs)  # each size in a fresh process
    except RuntimeError as e:
        memory = {"error": str(e)}
    text = report(info, s, args.quick, rows, verdicts, memory, argv)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                dict(
                    machine=info,
                    sizes=asdict(s),
                    devices=devices,
                    targets=verdicts,
                    rows=[asdict(r) for r in rows],
                    memory=memory,
                ),
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
