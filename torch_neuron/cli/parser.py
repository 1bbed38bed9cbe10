"""The command line's arguments: torch-neuron and its subcommands train, check and predict (argparse)."""

import argparse
from typing import NoReturn

import torch

import torch_neuron as tn

PROG = "torch-neuron"
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def files(p: argparse.ArgumentParser) -> None:
    """The options of how a --csv file is read."""
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="with --csv: the file's text encoding, e.g. cp949 for "
        "Korean Excel (default: UTF-8, or what a byte-order mark says)",
    )
    p.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="with --csv: the character between cells, e.g. ';' or "
        "'\\t' (default: sniffed from the header, one of , ; tab |)",
    )


def data_file(args: argparse.Namespace) -> str | None:
    """The --csv or --parquet path given (None: neither); both at once, or CSV options for Parquet, are errors."""
    if args.csv is not None and args.parquet is not None:
        raise ValueError("give --csv or --parquet, not both")
    if args.csv is None and (args.encoding is not None or args.delimiter is not None):
        raise ValueError("--encoding and --delimiter say how to read a --csv file")
    return args.csv if args.csv is not None else args.parquet


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> Parser:
    """The argument parser of torch-neuron and its three subcommands."""
    # help text is ASCII: a console or pipe that is not UTF-8 can still print it
    parser = Parser(prog=PROG, description="The linear-regression neuron of 'Do it! Deep Learning' (ch. 3) in PyTorch.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {tn.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,check,predict}")

    def common(p: argparse.ArgumentParser, dtype_default: str | None = "float64") -> None:
        p.add_argument(
            "--device",
            default="auto",
            metavar="NAME",
            help="auto, cpu, cuda, cuda:N or mps; auto picks CUDA, then MPS, then CPU (default: auto)",
        )
        p.add_argument(
            "--dtype",
            choices=DTYPES,
            default=dtype_default,
            help=f"floating-point type (default: {dtype_default or 'that of the model file'})",
        )
        p.add_argument("--json", action="store_true", help="print one JSON object instead of text (default: off)")

    t = sub.add_parser(
        "train",
        help="fit w and b by per-sample gradient descent, as the book does",
        description="Fit y_hat = w*x + b by gradient descent on 1/2 (y - y_hat)^2, from w = b = 1. "
        "Data: the bundled diabetes set (x = one feature, y = target), or a CSV or Parquet file.",
    )
    t.add_argument(
        "--feature",
        default="bmi",
        metavar="NAME|INDEX",
        help="feature of the bundled diabetes data used as x (default: bmi)",
    )
    t.add_argument(
        "--csv",
        metavar="PATH",
        help="train on this CSV file (header row required; - reads standard input) instead, streamed (default: none)",
    )
    t.add_argument("--parquet", metavar="PATH", help="train on this Parquet file instead, streamed (default: none)")
    t.add_argument("--x", metavar="COLUMN", help="with --csv or --parquet: the x column, by header name or index")
    t.add_argument("--y", metavar="COLUMN", help="with --csv or --parquet: the y column, by header name or index")
    files(t)
    t.add_argument("--epochs", type=int, metavar="N", default=100, help="passes over the data (default: 100)")
    t.add_argument("--lr", type=float, metavar="LR", default=1.0, help="learning rate (default: 1.0)")
    t.add_argument(
        "--batch-size", type=int, metavar="N", default=1, help="samples per update; 1 is the book's (default: 1)"
    )
    t.add_argument("--shuffle", action="store_true", help="a new seeded order of the samples each epoch (default: off)")
    t.add_argument("--seed", type=int, metavar="N", default=0, help="seed of the shuffle (default: 0)")
    t.add_argument(
        "--engine",
        choices=tn.ENGINE_NAMES,
        default="auto",
        help="how to run the updates; auto is scan, the fastest (default: auto)",
    )
    common(t)
    t.add_argument(
        "--plot", metavar="PATH", help="save a PNG of the data, the loss and the path of (w, b) (default: none)"
    )
    t.add_argument(
        "--animate",
        metavar="PATH",
        help="save an animated GIF of the descent: the line over the data, "
        "(w, b) over the loss surface, step by step in epoch 1, then by epoch (default: none)",
    )
    t.add_argument(
        "--lang",
        choices=("en", "ko"),
        default="en",
        help="language of the printed text and the pictures; Korean pictures need "
        "pip install 'torch_neuron[ko]' (default: en)",
    )
    t.add_argument("--save", metavar="PATH", help="save the fitted w and b (a state_dict) here (default: none)")
    t.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors, no progress bar (default: off)"
    )

    c = sub.add_parser(
        "check",
        help="check the hand-written backprop against autograd, and the engines",
        description="Run the self-checks; exit 0 only if every one passes.",
    )
    common(c)

    p = sub.add_parser(
        "predict",
        help="predict y for new x with a saved neuron",
        description="Print y_hat = w*x + b, one line per x, for a neuron saved by train --save.",
    )
    p.add_argument("--load", metavar="PATH", required=True, help="the model file written by train --save")
    p.add_argument("--values", metavar="X", nargs="+", help="the x values to predict for (default: none)")
    p.add_argument("--x", metavar="COLUMN", help="with --csv or --parquet: the x column, by header name or index")
    p.add_argument("--csv", metavar="PATH", help="read the x values from this CSV file (header row required)")
    p.add_argument("--parquet", metavar="PATH", help="read the x values from this Parquet file")
    files(p)
    common(p, dtype_default=None)
    return parser
