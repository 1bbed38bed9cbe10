"""Files at the speed of the disk: `torch-neuron train` on a 10M-row CSV and Parquet file, beside Arrow alone.

    python scripts/bench_files.py                       # 10M rows of x,y in a temporary folder; prints the rows
    python scripts/bench_files.py --rows 1000000 --repeats 1 --markdown files.md --json files.json

Each command runs in a fresh process, best of --repeats; its peak memory is the process's maximum resident
set (getrusage of a wrapper process whose only child it is). "Beyond the bundled run" subtracts `torch-neuron train --quiet` on the bundled data (Python,
torch and the package starting up). The targets (issue 17) are printed as MET or NOT MET:
  train --csv beyond the bundled run ≤ 1.3× pyarrow.csv.open_csv streaming the same file (and ≤ 0.5× pandas.read_csv,
  a peer row when pandas is installed); train --parquet beyond the bundled run ≤ 1.0 s; peak memory beyond the
  bundled run ≤ 100 MB for either; under torchrun with 2 processes each rank parses only its own byte range.
Also measured: --shuffle on --shuffle-rows rows, in one process and under torchrun with 2 (samples move every epoch).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TRAIN = [PY, "-m", "torch_neuron", "train", "--quiet"]
TORCHRUN = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]

ARROW_CSV = """
import sys, time, pyarrow as pa, pyarrow.csv as c
t = time.perf_counter(); n = 0
for b in c.open_csv(sys.argv[1], convert_options=c.ConvertOptions(column_types={"x": pa.float64(), "y": pa.float64()})):
    n += b.num_rows
print(time.perf_counter() - t)
"""
ARROW_PARQUET = """
import sys, time, pyarrow.parquet as pq
t = time.perf_counter(); n = 0
for b in pq.ParquetFile(sys.argv[1]).iter_batches(columns=["x", "y"]):
    n += b.num_rows
print(time.perf_counter() - t)
"""
PANDAS = """
import sys, time, pandas
t = time.perf_counter(); frame = pandas.read_csv(sys.argv[1], dtype="float64")
print(time.perf_counter() - t)
"""


def make_files(folder, rows, seed=0):
    """rows of x, y = 3x + 2 + noise as CSV (written by Arrow: shortest round-trip digits) and Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    g = np.random.default_rng(seed)
    x = g.random(rows) * 2 - 1
    table = pa.table({"x": x, "y": 3 * x + 2 + 0.5 * g.standard_normal(rows)})
    csv, parquet = folder / f"xy{rows}.csv", folder / f"xy{rows}.parquet"
    pacsv.write_csv(table, csv, pacsv.WriteOptions(quoting_style="none"))
    pq.write_table(table, parquet)
    return csv, parquet


def run(command, env=None):
    """(seconds, nan, stdout) of a command in a fresh process; its failure ends the bench with its stderr."""
    start = time.perf_counter()
    done = subprocess.run(
        list(map(str, command)),
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})),
    )
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stderr}")
    return time.perf_counter() - start, float("nan"), done.stdout


def best(command, repeats, env=None):
    """The fastest of `repeats` runs: (seconds, its peak MB, stdout)."""
    return min((run_with_peak(command, env) for _ in range(repeats)), key=lambda r: r[0])


def run_with_peak(command, env=None):
    """run(), with the peak memory of the process tree read by the child itself (resource of its children)."""
    wrapped = [
        PY,
        "-c",
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "s = time.perf_counter() - t\n"
        "sys.stderr.write(p.stderr); print(s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
        "print(p.stdout, end=''); sys.exit(p.returncode)",
        *map(str, command),
    ]
    _, _, out = run(wrapped, env)
    head, _, rest = out.partition("\n")
    seconds, peak = map(float, head.split())
    return seconds, peak, rest


