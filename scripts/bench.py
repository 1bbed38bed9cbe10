#!/usr/bin/env python
"""Benchmark the book's per-sample fit (plain Python, NumPy, torch, scikit-learn) against torch_neuron's engines.

Workloads, one markdown table each: 1. the book's problem (bmi, 442 samples × 100 epochs); 2. 1M synthetic
samples × 100 epochs; 3. 10,000 neurons (a learning-rate sweep) in one call; 4. (CUDA only) 100M float32 samples.
Slow baselines run on a subset and are scaled linearly to the full size, labelled "scaled" in the table.

    python scripts/bench.py --json bench.json --markdown bench.md
    python scripts/bench.py --quick          # tiny sizes: checks the script in seconds
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs from a checkout without installing
import torch_neuron as tn  # noqa: E402
from torch_neuron.engines.scan import epoch_map  # noqa: E402

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None


# ---- the code being compared: each make_*(x, y, epochs, lr) prepares its data and returns the timed call --

def book_loop(x, y, w, b, epochs):
    """The source text's fit as written (lr = 1): runs on Python floats, NumPy scalars and 0-d tensors alike."""
    for _ in range(epochs):
        for x_i, y_i in zip(x, y):
            y_hat = x_i * w + b
            err = -(y_i - y_hat)
            w -= x_i * err
            b -= err
    return w, b


def make_python(x, y, e, lr=1.0):  # the text has no lr; its time does not depend on one
    xs, ys = x.tolist(), y.tolist()
    return lambda: book_loop(xs, ys, 1.0, 1.0, e)


def make_numpy(x, y, e, lr=1.0):
    xs, ys = x.cpu().numpy(), y.cpu().numpy()
    return lambda: book_loop(xs, ys, 1.0, 1.0, e)


def make_torch0d(x, y, e, lr=1.0):
    one = lambda: torch.ones((), dtype=x.dtype, device=x.device)  # noqa: E731
    return lambda: book_loop(x, y, one(), one(), e)  # iterating a 1-D tensor yields 0-d tensors


def make_sklearn(x, y, e, lr=1.0):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor
    X, yy = x.cpu().numpy()[:, None], y.cpu().numpy()

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = SGDRegressor(learning_rate="constant", eta0=lr, penalty=None, shuffle=False, tol=None, max_iter=e)
            m.fit(X, yy, coef_init=[1.0], intercept_init=[1.0])
        return m.coef_[0], m.intercept_[0]
    return run


def make_lstsq(x, y, e, lr=1.0):
    A, yy = np.stack([x.cpu().numpy(), np.ones(x.shape[-1])], 1), y.cpu().numpy()
    return lambda: tuple(np.linalg.lstsq(A, yy, rcond=None)[0])


def make_engine(engine):
    def make(x, y, e, lr=1.0):
        def run():  # what a user writes: a new neuron, then fit
            n = tn.Neuron(dtype=x.dtype, device=x.device)
            n.fit(x, y, epochs=e, lr=lr, engine=engine)
            return n.w.detach(), n.b.detach()
        return run
    return make


def make_many(engine, lrs):
    """All neurons of the lr sweep in one torch_neuron.fit call: x, y (1, n) against w, lr (N,)."""
    def make(x, y, e, lr=None):
        w, lr = torch.ones(len(lrs), dtype=x.dtype, device=x.device), lrs.to(x.device)
        fit = lambda: tn.fit(x.view(1, -1), y.view(1, -1), w, 1.0, epochs=e, lr=lr, engine=engine)  # noqa: E731
        return lambda: tuple(v[-1] for v in fit()[:2])  # (w, b) of the last neuron, the one with lr = 1
    return make


def sample_of(make, lrs):
    """Separate fits, one per lr in lrs, one after another."""
    def make_all(x, y, e):
        fits = [make(x, y, e, lr) for lr in lrs]
        return lambda: [f() for f in fits][-1]
    return make_all


# ---- measuring --------------------------------------------------------------------------------------------

def rss():
    with open("/proc/self/statm") as f:  # fields in pages; the second is the resident set
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def rss_peak(mem):
    """Sets mem["increase"]: the peak resident set above the start, sampled every 1 ms in a thread (Linux)."""
    if not os.path.exists("/proc/self/statm"):
        yield
        return
    start, peak, done = rss(), [0], threading.Event()

    def sample():
        while not done.wait(0.001):
            peak[0] = max(peak[0], rss())
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        mem["increase"] = max(peak[0], rss()) - start


