"""The process-group plumbing of the sharded fit: start-up from torchrun, counted collectives, and agreement.

Agreement is how a rank's bad input stops every rank promptly instead of leaving them waiting:
every rank sends its status (and its error message) in one all_gather before any collective that
would otherwise wait for it, and if any rank failed, every rank raises that same error.
"""

import datetime
import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist

# How long a collective waits for the slowest rank (torch's default: 30 minutes). Ranks reach each
# collective together (balanced shards; bad input is agreed on, never waited out), so a rank this late
# has died or hung. Raise it (seconds, TORCH_NEURON_TIMEOUT) when ranks read from slow storage.
TIMEOUT = datetime.timedelta(seconds=float(os.environ.get("TORCH_NEURON_TIMEOUT", "60")))
MESSAGE_BYTES = 400  # of a rank's error message, sent to every rank with its status
ERRORS = (ValueError, TypeError, OSError)  # what bad input raises; agreed on, so every rank raises it


class Traffic:
    """What this rank handed to collectives since the last reset: calls, and bytes bound for other ranks.

    all_gather counts its input once per other rank; all_to_all_single the rows it sends to others.
    """

    def __init__(self) -> None:
        self.calls = self.bytes = 0

    def reset(self) -> None:
        self.calls = self.bytes = 0


traffic = Traffic()


def launched() -> bool:
    """True when torchrun (or another launcher) has set the environment of a process group."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def init(device: Any = "cpu") -> bool:
    """Initialise the default group from torchrun's environment (gloo for CPU, NCCL for CUDA) unless one is.

    Returns True when it made one: the caller then ends it with torch.distributed.destroy_process_group().
    """
    if dist.is_initialized():
        return False
    if not launched():
        raise ValueError(
            "no process group: start the processes with torchrun, or call torch.distributed.init_process_group first"
        )
    if torch.device(device).type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # one GPU per process
        dist.init_process_group("nccl", timeout=TIMEOUT)
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return True


class Comm:
    """A group's collectives on its backend's device (CUDA for NCCL, else the CPU), counted in `traffic`."""

    def __init__(self, group: "dist.ProcessGroup | None" = None, device: Any = "cpu") -> None:
        init(device)  # when there is no group yet: from torchrun's environment
        self.group = group
        self.rank, self.world = dist.get_rank(group), dist.get_world_size(group)
        nccl = "nccl" in str(dist.get_backend(group))
        self.device = torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")

    def all_gather(self, t: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's t (one shape on all ranks, never empty: gloo aborts on those), in rank order."""
        t = t.to(self.device).contiguous()
        out = [torch.empty_like(t) for _ in range(self.world)]  # gloo: a list, not all_gather_into_tensor
        dist.all_gather(out, t, group=self.group)
        traffic.calls += 1
        traffic.bytes += t.numel() * t.element_size() * (self.world - 1)
        return out

    def all_to_all(self, rows: torch.Tensor, recv: list[int], send: list[int]) -> torch.Tensor:
        """Rows (k, c) out to the ranks in order, send[r] to rank r → the rows received, recv[r] from rank r."""
        device = rows.device
        rows = rows.to(self.device).contiguous()
        out = rows.new_empty(sum(recv), rows.shape[1])
        dist.all_to_all_single(out, rows, recv, send, group=self.group)
        traffic.calls += 1
        traffic.bytes += (sum(send) - send[self.rank]) * rows.shape[1] * rows.element_size()
        return out.to(device)

    def agree(self, error: BaseException | None, numbers: Sequence[int] = ()) -> list[list[int]]:
        """Every rank's `numbers` (lists of ints), once every rank knows that none failed.

        error: this rank's exception (one of ERRORS) or None. One all_gather carries each rank's
        status, numbers and message; if any rank failed, every rank raises the first failed rank's
        error, of the same type and naming that rank.
        """
        text = b"" if error is None else str(error).encode()[:MESSAGE_BYTES]
        status = 0 if error is None else 1 + next(i for i, kind in enumerate(ERRORS) if isinstance(error, kind))
        head = torch.tensor([status, len(text), *numbers], dtype=torch.int64).view(torch.uint8)
        message = torch.zeros(MESSAGE_BYTES, dtype=torch.uint8)
        message[: len(text)] = torch.tensor(list(text), dtype=torch.uint8)
        rows = [r.cpu() for r in self.all_gather(torch.cat((head, message)))]
        table = [r[: len(head)].view(torch.int64).tolist() for r in rows]
        failed = [r for r, row in enumerate(table) if row[0]]
        if failed:
            r = failed[0]
            said = bytes(rows[r][len(head) : len(head) + table[r][1]].tolist()).decode(errors="replace")
            also = f" (and on rank{'s' * (len(failed) > 2)} {', '.join(map(str, failed[1:]))})" if failed[1:] else ""
            raise ERRORS[table[r][0] - 1](f"rank {r} of {self.world}: {said}{also}") from error  # this rank's cause
        return [row[2:] for row in table]

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Every rank's rows (k_r, c), k_r ≥ 0, concatenated in rank order, on every rank."""
        counts = [int(c[0]) for c in self.all_gather(torch.tensor([rows.shape[0]]))]
        most = max(counts)
        if not most:
            return rows
        padded = torch.cat((rows, rows.new_zeros(most - rows.shape[0], *rows.shape[1:])))
        return torch.cat([part[:c].to(rows.device) for part, c in zip(self.all_gather(padded), counts)])


def check_all(error: BaseException | None, group: "dist.ProcessGroup | None" = None) -> None:
    """Raise on every rank the first rank's error if any rank had one (error: this rank's, or None)."""
    Comm(group).agree(error)