def rank_bytes(path):
    """Under torchrun: this rank's part of the CSV, read through csv_chunks(shard=True); one JSON line."""
    import torch.distributed as dist

    sys.path.insert(0, str(ROOT))
    from torch_neuron.data import csv_chunks

    dist.init_process_group("gloo")
    start = time.perf_counter()
    stream = csv_chunks(path, "x", "y", shard=True)
    rows = sum(len(x) for x, _ in stream)
    stats = stream.source.stats
    print(
        json.dumps(
            dict(
                rank=dist.get_rank(),
                scanned=stats["bytes_scanned"],
                parsed=stats["bytes_read"],
                rows=rows,
                part=list(stream.part),
                seconds=time.perf_counter() - start,
            )
        )
    )
    dist.destroy_process_group()


def verdict(ok):
    return "MET" if ok else "NOT MET"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="rows of the file (default: 10,000,000)")
    p.add_argument("--shuffle-rows", type=int, default=2_000_000, help="rows of the --shuffle file (default: 2M)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each command, the fastest kept (default: 3)")
    p.add_argument("--dir", help="folder for the files (default: a temporary one, removed after)")
    p.add_argument("--skip-torchrun", action="store_true", help="no torchrun rows")
    p.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown here")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    p.add_argument("--rank-bytes", metavar="PATH", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rank_bytes:
        return rank_bytes(args.rank_bytes)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench_files_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return bench(args, folder)
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)


def bench(args, folder):
    print(f"writing {args.rows:,} rows into {folder} …", file=sys.stderr)
    csv, parquet = make_files(folder, args.rows)
    mb = lambda path: path.stat().st_size / 1e6  # noqa: E731
    r, rows = args.repeats, []
    bundled = best(TRAIN, r)
    train_csv = best(TRAIN + ["--csv", csv, "--x", "x", "--y", "y"], r)
    train_parquet = best(TRAIN + ["--parquet", parquet, "--x", "x", "--y", "y"], r)
    arrow_csv = min(float(run([PY, "-c", ARROW_CSV, csv])[2]) for _ in range(r))
    arrow_parquet = min(float(run([PY, "-c", ARROW_PARQUET, parquet])[2]) for _ in range(r))
    try:
        import pandas  # noqa: F401

        pandas_csv = min(float(run([PY, "-c", PANDAS, csv])[2]) for _ in range(r))
    except ImportError:
        pandas_csv = None
    beyond_csv, beyond_parquet = train_csv[0] - bundled[0], train_parquet[0] - bundled[0]
    peak_csv, peak_parquet = train_csv[1] - bundled[1], train_parquet[1] - bundled[1]
    rows += [
        ("bundled data: torch-neuron train --quiet", f"{bundled[0]:.2f} s", f"{bundled[1]:.0f} MB peak", ""),
        (f"train --csv ({mb(csv):.0f} MB), beyond the bundled run", f"{beyond_csv:.2f} s", f"+{peak_csv:.0f} MB", ""),
        ("pyarrow.csv.open_csv alone, streaming the file", f"{arrow_csv:.2f} s", "", ""),
        (
            "  target: train --csv beyond bundled <= 1.3x pyarrow alone",
            f"{beyond_csv / arrow_csv:.2f}x",
            "",
            verdict(beyond_csv <= 1.3 * arrow_csv),
        ),
    ]
    if pandas_csv is not None:
        rows += [
            ("pandas.read_csv(dtype=float64), peer", f"{pandas_csv:.2f} s", "", ""),
            (
                "  target: train --csv beyond bundled <= 0.5x pandas",
                f"{beyond_csv / pandas_csv:.2f}x",
                "",
                verdict(beyond_csv <= 0.5 * pandas_csv),
            ),
        ]
    rows += [
        (
            f"train --parquet ({mb(parquet):.0f} MB), beyond the bundled run",
            f"{beyond_parquet:.2f} s",
            f"+{peak_parquet:.0f} MB",
            verdict(beyond_parquet <= 1.0) + " (<= 1.0 s)",
        ),
        ("pyarrow.parquet iter_batches alone", f"{arrow_parquet:.2f} s", "", ""),
        (
            "  target: peak memory beyond bundled <= 100 MB, CSV / Parquet",
            f"+{peak_csv:.0f} / +{peak_parquet:.0f} MB",
            "",
            verdict(max(peak_csv, peak_parquet) <= 100),
        ),
    ]
    figures = dict(
        rows=args.rows,
        csv_mb=mb(csv),
        parquet_mb=mb(parquet),
        bundled_s=bundled[0],
        bundled_mb=bundled[1],
        train_csv_s=train_csv[0],
        train_csv_mb=train_csv[1],
        train_parquet_s=train_parquet[0],
        train_parquet_mb=train_parquet[1],
        arrow_csv_s=arrow_csv,
        arrow_parquet_s=arrow_parquet,
        pandas_csv_s=pandas_csv,
    )
    if not args.skip_torchrun:
        try:
            rows += torchrun_rows(args, folder, csv, figures)
        except SystemExit as e:  # the rows measured so far are still worth printing
            rows.append(("torchrun rows: failed", "", "", str(e).splitlines()[0]))
    print_table(rows, args, figures)