def measure(fn, device, cfg):
    """A first run with memory tracking (also the warm-up), then timed runs: more, the faster fn is.

    A first run slower than cfg.slow_s is the measurement itself (taken with the 1 ms sampler running),
    except on CUDA, where a first run also compiles kernels (Triton, cuBLAS set-up) and is never timed.
    """
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        sync()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    mem = {"increase": None}
    with nullcontext() if cuda else rss_peak(mem):
        t0 = time.perf_counter()
        out = fn()
        sync()
        times = [time.perf_counter() - t0]
    peak = torch.cuda.max_memory_allocated() - base if cuda else mem["increase"]
    if times[0] <= cfg.slow_s or cuda:
        t0 = time.perf_counter()
        fn()  # untimed: the first call can carry one-off set-up, so size the repeats on a second one
        sync()
        probe = time.perf_counter() - t0
        runs = 1 if cfg.quick else int(min(cfg.max_runs, max(3, cfg.budget_s / max(probe, 1e-6))))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            out = fn()
            sync()  # fn's work is queued on the card: wait for it before reading the clock
            times.append(time.perf_counter() - t0)
    wb = [float(v) for v in out] if isinstance(out, tuple) and len(out) == 2 else None
    return dict(times=times, runs=len(times), peak_bytes=peak, mem_kind="CUDA alloc" if cuda else "RSS, sampled",
                result_wb=wb)


def record(R, cfg, workload, key, method, device, x, y, epochs, make, sub=None, fits=1, size=None):
    """Time make(x, y, epochs)() and add a row; sub=(n, e) runs the first n samples × e epochs, scaled up
    linearly to the full size, and fits=N scales the measured call (one of N alike) ×N."""
    n = x.shape[-1]
    ns, es = (min(sub[0], n), min(sub[1], epochs)) if sub else (n, epochs)
    scale = n * epochs / (ns * es) * fits
    size = size or f"{ns:,} × {es} epoch{'s' * (es != 1)}"
    size += f", scaled ×{scale:,.4g}" if scale != 1 else ""
    row = dict(workload=workload, key=key, method=method, device=device, size=size, scale=scale, ran=[ns, es])
    try:
        row.update(measure(make(x[..., :ns], y[..., :ns], es), device, cfg))
        row["measured_median_s"] = statistics.median(row["times"])
        row["median_s"] = row["measured_median_s"] * scale
    except (RuntimeError, FloatingPointError) as e:  # out of memory, diverged …: report it, go on with the rest
        row.update(error=f"{type(e).__name__}: {e}".splitlines()[0][:200], median_s=None, runs=0, peak_bytes=None,
                   mem_kind="", result_wb=None)
    R.append(row)
    print(f"  {method[:56]:<56} {device:<4} {fmt_time(row['median_s']):>9}  ({size})", file=sys.stderr, flush=True)


# ---- the workloads ----------------------------------------------------------------------------------------

def compare(R, cfg, wl, x, y, epochs, devices, subs):
    """The CPU-only baselines, then the 0-d torch loop and every engine on each device."""
    slow = not cfg.skip_slow
    rows = [("python", "plain Python loop (floats)", make_python, True),
            ("numpy", "book's loop over NumPy scalars", make_numpy, slow),
            ("sklearn", "scikit-learn SGDRegressor", make_sklearn, cfg.sklearn)]
    for key, method, make, on in rows:
        if on:
            record(R, cfg, wl, key, method, "cpu", x, y, epochs, make, subs.get(key))
    record(R, cfg, wl, "lstsq", "NumPy lstsq (the optimum, for scale)", "cpu", x, y, epochs, make_lstsq,
           size=f"{x.shape[-1]:,} samples, one solve")
    for dev in devices:
        xd, yd = x.to(dev), y.to(dev)
        if slow:
            record(R, cfg, wl, "torch0d", "naive torch loop (0-d tensors)", dev, xd, yd, epochs, make_torch0d,
                   subs.get("torch0d"))
        for eng in ("auto", "scan") + (("loop", "autograd") if slow else ()):
            method = f"Neuron.fit engine={eng}" + (" (autograd + optim.SGD)" if eng == "autograd" else "")
            record(R, cfg, wl, eng, method, dev, xd, yd, epochs, make_engine(eng), subs.get(eng))
        if wl == "synth":
            record(R, cfg, wl, "epoch_map", "epoch map alone (scan.epoch_map)", dev, xd, yd, 1,
                   lambda a, b, e: lambda: epoch_map(a, b, 1.0, 1))


