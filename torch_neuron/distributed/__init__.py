"""The exact sharded fit over a torch.distributed group, and the process-group plumbing it runs on."""

from .group import ERRORS, Comm, check_all, init, launched, traffic
from .sharded import fit, fit_chunks, gather_moments

__all__ = ["fit", "fit_chunks", "gather_moments", "Comm", "check_all", "init", "launched", "traffic", "ERRORS"]
