"""Reading and writing source files without losing a byte.

Text is decoded with the file's own encoding (PEP 263 cookie or BOM) and keeps its newline
style; writes go to a temporary file in the same folder and are renamed over the original,
keeping its mode, and only if the file still holds what was read. Only regular files are
read or written.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


class SourceError(Exception):
    """A file that cannot be read or written as Python source; the message says why."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    encoding: str  # a codec name; "utf-8-sig" keeps a BOM
    digest: str  # of the bytes read, to detect a change before writing


def decode(data: bytes, path: str = "<source>") -> SourceFile:
    if b"\0" in data:
        raise SourceError("binary file (NUL byte)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"bad encoding declaration: {exc}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"not valid {encoding}: {exc.__class__.__name__}") from None
    return SourceFile(path, text, encoding, hashlib.sha256(data).hexdigest())


def read_source(path: str) -> SourceFile:
    """Read and decode ``path``, a regular file: a named pipe, device or socket is refused
    unopened (opening a pipe waits for a writer; a device may act on being opened), and the
    file is opened without blocking, in case it was swapped for one since."""
    try:
        _regular(os.stat(path).st_mode, "read")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as fh:
            _regular(os.fstat(fd).st_mode, "read")
            data = fh.read()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return decode(data, path)


def _regular(mode: int, verb: str) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise SourceError(f"not a regular file ({kind}); not {verb}")


def write_source(path: str, text: str, encoding: str = "utf-8", expect_digest: str = "") -> None:
    """Atomically replace ``path`` with ``text``; refuse if the file changed since it was read.

    With ``expect_digest`` empty the file must not exist yet (a new helper module).
    """
    data = text.encode(encoding)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise SourceError("is a symbolic link; not written through")
    if st is not None:
        _regular(st.st_mode, "written")
    if expect_digest:
        try:
            with open(path, "rb") as fh:
                current = hashlib.sha256(fh.read()).hexdigest()
        except OSError as exc:
            raise SourceError(f"cannot re-read before writing: {exc.strerror or exc}") from None
        if current != expect_digest:
            raise SourceError("changed on disk since it was read; not overwritten")
    elif st is not None:
        raise SourceError("exists already; not overwritten")
    os.makedirs(folder, exist_ok=True)
    replace_file(path, data)


def replace_file(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``: a
    reader sees the old file or the new one, never a part. An existing file's mode is kept;
    a new file gets the umask's."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".testsec-", suffix=".tmp",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