def synthetic(n, dtype=torch.float64, device="cpu", seed=0):
    """x ~ N(0, 0.05²) like the scaled bmi, y = 900x + 150 + 50·noise."""
    g = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(n, dtype=dtype, device=device, generator=g) * 0.05
    return x, 900 * x + 150 + 50 * torch.randn(n, dtype=dtype, device=device, generator=g)


def workload_neurons(R, cfg, x, y, devices):
    """N neurons (lr = 0.1 … 1.0) in one call vs N separate fits, of which cfg.separate_k are timed."""
    N, E = cfg.neurons, cfg.book_epochs
    lrs = torch.linspace(0.1, 1.0, N, dtype=torch.float64)
    some = [float(lrs[i]) for i in torch.linspace(0, N - 1, cfg.separate_k).round().long()]  # an even sample
    fits = dict(fits=N / len(some), size=f"{len(some)} of {N:,} fits of {len(x):,} × {E} epochs")
    record(R, cfg, "neurons", "python", "plain Python loop (floats)", "cpu", x, y, E,
           sample_of(make_python, some), **fits)
    if cfg.sklearn:
        record(R, cfg, "neurons", "sklearn", "scikit-learn SGDRegressor (eta0 = lr)", "cpu", x, y, E,
               sample_of(make_sklearn, some), **fits)
    for dev in devices:
        xd, yd = x.to(dev), y.to(dev)
        record(R, cfg, "neurons", "separate", "separate Neuron.fit calls (default engine)", dev, xd, yd, E,
               sample_of(make_engine("auto"), some), **fits)
        for eng in ("auto", "scan") + (() if cfg.skip_slow else ("loop",)):  # autograd takes one float lr
            record(R, cfg, "neurons", eng, f"torch_neuron.fit, {N:,} neurons in one call, engine={eng}", dev,
                   xd, yd, E, make_many(eng, lrs))


def workload_gpu(R, cfg):
    """100M float32 samples on the card: the scan's time, and how near its epoch pass gets to memory speed."""
    n = cfg.gpu_n
    x, y = synthetic(n, torch.float32, "cuda")
    record(R, cfg, "gpu", "auto", "Neuron.fit engine=auto (scan), float32", "cuda", x, y, 100, make_engine("auto"))
    record(R, cfg, "gpu", "epoch_map", "epoch map alone (scan.epoch_map)", "cuda", x, y, 1,
           lambda a, b, e: lambda: epoch_map(a, b, 1.0, 1))
    buf = torch.empty(cfg.clone_bytes // 4, dtype=torch.float32, device="cuda")
    record(R, cfg, "gpu", "clone", "device-to-device copy (tensor.clone)", "cuda", x, y, 1,
           lambda a, b, e: buf.clone, size=f"{cfg.clone_bytes / 2**30:.3g} GiB tensor")
    buf = x = y = None  # free the card's memory before the next workload
    torch.cuda.empty_cache()
    emap, clone = R[-2]["median_s"], R[-1]["median_s"]
    if not (emap and clone):
        return None
    bw = dict(epoch_map_GBps=n * 2 * 4 / emap / 1e9, clone_GBps=2 * cfg.clone_bytes / clone / 1e9,
              peak_GBps=peak_bandwidth())
    bw["pct_of_peak"] = 100 * bw["epoch_map_GBps"] / bw["peak_GBps"] if bw["peak_GBps"] else None
    bw["pct_of_clone"] = 100 * bw["epoch_map_GBps"] / bw["clone_GBps"]
    return bw


def peak_bandwidth():
    """The card's memory bandwidth in GB/s: 2 · memory clock · bus width / 8 (double data rate), or None."""
    p = torch.cuda.get_device_properties(torch.cuda.current_device())
    clock_khz, bus_bits = getattr(p, "memory_clock_rate", None), getattr(p, "memory_bus_width", None)
    if not (clock_khz and bus_bits):
        try:  # CUDA 13 dropped these from the device properties; NVML still reports them
            import pynvml
            pynvml.nvmlInit()
            h = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
            clock_khz = 1000 * pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_MEM)
            bus_bits = pynvml.nvmlDeviceGetMemoryBusWidth(h)
        except Exception:
            return None
    return 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9


