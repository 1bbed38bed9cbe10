"""The files a command writes: every path checked before the work starts, all of them written at the end, or none."""

import contextlib
import os
import tempfile
from collections.abc import Iterator


def check_paths(**paths: str | None) -> None:
    """Each given path can be written: its folder exists and is writable, and it is not a folder itself."""
    for option, path in paths.items():
        if path is None:
            continue
        flag = f"--{option}"
        if not path or os.path.isdir(path):
            raise ValueError(f"{flag} {path!r}: a file name is needed, not a folder")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ValueError(f"{flag} {path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise ValueError(f"{flag} {path}: the folder {folder} is not writable")


@contextlib.contextmanager
def written_together(**paths: str | None) -> Iterator[dict[str, str]]:
    """Temporary files beside the given paths (same suffix, so writers pick the same format), moved into place
    together when the block ends without error; on an error they are removed and nothing is left behind."""
    temps: dict[str, str] = {}
    try:
        for option, path in paths.items():
            if path is not None:
                stem, suffix = os.path.splitext(os.path.basename(path))
                fd, temps[option] = tempfile.mkstemp(
                    prefix=f".{stem}.", suffix=suffix, dir=os.path.dirname(os.path.abspath(path))
                )
                os.close(fd)
        yield temps
        for option, temp in temps.items():
            os.replace(temp, paths[option])  # type: ignore[arg-type]  # the same keys, each a path
        temps.clear()
    finally:
        for temp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(temp)
