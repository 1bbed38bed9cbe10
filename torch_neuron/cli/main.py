"""The torch-neuron command: train the book's neuron, check its backprop, predict with a saved one.

    torch-neuron train [--csv data.csv --x COL --y COL] [--epochs 100] [--lr 1.0] [--save m.pt] [--plot fit.png]
    torch-neuron check [--device auto] [--dtype float64]
    torch-neuron predict --load m.pt (--values 0.05 0.1 | --csv data.csv --x COL)

Errors of input (a missing device or file, a bad column or value, divergence, a missing optional extra)
print one line, `torch-neuron: error: …`, on stderr and exit with status 2; `check` exits 1 when a
check fails. Any other error is a bug and shows its traceback.

Under torchrun (torchrun --nproc-per-node N -m torch_neuron train …) each process fits its own part
of the data, a --csv file's byte range, with torch_neuron.distributed; rank 0 alone prints and writes.
"""

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

import torch

import torch_neuron as tn

from .. import distributed
from ..data.stream import read_column
from ..devices import get_device
from ..engines import choose_engine
from ..training import TrainingDiverged
from . import messages
from .modelfile import load, save
from .outputs import check_paths, written_together
from .parser import DTYPES, PROG, build_parser, data_file
from .train import fit_for_train, process_group


def train(args: argparse.Namespace) -> int:
    """train: fit, then print w, b, the final loss and the run's settings (or JSON); save and plot if asked.

    A --csv file is streamed in chunks (memory per chunk, not per file) unless the fit needs every sample
    at once (--shuffle, --engine loop or autograd, --animate). Under torchrun each rank fits its own
    part of the data (torch_neuron.distributed); rank 0 alone prints and writes files.
    """
    dtype = DTYPES[args.dtype]
    device = get_device(args.device, dtype=dtype)
    engine = choose_engine(args.engine)  # the engine's name: auto is scan
    data_file(args)
    if args.csv is None and args.parquet is None and (args.x is not None or args.y is not None):
        raise ValueError("--x and --y choose columns of a --csv or --parquet file; for the bundled data use --feature")
    if (args.csv is not None or args.parquet is not None) and (args.x is None or args.y is None):
        raise ValueError(f"{'--csv' if args.csv is not None else '--parquet'} needs --x COLUMN and --y COLUMN")
    if args.lang == "ko" and (args.plot or args.animate):
        from ..plot.fonts import korean_font_path

        korean_font_path()  # a missing font extra is an error before the fit, not after it
    outputs = dict(save=args.save, plot=args.plot, animate=args.animate)
    check_paths(**outputs)  # before the fit: a bad path costs nothing
    with process_group(device) as (device, rank, world):
        try:
            report = fit_for_train(args, dtype, device, engine, rank, world)
        except TrainingDiverged as e:  # reworded in the user's language; the picture is never drawn
            raise TrainingDiverged(messages.diverged(e, args.lang), e.neurons, e.total) from None
    if rank:
        return 0
    neuron = tn.Neuron(report.w, report.b, device=device, dtype=dtype)
    x, y, history, n, seconds, loss = report.x, report.y, report.history, report.n, report.seconds, report.loss
    xname, yname = report.names
    w, b = neuron.w.item(), neuron.b.item()

    with written_together(**outputs) as temp:  # every file, or none
        if args.save:
            save(neuron, temp["save"])
        if args.plot:
            from ..plot import plot_fit, run_title  # matplotlib only when a picture is asked for

            assert history is not None  # fit_for_train keeps the history for --plot
            plot_fit(
                temp["plot"],
                x,
                y,
                history,
                w0=1.0,
                b0=1.0,
                xlabel=xname,
                ylabel=yname,
                lang=args.lang,
                title=run_title(xname, yname, args.epochs, args.lr, args.batch_size, lang=args.lang),
            )
        if args.animate:
            from ..plot import animate_fit

            assert history is not None  # fit_for_train keeps the history for --animate
            animate_fit(
                temp["animate"],
                x,
                y,
                history,
                lr=args.lr,
                batch_size=args.batch_size,
                xlabel=xname,
                ylabel=yname,
                lang=args.lang,
            )
    result = dict(
        w=w,
        b=b,
        loss=loss,
        device=str(neuron.w.device),
        dtype=args.dtype,
        epochs=args.epochs,
        engine=engine,
        seconds=seconds,
        n=n,
        lr=args.lr,
        batch_size=args.batch_size,
        shuffle=args.shuffle,
        seed=args.seed,
        x=xname,
        y=yname,
        save=args.save,
        plot=args.plot,
        animate=args.animate,
    )
    if world:
        result["world_size"] = world
    if report.how:  # how the file was read: its format, delimiter (sniffed or given) and encoding
        result["file"] = dict(path=str(data_file(args)), read=report.how)
    if args.json:
        print(json.dumps(result))
    elif not args.quiet:
        t = messages.WORDS[args.lang]
        print(f"w = {w!r}\nb = {b!r}\n" + t["loss"].format(loss=loss))
        print(t["data"].format(x=xname, y=yname, n=n))
        if report.how:
            print(t["file"].format(path=data_file(args), how=report.how))
        print(
            t["run"].format(
                device=result["device"],
                dtype=args.dtype,
                engine=engine,
                epochs=args.epochs,
                lr=args.lr,
                batch=args.batch_size,
                shuffled=t["shuffled"] if args.shuffle else "",
            )
        )
        took = f"{seconds:.3f} s" if seconds >= 1 else f"{seconds * 1e3:.2f} ms"
        print(t["time"].format(took=took, reading=t["reading"] if data_file(args) else ""))
        for what, path in (("saved", args.save), ("plot", args.plot), ("animation", args.animate)):
            if path:
                print(t[what].format(path=path))
    return 0