# ---- reporting --------------------------------------------------------------------------------------------

def fmt_time(s):
    if s is None:
        return "failed"
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def fmt_bytes(b):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if b is None or abs(b) < 1024 or unit == "GiB":
            return "n/a" if b is None else f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1024


def add_ratios(R):
    """× vs plain Python and × vs sklearn: that baseline's time on the same workload over this row's.

    Not for the epoch map and the copy: they do a part of the workload, or none of it."""
    for r in R:
        for key in ("python", "sklearn"):
            if r["key"] in ("epoch_map", "clone"):
                r[f"vs_{key}"] = None
                continue
            ref = next((q for q in R if (q["workload"], q["key"]) == (r["workload"], key)), None)
            r[f"vs_{key}"] = ref["median_s"] / r["median_s"] if ref and ref["median_s"] and r["median_s"] else None


def table(rows):
    ratio = lambda v: "—" if v is None else f"{v:,.3g}×"  # noqa: E731
    out = ["| method | device | what was run (size) | median time | runs | × vs plain Python | × vs sklearn "
           "| peak memory increase |", "|---|---|---|--:|--:|--:|--:|--:|"]
    return out + [f"| {r['method']} | {r['device']} | {r['size']} | {r.get('error') or fmt_time(r['median_s'])} "
                  f"| {r['runs']} "
                  f"| {ratio(r['vs_python'])} | {ratio(r['vs_sklearn'])} | {fmt_bytes(r['peak_bytes'])} "
                  f"({r['mem_kind']}) |" for r in rows]


def targets(R, devices, bw):
    """The issue's goals, each with its measured value and MET / NOT MET."""
    T, rows = [], {(r["workload"], r["key"], r["device"]): r for r in R}

    def goal(name, value, limit, unit, at_most=False):
        if value is not None:
            met = value <= limit if at_most else value >= limit
            T.append(dict(target=name, value=value, limit=limit, met=met, text=f"{name}: {value:,.3g}{unit} "
                          f"(goal {'≤' if at_most else '≥'} {limit:g}{unit}) → {'MET' if met else 'NOT MET'}"))
    for dev in devices:
        book, synth, emap, one, sep = (rows.get(k + (dev,), {}) for k in (
            ("book", "auto"), ("synth", "auto"), ("synth", "epoch_map"), ("neurons", "auto"), ("neurons", "separate")))
        goal(f"[{dev}] book default fit vs plain Python", book.get("vs_python"), 50, "×")
        goal(f"[{dev}] book default fit vs sklearn", book.get("vs_sklearn"), 10, "×")
        goal(f"[{dev}] 1M × 100 default fit vs sklearn", synth.get("vs_sklearn"), 50, "×")
        goal(f"[{dev}] 1M-sample epoch map", emap.get("median_s") and emap["median_s"] * 1e3, 10, " ms", True)
        goal(f"[{dev}] 10k neurons in one call vs separate fits",
             one.get("median_s") and sep.get("median_s") and sep["median_s"] / one["median_s"], 20, "×")
    if bw:
        goal("[cuda] epoch-map bandwidth, % of the card's peak", bw["pct_of_peak"], 50, "%")
    return T


def machine():
    out = os.popen("lscpu 2>/dev/null").read()
    cpu = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), None)
    return dict(cpu=cpu or platform.processor() or "unknown CPU", cores=os.cpu_count(), torch=torch.__version__,
                torch_threads=torch.get_num_threads(), numpy=np.__version__, python=platform.python_version(),
                sklearn=importlib.metadata.version("scikit-learn") if HAS_SKLEARN else None,
                cuda_device=torch.cuda.get_device_name() if torch.cuda.is_available() else None)


