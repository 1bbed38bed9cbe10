"""Byte streams for the CSV reader: n bytes at a time from a file, a pipe or standard input, and text in an
encoding that is not ASCII-compatible (UTF-16 and the like) read as UTF-8."""

import codecs
import sys
from collections.abc import Callable
from typing import Any

from . import csv_text as text


def read_text(stream: Any, n: int, display: str, encoding: str) -> bytes:
    """stream.read(n), with a file that does not decode (UTF-16 and the like) as a one-line error."""
    return decoded(stream.read, n, display=display, encoding=encoding)


def decoded(read: Callable, *args: Any, display: str, encoding: str) -> Any:
    """read(*args), with a file that does not decode (UTF-16 and the like) as a one-line error."""
    try:
        return read(*args)
    except UnicodeError:
        raise ValueError(f"{display}: not {encoding} text ({text.encoding_hint(b'', encoding)})") from None


class Reader:
    """read(n): n bytes (fewer only at the end), after any pushed back; from any binary stream."""

    def __init__(self, stream: Any, pending: bytes = b""):
        self.stream, self.pending = stream, pending

    def read(self, n: int) -> bytes:
        """n bytes, fewer only at the end."""
        parts, size = [self.pending[:n]], min(n, len(self.pending))
        self.pending = self.pending[n:]
        while size < n:
            more = self.stream.read(n - size)
            if not more:
                break
            parts.append(more)
            size += len(more)
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        if len(out) > n:  # a transcoding stream may return more than asked for
            out, self.pending = out[:n], out[n:]
        return out

    def fill(self, buf: bytearray, at: int, n: int) -> int:
        """Read up to n bytes into buf[at:at + n] (fewer only at the end): the number read."""
        take = self.pending[:n]
        buf[at : at + len(take)] = take
        self.pending = self.pending[len(take) :]
        size, end = at + len(take), at + n
        readinto = getattr(self.stream, "readinto", None)
        with memoryview(buf) as view:
            while size < end:
                if readinto is not None:
                    got = readinto(view[size:end])
                else:
                    more = self.stream.read(end - size)
                    got = min(len(more), end - size)
                    view[size : size + got] = more[:got]
                    self.pending = more[got:]  # a transcoding stream may return more than asked for
                if not got:
                    break
                size += got
        return size - at

    def close(self) -> None:
        """Close the stream (never standard input)."""
        if self.stream is not sys.stdin.buffer and hasattr(self.stream, "close"):
            self.stream.close()


class Transcoded:
    """A binary stream of text in `encoding`, read as UTF-8 bytes (bytes that do not decode stay as they were)."""

    def __init__(self, raw: Any, encoding: str):
        self.raw, self.decoder, self.done = raw, codecs.getincrementaldecoder(encoding)("surrogateescape"), False

    def read(self, n: int) -> bytes:
        """About n bytes of UTF-8 (a whole number of characters), b'' at the end."""
        if self.done:
            return b""
        chunk = self.raw.read(max(n // 2, 1 << 16))
        self.done = not chunk
        return self.decoder.decode(chunk, final=self.done).encode("utf-8", "surrogateescape")

    def close(self) -> None:
        """Close the raw stream."""
        self.raw.close()
