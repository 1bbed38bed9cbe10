"""A progress bar on stderr for long fits (tqdm when installed), or nothing."""

import sys
from typing import Any


class Silent:
    """Stands in for a progress bar: counts nothing, prints nothing.

    tqdm is an optional extra ([progress]); this is what runs without it, and when no bar is asked for
    (importing tqdm.auto only to build a disabled bar would cost its import on every fit's first call).
    """

    def update(self, n: float = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, enabled: bool, desc: str = "fit") -> Any:
    """A tqdm bar over `total` epochs on stderr when enabled and tqdm is installed; else Silent()."""
    if not enabled:
        return Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return Silent()
    return tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, leave=False)
