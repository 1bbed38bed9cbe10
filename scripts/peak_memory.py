"""Peak memory of one default fit on n synthetic float64 samples, measured in a fresh process.

    python scripts/peak_memory.py [--n 1000000] [--epochs 100]

Prints how far the process's peak resident set (ru_maxrss) rose above its size just before the fit:
what the fit allocates beyond the data, which a long-running benchmark process (its allocator
caches warm) cannot show. Linux only (/proc).
"""
import argparse
import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import torch_neuron as tn  # noqa: E402


def current_rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="samples (default: 1000000)")
    p.add_argument("--epochs", type=int, default=100, help="epochs (default: 100)")
    args = p.parse_args()
    tn.Neuron(dtype=torch.float64).fit([0.1, 0.2], [1.0, 2.0])  # torch's one-off set-up, outside the measure
    g = torch.Generator().manual_seed(0)
    # made in place: temporaries here would raise the high-water mark and hide the fit's own peak
    x = torch.empty(args.n, dtype=torch.float64).normal_(0, 0.05, generator=g)
    y = torch.empty(args.n, dtype=torch.float64).normal_(0, 50, generator=g).add_(x, alpha=900).add_(150)
    before = current_rss_kib()
    tn.Neuron(dtype=torch.float64).fit(x, y, epochs=args.epochs)
    rise = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # ru_maxrss: KiB on Linux
    data = 2 * args.n * 8 / 2**20
    print(f"{args.n:,} float64 samples x {args.epochs} epochs: peak RSS rose {rise / 1024:.1f} MiB "
          f"during the fit ({rise * 1024 / args.n:.0f} B/sample; the data itself is {data:.1f} MiB)")


if __name__ == "__main__":
    main()