def report(R, info, T, bw, cfg):
    titles = {"book": f"1. The book's problem: bmi → target, 442 samples × {cfg.book_epochs} epochs, float64",
              "synth": f"2. Synthetic: {cfg.synth_n:,} float64 samples × {cfg.synth_epochs} epochs "
                       "(x ~ N(0, 0.05²), y = 900x + 150 + 50·noise, lr = 1)",
              "neurons": f"3. {cfg.neurons:,} neurons (lr = 0.1 … 1.0) on the book's problem: one call vs "
                         "separate fits",
              "gpu": f"4. CUDA: {cfg.gpu_n:,} float32 samples × 100 epochs with the scan"}
    lines = [f"# torch_neuron benchmark: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
             f"({info['torch_threads']} threads), CUDA device: {info['cuda_device'] or 'none'}"]
    if cfg.quick:
        lines.append("\n**--quick: tiny sizes, one timed run each: this checks the script, not the speed.**")
    for wl, title in titles.items():
        rows = [r for r in R if r["workload"] == wl]
        lines += ["", f"## {title}", ""] + table(rows) if rows else []
    if bw:
        pct = f"{bw['pct_of_peak']:.1f}% of the card's peak {bw['peak_GBps']:,.0f} GB/s" if bw["peak_GBps"] \
            else "the card's peak is unknown"
        lines += ["", f"Epoch-map bandwidth (x and y read once: n·2·4 B / time): {bw['epoch_map_GBps']:,.0f} GB/s = "
                  f"{pct}; {bw['pct_of_clone']:.1f}% of a clone's {bw['clone_GBps']:,.0f} GB/s (read + written)."]
    lines += ["", "Median times. 'scaled' rows ran on a subset and are scaled linearly in samples × epochs (or fits). "
              "Peak memory: resident set sampled every 1 ms, above its level before the run (CPU), or "
              "torch.cuda.max_memory_allocated above the allocation before it (CUDA); for scaled rows, the subset's.",
              "", "## Targets", ""] + [f"- {t['text']}" for t in T]
    return "\n".join(lines) + "\n"


# ---- main -------------------------------------------------------------------------------------------------

def config(args):
    q = args.quick
    subs = ({"python": (2_000, 2), "numpy": (2_000, 2), "torch0d": (500, 2), "loop": (500, 2), "autograd": (200, 2)}
            if q else {"python": (20_000, 100), "numpy": (20_000, 100), "torch0d": (20_000, 5), "loop": (20_000, 5),
                       "autograd": (2_000, 10)})  # scikit-learn is fast enough to run the full size
    return argparse.Namespace(
        quick=q, skip_slow=args.skip_slow, sklearn=HAS_SKLEARN, slow_s=2.0, budget_s=1.0, max_runs=25,
        book_epochs=2 if q else 100, synth_n=20_000 if q else 1_000_000, synth_epochs=2 if q else 100, subs=subs,
        neurons=200 if q else 10_000, separate_k=4 if q else 100,
        gpu_n=min(args.gpu_samples, 1_000_000) if q else args.gpu_samples, clone_bytes=2**26 if q else 2**30)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one timed run each (default: off)")
    ap.add_argument("--device", choices=("cpu", "cuda", "all"), default="all",
                    help="where the torch code runs; baselines always run on the CPU (default: all = cpu, and cuda "
                         "when available)")
    ap.add_argument("--skip-slow", action="store_true",
                    help="leave out NumPy scalars, the 0-d torch loop and the loop/autograd engines (default: off)")
    ap.add_argument("--gpu-samples", type=int, default=100_000_000,
                    help="samples in workload 4, CUDA only (default: 100000000)")
    ap.add_argument("--json", metavar="PATH", help="write every result as JSON to PATH (default: none)")
    ap.add_argument("--markdown", metavar="PATH", help="write the tables as markdown to PATH (default: none)")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available here")
    return args


def main(argv=None):
    args = parse_args(argv)
    devices = [d for d in ("cpu", "cuda") if args.device in (d, "all") and (d == "cpu" or torch.cuda.is_available())]
    cfg, info, R = config(args), machine(), []
    d = tn.load_diabetes()
    x, y = d.data[:, 2], d.target
    if "cuda" in devices:  # pay CUDA's start-up (context, kernels) before anything is timed
        for make in (make_engine("auto"), make_engine("loop"), make_engine("autograd"), make_torch0d):
            make(x[:16].cuda(), y[:16].cuda(), 1)()
        torch.cuda.synchronize()
    print(f"devices: {', '.join(devices)}", file=sys.stderr)
    compare(R, cfg, "book", x, y, cfg.book_epochs, devices, {})
    compare(R, cfg, "synth", *synthetic(cfg.synth_n), cfg.synth_epochs, devices, cfg.subs)
    workload_neurons(R, cfg, x, y, devices)
    bw = workload_gpu(R, cfg) if "cuda" in devices else None
    add_ratios(R)
    T = targets(R, devices, bw)
    text = report(R, info, T, bw, cfg)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(machine=info, args=vars(args), devices=devices, results=R,
                                                   bandwidth=bw, targets=T), indent=1))


if __name__ == "__main__":
    main()