def torchrun_rows(args, folder, csv, figures):
    rows = []
    done = run(TORCHRUN + [__file__, "--rank-bytes", csv])[2]
    ranks = sorted((json.loads(line) for line in done.splitlines() if line.startswith("{")), key=lambda d: d["rank"])
    size = csv.stat().st_size
    for d in ranks:
        rows.append(
            (
                f"torchrun, 2 processes: rank {d['rank']} scanned / parsed",
                f"{d['scanned'] / 1e6:.1f} / {d['parsed'] / 1e6:.1f} MB",
                f"{d['rows']:,} rows",
                "",
            )
        )
    ok = (
        len(ranks) == 2
        and all(d["parsed"] <= 0.55 * size for d in ranks)
        and sum(d["rows"] for d in ranks) == args.rows
    )
    rows.append(
        (f"  target: each rank parses only its own range (of the file's {size / 1e6:.0f} MB)", "", "", verdict(ok))
    )
    two = min(
        run(TORCHRUN + ["-m", "torch_neuron", "train", "--quiet", "--csv", csv, "--x", "x", "--y", "y"])[0]
        for _ in range(args.repeats)
    )
    rows.append(("torchrun, 2 processes: train --csv, wall time", f"{two:.2f} s", "", ""))
    shuffle_csv, _ = make_files(folder, args.shuffle_rows, seed=1)
    argv = ["--csv", shuffle_csv, "--x", "x", "--y", "y", "--shuffle"]
    one = min(run(TRAIN + argv)[0] for _ in range(args.repeats))
    both = min(run(TORCHRUN + ["-m", "torch_neuron", "train", "--quiet", *argv])[0] for _ in range(args.repeats))
    rows += [
        (f"train --shuffle, {args.shuffle_rows:,} rows, one process", f"{one:.2f} s", "", ""),
        (
            "  the same under torchrun, 2 processes",
            f"{both:.2f} s",
            f"{both / one:.2f}x",
            "pays" if both < one else "does not pay",
        ),
    ]
    figures.update(ranks=ranks, torchrun_csv_s=two, shuffle_one_s=one, shuffle_torchrun2_s=both)
    return rows


def print_table(rows, args, figures):
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>16}  {r[2]:>16}  {r[3]}".rstrip() for r in rows]
    print("\n".join(lines))
    if args.markdown:
        md = ["| | time | memory / note | target |", "|---|--:|--:|---|"]
        md += [f"| {r[0].strip()} | {r[1]} | {r[2]} | {r[3]} |" for r in rows]
        Path(args.markdown).write_text("\n".join(md) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(figures, table=rows), indent=1))


if __name__ == "__main__":
    main()
