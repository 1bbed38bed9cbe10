"""Peak memory of the default fit on n synthetic float64 samples, each size in a fresh process (Linux).

    python scripts/peak_memory.py [--sizes 1000000 4000000] [--epochs 100] [--json]

For each size, a new Python process makes the data, resets its resident-set high-water mark
(/proc/self/clear_refs), fits, and reports how far the peak rose above the size just before the fit:
what the fit allocates beyond the data, which a long-running process (its allocator caches warm)
cannot show. Two sizes show whether that rise is linear in n: rise ≈ a + slope·n.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def rise_during_fit(n, epochs):
    """Bytes the peak resident set rose during one Neuron.fit on n samples (run in a fresh process)."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
    import torch_neuron as tn

    tn.Neuron(dtype=torch.float64).fit([0.1, 0.2], [1.0, 2.0])  # torch's one-off set-up, outside the measure
    g = torch.Generator().manual_seed(0)
    # made in place: freed temporaries could stay mapped, and the fit reuse them unseen by the peak
    x = torch.empty(n, dtype=torch.float64).normal_(0, 0.05, generator=g)
    y = torch.empty(n, dtype=torch.float64).normal_(0, 50, generator=g).add_(x, alpha=900).add_(150)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS, so the peak below is this fit's, not the imports' or the data's
    before = status_kib("VmRSS")
    tn.Neuron(dtype=torch.float64).fit(x, y, epochs=epochs)
    return (status_kib("VmHWM") - before) * 1024


def measure(sizes, epochs):
    """{"runs": [{n, rise_bytes, bytes_per_sample}], "slope_bytes_per_sample", "intercept_bytes"}."""
    runs = []
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--epochs", str(epochs)], capture_output=True, text=True
        )
        if proc.returncode:
            raise RuntimeError(f"the fit of {n:,} samples failed: {proc.stderr.strip().splitlines()[-1:]}")
        rise = int(proc.stdout.split()[-1])
        runs.append(dict(n=n, rise_bytes=rise, bytes_per_sample=rise / n))
    fit = dict(runs=runs, epochs=epochs, data_bytes_per_sample=16)
    if len(runs) >= 2:  # the line through the smallest and largest size
        lo, hi = runs[0], runs[-1]
        fit["slope_bytes_per_sample"] = (hi["rise_bytes"] - lo["rise_bytes"]) / (hi["n"] - lo["n"])
        fit["intercept_bytes"] = lo["rise_bytes"] - fit["slope_bytes_per_sample"] * lo["n"]
    return fit


def describe(m):
    lines = [
        f"{r['n']:,} float64 samples × {m['epochs']} epochs: peak RSS rose {r['rise_bytes'] / 2**20:.1f} MiB "
        f"during the fit ({r['bytes_per_sample']:.1f} B/sample; the data itself is 16 B/sample)"
        for r in m["runs"]
    ]
    if "slope_bytes_per_sample" in m:
        lines.append(
            f"linear fit over the sizes: rise ≈ {m['intercept_bytes'] / 2**20:.1f} MiB "
            f"+ {m['slope_bytes_per_sample']:.1f} B × n (n samples)"
        )
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000_000, 4_000_000],
        help="sample counts, each fitted in its own process (default: 1000000 4000000)",
    )
    p.add_argument("--epochs", type=int, default=100, help="epochs (default: 100)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of text")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one size, prints its rise in bytes
    args = p.parse_args()
    if args.one is not None:
        print(rise_during_fit(args.one, args.epochs))
        return
    if min(args.sizes) < 1 or args.epochs < 0:
        p.error("--sizes must be positive and --epochs at least 0")
    m = measure(sorted(args.sizes), args.epochs)
    print(json.dumps(m) if args.json else "\n".join(describe(m)))


if __name__ == "__main__":
    main()