def check(args: argparse.Namespace) -> int:
    """check: run every self-check, print a table (or JSON); exit 0 if all pass, else 1."""
    from .selfcheck import run_checks  # torch.func and gradcheck only for this command

    dtype = DTYPES[args.dtype]
    device = get_device(args.device, dtype=dtype)
    start = time.perf_counter()
    results = run_checks(device, dtype)
    seconds = time.perf_counter() - start
    ok = all(r.passed for r in results)
    if args.json:
        checks = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r._asdict().items()}
            for r in results
        ]  # NaN is not JSON: gradcheck reports no error size
        print(json.dumps(dict(device=str(device), dtype=args.dtype, passed=ok, seconds=seconds, checks=checks)))
        return 0 if ok else 1
    width = max(len(r.name) for r in results)
    # the tolerance bounds the max rel err (selfcheck.compare); gradcheck rows report no error, only its atol
    print(f"{'check':<{width}}  {'max abs err':>11}  {'max rel err':>11}  {'tolerance':>11}  result")
    for r in results:
        tol = f"{'atol' if math.isnan(r.max_rel_err) else 'rel'} {r.tolerance:.2g}"
        print(
            f"{r.name:<{width}}  {_num(r.max_abs_err):>11}  {_num(r.max_rel_err):>11}  {tol:>11}  "
            f"{'PASS' if r.passed else 'FAIL'}"
        )
        if r.catches:  # what a failure here would mean, and what this row cannot see
            print(f"    catches: {r.catches}; blind to: {r.blind_to}")
    failed = sum(not r.passed for r in results)
    verdict = f"all {len(results)} checks passed" if ok else f"{failed} of {len(results)} checks FAILED"
    print(f"{verdict} on {device}, {args.dtype} ({seconds:.1f} s)")
    return 0 if ok else 1


def _num(v):
    return "-" if math.isnan(v) else f"{v:.3g}"


def predict(args: argparse.Namespace) -> int:
    """predict: y_hat = w·x + b of a saved neuron, one line per x (or JSON)."""
    dtype = DTYPES[args.dtype] if args.dtype else None
    # files are float64 unless saved otherwise, so without --dtype, auto passes over MPS (it has no float64)
    device = get_device(args.device, dtype=dtype or torch.float64)
    neuron = load(args.load, device=device, dtype=dtype)
    path = data_file(args)
    if (path is None) == (args.values is None):
        raise ValueError(
            "give the x values with --values X [X ...], or a file with --csv PATH (or --parquet PATH) "
            "and its column with --x COLUMN"
        )
    if path is not None:
        if args.x is None:
            raise ValueError(f"{'--csv' if args.csv is not None else '--parquet'} needs --x COLUMN")
        _, x = read_column(
            path, args.x, parquet=args.parquet is not None, encoding=args.encoding, delimiter=args.delimiter
        )
    else:
        if args.x is not None:
            raise ValueError("--x names a column of a --csv or --parquet file; for numbers use --values")
        x = torch.tensor([_number(v) for v in args.values], dtype=torch.float64)
    y_hat = neuron.predict(x.to(device=device, dtype=neuron.w.dtype)).tolist()
    if args.json:
        print(
            json.dumps(
                dict(
                    w=neuron.w.item(),
                    b=neuron.b.item(),
                    device=str(neuron.w.device),
                    dtype=str(neuron.w.dtype).replace("torch.", ""),
                    x=x.tolist(),
                    predictions=y_hat,
                )
            )
        )
    else:
        print("\n".join(map(repr, y_hat)))
    return 0


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--values: {text!r} is not a number") from None


# What bad input raises: a bad value, file or setting (ValueError; ModelFileError is one, and an error
# every rank agreed on), a file the system refuses (OSError), an lr that diverges, data too big for memory.
BAD_INPUT = (ValueError, OSError, TrainingDiverged, MemoryError, torch.cuda.OutOfMemoryError)


def _bad_input(error):
    """Whether the user's input caused the error (one line, status 2), not a bug (a traceback)."""
    if isinstance(error, ImportError):  # an optional extra not installed: its message says how to install it
        return "pip install" in str(error)
    return isinstance(error, BAD_INPUT)


def _one_line(error):
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command in argv (default: sys.argv[1:]) and exit with its status: 0 ok, 1 a check failed, 2 an error."""
    args = build_parser().parse_args(argv)
    try:
        code = {"train": train, "check": check, "predict": predict}[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
    except BrokenPipeError:  # `torch-neuron … | head`: the reader left; stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush cannot fail
        code = 1
    except Exception as e:
        if not _bad_input(e):
            raise  # a bug: its traceback is what a report needs
        if os.environ.get("RANK", "0") == "0" or not distributed.launched():  # under torchrun rank 0 says it
            print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
