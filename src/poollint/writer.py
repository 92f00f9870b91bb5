"""Writing fixed files: all or nothing, same mode, never through a half-written file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class WriteError(Exception):
    """A fixed file could not be written; the original is untouched."""


def write_atomic(path: Path, data: bytes, *, create: bool = False, purpose: str = "cannot write fixes") -> None:
    """Replace the file at `path` by `data`: a reader sees the old or the new file, never a mix.

    The bytes go to a temporary file in the same directory, which is flushed
    to disk and then renamed over the original. A symlink is followed so the
    link stays a link, and the file keeps its permission bits. With `create`,
    a file that does not exist yet is made (with the umask's permissions).
    `purpose` starts the WriteError's message.
    """
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
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
