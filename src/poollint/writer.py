"""Writing fixed files: all or nothing, same mode, never through a half-written file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional


class WriteError(Exception):
    """A fixed file could not be written; the original is untouched."""


def write_atomic(path: Path, data: bytes, *, create: bool = False, purpose: str = "cannot write fixes") -> None:
    """Replace the file at `path` by `data`: a reader sees the old or the new file, never a mix.

    The bytes go to a temporary file in the same directory, which is flushed
    to disk and then renamed over the original. A symlink is followed so the
    link stays a link, and the file keeps its permission bits (and its owner,
    where this process may set it). With `create`, a file that does not exist
    yet is made (with the umask's permissions). `purpose` starts the
    WriteError's message.
    """
    target = Path(os.path.realpath(path))
    status: Optional[os.stat_result] = None
    try:
        status = target.stat()
        mode = stat.S_IMODE(status.st_mode)
    except FileNotFoundError as exc:
        if not create:
            raise WriteError(f"{purpose}: {exc.strerror or exc}") from exc
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as exc:
        raise WriteError(f"{purpose}: {exc.strerror or exc}") from exc
    else:
        if not os.access(target, os.W_OK):
            # Renaming over a read-only file would succeed; its owner said no.
            raise WriteError(f"{purpose}: the file is read-only")
    fd = -1
    tmp = ""
    try:
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".poollint-tmp")
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if status is not None:
            _keep_owner(tmp, status)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = ""
    except OSError as exc:
        raise WriteError(f"{purpose}: {exc.strerror or exc}") from exc
    finally:
        if fd != -1:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _keep_owner(tmp: str, status: os.stat_result) -> None:
    """Give the new file the old one's owner and group, where this process may.

    The renamed file is a new file, owned by whoever runs poollint: root in a
    container fixing a mounted checkout handed the user's files to root. Only
    root may give a file away; anyone else keeps the owner the rename gives.
    """
    if not hasattr(os, "chown") or (status.st_uid, status.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.chown(tmp, status.st_uid, status.st_gid)
    except OSError:
        pass
