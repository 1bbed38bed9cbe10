#!/usr/bin/env python
"""How long one redraw of the live explorer takes: what a slider move costs (goal: under 100 ms).

    python scripts/explore_timing.py                     # the book's data, lr swept, median and quartiles
    python scripts/explore_timing.py --lang ko
    python scripts/explore_timing.py --screenshots docs  # also writes docs/explore_lr0.1.png, …_lr1.png, …_lr2.5.png

A redraw is what a slider's callback does: Explorer.update (tn.fit with history, the three panels drawn anew
on the same Axes) and Explorer.png (the Agg canvas drawn and PNG-encoded for the ipywidgets.Image). Wall time
and this process's CPU time are both printed: on a shared machine the wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # runs from a checkout without installing

import torch_neuron as tn  # noqa: E402
from torch_neuron.plot.explorer import Explorer  # noqa: E402

SCREENSHOTS = (("0.1", 0.1), ("1", 1.0), ("2.5", 2.5))  # a crawl, the book's limit cycle, a blow-up


def settings_sweep(n: int) -> list[dict]:
    """n slider positions as a reader might visit them: lr up and down its log scale, some other batch sizes,
    shuffled runs and a few divergent lr among them."""
    lrs = [0.01 * 400 ** (k / max(n - 1, 1)) for k in range(n)]  # 0.01 … 4 geometrically, like the slider
    batches = (1, 1, 1, 10, 50, 442)
    return [
        dict(lr=round(lr, 3), batch_size=batches[k % len(batches)], shuffle=k % 5 == 4, seed=k)
        for k, lr in enumerate(lrs)
    ]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return q1, median, q3


def main(argv: list[str] | None = None) -> int:
    """Time the redraws and print one line per part; with --screenshots, write the three PNGs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "ko"), default="en")
    parser.add_argument("--redraws", type=int, default=40, help="slider positions timed (after 3 warm-up redraws)")
    parser.add_argument("--screenshots", metavar="DIR", help="write explore_lr{0.1,1,2.5}.png there")
    parser.add_argument("--dpi", type=int, default=80, help="the screenshots' dpi (the explorer draws at 72)")
    args = parser.parse_args(argv)

    data = tn.load_diabetes()
    x, y = data.data[:, 2], data.target
    explorer = Explorer(x, y, xlabel="bmi", ylabel="target", lang=args.lang)
    for settings in settings_sweep(3):  # warm-up: fonts loaded, caches filled
        explorer.update(**settings)
        explorer.png()
    wall = {"update": [], "png": [], "redraw": []}
    cpu = []
    diverged = 0
    for settings in settings_sweep(args.redraws):
        c0, t0 = time.process_time(), time.perf_counter()
        diverged += explorer.update(**settings).diverged
        t1 = time.perf_counter()
        explorer.png()
        t2, c2 = time.perf_counter(), time.process_time()
        wall["update"].append(t1 - t0)
        wall["png"].append(t2 - t1)
        wall["redraw"].append(t2 - t0)
        cpu.append(c2 - c0)
    print(
        f"explorer redraw, the book's data (442 samples, 100 epochs), lang={args.lang}, "
        f"{args.redraws} settings ({diverged} diverged), ms:"
    )
    for name, values in wall.items():
        q1, median, q3 = (1e3 * v for v in quartiles(values))
        print(f"  {name:<7} wall  median {median:6.1f}   quartiles {q1:6.1f} … {q3:6.1f}")
    q1, median, q3 = (1e3 * v for v in quartiles(cpu))
    print(f"  redraw  cpu   median {median:6.1f}   quartiles {q1:6.1f} … {q3:6.1f}   (this process's CPU time)")
    median = 1e3 * statistics.median(wall["redraw"])
    print(f"goal < 100 ms: {'met' if median < 100 else 'not met'} (median wall {median:.0f} ms)")

    if args.screenshots:
        folder = Path(args.screenshots)
        folder.mkdir(parents=True, exist_ok=True)
        shots = Explorer(x, y, xlabel="bmi", ylabel="target", lang=args.lang, dpi=args.dpi)
        for name, lr in SCREENSHOTS:
            drawn = shots.update(lr=lr)
            path = folder / f"explore_lr{name}.png"
            path.write_bytes(shots.png())
            print(f"{path}: {drawn.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
