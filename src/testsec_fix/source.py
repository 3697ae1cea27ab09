"""Reading and writing source files without losing a byte.

Text is decoded with the file's own encoding (PEP 263 cookie or BOM) and keeps its newline
style; writes go to a temporary file in the same folder and are renamed over the original,
keeping its mode, owner and group, and only if the file still holds what was read and its
owner could write it in place. Only regular files are read or written.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from typing import Optional, Set

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))
# A temporary file of ``replace_file``: the writer's process id, then mkstemp's letters.
_TEMP_PREFIX = ".testsec-"
_TEMP = re.compile(r"^\.testsec-(\d+)-[\w]+\.tmp$")


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
        # (O_BINARY: Windows would translate newlines on a descriptor in text mode)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) |
                     getattr(os, "O_BINARY", 0))
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
    reader sees the old file or the new one, never a part. An existing file keeps its mode,
    and its owner and group as far as this process may set them (root may; another user
    keeps the group if it is one of theirs); a new file gets the umask's mode.

    A file its owner may not write in place (no write bit for the owner's class, or for
    anyone: ``chmod a-w``, which root's access would pass over) is not replaced: a rename
    would bypass exactly the protection the mode asks for.

    Temporary files a killed run left in the folder are removed first."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st: Optional[os.stat_result] = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    else:
        mode = stat.S_IMODE(st.st_mode)
        if not mode & 0o222 or not os.access(path, os.W_OK):
            raise SourceError(f"read-only (mode {mode:04o}); not replaced")
    remove_stale(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp",
                                   dir=folder)
    except PermissionError:
        raise SourceError(f"cannot create a file in {folder}: permission denied") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            _chown_like(tmp, st)
        os.chmod(tmp, mode)  # after chown, which may clear set-id bits
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _chown_like(tmp: str, st: os.stat_result) -> None:
    """Give ``tmp`` the owner and group of ``st``, as far as this process may."""
    mine = os.stat(tmp)
    if (mine.st_uid, mine.st_gid) == (st.st_uid, st.st_gid):
        return
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except OSError:
        try:  # a user may give a file any group of theirs
            os.chown(tmp, -1, st.st_gid)
        except OSError:
            pass


_swept: Set[str] = set()  # folders whose stale temporary files this process removed


def temp_prefix() -> str:
    """The prefix of this process's temporary files (``remove_stale`` knows them by it)."""
    return f"{_TEMP_PREFIX}{os.getpid()}-"


def remove_stale(folder: str) -> None:
    """Remove the temporary files that a run killed before it could rename them left in
    ``folder`` (their writer's process is gone); once per folder and process. POSIX only:
    elsewhere a process cannot be asked whether it is alive without signalling it."""
    if folder in _swept or os.name != "posix":
        return
    _swept.add(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _TEMP.match(name)
        if not match or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True
